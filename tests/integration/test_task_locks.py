"""One runner per maintenance task (SPEC §15): PostgreSQL advisory locks, each on a lock
session of its process. Two lock holders in this process stand for two worker processes; then
three real `flask worker` processes share the tasks out, and when the runner is killed with
SIGKILL another takes every one of its tasks over."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.extensions import db
from app.task_locks import APPLICATION_NAME, Task, TaskLocks, runners
from tests.processes import REDIS_SERVER, RedisServer, WorkerProcess, process_env, wait_until


@pytest.fixture
def locks(app) -> Iterator[callable]:
    made: list[TaskLocks] = []

    def make() -> TaskLocks:
        with app.app_context():
            made.append(TaskLocks(db.engine.url))
        return made[-1]

    yield make
    for holder in made:
        holder.release()


def who_runs(app) -> dict[Task, str]:
    with app.app_context(), db.engine.connect() as connection:
        return runners(connection)


@pytest.mark.postgres_only
def test_a_task_has_one_runner_and_the_next_takes_it_when_the_first_lets_go(app, locks):
    first, second = locks(), locks()

    assert first.holds(Task.WEBHOOK_SWEEPER)
    assert not second.holds(Task.WEBHOOK_SWEEPER)
    assert second.holds(Task.JANITOR)  # the tasks are shared out independently
    assert first.holds(Task.WEBHOOK_SWEEPER)  # it goes on holding what it holds
    assert first.held() == {Task.WEBHOOK_SWEEPER}

    running = who_runs(app)
    assert set(running) == {Task.WEBHOOK_SWEEPER, Task.JANITOR}
    assert running[Task.WEBHOOK_SWEEPER].startswith(f"{APPLICATION_NAME} ")
    assert running[Task.WEBHOOK_SWEEPER].endswith(f":{os.getpid()}")

    first.release()

    assert second.holds(Task.WEBHOOK_SWEEPER)
    assert second.held() == {Task.WEBHOOK_SWEEPER, Task.JANITOR}


@pytest.mark.postgres_only
def test_a_runner_whose_session_ended_stops_running_and_another_takes_over(app, locks):
    first, second = locks(), locks()
    assert first.holds(Task.DAY_TOTALS)

    # Its session ends under it (PostgreSQL restarted, an operator's pg_terminate_backend).
    with app.app_context(), db.engine.connect() as connection:
        ended = connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name LIKE :name AND datname = current_database() "
                "AND pid <> pg_backend_pid()"
            ),
            {"name": f"{APPLICATION_NAME} %"},
        ).all()
        connection.commit()
    assert ended == [(True,)]

    assert second.holds(Task.DAY_TOTALS)
    assert not first.holds(Task.DAY_TOTALS)  # it learns at its next turn, and asks again
    assert first.held() == frozenset()


def test_on_sqlite_every_process_runs_every_task(tmp_path):
    # Development's one machine: no advisory locks, so nothing is held back.
    alone = TaskLocks(make_url(f"sqlite:///{tmp_path / 'lunas.db'}"))
    other = TaskLocks(make_url(f"sqlite:///{tmp_path / 'lunas.db'}"))
    assert not alone.shared
    assert all(alone.holds(task) and other.holds(task) for task in Task)


# -- three worker processes ---------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.skipif(REDIS_SERVER is None, reason="needs the redis-server binary")
def test_three_workers_run_each_task_once_and_a_killed_runners_tasks_are_taken_over(
    app, app_environ, tmp_path
):
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    env = process_env(
        app,
        {**app_environ, "REDIS_URL": redis_server.url, "WEBHOOK_SWEEP_INTERVAL_SECONDS": "1"},
    )
    workers = [WorkerProcess(env, tmp_path / f"worker-{n}.log") for n in (1, 2, 3)]

    def logs() -> str:
        return "\n".join(
            f"=== {w.log.name} (pid {w.proc.pid})\n{w.log.read_text()}" for w in workers
        )

    tasks = {Task.WEBHOOK_SWEEPER, Task.JANITOR, Task.DAY_TOTALS}
    try:
        running = wait_until(
            lambda: (found := who_runs(app)) and set(found) >= tasks and found,
            30,
            lambda: f"every task taken: {who_runs(app)}\n{logs()}",
        )
        pids = {w.proc.pid: w for w in workers}
        for task in tasks:
            pid = int(running[task].rsplit(":", 1)[1])
            assert pid in pids, (task, running)
        # Each process says which tasks it took; each task was taken once.
        for task in tasks:
            line = f"this process now runs the {task.label}"
            assert sum(w.log.read_text().count(line) for w in workers) == 1, logs()

        victim = pids[int(running[Task.WEBHOOK_SWEEPER].rsplit(":", 1)[1])]
        orphaned = {task for task in tasks if running[task] == running[Task.WEBHOOK_SWEEPER]}
        victim.kill()  # SIGKILL: no clean-up of its own

        def taken_over() -> dict[Task, str] | None:
            now = who_runs(app)
            alive = {f":{w.proc.pid}" for w in workers if w.alive()}
            if all(task in now and now[task][now[task].rindex(":") :] in alive for task in tasks):
                return now
            return None

        # "Within a minute": here within a few sweep intervals of one second.
        after = wait_until(taken_over, 30, lambda: f"taken over: {who_runs(app)}\n{logs()}")
        for task in orphaned:
            assert after[task] != running[task]
        for task in tasks - orphaned:
            assert after[task] == running[task]  # the survivors kept what they ran
        for worker in workers:
            if worker is not victim:
                assert worker.alive(), logs()
    finally:
        for worker in workers:
            worker.kill()
        redis_server.kill()
