"""The process around the emulator: settings, time, misbehaviour, counters and the server.

``config`` is one instance's settings; ``clock`` the advanceable clock; ``faults`` the queue of
injected misbehaviour; ``stats`` the counters; ``emulator`` the shared state tying jobs, world,
limits and faults together; ``wire`` the HTTP helpers every handler uses; ``app`` assembles the
aiohttp application from the api, storage and admin routes; ``server`` runs it on a socket in a
thread; ``cli`` is the command line. This is plumbing: what the emulator models lives elsewhere.
"""
