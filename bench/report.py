"""How a bench keeps its results in docs/PERFORMANCE.md (imported by the bench scripts, which
Python runs with bench/ on sys.path): between its own pair of markers, so a rerun replaces the
last run's block and leaves every hand-written word around it alone."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "PERFORMANCE.md"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def write_block(name: str, lines: list[str], introduction: str) -> None:
    """Put `lines` between the `name` markers; the first time, append them after
    `introduction` (a heading, and whatever a reader needs before the numbers)."""
    start, end = markers(name)
    text = DOC.read_text()
    block = start + "\n" + "\n".join(lines) + "\n" + end
    if start in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text += "\n" + introduction + "\n\n" + block + "\n"
    DOC.write_text(text)
