"""The sender: the durable transaction queue plus volatile StatusNotifications, in order.

OCPP 1.6 section 4.x / 3.x "Transaction-related messages": StartTransaction, StopTransaction
and transaction MeterValues are committed to the store before sending, sent strictly in order
with ONE CALL in flight, retried ``TransactionMessageAttempts`` times at
``TransactionMessageRetryInterval`` x attempt number after a CALLERROR or a timeout while
connected (offline they just wait), and removed only after the CSMS confirmed them.

StatusNotifications are not persisted (``post_status``): while registered each one is sent;
while not, only the latest per connector is kept (a newer one supersedes it) and these current
statuses are sent first after the (re)registration, before the backlog of transaction
messages: OCPP 1.6 requires order only among transaction-related messages, and a CSMS should
not wait hours of replay to learn that a connector is Available or Faulted now.

Order: every item gets a ticket when the core asked for it (``ticket()``, called by
``perform`` synchronously). An item is sent only when no item with a smaller ticket is still
waiting, so "Preparing, StartTransaction, Charging" reaches the CSMS in that order even though
persisting happens in a worker task. Messages queued by an earlier run have no ticket and go
first. An item whose persisting is stalled (the store refuses writes: ``stalled()``) no longer
holds back the StatusNotifications behind it, so the CSMS hears that the station is Faulted.

Contract: ``Outbox(store, link)``; the adapter supplies ``link`` (``OutboxLink``) for sending,
payload preparation and confirmations. ``run()`` is a task; ``wake()`` after each change.

Replay pace: the next queued messages are read while a CALL is in flight (``_READ_AHEAD`` in
one store call; none while the store's in-memory count says nothing is queued beyond them;
a short queue is read from the store's memory, ``queue_peek_nowait``: online, sending a
message needs no worker-thread hop but its confirmation's commit), and
while the store commits a confirmation the next message is already prepared and
schema-checked (``link.precheck``); it is SENT only after that commit returned, so a crash
re-sends at most the one message in flight, never one whose answer arrived.

No message stops the sender: an answer the station cannot use (``CallFailed`` from the link,
e.g. a transactionId beyond 32 bit) or an exception while preparing or confirming a message
counts as a failed attempt of that message (retried, then discarded, both logged). A message
whose timestamps cannot be resolved yet (``prepare`` raises ``TimeoutError``: the wall clock
is unknown) waits for ``wake()`` without counting an attempt.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from chargepoint.ocppj.rpc_errors import CallFailed
from chargepoint.store.api import QueuedMessage
from chargepoint.store.errors import StoreWriteError

LOG = logging.getLogger("chargepoint.ocpp.outbox")

_FIRST = -1  # ticket of messages queued by an earlier run
_PRUNE_AT = 1000  # tickets remembered before those of thinned MeterValues are pruned
_READ_AHEAD = 64  # queued messages read in one store call (one worker-thread hop)


class DurableQueue(Protocol):
    """The store's outbound queue as the sender reads it (``wire_queue.WireQueue``)."""

    def queue_peek(self, after_seq: int, limit: int) -> list[QueuedMessage]: ...

    def queue_peek_nowait(self, after_seq: int, limit: int) -> list[QueuedMessage] | None:
        """``queue_peek`` from memory (called on the loop), None: memory cannot tell."""

    def queue_length(self) -> int:
        """Messages in the queue, from memory (no store read: called on the loop)."""

    def mark_attempt(self, seq: int) -> int: ...

    def dequeue(self, seq: int) -> None: ...


class OutboxLink(Protocol):
    """What the sender needs from the adapter."""

    @property
    def registered(self) -> asyncio.Event:
        """Set while connected and BootNotification was Accepted."""

    @property
    def offline(self) -> asyncio.Event:
        """Set while not registered (the complement of ``registered``)."""

    async def request(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send a CALL; raises CallFailed, TimeoutError or ConnectionError."""

    async def prepare(self, msg: QueuedMessage) -> dict[str, Any] | None:
        """The payload to send now (ids and timestamps resolved), None: discard the message.
        May run while the previous message's ``confirmed`` commits (after its first step)."""

    async def precheck(self, action: str, payload: dict[str, Any]) -> None:
        """Check the CALL now so that ``request`` with this payload object need not (an
        optimisation: never raises; ``request`` still refuses an invalid payload)."""

    async def confirmed(self, msg: QueuedMessage, result: dict[str, Any]) -> None:
        """The CSMS confirmed ``msg`` with ``result``: apply it and remove ``msg`` from the
        durable queue in the same store transaction (no separate dequeue follows)."""

    def attempts(self) -> int: ...

    def retry_interval(self) -> float: ...


@dataclass
class _Status:
    ticket: int
    connector: int
    payload: Callable[[], dict[str, Any]]  # built at send time (timestamps resolved)


class Outbox:
    def __init__(self, store: DurableQueue, link: OutboxLink) -> None:
        self._store = store
        self._link = link
        self._tickets = itertools.count()
        self._durable: dict[tuple[str, int], int] = {}  # (action, tx_local_id | seq) -> ticket
        self._persisting: set[int] = set()  # tickets of items not yet in the store
        self._statuses: list[_Status] = []  # unsent, in ticket order
        self._status_in_flight: _Status | None = None
        # A confirmed message whose confirmation the store could not record (disk full): kept
        # with its answer and applied when the store writes again, never sent twice.
        self._unapplied: tuple[QueuedMessage, dict[str, Any]] | None = None
        self._wake = asyncio.Event()
        self._was_registered = False
        self._fresh_before = -1  # statuses with a smaller ticket go before any durable message
        self.sent_ok = 0  # confirmed durable messages (for tests and status)
        # Read-ahead: the queue's oldest messages as one store call returned them; [0] is the
        # head. Valid only while nothing but this sender's confirmations changed the queue:
        # dropped on every wake() (a producer stored or thinned something), failed attempt
        # and link loss. ``_ahead_gen`` tells a refill read during a CALL that it is stale.
        self._ahead: collections.deque[QueuedMessage] = collections.deque()
        self._ahead_gen = 0
        self._refill: asyncio.Task[None] | None = None
        # The message after the one being confirmed, prepared and prechecked during that
        # confirmation's commit: (seq, _ahead_gen then, payload); used only if still current.
        self._ready: tuple[int, int, dict[str, Any]] | None = None

    # -- producers (synchronous, from perform())
    def ticket(self) -> int:
        """Reserve the next place in line for an item that is being persisted."""
        ticket = next(self._tickets)
        self._persisting.add(ticket)
        return ticket

    def persisted(self, ticket: int, action: str, key: int | None) -> None:
        """The item with ``ticket`` is in the store as (``action``, tx local id or seq)."""
        self._persisting.discard(ticket)
        if key is not None:
            self._durable[(action, key)] = ticket
        self.wake()

    def stalled(self, ticket: int) -> None:
        """The item with ``ticket`` cannot be persisted now (it is retried): statuses after it
        may go; ``persisted`` still follows once it is in the store."""
        self._persisting.discard(ticket)
        self.wake()

    def post_status(self, connector: int, payload: Callable[[], dict[str, Any]],
                    triggered: bool = False) -> None:
        """Queue the StatusNotification of ``connector`` (offline: replacing an unsent one).
        ``triggered`` (TriggerMessage): nothing is queued while one for ``connector`` waits
        to be sent (not yet in flight): the newest queued status of a connector is its
        current one, and it will be sent after this trigger."""
        if triggered and any(s.connector == connector and s is not self._status_in_flight
                             for s in self._statuses):
            return
        if not self._link.registered.is_set():
            self._statuses = [s for s in self._statuses if s.connector != connector]
        self._statuses.append(_Status(next(self._tickets), connector, payload))
        self.wake()

    def wake(self) -> None:
        self._drop_ahead()
        self._wake.set()

    def _drop_ahead(self) -> None:
        self._ahead.clear()
        self._ahead_gen += 1

    async def _queue_head(self) -> QueuedMessage | None:
        if not self._ahead:
            if self._refill is not None:  # a read started during the last CALL: use it
                await asyncio.shield(self._refill)
            if not self._ahead and self._store.queue_length() > 0:
                self._fill(await self._peek(-1), self._ahead_gen)
        return self._ahead[0] if self._ahead else None

    async def _peek(self, after: int) -> list[QueuedMessage]:
        """The next ``_READ_AHEAD`` queued messages after seq ``after``: from the store's
        memory when the queue is short, else read in a worker thread."""
        found = self._store.queue_peek_nowait(after, _READ_AHEAD)
        if found is None:
            found = await asyncio.to_thread(self._store.queue_peek, after, _READ_AHEAD)
        return found

    def _fill(self, rows: list[QueuedMessage], gen: int) -> None:
        if gen == self._ahead_gen:
            self._ahead.extend(rows)

    def _read_ahead_during_call(self) -> None:
        """While the head's CALL is in flight, read the next batch if the buffer runs dry."""
        if len(self._ahead) > 1 or (self._refill is not None and not self._refill.done()):
            return
        if self._store.queue_length() <= len(self._ahead):
            return  # nothing queued beyond what is read already
        gen, after = self._ahead_gen, self._ahead[-1].seq if self._ahead else -1

        async def refill() -> None:
            try:
                self._fill(await self._peek(after), gen)
            except Exception as exc:  # read again by _queue_head when needed
                LOG.debug("read-ahead failed: %s", exc)
                self._drop_ahead()
            finally:
                self._refill = None
        self._refill = asyncio.create_task(refill())

    # -- the sender task
    async def run(self) -> None:
        while True:
            if not self._link.registered.is_set():
                self._was_registered = False
                await self._link.registered.wait()
            if not self._was_registered:  # (re)registered: current statuses before the backlog
                self._was_registered = True
                self._fresh_before = next(self._tickets)
            self._wake.clear()
            if self._unapplied is not None and not await self._apply_unapplied():
                # The store refuses writes: nothing durable can move, but the CSMS must still
                # hear the statuses (the station is Faulted), which are not stored.
                if self._statuses:
                    await self._send_status(self._statuses[0])
                else:
                    await self._wait_wake(1.0)
                continue
            head = await self._queue_head()
            head_ticket = self._ticket_of(head) if head is not None else None
            barrier = min(self._persisting, default=None)  # first item still being persisted
            limit = min((t for t in (head_ticket, barrier) if t is not None), default=None)
            status = self._statuses[0] if self._statuses else None
            if status is not None and (limit is None or status.ticket < limit
                                       or status.ticket < self._fresh_before):
                await self._send_status(status)
            elif head is not None and (barrier is None or self._ticket_of(head) < barrier):
                await self._send_durable(head)
            else:
                await self._wake.wait()

    def _ticket_of(self, msg: QueuedMessage) -> int:
        key = msg.tx_local_id if msg.action in ("StartTransaction", "StopTransaction") else msg.seq
        return self._durable.get((msg.action, key if key is not None else -1), _FIRST)

    async def _send_status(self, status: _Status) -> None:
        try:
            payload = status.payload()
        except Exception as exc:  # a volatile status: dropped, never blocking the line
            LOG.error("StatusNotification for connector %d not built: %s: %s",
                      status.connector, type(exc).__name__, exc)
            self._statuses.remove(status)
            return
        self._status_in_flight = status
        try:
            await self._link.request("StatusNotification", payload)
        except ConnectionError:
            await self._offline_wait()
            return
        except (CallFailed, TimeoutError) as exc:
            LOG.warning("StatusNotification for connector %d not confirmed: %s",
                        status.connector, exc)
        finally:
            self._status_in_flight = None
        if status in self._statuses:
            self._statuses.remove(status)

    async def _send_durable(self, msg: QueuedMessage) -> None:
        ready, self._ready = self._ready, None
        if ready is not None and ready[0] == msg.seq and ready[1] == self._ahead_gen:
            await self._send_prepared(msg, ready[2])
            return
        try:
            payload = await self._link.prepare(msg)
        except TimeoutError:
            # The wall clock is not known yet (no plausible CSMS time): keep it, wait.
            LOG.warning("%s #%d waits for the wall clock", msg.action, msg.seq)
            await self._wait_wake(max(1.0, self._link.retry_interval()))
            return
        except Exception as exc:
            LOG.error("%s #%d cannot be prepared: %s: %s", msg.action, msg.seq,
                      type(exc).__name__, exc)
            await self._failed(msg, exc)
            return
        if payload is None:
            LOG.error("discarding queued %s #%d: it cannot be sent (%s)", msg.action, msg.seq,
                      msg.payload)
            await self._dequeue(msg)
            return
        await self._send_prepared(msg, payload)

    async def _send_prepared(self, msg: QueuedMessage, payload: dict[str, Any]) -> None:
        self._read_ahead_during_call()
        try:
            result = await self._link.request(msg.action, payload)
        except ConnectionError:
            await self._offline_wait()
            return
        except (CallFailed, TimeoutError) as exc:
            await self._failed(msg, exc)
            return
        # The confirmation's first step runs before the next message's preparation starts
        # (tasks start in the order created): e.g. a StartTransaction's id is known by then.
        confirming = asyncio.ensure_future(self._link.confirmed(msg, result))
        readying = asyncio.ensure_future(self._ready_next(msg))
        try:
            error = await _outcome(confirming)
        finally:
            await readying  # handles its own errors
        if error is None:
            self._forget(msg)
            self.sent_ok += 1
            return
        self._ready = None
        if isinstance(error, StoreWriteError):
            LOG.error("%s #%d: confirmed, but the store cannot record it now (%s): applied when "
                      "it writes again", msg.action, msg.seq, error)
            self._unapplied = (msg, result)
            return
        LOG.error("%s #%d: its confirmation cannot be applied: %s: %s", msg.action,
                  msg.seq, type(error).__name__, error)
        await self._failed(msg, error)

    async def _ready_next(self, current: QueuedMessage) -> None:
        """Prepare and precheck the message after ``current`` (while ``current``'s confirmation
        commits). Any problem leaves it to the normal path, which prepares it again."""
        self._ready = None
        if len(self._ahead) < 2 or self._ahead[0].seq != current.seq:
            return
        following, gen = self._ahead[1], self._ahead_gen
        try:
            payload = await self._link.prepare(following)
            if payload is None:
                return
            await self._link.precheck(following.action, payload)
        except Exception as exc:
            LOG.debug("%s #%d not prepared ahead: %s", following.action, following.seq, exc)
            return
        if gen == self._ahead_gen:
            self._ready = (following.seq, gen, payload)

    async def _apply_unapplied(self) -> bool:
        """Apply the kept confirmation; False while the store still refuses writes."""
        assert self._unapplied is not None
        msg, result = self._unapplied
        try:
            await self._link.confirmed(msg, result)
        except StoreWriteError:
            return False
        self._forget(msg)
        self._unapplied = None
        self.sent_ok += 1
        return True

    async def _failed(self, msg: QueuedMessage, exc: Exception) -> None:
        self._drop_ahead()  # its attempt count changes (or it leaves the queue)
        try:
            attempts = await asyncio.to_thread(self._store.mark_attempt, msg.seq)
        except StoreWriteError as write_exc:  # the count cannot be kept now: retry later
            LOG.error("%s #%d: attempt not recorded (%s)", msg.action, msg.seq, write_exc)
            await self._wait_wake(max(1.0, self._link.retry_interval()))
            return
        limit = max(1, self._link.attempts())
        if attempts >= limit:
            # 1.6 section 4.x: after TransactionMessageAttempts the message is discarded.
            LOG.error("%s #%d failed %d times (%s): discarded", msg.action, msg.seq,
                      attempts, exc)
            await self._dequeue(msg)
            return
        delay = self._link.retry_interval() * attempts
        LOG.warning("%s #%d failed (%s): attempt %d of %d, retry in %.0f s", msg.action,
                    msg.seq, exc, attempts, limit, delay)
        await asyncio.sleep(delay)

    async def _dequeue(self, msg: QueuedMessage) -> None:
        await asyncio.to_thread(self._store.dequeue, msg.seq)
        self._forget(msg)

    def _forget(self, msg: QueuedMessage) -> None:
        """``msg`` left the store: drop it from the read-ahead and forget its ticket."""
        if self._ahead and self._ahead[0].seq == msg.seq:
            self._ahead.popleft()
        else:
            self._drop_ahead()
        key = msg.tx_local_id if msg.action in ("StartTransaction", "StopTransaction") else msg.seq
        self._durable.pop((msg.action, key if key is not None else -1), None)
        if len(self._durable) > _PRUNE_AT:
            # MeterValues the store thinned away never reach the head: forget their tickets.
            self._durable = {k: t for k, t in self._durable.items()
                             if k[0] != "MeterValues" or k[1] > msg.seq}

    async def _wait_wake(self, timeout: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _offline_wait(self) -> None:
        """The link dropped mid-CALL: nothing counted, wait for the next registration."""
        self._drop_ahead()
        await self._link.offline.wait()


async def _outcome(task: asyncio.Future[None]) -> Exception | None:
    """The exception ``task`` ended with, or None (cancelling the waiter cancels ``task``)."""
    try:
        await task
    except Exception as exc:
        return exc
    return None
