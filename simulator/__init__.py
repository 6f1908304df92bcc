"""A local stand-in for Allegro's OAuth and Ads REST API, for tests and the demo.

Production code never imports this package. Start it with
``simulator.server.start_simulator(SimulatorConfig())`` or
``allegro-ads simulator``; its own endpoints live under ``/_sim/``.
"""
