"""What the benchmarks print about the machine they ran on (imported by the bench scripts,
which Python runs with bench/ on sys.path)."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path


def hardware() -> str:
    """'<CPU model>, <n> cores, <m> GiB'."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    return f"{cpu}, {os.cpu_count()} cores, {memory_kb / 1024 / 1024:.0f} GiB"
