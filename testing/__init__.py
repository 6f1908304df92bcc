"""Harnesses shared by the tests and the benchmarks, never installed: simulator sessions, load
and chaos drivers, simulated consent, throw-away databases."""
