"""The files DAG imports cleanly, follows the house rules of the warehouse DAGs, and refuses
bad input before any job: a malformed line or a mixed Post/user file fails the export, naming
the file and the line, and no file is rewritten."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from tests.dags.conftest import airflow_db, dagbag  # noqa: F401 (fixtures)
from tests.lake.generate import FIRST_POST, page, user
from x_compliance.exceptions import MixedRecordsError, TwarcLineError
from x_compliance.lake.dataset import TWARC2
from x_compliance.lake.export import export_dataset
from x_compliance.operators.submit import XComplianceSubmitJobOperator
from x_compliance.sensors.job import XComplianceJobSensor

ORDER = ["decide_scope", "export_ids", "submit", "wait_for_job", "download_results", "apply_to_files"]
SCOPE = {"kind": "sweep", "checked": "every row (sweep)", "created_from": None, "created_to": None}


def test_each_step_is_a_task_and_the_wait_defers(dagbag):  # noqa: F811
    dag = dagbag.get_dag("x_compliance_files")
    assert "compliance" in dag.tags and all(task.retries >= 1 for task in dag.tasks)
    assert [t.task_id for t in dag.topological_sort()] == ORDER
    for upstream, downstream in pairwise(ORDER):
        assert upstream in dag.get_task(downstream).upstream_task_ids
    assert dag.get_task("submit").operator_class is XComplianceSubmitJobOperator
    wait = dag.get_task("wait_for_job")
    assert wait.operator_class is XComplianceJobSensor and wait.partial_kwargs["deferrable"] is True
    assert {"mode", "date", "max_ids_per_job", "files_root", "format"} <= set(dag.params)
    assert dag.params.get_param("format").schema["enum"] == ["twarc2", "parquet", "delta"]
    assert dag.get_task("apply_to_files").outlets


def _dataset(tmp_path: Path, bad: bytes) -> tuple[Path, dict[Path, bytes]]:
    root = tmp_path / "dataset"
    root.mkdir()
    (root / "good.jsonl").write_text(json.dumps(page(FIRST_POST, 20)) + "\n")
    (root / "bad.jsonl").write_bytes(json.dumps(page(FIRST_POST + 20, 20)).encode() + b"\n" + bad)
    return root, {path: path.read_bytes() for path in root.iterdir()}


@pytest.mark.parametrize(
    ("bad", "error", "words"),
    [
        (b'{"data": [{"id": "1", "text": "cut', TwarcLineError, "not JSON"),
        (json.dumps({"data": [user(100_000_001)]}).encode(), MixedRecordsError, "users after the posts"),
    ],
)
def test_bad_input_fails_the_export_naming_file_and_line(tmp_path: Path, bad: bytes, error, words: str):
    root, before = _dataset(tmp_path, bad)
    with pytest.raises(error) as caught:
        export_dataset(root.as_uri(), TWARC2, SCOPE, (tmp_path / "jobs").as_uri(), max_ids_per_job=100)
    assert "bad.jsonl, line 2:" in str(caught.value) and words in str(caught.value)
    assert {path: path.read_bytes() for path in before} == before
    assert not (tmp_path / "jobs").exists()  # no job file: nothing goes to X
