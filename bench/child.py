"""Child processes of the bench: start, read their lines, measure CPU and memory, stop.

``compile_bytecode()`` writes the ``__pycache__`` of the project's packages first, as
``pip install`` does for a deployed station (``deploy/install.sh``) and did for the bare
client's libraries: a checkout run under ``PYTHONDONTWRITEBYTECODE`` (or read-only) would
otherwise compile every module at every start (about 240 ms of a station's start-up).
"""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Usage:
    """CPU time and resident memory of a process.

    ``cpu_s``: user + system seconds of the whole process (``/proc/<pid>/stat``, clock-tick
    resolution); ``run_s``: time on a CPU summed over its live threads from the scheduler's
    nanosecond accounting (``/proc/<pid>/task/*/schedstat``), precise for short windows.
    """

    cpu_s: float
    run_s: float
    rss_kib: int
    hwm_kib: int  # peak RSS
    pss_kib: int = 0  # proportional set size: shared pages split among their users
    processes: int = 1


def descendants(pid: int) -> list[int]:
    """The children of ``pid``, their children ... (a station's safety island is one)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                for child in f.read().split():
                    found += [int(child), *descendants(int(child))]
    return found


def tree_usage(pid: int) -> Usage:
    """``usage`` summed over ``pid`` and its descendants (the whole station)."""
    total = usage(pid)
    for child in descendants(pid):
        with contextlib.suppress(OSError):
            u = usage(child)
            total = Usage(total.cpu_s + u.cpu_s, total.run_s + u.run_s,
                          total.rss_kib + u.rss_kib, total.hwm_kib + u.hwm_kib,
                          total.pss_kib + u.pss_kib, total.processes + 1)
    return total


def wakeups(pid: int) -> int:
    """Times the threads of ``pid`` went to sleep and were woken (the sum of their
    ``voluntary_ctxt_switches``): an idle process that waits on events stays near zero."""
    total = 0
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
    return total


def tree_wakeups(pid: int) -> dict[int, int]:
    """``wakeups`` of ``pid`` and of each descendant, by pid (main process first)."""
    return {p: wakeups(p) for p in (pid, *descendants(pid))}


def _pss_kib(pid: int) -> int:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def usage(pid: int) -> Usage:
    """Read ``/proc/<pid>``; raises OSError when the process is gone."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    run_ns = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/schedstat") as f:
            run_ns += int(f.read().split()[0])
    return Usage(cpu, run_ns / 1e9, rss, hwm, _pss_kib(pid))


PACKAGES = ("chargepoint", "hardware", "bench")


def compile_bytecode() -> bool:
    """Compile the project's packages to ``__pycache__`` (see the module docstring); False
    when a file could not be compiled or written."""
    root = Path(__file__).resolve().parent.parent
    return all(compileall.compile_dir(root / name, quiet=2) for name in PACKAGES)


async def spawn(*args: str, log: Path | None = None) -> asyncio.subprocess.Process:
    """Start ``python <args>`` with stdout piped; stderr goes to ``log`` (else inherited)."""
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    if log is None:
        return await asyncio.create_subprocess_exec(
            sys.executable, *args, stdout=asyncio.subprocess.PIPE, env=env)
    with log.open("ab") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable, *args, stdout=asyncio.subprocess.PIPE, stderr=err, env=env)


async def read_line(proc: asyncio.subprocess.Process, prefix: str, timeout: float) -> str:
    """The first stdout line starting with ``prefix`` (without it). Raises RuntimeError when
    the process ends first, TimeoutError after ``timeout``."""
    assert proc.stdout is not None

    async def scan() -> str:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            text = line.decode(errors="replace").rstrip("\n")
            if text.startswith(prefix):
                return text[len(prefix):].strip()
        raise RuntimeError(f"child exited ({await proc.wait()}) before printing {prefix!r}")

    return await asyncio.wait_for(scan(), timeout)


async def terminate(proc: asyncio.subprocess.Process, timeout: float = 10.0) -> int:
    """SIGTERM, then SIGKILL after ``timeout``; returns the exit status."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    if proc.stdout is not None:
        with contextlib.suppress(Exception):
            await proc.stdout.read()
    return proc.returncode if proc.returncode is not None else -1
