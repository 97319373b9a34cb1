"""The relay: MCP methods as clients call them, answered from the caller's view.

The front server's handlers for lists, calls, reads, completions, subscriptions and logging;
who the caller is (`callers`), what it may see, lists served from a cache, change notifications,
tool search, and the handshake that waits for the backends' catalogs.
"""
