"""What RQ itself costs per job: a SimpleWorker running jobs that do nothing (`len("abc")`).

    .venv/bin/python bench/rq_floor.py [--jobs 3000] [--repeat 3]

Enqueues the jobs in one pipeline (Redis db 12, flushed), then times one SimpleWorker in this
process working them in burst mode, its logging at WARNING (no line per job). Prints CPU and
wall milliseconds per job, best of --repeat: the floor under any one-job-per-webhook worker,
whatever the job does.
"""

from __future__ import annotations

import argparse
import time

from redis import Redis
from rq import Queue, SimpleWorker

REDIS_URL = "redis://127.0.0.1:6379/12"


def once(jobs: int) -> tuple[float, float]:
    connection = Redis.from_url(REDIS_URL)
    connection.flushdb()
    queue = Queue("default", connection=connection)
    with connection.pipeline() as pipeline:
        for _ in range(jobs):
            queue.enqueue("builtins.len", "abc", pipeline=pipeline)
        pipeline.execute()
    cpu, wall = time.process_time(), time.perf_counter()
    SimpleWorker([queue], connection=connection).work(burst=True, logging_level="WARNING")
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    connection.flushdb()
    return 1000 * cpu / jobs, 1000 * wall / jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = [once(args.jobs) for _ in range(args.repeat)]
    cpu, wall = min(runs)
    print(
        f"RQ SimpleWorker, {args.jobs} no-op jobs, best of {args.repeat}: "
        f"{cpu:.2f} ms CPU and {wall:.2f} ms wall per job (at most {1000 / cpu:.0f} jobs/s "
        "on one core)"
    )


if __name__ == "__main__":
    main()
