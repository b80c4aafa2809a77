"""A merchant acting on payments after checkout (SPEC §11): reading them, cancelling,
refunding, saying the order was fulfilled."""
