"""Waiting in the triggerer: ``XComplianceJobTrigger`` (:mod:`.job`) polls a job until it ends,
riding out outages, and sends a :mod:`.events` payload back to the task; :mod:`.wait_report` is
what every wait (deferred or not) reports about itself: when X took the IDs, when a status call
saw the job complete, how many calls it made. Kept small: the triggerer imports this package."""
