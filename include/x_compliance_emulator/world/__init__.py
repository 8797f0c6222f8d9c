"""The simulated world: which Posts and users are non-compliant, and the results files saying so.

``fates`` decides the reason (if any) for every ID, from a world file, a schedule or the seeded
hash in ``hashing``; ``idfile`` reads uploaded ID files in bounded chunks; ``results`` writes a
job's results file; ``processing`` runs that work on a background thread. None of it speaks
HTTP: it is the ground truth the API and storage serve, and what tests compare results against.
"""
