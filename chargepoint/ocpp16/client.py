"""One OCPP-J 1.6 session over an open WebSocket, built on ``ocpp.v16.ChargePoint``.

``OcppClient(station_id, ws, response_timeout, handlers, secrets)``:
- ``serve()`` reads frames until the connection closes (then returns). Every CALL from the
  CSMS is checked first (``frames.check_frame`` / ``frames.schema_error``) so that broken
  frames get the 1.6 CALLERROR and the connection stays up; then the library routes it to
  the ``@on``/``@after`` methods of the handler objects given.
- ``request(action, payload) -> dict`` sends one CALL with a camelCase payload (as stored in
  the outbox) and returns the CALLRESULT payload. One CALL in flight (the library's lock);
  timeout = the library's ``response_timeout``. Raises ``CallFailed`` on a CALLERROR,
  ``asyncio.TimeoutError`` on no answer, ``ConnectionError`` when the link is gone.
- ``last_exchange``: monotonic time of the last frame sent or received (heartbeat logic).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from ocpp.exceptions import OCPPError  # type: ignore[import-untyped]
from ocpp.messages import Call, CallError, MessageType, unpack, validate_payload  # type: ignore[import-untyped]
from ocpp.routing import after as _after  # type: ignore[import-untyped]
from ocpp.routing import create_route_map
from ocpp.routing import on as _on
from ocpp.v16 import ChargePoint  # type: ignore[import-untyped]
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from chargepoint.ocpp16 import frames

LOG = logging.getLogger("chargepoint.ocpp")

_F = TypeVar("_F", bound=Callable[..., Any])


def on(action: str) -> Callable[[_F], _F]:
    """``ocpp.routing.on`` with types: marks the handler of a CSMS request ``action``."""
    return cast(Callable[[_F], _F], _on(action))


def after(action: str) -> Callable[[_F], _F]:
    """``ocpp.routing.after`` with types: runs (as a task) after the answer was sent."""
    return cast(Callable[[_F], _F], _after(action))


def _looks_like_call(raw: str | bytes) -> bool:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return text.lstrip()[1:].lstrip().startswith("2")


class CallFailed(Exception):
    """The CSMS answered a CALL with a CALLERROR."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


class OcppClient(ChargePoint):  # type: ignore[misc]  # the library is untyped
    def __init__(
        self,
        station_id: str,
        ws: ClientConnection,
        response_timeout: float,
        handlers: Sequence[object] = (),
        secrets: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(station_id, ws, response_timeout=response_timeout,
                         logger=frames.LIBRARY_LOG)
        frames.LIBRARY_FILTER.secrets |= secrets
        for handler in handlers:
            # Extra handler objects (core, local list, firmware, ...) add their @on methods.
            for action, routes in create_route_map(handler).items():
                self.route_map.setdefault(action, {}).update(routes)
        self._ws = ws
        self._secrets = secrets
        self._handling: set[asyncio.Task[None]] = set()
        self.last_exchange = time.monotonic()

    async def serve(self) -> None:
        """Route frames until the connection closes. A CALL is handled in its own task so that
        a slow answer (e.g. UnlockConnector waiting for the lock) never holds up the answers
        to our own CALLs."""
        try:
            async for raw in self._ws:
                self.last_exchange = time.monotonic()
                frames.log_frame("<-", self.id, raw, self._secrets)
                if _looks_like_call(raw):
                    task = asyncio.ensure_future(self._route_safely(raw))
                    self._handling.add(task)
                    task.add_done_callback(self._handling.discard)
                else:
                    await self._route_safely(raw)
        except ConnectionClosed:
            pass
        finally:
            for task in list(self._handling):
                task.cancel()

    async def _route_safely(self, raw: str | bytes) -> None:
        try:
            await self.route_message(raw)
        except ConnectionError:
            pass
        except Exception:  # our bug must not drop the connection
            LOG.exception("%s: failed to handle a frame", self.id)
            with contextlib.suppress(ConnectionError):
                await self._internal_error(raw)

    async def route_message(self, raw_msg: str | bytes) -> None:
        problem = frames.check_frame(raw_msg)
        if problem is not None:
            LOG.warning("%s: bad frame from CSMS (%s)", self.id, problem.reason)
            if problem.reply is not None:
                await self._send(problem.reply)
            return
        msg = unpack(raw_msg)
        if msg.message_type_id != MessageType.Call:
            await super().route_message(raw_msg)
            return
        if msg.action not in self.route_map or "_on_action" not in self.route_map[msg.action]:
            # 4.2.3: NotSupported = "recognized but not supported by the receiver".
            await self._send(frames.call_error(
                msg.unique_id, frames.NOT_SUPPORTED, f"{msg.action} is not supported"))
            return
        error = await asyncio.to_thread(frames.schema_error, msg.action, msg.payload)
        if error is not None:
            LOG.warning("%s: invalid %s from CSMS: %s", self.id, msg.action, error[1])
            await self._send(frames.call_error(msg.unique_id, error[0], error[1]))
            return
        try:
            await self._handle_call(msg)
        except OCPPError as exc:
            LOG.warning("%s: error handling %s: %s", self.id, msg.action, exc)
            code = frames.LIBRARY_TO_16.get(exc.code, exc.code)
            await self._send(frames.call_error(msg.unique_id, code, exc.description))

    async def close_connection(self) -> None:
        """Close the WebSocket (``serve()`` returns)."""
        await self._ws.close()

    async def _internal_error(self, raw: str | bytes) -> None:
        """Answer a CALL we failed on with InternalError (best effort)."""
        try:
            msg = unpack(raw)
        except Exception:
            return
        if msg.message_type_id == MessageType.Call:
            await self._send(frames.call_error(msg.unique_id, "InternalError",
                                               "An internal error occurred"))

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
        await validate_payload(call, "1.6")  # our own bug must not reach the CSMS
        async with self._call_lock:
            # Drop answers to earlier CALLs that timed out (they would misorder responses).
            while not self._response_queue.empty():
                self._response_queue.get_nowait()
            await self._send(call.to_json())
            response = await self._await_response(call.unique_id)
        if response.message_type_id == MessageType.CallError:
            assert isinstance(response, CallError)
            raise CallFailed(str(response.error_code), str(response.error_description))
        response.action = action
        try:
            await validate_payload(response, "1.6")
        except OCPPError as exc:
            raise CallFailed("FormationViolation", f"invalid {action}.conf: {exc}") from exc
        result: dict[str, Any] = response.payload
        return result
