"""One OCPP-J 2.0.1 session over an open WebSocket, built on ``ocpp.v201.ChargePoint``.

``Ocpp201Client(station_id, ws, response_timeout, handlers)``:
- ``serve()`` reads frames until the connection closes (then returns). CSMS requests go to the
  ``@on`` methods of the handler objects given; the library validates them against the 2.0.1
  schemas and answers a bad one with the 2.0.1 RPC error (FormatViolation ...). A handler that
  raises is answered with InternalError; the connection stays up.
- ``request(action, payload) -> dict`` sends one CALL (camelCase payload, validated against the
  2.0.1 schema first: our own bug must not reach the CSMS) and returns the CALLRESULT payload.
  One CALL in flight, Authorize ahead of the others (``call_turns``). Raises ``CallFailed`` on
  a CALLERROR or an invalid answer, ``TimeoutError`` on no answer, ``ConnectionError`` when
  the link is gone.
- ``last_exchange``: monotonic time of the last frame sent or received (Heartbeat logic).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from ocpp.exceptions import OCPPError  # type: ignore[import-untyped]
from ocpp.messages import Call, CallError, MessageType, validate_payload  # type: ignore[import-untyped]
from ocpp.routing import create_route_map  # type: ignore[import-untyped]
from ocpp.routing import on as _on
from ocpp.v201 import ChargePoint  # type: ignore[import-untyped]
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from chargepoint.ocppj import frames
from chargepoint.ocppj.call_turns import URGENT, CallTurns
from chargepoint.ocppj.rpc_errors import CallFailed

VERSION = "2.0.1"

_F = TypeVar("_F", bound=Callable[..., Any])


def on(action: str) -> Callable[[_F], _F]:
    """``ocpp.routing.on`` with types: marks the handler of a CSMS request ``action``."""
    return cast(Callable[[_F], _F], _on(action))


class Ocpp201Client(ChargePoint):  # type: ignore[misc]  # the library is untyped
    def __init__(self, station_id: str, ws: ClientConnection, response_timeout: float,
                 handlers: Sequence[object] = (), secrets: frozenset[str] = frozenset()) -> None:
        super().__init__(station_id, ws, response_timeout=response_timeout,
                         logger=frames.LIBRARY_LOG)
        frames.LIBRARY_FILTER.secrets |= secrets
        for handler in handlers:
            for action, routes in create_route_map(handler).items():
                self.route_map.setdefault(action, {}).update(routes)
        self._ws = ws
        self._secrets = secrets
        self._turns = CallTurns()
        self._handling: set[asyncio.Task[None]] = set()
        self.last_exchange = time.monotonic()

    async def serve(self) -> None:
        """Route frames until the connection closes."""
        try:
            async for raw in self._ws:
                self.last_exchange = time.monotonic()
                frames.log_frame("<-", self.id, raw, self._secrets)
                text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
                if text.lstrip().startswith("[2"):  # a CALL: its own task (it may wait)
                    task = asyncio.ensure_future(self.route_message(text))
                    self._handling.add(task)
                    task.add_done_callback(self._handling.discard)
                else:
                    await self.route_message(text)
        except ConnectionClosed:
            pass
        finally:
            for task in list(self._handling):
                task.cancel()

    async def close_connection(self) -> None:
        await self._ws.close()

    async def _send(self, message: str) -> None:
        frames.log_frame("->", self.id, message, self._secrets)
        try:
            await self._ws.send(message)
        except ConnectionClosed as exc:
            raise ConnectionError("CSMS connection closed") from exc
        self.last_exchange = time.monotonic()

    async def _await_response(self, unique_id: str) -> Any:
        """The library's wait for the answer, cut short when the connection closes."""
        answer = asyncio.ensure_future(
            self._get_specific_response(unique_id, self._response_timeout))
        closed = asyncio.ensure_future(self._ws.wait_closed())
        try:
            done, _ = await asyncio.wait({answer, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            if not answer.done():
                answer.cancel()
        if answer not in done:
            raise ConnectionError("CSMS connection closed while waiting for an answer")
        return answer.result()

    async def request(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send one CALL and return the CALLRESULT payload (see the module docstring)."""
        call = Call(unique_id=str(self._unique_id_generator()), action=action, payload=payload)
        await validate_payload(call, VERSION)
        async with self._turns.turn(urgent=action in URGENT):
            while not self._response_queue.empty():  # answers to CALLs that timed out
                self._response_queue.get_nowait()
            await self._send(call.to_json())
            response = await self._await_response(call.unique_id)
        if response.message_type_id == MessageType.CallError:
            assert isinstance(response, CallError)
            raise CallFailed(str(response.error_code), str(response.error_description))
        response.action = action
        try:
            await validate_payload(response, VERSION)
        except OCPPError as exc:
            raise CallFailed("FormatViolation", f"invalid {action} response: {exc}") from exc
        result: dict[str, Any] = response.payload
        return result
