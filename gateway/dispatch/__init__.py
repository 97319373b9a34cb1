"""One routed request on its way to a backend and back.

`forward` runs the policy pipeline (sizes, rate limits, the attempt with retries under one
deadline, the answer's size, audit, metrics, tracing); `translate` bridges the protocol eras
when a backend asks the user for input; `rewrite` changes the names inside answers; `drain`
counts calls in flight for a graceful shutdown.
"""
