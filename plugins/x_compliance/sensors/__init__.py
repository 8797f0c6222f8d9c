"""``XComplianceJobSensor`` (:mod:`.job`): wait for a job to be complete, deferred to the
triggerer or poking from a worker."""
