"""Per-request rules: who sees what (views, scopes), how much and how fast (rate limits, sizes),
what happens to answers too large to return (offload, the result store), and the audit trail."""
