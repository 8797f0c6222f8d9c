"""The cycle's steps as tasks: create (:mod:`.create`), upload (:mod:`.upload`), both in one
(:mod:`.submit`), download (:mod:`.download`) and all of them in one (:mod:`.job`), on one base
(:mod:`.base`: connection, hook, and the deferral of a wait to the triggerer). Each operator is
a thin shell over the step functions in :mod:`.steps`, so a step's logic exists once;
:mod:`.naming` derives job names from the task so a retry finds its own job, and :mod:`.links`
is the extra link to the job's entry on the Compliance page."""
