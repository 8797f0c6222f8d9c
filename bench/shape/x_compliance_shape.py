"""A DAG of the tweets DAG's shape that does no work: Airflow's own cost of such a run.

``decide_scope`` → ``export_ids`` → ``submit`` → ``wait_for_job`` (defers once, as the sensor
does while X processes) → ``download_results`` → ``apply_to_warehouse``, the three job steps
mapped over the export's parts: as many as the real run's jobs (``-c '{"jobs": N}'``, default
1), the submits one at a time and each after the first deferring once, as the real ones wait
for X's slot. ``bench/dag_run.py`` runs it with ``airflow dags test`` beside the real DAG, so
the difference is what the work costs.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.sdk import DAG, BaseOperator, task


class DeferOnce(BaseOperator):
    """Defers once on a zero-length timer, then returns its part: the wait's round trip
    (``after_first``: only for the parts after the first, as a submit waits for X's slot)."""

    def __init__(self, *, part: dict, after_first: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.part, self.after_first = part, after_first

    def execute(self, context):
        if self.after_first and self.part["part"] == 1:
            return self.part
        self.defer(trigger=TimeDeltaTrigger(timedelta(0)), method_name="resume")

    def resume(self, context, event=None):
        return self.part


with DAG(
    dag_id="x_compliance_shape",
    schedule=None,
    start_date=pendulum.datetime(2026, 8, 1, tz="UTC"),
    catchup=False,
) as dag:

    @task
    def decide_scope() -> dict:
        return {"kind": "daily"}

    @task
    def export_ids(scope: dict, dag_run=None) -> list[dict]:
        jobs = int((dag_run.conf or {}).get("jobs", 1))
        return [{"part": k, **scope} for k in range(1, jobs + 1)]

    @task
    def download_results(part: dict) -> dict:
        return part

    @task
    def apply_to_warehouse(parts: list[dict]) -> int:
        return len(parts)

    submitted = DeferOnce.partial(task_id="submit", after_first=True, max_active_tis_per_dagrun=1).expand(
        part=export_ids(decide_scope())
    )
    waited = DeferOnce.partial(task_id="wait_for_job").expand(part=submitted.output)
    apply_to_warehouse(download_results.expand(part=waited.output))
