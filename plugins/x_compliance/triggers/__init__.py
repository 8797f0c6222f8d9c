"""Waiting in the triggerer: ``XComplianceJobTrigger`` (:mod:`.job`) polls a job until it ends,
riding out outages by the rule every wait shares (:mod:`x_compliance.hooks.watch`), and sends a
:mod:`.events` payload back to the task. Kept small: the triggerer imports this package."""
