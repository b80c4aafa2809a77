"""A merchant endpoint that answers 200 at once: asyncio, raw HTTP/1.1, keep-alive.

python bench/fast_receiver.py PORT
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


async def read_request(reader: asyncio.StreamReader) -> tuple[dict[bytes, bytes], bytes]:
    """One request off a kept-alive connection: its headers (names in lower case), its body."""
    head = await reader.readuntil(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get(b"content-length", 0))
    return headers, (await reader.readexactly(length) if length else b"")


async def serve(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    on_request: Callable[[dict[bytes, bytes], bytes], None] | None = None,
) -> None:
    """Answer every request on this connection at once, after `on_request(headers, body)`."""
    try:
        while True:
            headers, body = await read_request(reader)
            if on_request is not None:
                on_request(headers, body)
            writer.write(RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=512)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
