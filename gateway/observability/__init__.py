"""What an operator sees of the gateway at work: request ids, logs, metrics, traces."""
