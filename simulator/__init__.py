"""A local stand-in for Allegro's OAuth server and REST API, following allegro-api.md's
"What the simulator must reproduce" (tests, the demo and benchmarks only).

Agency accounts (``agency``, ``agency2``, …) read their clients' advertising statistics under
``/advertising-agencies/clients``; sellers (``seller01``, …), each a client of one agency, read
``/me`` and ``/sale/offers``; ``/ads/...`` is refused as for a non-whitelisted app. Production
code never imports this package. Start it with
``simulator.server.start_simulator(SimulatorConfig())`` or ``allegro-ads simulator``; its own
controls live under ``/_sim/`` and docs/simulator.md describes all of it.
"""
