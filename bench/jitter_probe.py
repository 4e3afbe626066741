"""The platform's own baseline for the safety figure: how late a bare timer wakes here.

``python -m bench.jitter_probe PRIORITY``: asks for SCHED_FIFO at ``PRIORITY`` (like the
safety island), then sleeps ``PERIOD_S`` (the island's live tick) over and over, noting how
late each wake-up is, until SIGTERM; then prints one line ``RESULT <json>``: the lateness
percentiles in ms, the number of wake-ups, the scheduling it got and the CPU time the
hypervisor took from this machine meanwhile (``steal`` of /proc/stat; 0 on bare metal such
as a Raspberry Pi). No Python above a sleep, no I/O: what it sees late, the island cannot
see on time either.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

from bench.stats import summary_ms

PERIOD_S = 0.002
CLK_TCK = os.sysconf("SC_CLK_TCK")


def steal_s() -> float:
    """CPU time stolen by the hypervisor so far, all CPUs together."""
    with open("/proc/stat") as stat:
        return int(stat.readline().split()[8]) / CLK_TCK


def main(argv: list[str]) -> int:
    priority = int(argv[0]) if argv else 50
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        scheduling = f"SCHED_FIFO {priority}"
    except OSError as exc:
        scheduling = f"normal ({exc.strerror or exc})"
    stop: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    late: list[float] = []
    stolen = steal_s()
    while not stop:
        asleep = time.monotonic()
        time.sleep(PERIOD_S)
        late.append(max(0.0, time.monotonic() - asleep - PERIOD_S))
    doc = {"lateness_ms": summary_ms(late), "scheduling": scheduling,
           "steal_s": round(steal_s() - stolen, 3), "period_ms": PERIOD_S * 1000}
    print("RESULT " + json.dumps(doc), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
