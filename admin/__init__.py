"""The admin HTTP API (and, later, the web console on top of it)."""
