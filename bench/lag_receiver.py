"""A merchant endpoint that answers 200 at once and notes when each webhook arrived.

    python bench/lag_receiver.py PORT OUT

asyncio, raw HTTP/1.1, keep-alive (as bench/fast_receiver.py). For every request it writes one
line `<unix time> <webhook-id> <purchase_id>` to OUT (flushed twice a second and on SIGTERM), so
that bench/flash_sale.py can measure each settlement's webhook lag and count duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time

from fast_receiver import serve


class Log:
    def __init__(self, path: str) -> None:
        self.handle = open(path, "w")  # noqa: SIM115 (closed in close())
        self.lines: list[str] = []

    def note(self, headers: dict[bytes, bytes], body: bytes) -> None:
        webhook_id = headers.get(b"webhook-id", b"-").decode()
        try:
            purchase_id = str(json.loads(body or b"{}").get("purchase_id", "-"))
        except ValueError:
            purchase_id = "-"
        self.lines.append(f"{time.time():.6f} {webhook_id} {purchase_id}\n")

    def flush(self) -> None:
        self.handle.writelines(self.lines)
        self.handle.flush()
        self.lines = []

    def close(self) -> None:
        self.flush()
        self.handle.close()


async def main(port: int, out: str) -> None:
    log = Log(out)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    server = await asyncio.start_server(
        lambda reader, writer: serve(reader, writer, log.note), "127.0.0.1", port, backlog=512
    )
    async with server:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
            log.flush()
    log.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
