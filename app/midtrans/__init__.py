"""The Midtrans adapter: the HTTP client (Snap, Get Status), notification signatures, the
mapping of Midtrans's statuses to ours, and its time formats. Lunas's own rules live in
app/models and app/services; the stand-in for offline work is app/simulator."""
