"""Draw the session table (``chargepoint.core.session.TRANSITIONS``) for ``docs/core.md``.

``python -m chargepoint.core.diagram`` prints the markdown table and the mermaid state
diagram; ``tests/core/test_core_diagram.py`` checks that the docs carry the current output.
"""

from __future__ import annotations

from chargepoint.core.session import TRANSITIONS, Phase


def markdown_table() -> str:
    """The transition table as a markdown table, one row per (phase, step)."""
    lines = ["| phase | step | next phase |", "| --- | --- | --- |"]
    for (phase, step), nxt in TRANSITIONS.items():
        lines.append(f"| {phase.name} | {step.name}: {step.value} | {nxt.name} |")
    return "\n".join(lines)


def mermaid() -> str:
    """The transition table as a mermaid ``stateDiagram-v2``."""
    lines = ["stateDiagram-v2", f"    [*] --> {Phase.IDLE.name}"]
    for (phase, step), nxt in TRANSITIONS.items():
        lines.append(f"    {phase.name} --> {nxt.name}: {step.name}")
    return "\n".join(lines)


def render() -> str:
    """Both, as the block ``docs/core.md`` embeds."""
    return f"{markdown_table()}\n\n```mermaid\n{mermaid()}\n```\n"


def main() -> None:
    print(render(), end="")


if __name__ == "__main__":
    main()
