"""Outbound webhooks: signing, the retry schedule and an SSRF-safe HTTP transport."""
