"""Every example DAG imports cleanly and follows the house rules."""

from __future__ import annotations

from itertools import pairwise

import pytest

from x_compliance.operators.download import XComplianceDownloadOperator
from x_compliance.operators.submit import XComplianceSubmitJobOperator
from x_compliance.sensors.job import XComplianceJobSensor

DAG_IDS = ["x_compliance_tweets", "x_compliance_users"]


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(DAG_IDS) <= set(dagbag.dag_ids)


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_tags_retries_and_deferrable_wait(dagbag, dag_id):
    dag = dagbag.get_dag(dag_id)
    assert "compliance" in dag.tags
    for task in dag.tasks:
        assert task.retries >= 1, f"{task.task_id} has no retries"
    wait = dag.get_task("wait_for_job")  # mapped: one task per job of the run
    assert wait.operator_class is XComplianceJobSensor
    assert wait.partial_kwargs["deferrable"] is True
    assert dag.get_task("apply_to_warehouse").outlets


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_each_step_is_a_task_of_its_own_in_the_grid(dagbag, dag_id):
    dag = dagbag.get_dag(dag_id)
    order = ["decide_scope", "export_ids", "submit", "wait_for_job", "download_results", "apply_to_warehouse"]
    assert [t.task_id for t in dag.topological_sort()] == order
    for upstream, downstream in pairwise(order):
        assert upstream in dag.get_task(downstream).upstream_task_ids
    steps = {
        "submit": XComplianceSubmitJobOperator,
        "wait_for_job": XComplianceJobSensor,
        "download_results": XComplianceDownloadOperator,
    }
    for task_id, operator in steps.items():
        task = dag.get_task(task_id)
        assert task.operator_class is operator and task.is_mapped, task_id  # one per X job
        assert [link.name for link in task.operator_extra_links] == ["X compliance job"]


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_daily_with_a_sweep_form_and_no_template_needing_a_logical_date(dagbag, dag_id):
    dag = dagbag.get_dag(dag_id)
    assert dag.timetable.expression == "0 0 * * *"  # daily, both DAGs
    params = dag.params
    assert set(params) == {"mode", "date", "created_from", "created_to", "max_ids_per_job"}
    assert params.get_param("mode").schema["enum"] == ["daily", "sweep"]
    assert params["max_ids_per_job"] == 5_000_000
    for task in dag.tasks:
        for field in task.template_fields:
            value = str(getattr(task, field, "") or "")
            assert "ds" not in value.replace("{{", " {{ ").split() and "logical_date" not in value, (
                task,
                field,
            )
