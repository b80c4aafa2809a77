"""Merchant webhooks out: events written with the change that caused them, the queue and its
sweeper (the only RQ user), delivery with its state, endpoints and their secrets, the delivery
log, Standard Webhooks signing, the retry schedule and the SSRF-safe transport."""
