// A strict-mode OCPP 1.6J CSMS built on the npm package ocpp-rpc, for interoperability tests;
// `node csms_peer.js 2.0.1` makes it a strict-mode OCPP 2.0.1 CSMS (subprotocol ocpp2.0.1).
//
// Listens on 127.0.0.1, port 0 (the OS picks one). Protocol with the test, one JSON object per
// line:
//   stdout: {"event": "listening", "port": N} first; then "connected", "call" (every CALL the
//           station sent: method, params), "result"/"error" (answers to our requests),
//           "badMessage", "strictValidationFailure", "disconnect".
//   stdin:  {"id": N, "method": "GetConfiguration", "params": {...}} -> send that CALL to the
//           connected station; the answer comes back as "result" or "error" with the same id.
//           {"id": N, "raw": "[2,\"m1\",...]"} -> send that text as it is (no validation); the
//           station's answer comes back as {"event": "rawAnswer", "id": N, "frame": [...]}.
'use strict';
const readline = require('readline');
const { RPCServer } = require('ocpp-rpc');

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
let txId = 500;
let station = null;

const version = process.argv[2] || '1.6';

const answers16 = {
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

const accepted = { status: 'Accepted' };
const answers201 = {
    BootNotification: () => ({ status: 'Accepted', interval: 300, currentTime: new Date().toISOString() }),
    Heartbeat: () => ({ currentTime: new Date().toISOString() }),
    StatusNotification: () => ({}),
    Authorize: () => ({ idTokenInfo: accepted }),
    TransactionEvent: (params) => (params.idToken ? { idTokenInfo: accepted } : {}),
    NotifyReport: () => ({}),
    SecurityEventNotification: () => ({}),
    SignCertificate: () => accepted,
    MeterValues: () => ({}),
    NotifyEvent: () => ({}),
};

const answers = version === '2.0.1' ? answers201 : answers16;
const rawIds = new Map(); // message id of a raw CALL -> the test's request id

async function main() {
    const protocol = version === '2.0.1' ? 'ocpp2.0.1' : 'ocpp1.6';
    const server = new RPCServer({ protocols: [protocol], strictMode: true });
    server.auth((accept, reject, handshake) => accept({ identity: handshake.identity }));
    server.on('client', (client) => {
        station = client;
        emit({ event: 'connected', identity: client.identity, protocol: client.protocol });
        client.on('message', ({ message, outbound }) => {
            if (outbound) return;
            let frame;
            try { frame = JSON.parse(message); } catch (err) { return; }
            if (Array.isArray(frame) && rawIds.has(frame[1])) {
                emit({ event: 'rawAnswer', id: rawIds.get(frame[1]), frame });
                rawIds.delete(frame[1]);
            }
        });
        client.on('badMessage', (e) => {
            // the answer to a raw CALL is unknown to ocpp-rpc: expected, reported as rawAnswer
            if (/unrecognised message ID: raw-/.test(String(e.error))) return;
            emit({ event: 'badMessage', error: String(e.error) });
        });
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
            if (req.raw !== undefined) {
                const frame = JSON.parse(req.raw);
                rawIds.set(frame[1], req.id);
                station.sendRaw(req.raw);
                return;
            }
            const result = await station.call(req.method, req.params);
            emit({ event: 'result', id: req.id, result });
        } catch (err) {
            emit({ event: 'error', id: req.id, error: String(err), code: err.rpcErrorCode || null });
        }
    });
    rl.on('close', async () => { await server.close({ force: true }); process.exit(0); });
}

main().catch((err) => { emit({ event: 'fatal', error: String(err) }); process.exit(1); });
