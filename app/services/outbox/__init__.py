"""Merchant webhooks out: events written with the change that caused them, the queue and its
sweeper (the only RQ user), delivery with its state, each endpoint's fair share of the workers
and its circuit breaker, the limit on test events, endpoints and their secrets, the delivery
log, Standard Webhooks signing, the retry schedule and the SSRF-safe transport."""
