"""Policies: small, single-purpose checks applied to requests at the front (one per module)."""
