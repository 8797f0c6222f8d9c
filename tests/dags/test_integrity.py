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
    wait = dag.get_task("compliance_job.wait_for_job")
    assert wait.deferrable
    assert dag.get_task("apply_to_warehouse").outlets


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_the_flow_reads_left_to_right(dagbag, dag_id):
    dag = dagbag.get_dag(dag_id)
    order = [
        "compliance_job.create_job",
        "compliance_job.upload_ids",
        "compliance_job.wait_for_job",
        "compliance_job.download_results",
        "apply_to_warehouse",
    ]
    for upstream, downstream in pairwise(order):
        assert upstream in dag.get_task(downstream).get_flat_relative_ids(upstream=True)
