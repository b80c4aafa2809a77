"""CPU per Get Status call, requests against urllib3, to the bench's fake on loopback.

    .venv/bin/python bench/http_client_cpu.py [--calls 2000]

Why app/midtrans/client.py talks urllib3 directly: both keep the connection alive; this loop
shows what requests' layer adds per call (time.process_time, this process only; the fake
runs in its own). Each client is measured twice, alternating, after a warm-up.
"""

from __future__ import annotations

import argparse
import base64
import json
import tempfile
import time

import requests
import urllib3
from fake_midtrans_status import spawn

PORT = 18098
KEY = "SB-Mid-server-bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as answers:
        answers.write("pur_bench 75000.00\n")
        answers.flush()
        fake = spawn(PORT, KEY, answers.name)
        try:
            time.sleep(1.0)
            url = f"http://127.0.0.1:{PORT}/v2/pur_bench/status"
            session = requests.Session()
            pool = urllib3.PoolManager(maxsize=4, retries=False)
            authorization = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()

            def with_requests() -> dict:
                return session.get(
                    url,
                    auth=(KEY, ""),
                    headers={"Accept": "application/json"},
                    timeout=(3.05, 5),
                    allow_redirects=False,
                ).json()

            def with_urllib3() -> dict:
                answer = pool.request(
                    "GET",
                    url,
                    headers={"Accept": "application/json", "Authorization": authorization},
                    timeout=urllib3.Timeout(connect=3.05, read=5),
                )
                return json.loads(answer.data)

            assert with_requests()["transaction_status"] == "settlement"
            assert with_urllib3()["transaction_status"] == "settlement"
            for call in (with_requests, with_urllib3, with_requests, with_urllib3):
                for _ in range(200):
                    call()
                started = time.process_time()
                for _ in range(args.calls):
                    call()
                cpu = (time.process_time() - started) / args.calls * 1000
                print(f"{call.__name__}: {cpu:.3f} ms CPU per call")
        finally:
            fake.terminate()
            fake.wait(5)


if __name__ == "__main__":
    main()
