"""Everything Midtrans: the HTTP client, signatures, status mapping and the simulator."""
