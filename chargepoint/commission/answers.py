"""Where a commissioning walk gets the technician's answers.

``Answers(stream, out, sim=...)``: ``ask(prompt)`` writes the prompt and returns the next
answer line (stripped), or None at the end of the input. Lines starting with ``#`` are
comments. A line ``sim ...`` (a ``chargepoint sim`` command, e.g. ``sim adapter 1 B``) is run
on the simulated bench before the next answer is read: a scripted answers file (or stdin)
plays the technician's hands on the bench, step by step.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import TextIO


class Answers:
    def __init__(self, stream: TextIO | None, out: TextIO, *,
                 sim: Callable[[list[str]], str] | None = None) -> None:
        self._stream = stream
        self._out = out
        self._sim = sim
        self.ended = stream is None

    def ask(self, prompt: str) -> str | None:
        """The next answer; None once the input has ended (or without any input)."""
        self._out.write(prompt)
        self._out.flush()
        while not self.ended:
            assert self._stream is not None
            line = self._stream.readline()
            if not line:
                self.ended = True
                break
            text = line.strip()
            if text.startswith("#"):
                continue
            if text.startswith("sim ") and self._sim is not None:
                self._out.write(f"\n  [{text}] {self._sim(shlex.split(text))}\n")
                self._out.flush()
                continue
            self._out.write("\n" if self._stream is not None and not _is_tty(self._stream)
                            else "")
            return text
        self._out.write("\n")
        return None


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
