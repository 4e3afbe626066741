"""One OCPP-J 2.0.1 session over an open WebSocket, built on ``ocpp.v201.ChargePoint``.

``Ocpp201Client(station_id, ws, response_timeout, handlers)``:
- ``serve()`` reads frames until the connection closes (then returns). A frame that is no
  readable RPC frame, or a CALL the station does not handle, is answered here (``triage``);
  other CSMS requests go to the ``@on`` methods of the handler objects given; the library
  validates them against the 2.0.1 schemas and answers a bad one with the 2.0.1 RPC error
  (FormatViolation, OccurrenceConstraintViolation, TypeConstraintViolation ...). A handler
  that raises is answered with InternalError. The connection stays up. The request and
  the answer are schema-checked on the loop when small, in a worker thread when big
  (``CallSession._check_schema``; the library would hop to a thread for each).
- ``request(action, payload) -> dict`` sends one CALL (``ocppj.session.CallSession``, shared
  with 1.6: validated against the 2.0.1 schema first, one CALL in flight, Authorize first).
- ``last_exchange``: monotonic time of the last frame sent or received (Heartbeat logic).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from ocpp.charge_point import (  # type: ignore[import-untyped]
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.messages import Call  # type: ignore[import-untyped]
from ocpp.routing import create_route_map  # type: ignore[import-untyped]
from ocpp.routing import on as _on
from ocpp.v201 import ChargePoint  # type: ignore[import-untyped]
from ocpp.v201 import call as v201_call
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from chargepoint.ocppj import frames
from chargepoint.ocppj.call_turns import CallTurns
from chargepoint.ocppj.session import CallSession

LOG = logging.getLogger("chargepoint.ocpp")
VERSION = "2.0.1"

_F = TypeVar("_F", bound=Callable[..., Any])


def on(action: str) -> Callable[[_F], _F]:
    """``ocpp.routing.on`` with types: marks the handler of a CSMS request ``action``."""
    return cast(Callable[[_F], _F], _on(action))


def _error(unique_id: str, code: str, description: str) -> str:
    return json.dumps([4, unique_id, code, description, {}], separators=(",", ":"))


def triage(text: str, route_map: Mapping[str, Any]) -> str | None:
    """The CALLERROR for a frame that must not reach the library (2.0.1 part 4 section 4.2.3),
    None for one it routes: an unreadable frame gets message id "-1" (RpcFrameworkError), an
    unknown message type MessageTypeNotSupported, an action the station does not handle
    NotSupported (a 2.0.1 action) or NotImplemented (no 2.0.1 action)."""
    try:
        frame = json.loads(text)
    except ValueError:
        return _error("-1", "RpcFrameworkError", "not a JSON array")
    if (not isinstance(frame, list) or len(frame) < 3 or not isinstance(frame[1], str)
            or not isinstance(frame[0], int)):
        return _error("-1", "RpcFrameworkError", "not an OCPP-J RPC frame")
    kind, unique_id = frame[0], frame[1][:36]
    if kind not in (2, 3, 4):
        return _error(unique_id, "MessageTypeNotSupported", f"message type {kind}")
    if kind != 2:
        return None
    if len(frame) != 4 or not isinstance(frame[2], str) or not isinstance(frame[3], dict):
        return _error(unique_id, "RpcFrameworkError", "a CALL is [2, id, action, {payload}]")
    action = frame[2]
    if "_on_action" in route_map.get(action, {}):
        return None
    if hasattr(v201_call, action):
        return _error(unique_id, "NotSupported", f"{action} is not supported")
    return _error(unique_id, "NotImplemented", f"{action} is not a 2.0.1 action")


class Ocpp201Client(CallSession, ChargePoint):  # type: ignore[misc]  # the library is untyped
    version = VERSION
    invalid_answer_code = "FormatViolation"
    answer_name = "{action} response"

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
        self._follow_ups: set[asyncio.Future[Any]] = set()
        self.last_exchange = time.monotonic()

    async def serve(self) -> None:
        """Route frames until the connection closes."""
        try:
            async for raw in self._ws:
                self.last_exchange = time.monotonic()
                frames.log_frame("<-", self.id, raw, self._secrets)
                text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
                refusal = triage(text, self.route_map)
                if refusal is not None:
                    LOG.warning("%s: frame from the CSMS refused: %s", self.id, refusal)
                    await self._send(refusal)
                elif text.lstrip().startswith("[2"):  # a CALL: its own task (it may wait)
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

    async def _handle_call(self, msg: Call) -> Any:
        """The library's ``_handle_call`` (it calls this from ``route_message``, which answers
        an ``OCPPError`` raised here with its CALLERROR), with the request's and the answer's
        schema checks through ``_check_schema``: on the loop for a small payload."""
        handlers = self.route_map.get(msg.action, {})
        if "_on_action" not in handlers:  # triage answers these; the library's errors else
            return await super()._handle_call(msg)
        checked = not handlers.get("_skip_schema_validation", False)
        if checked:
            await self._check_schema(msg)
        kwargs = camel_to_snake_case(msg.payload)
        handler = handlers["_on_action"]
        if "call_unique_id" in inspect.signature(handler).parameters:
            kwargs_on = {**kwargs, "call_unique_id": msg.unique_id}
        else:
            kwargs_on = kwargs
        try:
            response = handler(**kwargs_on)
            if inspect.isawaitable(response):
                response = await response
        except Exception as exc:
            self.logger.exception("Error while handling request '%s'", msg)
            await self._send(msg.create_call_error(exc).to_json())
            return None
        result = msg.create_call_result(
            snake_to_camel_case(remove_nones(serialize_as_dict(response))))
        if checked:
            await self._check_schema(result)
        await self._send(result.to_json())
        after_hook = handlers.get("_after_action")
        if after_hook is None:
            return None
        if "call_unique_id" in inspect.signature(after_hook).parameters:
            kwargs = {**kwargs, "call_unique_id": msg.unique_id}
        follow_up = after_hook(**kwargs)
        if inspect.isawaitable(follow_up):  # a task (it may make CALLs), kept until done
            task = asyncio.ensure_future(follow_up)
            self._follow_ups.add(task)
            task.add_done_callback(self._follow_ups.discard)
        return follow_up
