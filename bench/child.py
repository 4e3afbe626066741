"""Child processes of the bench: start, read their lines, measure CPU and memory, stop."""

from __future__ import annotations

import asyncio
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
    return Usage(cpu, run_ns / 1e9, rss, hwm)


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
