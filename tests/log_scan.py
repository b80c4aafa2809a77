"""The whole test run's logs, read for what must never be in one (SPEC §15): a client secret,
a webhook signing secret, a Midtrans server key, a full email address, a card number. Every
line the test process logs goes, as production writes it (JSON), to a file for the run; every
subprocess's log (workers, `make run`, servers) lies under pytest's temporary folder. At the
end of the run both are read; a finding fails the run, naming the file and the line."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from app.config import SIMULATOR_SERVER_KEY
from app.logs import JsonFormatter, context_filter

FORBIDDEN = (
    ("a client secret", re.compile(r"sk_(test|live)_[A-Za-z0-9]{48}")),
    ("a webhook signing secret", re.compile(r"whsec_[A-Za-z0-9+/=]{16,}")),
    ("a Midtrans server key", re.compile(r"(SB-)?Mid-server-[A-Za-z0-9_-]{6,}")),
    ("a full email address", re.compile(r"[A-Za-z0-9._%+-]{2,}@[A-Za-z0-9-]+\.[A-Za-z]{2,}")),
    ("a card number", re.compile(r"\b4811[ -]?1111[ -]?1111[ -]?1114\b")),
)


def record_run(path: Path) -> logging.Handler:
    """Every record of this process from now on, formatted as production formats it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    handler.addFilter(context_filter())
    handler.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    return handler


def findings(files: list[Path], known: tuple[str, ...] = (SIMULATOR_SERVER_KEY,)) -> list[str]:
    found = []
    for path in files:
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, 1):
            for what, pattern in FORBIDDEN:
                if pattern.search(line):
                    found.append(f"{path}:{number}: {what}: {line[:300]}")
            for secret in known:
                if secret in line:
                    found.append(f"{path}:{number}: a known secret: {line[:300]}")
    return found
