"""Harnesses shared by tests and benchmarks (never installed): simulator, load, chaos, consent."""
