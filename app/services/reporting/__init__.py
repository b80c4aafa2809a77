"""The portal's numbers: one keyset paginator, the payments list and detail, the overview and
its stored day totals, and the fake-payment seed."""
