"""One OCPP-J 1.6 session over an open WebSocket, built on ``ocpp.v16.ChargePoint``.

``OcppClient(station_id, ws, response_timeout, handlers, secrets)``:
- ``serve()`` reads frames until the connection closes (then returns). Every frame from the
  CSMS is checked first (``frames.parse_frame`` / ``frames.schema_error``, which include the
  bounds of ``bounds``) so that broken frames get the 1.6 CALLERROR and the connection stays
  up; then it goes to the ``@on`` method of the handler objects given, and after an answer
  that did not refuse the request, to their ``@after`` method (as a task). A handler or
  follow-up that raises is logged through ``failures`` (rate-limited) and answered with
  InternalError; it never ends ``serve()``.
- ``request(action, payload) -> dict`` sends one CALL (``ocppj.session.CallSession``, shared
  with 2.0.1: one CALL in flight, a driver's Authorize first). An answer with a number the
  station cannot store (``bounds.unstorable``) is a ``CallFailed`` (``refuse_answer``).
- ``last_exchange``: monotonic time of the last frame sent or received (heartbeat logic).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar, cast

from ocpp.charge_point import (  # type: ignore[import-untyped]
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.exceptions import OCPPError  # type: ignore[import-untyped]
from ocpp.messages import (  # type: ignore[import-untyped]
    Call,
    CallError,
    CallResult,
    MessageType,
)
from ocpp.routing import after as _after  # type: ignore[import-untyped]
from ocpp.routing import create_route_map
from ocpp.routing import on as _on
from ocpp.v16 import ChargePoint  # type: ignore[import-untyped]
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from chargepoint.ocppj import bounds, frames
from chargepoint.ocppj.call_turns import CallTurns
from chargepoint.ocppj.connection import set_ping_interval
from chargepoint.ocppj.rpc_errors import CallFailed as CallFailed  # also for importers
from chargepoint.ocppj.session import CallSession, check_by_size
from chargepoint.ocppj.supervise import FailureLog

LOG = logging.getLogger("chargepoint.ocpp")

_F = TypeVar("_F", bound=Callable[..., Any])


def on(action: str) -> Callable[[_F], _F]:
    """``ocpp.routing.on`` with types: marks the handler of a CSMS request ``action``."""
    return cast(Callable[[_F], _F], _on(action))


def after(action: str) -> Callable[[_F], _F]:
    """``ocpp.routing.after`` with types: runs (as a task) after the answer was sent."""
    return cast(Callable[[_F], _F], _after(action))


# Answers after which a request's follow-up (@after) runs; any other status refused it.
_FOLLOW_UP = frozenset({"Accepted", "AcceptedCanceled", "RebootRequired", "Scheduled"})


@dataclass(frozen=True, slots=True)
class _Inbound:
    """One received frame: parsed (or its problem) and, for a CALL, its validation error."""

    parsed: list[Any] | frames.FrameProblem
    validated: bool  # True: ``error`` is the outcome of ``frames.schema_error``
    error: tuple[str, str] | None = None
    kwargs: dict[str, Any] | None = None  # a valid CALL's payload in snake_case, if converted

    @property
    def is_call(self) -> bool:
        return isinstance(self.parsed, list) and self.parsed[0] == MessageType.Call


class FrameSecurity(Protocol):
    """Security events of received frames (security whitepaper section 8)."""

    def invalid_message(self, reason: str) -> None:
        """A frame that is no valid OCPP message (InvalidMessages)."""

    def replayed(self, unique_id: str) -> bool:
        """True: this CALL id was already used on the connection (AttemptedReplayAttacks)."""


class OcppClient(CallSession, ChargePoint):  # type: ignore[misc]  # the library is untyped
    version = "1.6"
    invalid_answer_code = "FormationViolation"
    answer_name = "{action}.conf"

    def __init__(
        self,
        station_id: str,
        ws: ClientConnection,
        response_timeout: float,
        handlers: Sequence[object] = (),
        secrets: frozenset[str] = frozenset(),
        failures: FailureLog | None = None,
        security: FrameSecurity | None = None,
    ) -> None:
        super().__init__(station_id, ws, response_timeout=response_timeout,
                         logger=frames.LIBRARY_LOG)
        frames.LIBRARY_FILTER.secrets |= secrets
        for handler in handlers:
            # Extra handler objects (core, local list, firmware, ...) add their @on methods.
            for action, routes in create_route_map(handler).items():
                self.route_map.setdefault(action, {}).update(routes)
        self._ws = ws
        self._turns = CallTurns()
        self._secrets = secrets
        self._handling: set[asyncio.Task[None]] = set()
        self._follow_ups: set[asyncio.Future[Any]] = set()
        self.failures = failures or FailureLog(LOG)
        self.security = security
        self.last_exchange = time.monotonic()

    async def serve(self) -> None:
        """Route frames until the connection closes. A CALL is handled in its own task so that
        a slow answer (e.g. UnlockConnector waiting for the lock) never holds up the answers
        to our own CALLs. A frame above ``bounds.THREAD_PARSE_BYTES`` is parsed, logged and
        validated in a worker thread; the next frame is read only after that, so frames are
        still handled in the order they came. A smaller CALL and our answer are schema-checked
        on the loop when they hold few values (``bounds.fewer_values``), else in a thread."""
        try:
            async for raw in self._ws:
                self.last_exchange = time.monotonic()
                if len(raw) > bounds.THREAD_PARSE_BYTES:
                    inbound = await asyncio.to_thread(self._inspect, raw, True)
                else:
                    inbound = self._inspect(raw, False)
                if inbound.is_call:
                    task = asyncio.ensure_future(self._route_safely(inbound))
                    self._handling.add(task)
                    task.add_done_callback(self._handling.discard)
                else:
                    await self._route_safely(inbound)
        except ConnectionClosed as exc:
            if exc.sent is not None and exc.sent.code == 1009:  # "message too big"
                LOG.warning("%s: a frame from the CSMS was larger than %s bytes: connection "
                            "closed", self.id, self._ws.protocol.max_message_size)
        finally:
            for task in list(self._handling):
                task.cancel()

    def _inspect(self, raw: str | bytes, validate: bool) -> _Inbound:
        """Log, parse and (``validate``: for a CALL we handle) validate one frame. Blocking
        work only: runs on the loop for small frames, in a worker thread for big ones."""
        frames.log_frame("<-", self.id, raw, self._secrets)
        parsed = frames.parse_frame(raw)
        if validate and isinstance(parsed, list) and parsed[0] == MessageType.Call:
            error = self._validate(parsed[2], parsed[3])
            kwargs = frames.snake_case(parsed[3]) if error is None else None
            return _Inbound(parsed, True, error, kwargs)
        return _Inbound(parsed, False)

    def _validate(self, action: str, payload: dict[str, Any]) -> tuple[str, str] | None:
        return frames.schema_error(action, payload) if self._handles(action) else None

    def _handles(self, action: str) -> bool:
        return "_on_action" in self.route_map.get(action, {})

    async def _route_safely(self, inbound: _Inbound) -> None:
        try:
            await self._route(inbound)
        except ConnectionError:
            pass
        except Exception as exc:  # our bug must not drop the connection
            self.failures.failed(f"{self.id}: handling a frame", exc)
            parsed = inbound.parsed
            if isinstance(parsed, list) and parsed[0] == MessageType.Call:
                with contextlib.suppress(ConnectionError):
                    await self._send(frames.call_error(parsed[1], "InternalError",
                                                       "An internal error occurred"))

    async def route_message(self, raw_msg: str | bytes) -> None:
        """Route one frame (the library's entry point; ``serve()`` does the same)."""
        await self._route(self._inspect(raw_msg, False))

    async def _route(self, inbound: _Inbound) -> None:
        parsed = inbound.parsed
        if isinstance(parsed, frames.FrameProblem):
            LOG.warning("%s: bad frame from CSMS (%s)", self.id, parsed.reason)
            if self.security is not None:
                self.security.invalid_message(parsed.reason)
            if parsed.reply is not None:
                await self._send(parsed.reply)
            return
        kind, unique_id = parsed[0], parsed[1]
        if kind != MessageType.Call and not self._turns.locked():
            # No CALL of ours is waiting: an answer to nothing is dropped, not queued (a
            # flood of them must not grow memory until our next request).
            LOG.warning("%s: answer %r to no request of ours ignored", self.id, unique_id[:40])
            return
        if kind == MessageType.CallResult:
            self._response_queue.put_nowait(CallResult(unique_id, parsed[2]))
            return
        if kind == MessageType.CallError:
            self._response_queue.put_nowait(CallError(unique_id, *parsed[2:]))
            return
        action = parsed[2]
        if self.security is not None and self.security.replayed(str(unique_id)):
            await self._send(frames.call_error(
                unique_id, "SecurityError", "message id already used on this connection"))
            return
        if not self._handles(action):
            # 4.2.3: NotSupported = "recognized but not supported by the receiver".
            await self._send(frames.call_error(
                unique_id, frames.NOT_SUPPORTED, f"{action} is not supported"))
            return
        error = inbound.error if inbound.validated else await check_by_size(
            parsed[3], self._validate, action, parsed[3])
        if error is not None:
            LOG.warning("%s: invalid %s from CSMS: %s", self.id, action, error[1])
            if self.security is not None:
                self.security.invalid_message(f"{action}: {error[1]}")
            await self._send(frames.call_error(unique_id, *error))
            return
        await self._handle_call(Call(unique_id, action, parsed[3]), inbound.kwargs)

    async def _handle_call(self, msg: Call, kwargs: dict[str, Any] | None = None) -> None:
        """Answer one validated CALL from its ``@on`` handler; then run its ``@after`` hook
        unless the answer refused the request (the library runs it for a Rejected too).
        ``kwargs``: the payload in snake_case when already converted (off the loop)."""
        handlers = self.route_map[msg.action]
        if kwargs is None:
            kwargs = frames.snake_case(msg.payload)
        try:
            response = handlers["_on_action"](**kwargs)
            if inspect.isawaitable(response):
                response = await response
            conf = snake_to_camel_case(remove_nones(serialize_as_dict(response)))
            result = msg.create_call_result(conf)
            await self._check_schema(result)  # our own bug must not reach the CSMS
        except OCPPError as exc:
            LOG.warning("%s: error handling %s: %s", self.id, msg.action, exc.description)
            code = frames.LIBRARY_TO_16.get(exc.code, exc.code)
            await self._send(frames.call_error(msg.unique_id, code, str(exc.description)))
            return
        except Exception as exc:
            self.failures.failed(f"{self.id}: {msg.action} handler", exc)
            await self._send(frames.call_error(msg.unique_id, "InternalError",
                                               "An internal error occurred"))
            return
        await self._send(result.to_json())
        after_hook = handlers.get("_after_action")
        if after_hook is None or conf.get("status", "Accepted") not in _FOLLOW_UP:
            return
        try:
            follow_up = after_hook(**kwargs)
        except Exception as exc:
            self.failures.failed(f"{self.id}: {msg.action} follow-up", exc)
            return
        if inspect.isawaitable(follow_up):
            task = asyncio.ensure_future(follow_up)
            self._follow_ups.add(task)
            task.add_done_callback(partial(self._follow_up_done, msg.action))

    def _follow_up_done(self, action: str, task: asyncio.Future[Any]) -> None:
        self._follow_ups.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            assert exc is not None
            self.failures.failed(f"{self.id}: {action} follow-up", exc)

    def set_ping_interval(self, interval: float) -> None:
        """Apply a new WebSocketPingInterval (0 disables) to this connection at once."""
        set_ping_interval(self._ws, interval)

    def refuse_answer(self, action: str, payload: dict[str, Any]) -> CallFailed | None:
        out_of_bounds = bounds.unstorable(payload)
        if out_of_bounds is None:
            return None
        # E.g. a transactionId beyond 32 bit: the station cannot store it, so the answer
        # counts as a failed confirmation (the outbox retries, then gives up, logged).
        LOG.error("%s: %s.conf refused: %s", self.id, action, out_of_bounds[1])
        return CallFailed(out_of_bounds[0], f"invalid {action}.conf: {out_of_bounds[1]}")
