"""The emulator's own control plane, which X does not have: the admin API and its client.

``endpoints`` serves ``/_emulator/`` (clock, faults, stats, jobs, config, reset, fates) behind
the admin token; ``client`` is ``EmulatorAdmin``, a standard-library client for it, so demos,
benchmarks and tests in another process can drive the emulator. Kept apart from ``api`` so that
nothing a reader finds there is mistaken for part of X's API.
"""
