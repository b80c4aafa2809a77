"""The chaos suite: Lunas as it runs in production (two web and three worker processes, a
PostgreSQL cluster and a redis-server of its own), under a steady load of checkouts and
Midtrans notifications, while one part after another fails. `make chaos` runs the long form
and writes docs/RELIABILITY.md; `make test` runs the short form (tests/chaos/test_chaos.py)."""
