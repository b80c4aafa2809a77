"""Running the platform: its health at a glance (the worker's heartbeat, webhook deliveries
due and failed, the last Midtrans notification per environment) and `flask doctor`, which
checks a deployment and says in plain words what is wrong. Operator views, across every
tenant."""
