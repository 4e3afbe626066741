"""Crash safety: SIGKILL a writer at random moments; every commit it reported must survive.

The writer (``store_crash_writer.py``) prints each id only after the store call returned, so a
printed id is a promise: "durable". After each kill the test re-opens the store and checks
the promises, the queue's strict order, that no transaction exists without its queued
message (and no stop without its StopTransaction), ``PRAGMA integrity_check`` and the schema.
Then it starts the next writer on the same file, which first recovers the transactions the
kill left open (PowerLoss). CHARGEPOINT_KILL_POINTS sets the number of kills (default 50),
CHARGEPOINT_KILL_SEED the random seed.

A SIGKILL tests process crashes (the OS keeps its page cache); power loss additionally relies
on ``synchronous=FULL`` fsyncs, which this test cannot observe.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from chargepoint.store.api import MessageKind
from chargepoint.store.db import Store
from chargepoint.store.migrations import SCHEMA_VERSION

WRITER = Path(__file__).with_name("store_crash_writer.py")
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Promises:
    """What the writers reported as committed, over all runs."""

    begun: set[int] = field(default_factory=set)
    stopped: set[int] = field(default_factory=set)
    queued: set[int] = field(default_factory=set)
    dequeued: set[int] = field(default_factory=set)
    may_vanish: set[int] = field(default_factory=set)  # announced dequeues
    commits: int = 0

    def take(self, line: str) -> None:
        kind, _, value = line.partition(" ")
        number = int(value)
        {"B": self.begun, "S": self.stopped, "R": self.stopped,
         "Q": self.queued, "D": self.dequeued, "d": self.may_vanish}[kind].add(number)
        self.commits += kind.isupper()


def _run_and_kill(db: Path, run: int, rng: random.Random, promises: Promises) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(db), str(run)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        assert proc.stdout.readline() == "ready\n", proc.stderr.read()
        # Kill after a random number of reported commits (0: during open, migration or
        # recovery), plus a random sub-commit jitter so the kill lands mid-write too.
        for _ in range(rng.choice([0, rng.randint(1, 60)])):
            line = proc.stdout.readline()
            assert line.endswith("\n"), f"writer died by itself: {proc.stderr.read()}"
            promises.take(line.strip())
        time.sleep(rng.uniform(0, 0.004))  # jitter of the kill point, not a wait for an event
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # read(), not communicate(): communicate reads the raw pipe and would drop the lines
        # readline() already buffered (a lost "d <seq>" made a dequeue look like a loss).
        rest, err = proc.stdout.read(), proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == -signal.SIGKILL, f"writer ended on its own: {err}"
    for line in rest.splitlines(keepends=True):
        if line.endswith("\n"):  # a line cut by the kill promises nothing
            promises.take(line.strip())


def _check(db: Path, promises: Promises, context: str) -> None:
    store = Store.open(db)  # the schema opens cleanly (and is not migrated again)
    try:
        assert store.integrity_check() == "ok", context
        assert store.summary()["schema_version"] == SCHEMA_VERSION, context
        with store._read() as conn:  # a raw view of every row, for the invariants below
            transactions = dict(conn.execute("SELECT local_id, stopped FROM transactions"))
            queue = conn.execute(
                "SELECT seq, action, tx_local_id, payload FROM outbox ORDER BY seq"
            ).fetchall()
    finally:
        store.close()
    # Every reported commit is there.
    assert promises.begun <= transactions.keys(), context
    assert all(transactions[t] == 1 for t in promises.stopped), context
    seqs = {row[0] for row in queue}
    assert (promises.queued - promises.may_vanish) <= seqs, context
    assert not (promises.dequeued & seqs), context
    # Strict order: seq order is the order the writers queued in, i.e. (run, i).
    keys = [(p["run"], p["i"]) for p in (json.loads(row[3]) for row in queue)]
    assert keys == sorted(keys) and len(set(keys)) == len(keys), context
    # Atomicity: one start message per transaction, a stop message iff stopped.
    for local_id, stopped in transactions.items():
        actions = [action for _seq, action, tx, _p in queue if tx == local_id]
        expected = [MessageKind.TRANSACTION_START, MessageKind.TRANSACTION_STOP][: 1 + stopped]
        assert actions == expected, (
            context, local_id, actions,
        )


def test_sigkill_at_random_points_loses_nothing(tmp_path: Path) -> None:
    kills = int(os.environ.get("CHARGEPOINT_KILL_POINTS", "50"))
    seed = int(os.environ.get("CHARGEPOINT_KILL_SEED", str(random.randrange(2**32))))
    rng = random.Random(seed)
    db = tmp_path / "state.db"
    promises = Promises()
    for run in range(kills):
        _run_and_kill(db, run, rng, promises)
        _check(db, promises, f"seed={seed} run={run}")
    # The runs really exercised the store (a test that cannot fail would not).
    assert promises.begun and promises.stopped and promises.dequeued
    print(f"survived {kills} SIGKILLs, {promises.commits} reported commits, seed {seed}")
