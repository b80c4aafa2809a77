"""Hypothesis runs without deadlines (a busy 2-core CI machine is no proof of slowness) and
prints the seed of any failure, so that it can be replayed."""

from hypothesis import settings

settings.register_profile("lunas", deadline=None, print_blob=True, max_examples=150)
settings.load_profile("lunas")
