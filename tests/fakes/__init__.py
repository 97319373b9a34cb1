"""Small real MCP servers used as backends in tests."""
