"""Compliance jobs: the job model, the store of all jobs, and their records on disk.

``job`` is one job, its status derived from the clock and its wire form; ``store`` creates jobs
(ids, signed URLs, one open job per type and token) and looks them up; ``persistence`` writes
each job's ``job.json`` atomically and reads them back at start-up. Jobs are shared by the API
(which creates and lists them), storage (which fills and serves their files) and the world
(which processes them), so they sit in a package of their own rather than in any one of those.
"""
