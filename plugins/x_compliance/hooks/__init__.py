"""Talking to X: ``XComplianceHook`` (:mod:`.x_compliance`, the only code that speaks HTTP to
X's API) and its transfers to and from the signed storage URLs (:mod:`.storage`), with the rules
every call follows, kept beside the calls: the job model X returns (:mod:`.jobs`), reading X's
responses and rate-limit headers (:mod:`.responses`), when to retry and how a failure is told
(:mod:`.retry`), how long to wait between status calls (:mod:`.pacing`), what every wait does
after a status call, outages included (:mod:`.watch`), what a wait saw of X's work
(:mod:`.wait_report`), transfer progress and durations in the log (:mod:`.progress`) and keeping
the token and signed URLs out of every log (:mod:`.redact`)."""
