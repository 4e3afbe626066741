"""docs/core.md carries the diagram generated from the current session table."""

from __future__ import annotations

from pathlib import Path

from chargepoint.core import diagram
from chargepoint.core.session import TRANSITIONS, Phase, Step, TransitionError, next_phase

DOC = Path(__file__).resolve().parents[2] / "docs" / "core.md"


def test_docs_carry_the_generated_diagram() -> None:
    text = DOC.read_text()
    begin = text.index("<!-- BEGIN GENERATED")
    begin = text.index("\n", begin) + 1
    end = text.index("<!-- END GENERATED -->")
    assert text[begin:end] == diagram.render(), "run: python -m chargepoint.core.diagram"


def test_every_transition_is_drawn() -> None:
    chart = diagram.mermaid()
    for (phase, step), nxt in TRANSITIONS.items():
        assert f"{phase.name} --> {nxt.name}: {step.name}" in chart


def test_missing_transition_names_both() -> None:
    assert next_phase(Phase.IDLE, Step.PLUG) is Phase.PLUGGED
    try:
        next_phase(Phase.IDLE, Step.OPENED)
    except TransitionError as exc:
        assert "IDLE" in str(exc) and "OPENED" in str(exc)
    else:
        raise AssertionError("no TransitionError")


def test_main_prints() -> None:
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        diagram.main()
    assert buf.getvalue() == diagram.render()
