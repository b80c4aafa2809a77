"""Money in: creating a checkout, Midtrans's notifications, the one place a payment's status
moves, the pending janitor, and the public status lookup."""
