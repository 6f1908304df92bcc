"""Chaos tests: faults, spikes, killed loads and interrupted refreshes leave no damage."""
