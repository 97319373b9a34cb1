"""Benchmarks: every figure measured for the direct path and the gateway path in the same run."""
