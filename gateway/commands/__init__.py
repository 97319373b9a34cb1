"""What the `gateway` command does besides `run`: check, list, call, lock, the context budget."""
