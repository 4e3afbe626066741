"""The station's own CALLs on an OCPP-J connection, the same for every OCPP version.

``CallSession`` is mixed into a version's client, in front of the ``ocpp`` library's
``ChargePoint`` (``class OcppClient(CallSession, ChargePoint)``), which provides the response
queue, the id generator and ``_get_specific_response``; the client sets ``_ws``, ``_secrets``,
``_turns`` and ``last_exchange``. A version names its schema (``version``), the error code of
an answer that breaks it (``invalid_answer_code``) and how an answer is called in messages
(``answer_name``), and may refuse an answer it cannot keep (``refuse_answer``).

Schema checks of a CALL and of its answer run on the event loop when the payload is small
(``bounds.fewer_values``: tens of microseconds, where a worker-thread hop costs more and two
hops per CALL were most of a replayed message's overhead), in a worker thread otherwise.
``precheck(action, payload)`` checks a CALL ahead of time (the sender does it for its next
message while the store commits the last confirmation); ``request`` with that very payload
object then skips the check once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from ocpp.exceptions import OCPPError  # type: ignore[import-untyped]
from ocpp.messages import (  # type: ignore[import-untyped]
    Call,
    CallError,
    CallResult,
    MessageType,
    _validate_payload,
)
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from chargepoint.ocppj import bounds, frames
from chargepoint.ocppj.call_turns import URGENT, CallTurns
from chargepoint.ocppj.rpc_errors import CallFailed

T = TypeVar("T")


class CallSession:
    """``request()``, ``_send()`` and ``close_connection()`` of a version's client."""

    version: ClassVar[str]  # the ocpp library's schema version: "1.6", "2.0.1"
    invalid_answer_code: ClassVar[str]  # CALLERROR code for an answer that breaks the schema
    answer_name: ClassVar[str]  # "{action}.conf" (1.6), "{action} response" (2.0.1)

    # set by the client
    id: str
    _ws: ClientConnection
    _secrets: frozenset[str]
    _turns: CallTurns
    last_exchange: float
    # provided by the ocpp library's ChargePoint
    _response_timeout: float
    _response_queue: asyncio.Queue[Any]
    _unique_id_generator: Callable[[], Any]
    _get_specific_response: Callable[[str, float], Awaitable[Any]]

    # the payload object ``precheck`` found valid for an action (skipped once by ``request``)
    _prechecked: tuple[str, dict[str, Any]] | None = None

    def refuse_answer(self, action: str, payload: dict[str, Any]) -> CallFailed | None:
        """Why a valid answer cannot be kept, or None (the default: every one can)."""
        return None

    async def precheck(self, action: str, payload: dict[str, Any]) -> None:
        """Check the CALL ``action`` with ``payload`` now; if valid, ``request`` with this
        same (unchanged) payload object skips the check. An invalid one is not remembered:
        ``request`` checks it again and raises."""
        self._prechecked = None
        try:
            await self._check_schema(Call(unique_id="-", action=action, payload=payload))
        except (OCPPError, NotImplementedError):
            return
        self._prechecked = (action, payload)

    async def close_connection(self) -> None:
        """Close the WebSocket (``serve()`` returns)."""
        await self._ws.close()

    async def _check_schema(self, message: Call | CallResult) -> None:
        """The library's schema check (raises its ``OCPPError``s), on the loop when small."""
        await check_by_size(message.payload, _validate_payload, message, self.version)

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
        """Send one CALL (camelCase payload) and return the CALLRESULT payload. One CALL in
        flight, a driver's Authorize ahead of the others (``call_turns``). Raises
        ``CallFailed`` on a CALLERROR or an answer that breaks the schema or cannot be kept,
        ``TimeoutError`` on no answer, ``ConnectionError`` when the link is gone."""
        call = Call(unique_id=str(self._unique_id_generator()), action=action, payload=payload)
        prechecked, self._prechecked = self._prechecked, None
        if prechecked is None or prechecked[0] != action or prechecked[1] is not payload:
            await self._check_schema(call)  # our own bug must not reach the CSMS
        async with self._turns.turn(urgent=action in URGENT):
            # Drop answers to earlier CALLs that timed out (they would misorder responses).
            while not self._response_queue.empty():
                self._response_queue.get_nowait()
            await self._send(call.to_json())
            response = await self._await_response(call.unique_id)
        if response.message_type_id == MessageType.CallError:
            assert isinstance(response, CallError)
            raise CallFailed(str(response.error_code), str(response.error_description))
        response.action = action
        name = self.answer_name.format(action=action)
        try:
            await self._check_schema(response)
        except OCPPError as exc:
            raise CallFailed(self.invalid_answer_code, f"invalid {name}: {exc}") from exc
        refused = self.refuse_answer(action, response.payload)
        if refused is not None:
            raise refused
        result: dict[str, Any] = response.payload
        return result


async def check_by_size(payload: Any, check: Callable[..., T], *args: Any) -> T:
    """``check(*args)`` (a schema check of ``payload``) on the event loop when ``payload`` is
    small (``bounds.fewer_values``: cheaper than a worker-thread hop), else in a worker thread
    (a big payload must not stall the loop)."""
    if bounds.fewer_values(payload):
        return check(*args)
    return await asyncio.to_thread(check, *args)
