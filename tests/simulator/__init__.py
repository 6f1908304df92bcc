"""Tests of the simulator itself: its OAuth, API, data, faults, spikes, counters, CLI."""
