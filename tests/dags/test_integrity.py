"""Every example DAG imports cleanly and follows the house rules."""

from __future__ import annotations

from itertools import pairwise

import pytest

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
    job = dag.get_task("compliance_job")  # mapped: one task per job of the run
    assert job.partial_kwargs["deferrable"] is True
    assert dag.get_task("apply_to_warehouse").outlets


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_the_flow_reads_left_to_right(dagbag, dag_id):
    dag = dagbag.get_dag(dag_id)
    order = ["decide_scope", "export_ids", "compliance_job", "apply_to_warehouse"]
    for upstream, downstream in pairwise(order):
        assert upstream in dag.get_task(downstream).get_flat_relative_ids(upstream=True)


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
