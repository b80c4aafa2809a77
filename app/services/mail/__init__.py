"""Outgoing mail: account messages (verification, password reset) composed in Bahasa Indonesia
and English, queued through RQ and sent over SMTP."""
