"""Resilience: what the gateway does when a backend fails (phases, retries, breaker, health)."""
