"""The signed-URL storage server: the Google Cloud Storage side that X's job URLs point at.

``envelope`` checks every request (signature, expiry, faults) and routes it to a plain
``upload``, a ``resumable`` upload session or a ``download``; ``body`` streams request bodies to
disk; ``signing`` makes and verifies the V4-style signed URLs; ``responses`` builds GCS's XML
errors. It is kept apart from ``api`` because it is a different service on the real wire: no
bearer token (the URL is the credential), other error formats, other protocols.
"""
