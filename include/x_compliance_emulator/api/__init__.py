"""The X API v2 batch compliance endpoints, as a client of ``api.x.com`` sees them.

``endpoints`` holds the three handlers (create a job, get one, list them); ``envelope`` is what
happens around each of them (bearer-token auth, injected faults, rate limits, headers);
``responses`` builds X's exact bodies and error shapes; ``ratelimit`` counts X's fixed windows.
Everything here is X's side of the wire and nothing else: storage, the world and the process
around it live in their own subpackages, so this one reads as a specification of X's API.
"""
