// A strict-mode OCPP 1.6J CSMS built on the npm package ocpp-rpc, for interoperability tests.
//
// Listens on 127.0.0.1, port 0 (the OS picks one). Protocol with the test, one JSON object per
// line:
//   stdout: {"event": "listening", "port": N} first; then "connected", "call" (every CALL the
//           station sent: method, params), "result"/"error" (answers to our requests),
//           "badMessage", "strictValidationFailure", "disconnect".
//   stdin:  {"id": N, "method": "GetConfiguration", "params": {...}} -> send that CALL to the
//           connected station; the answer comes back as "result" or "error" with the same id.
'use strict';
const readline = require('readline');
const { RPCServer } = require('ocpp-rpc');

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
let txId = 500;
let station = null;

const answers = {
    BootNotification: () => ({ status: 'Accepted', interval: 300, currentTime: new Date().toISOString() }),
    Heartbeat: () => ({ currentTime: new Date().toISOString() }),
    StatusNotification: () => ({}),
    Authorize: () => ({ idTagInfo: { status: 'Accepted' } }),
    StartTransaction: () => ({ transactionId: ++txId, idTagInfo: { status: 'Accepted' } }),
    StopTransaction: () => ({ idTagInfo: { status: 'Accepted' } }),
    MeterValues: () => ({}),
    DataTransfer: () => ({ status: 'UnknownVendorId' }),
    FirmwareStatusNotification: () => ({}),
    DiagnosticsStatusNotification: () => ({}),
};

async function main() {
    const server = new RPCServer({ protocols: ['ocpp1.6'], strictMode: true });
    server.auth((accept, reject, handshake) => accept({ identity: handshake.identity }));
    server.on('client', (client) => {
        station = client;
        emit({ event: 'connected', identity: client.identity, protocol: client.protocol });
        client.on('badMessage', (e) => emit({ event: 'badMessage', error: String(e.error) }));
        client.on('strictValidationFailure', (e) => emit({
            event: 'strictValidationFailure', error: String(e.error),
            message: e.messageId || null,
        }));
        client.on('close', () => emit({ event: 'disconnect' }));
        client.handle(({ method, params }) => {
            emit({ event: 'call', method, params });
            const answer = answers[method];
            if (!answer) throw new Error(`no answer for ${method}`);
            return answer(params);
        });
    });
    const http = await server.listen(0, '127.0.0.1');
    emit({ event: 'listening', port: http.address().port });

    const rl = readline.createInterface({ input: process.stdin });
    rl.on('line', async (line) => {
        if (!line.trim()) return;
        const req = JSON.parse(line);
        try {
            if (!station) throw new Error('no station connected');
            const result = await station.call(req.method, req.params);
            emit({ event: 'result', id: req.id, result });
        } catch (err) {
            emit({ event: 'error', id: req.id, error: String(err), code: err.rpcErrorCode || null });
        }
    });
    rl.on('close', async () => { await server.close({ force: true }); process.exit(0); });
}

main().catch((err) => { emit({ event: 'fatal', error: String(err) }); process.exit(1); });
