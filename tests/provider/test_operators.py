"""Each operator against the emulator, run as a worker and the triggerer would run it."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from unittest.mock import ANY

import pyarrow.parquet as pq
import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from airflow.sdk import DAG

from tests.conftest import TOKEN
from tests.provider.conftest import expected_results, status_count, wait_for_status
from tests.provider.runner import make_context, run_task
from x_compliance import (
    XComplianceCreateJobOperator,
    XComplianceDownloadOperator,
    XComplianceJobOperator,
    XComplianceJobSensor,
    XComplianceJobTrigger,
    XComplianceSubmitJobOperator,
    XComplianceUploadOperator,
)
from x_compliance.exceptions import (
    InvalidIdError,
    JobExpiredError,
    JobFailedError,
    MalformedResultError,
    WaitTimeoutError,
)
from x_compliance.files.normalize import write_results_parquet
from x_compliance.hooks.jobs import JobStatus
from x_compliance.operators import steps
from x_compliance.operators.naming import job_name, next_name
from x_compliance_emulator import Fault

# -- create -----------------------------------------------------------------------------------


def test_create_pushes_the_job_id_and_names_the_job_after_the_run(hook, emulator):
    op = XComplianceCreateJobOperator(task_id="create", job_type="tweets")
    job_id, deferrals = run_task(op)
    assert not deferrals
    (job,) = hook.list_jobs("tweets")
    assert job.id == job_id
    assert job.name == job_name("x_compliance_test", "create", "manual__1")
    assert len(job.name) <= 64 and job.resumable


def test_retried_create_reuses_its_job(hook, emulator):
    op = XComplianceCreateJobOperator(task_id="create", job_type="users")
    first, _ = run_task(op)
    second, _ = run_task(XComplianceCreateJobOperator(task_id="create", job_type="users"))
    assert first == second
    assert len(hook.list_jobs("users")) == 1


def test_long_ids_still_give_a_valid_name():
    name = job_name("d" * 200, "t" * 200, "scheduled__2026-11-21T00:00:00+00:00")
    assert len(name) == 64
    assert name != job_name("d" * 200, "t" * 200, "scheduled__2026-11-22T00:00:00+00:00")


def test_replacement_names_count_up_and_stay_valid():
    assert [next_name("x"), next_name("x~1"), next_name("x~9")] == ["x~1", "x~2", "x~10"]
    assert next_name("x~\u0663") == "x~\u0663~1"  # an Arabic-Indic 3 is not a count
    assert next_name("n" * 64) == "n" * 62 + "~1"


def test_create_waits_for_the_slot_by_deferring(hook, emulator, id_file):
    blocker = hook.create_job("tweets", name="someone-else")
    emulator.emulator.config.processing_seconds_base = 60  # holds the slot on any machine
    steps.upload_ids(hook, blocker, id_file(50))
    op = XComplianceCreateJobOperator(task_id="create", job_type="tweets", slot_poll_interval=0.05)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context(task_id="create"))
    trigger = deferred.value.trigger
    assert isinstance(trigger, XComplianceJobTrigger) and trigger.job_id == blocker.id
    assert TOKEN not in json.dumps(trigger.serialize()[1])
    emulator.emulator.clock.advance(61)  # the blocker finishes processing
    job_id, deferrals = run_task(op, make_context(task_id="create"), deferred=deferred.value)
    assert deferrals[0] is deferred.value and job_id != blocker.id
    assert hook.get_job(job_id).status is JobStatus.CREATED


def test_slot_held_by_a_job_not_uploaded_yet_is_looked_at_again_soon(hook, emulator):
    """Such a job ends only when someone uploads to it (maybe another job of this run, queued):
    the create looks again after one paced interval instead of waiting on it."""
    from airflow.providers.standard.triggers.temporal import DateTimeTrigger

    hook.create_job("tweets", name="someone-else")  # created, never uploaded
    op = XComplianceCreateJobOperator(task_id="create", job_type="tweets", slot_poll_interval=0.5)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context(task_id="create"))
    trigger = deferred.value.trigger
    assert isinstance(trigger, DateTimeTrigger)  # a TimeDeltaTrigger: now + the delay
    # pro tier, 150 calls per 900 s window: the first re-check after the floor (the even spread
    # of the calls left said about 6 s)
    wait = (trigger.moment - datetime.now(UTC)).total_seconds()
    assert 0 < wait <= 0.5
    # after 100 s of trying for the slot, a tenth of that
    with pytest.raises(TaskDeferred) as later:
        op.defer_until_slot_is_free(make_context(), "n", deadline=time.time() + op.slot_timeout - 100)
    wait = (later.value.trigger.moment - datetime.now(UTC)).total_seconds()
    assert 9.5 < wait < 10.5


def test_slot_wait_is_bounded(hook, emulator):
    hook.create_job("tweets", name="someone-else")
    op = XComplianceCreateJobOperator(task_id="create", job_type="tweets", slot_timeout=0)
    with pytest.raises(WaitTimeoutError, match="slot_timeout"):
        op.execute(make_context(task_id="create"))


# -- upload -----------------------------------------------------------------------------------


def test_upload_then_a_retry_does_nothing(hook, emulator, id_file):
    job = hook.create_job("tweets")
    path = id_file(1000)
    op = XComplianceUploadOperator(task_id="upload", job_id=job.id, ids_path=str(path))
    summary, _ = run_task(op)
    assert (summary["ids"], summary["bytes"]) == (1000, path.stat().st_size)
    emulator.emulator.clock.advance(1)
    again, _ = run_task(op)
    assert again.get("already_uploaded") or again["ids"] == 1000
    assert "http" not in json.dumps(summary)


def test_upload_refuses_a_bad_line_and_sends_nothing(hook, emulator, tmp_path):
    job = hook.create_job("tweets")
    path = tmp_path / "ids.txt"
    path.write_text("1\n2\n3x\n4\n")
    op = XComplianceUploadOperator(task_id="upload", job_id=job.id, ids_path=str(path))
    with pytest.raises(InvalidIdError, match=r"ids.txt, line 3: '3x'"):
        run_task(op)
    assert hook.get_job(job.id).status is JobStatus.CREATED  # nothing arrived


def test_upload_to_a_lapsed_job_says_create_a_new_one(hook, emulator, id_file):
    job = hook.create_job("tweets")
    emulator.emulator.clock.advance(16 * 60)
    op = XComplianceUploadOperator(
        task_id="upload", job_id=job.id, ids_path=str(id_file(10)), replace_lapsed_job=False
    )
    with pytest.raises(JobExpiredError, match="create a new job"):
        run_task(op)


def test_upload_replaces_a_lapsed_job_and_says_which_job_got_the_ids(hook, emulator, id_file):
    job = hook.create_job("tweets", name="nightly")
    emulator.emulator.clock.advance(16 * 60)
    op = XComplianceUploadOperator(task_id="upload", job_id=job.id, ids_path=str(id_file(10)))
    context = make_context(task_id="upload")
    summary, _ = run_task(op, context)
    replacement = hook.get_job(summary["job_id"])
    assert replacement.id != job.id and replacement.name == "nightly~1"
    assert context["ti"].xcoms["job_id"] == replacement.id
    again, _ = run_task(op, context)  # a retry finds the replacement instead of making a third job
    assert again["job_id"] == replacement.id
    assert len(hook.list_jobs("tweets")) == 2


def test_job_id_and_paths_are_template_fields():
    assert set(XComplianceUploadOperator.template_fields) == {"job_id", "ids_path"}
    assert set(XComplianceDownloadOperator.template_fields) == {
        "job_id",
        "results_path",
        "wait_report",
        "uploaded_ids",
        "ids_path",
    }
    assert set(XComplianceCreateJobOperator.template_fields) == {"job_type", "name"}
    assert set(XComplianceSubmitJobOperator.template_fields) == {"job_type", "name", "ids_path"}
    assert set(XComplianceJobSensor.template_fields) == {"job_id", "uploaded_at"}
    assert {"ids_path", "results_path", "name"} <= set(XComplianceJobOperator.template_fields)


# -- submit -----------------------------------------------------------------------------------


def test_submit_creates_uploads_and_hands_on_the_job(hook, emulator, id_file):
    path = id_file(1000)
    op = XComplianceSubmitJobOperator(task_id="submit", job_type="tweets", ids_path=str(path))
    context = make_context(task_id="submit")
    summary, deferrals = run_task(op, context)
    (job,) = hook.list_jobs("tweets")
    assert (
        not deferrals
        and job.status is not JobStatus.CREATED
        and job.name == job_name("x_compliance_test", "submit", "manual__1")
    )
    assert summary == {
        "job_id": job.id,
        "ids": 1000,
        "bytes": path.stat().st_size,
        "seconds": ANY,
        "uploaded_at": ANY,
        "pace": {"ids": 0, "seconds": 0.0},  # the run's first job: no pace measured before it
        "jobs_after": 0,
        "status_limit": None,  # no status call made, none handed on
    }
    # The upload went to the job as create returned it: no read of the job by id.
    assert status_count(emulator, "get", 200) == 0
    assert context["ti"].xcoms == {"job_id": job.id, "uploaded_at": summary["uploaded_at"], "ids": 1000}
    assert not job.resumable  # a small file goes up in one PUT
    again, _ = run_task(op, make_context(task_id="submit"))  # a retry: same job, nothing sent again
    assert (again["job_id"], again["ids"], again["uploaded_at"]) == (job.id, 1000, None)
    assert again["already_uploaded"]
    wait_for_status(hook, emulator, job.id, JobStatus.COMPLETE)  # X counts the IDs as it processes them
    assert emulator.emulator.jobs()[0]["ids_uploaded"] == 1000
    assert "http" not in json.dumps(summary)


def test_submit_names_its_job_before_the_upload_can_fail(hook, emulator, tmp_path):
    """The job link works on a failed try: the job id is pushed as soon as the job exists."""
    path = tmp_path / "ids.txt"
    path.write_text("1\n2x\n")
    op = XComplianceSubmitJobOperator(task_id="submit", job_type="tweets", ids_path=str(path))
    context = make_context(task_id="submit")
    with pytest.raises(InvalidIdError, match="line 2"):
        run_task(op, context)
    (job,) = hook.list_jobs("tweets")
    assert context["ti"].xcoms == {"job_id": job.id} and job.status is JobStatus.CREATED


def test_submits_of_one_run_follow_one_another(hook, emulator, id_file):
    """The second file's submit defers while the first job holds X's slot, then goes on."""
    emulator.emulator.config.processing_seconds_base = 60
    first_file, second_file = id_file(10, name="a"), id_file(20, name="b")
    first = XComplianceSubmitJobOperator(task_id="submit", job_type="users", ids_path=str(first_file))
    first_summary, _ = run_task(first, make_context(task_id="submit"))
    second = XComplianceSubmitJobOperator(
        task_id="submit", job_type="users", ids_path=str(second_file), slot_poll_interval=0.05
    )
    second_context = make_context(task_id="submit")
    second_context["ti"].map_index = 1
    with pytest.raises(TaskDeferred) as deferred:
        second.execute(second_context)
    assert deferred.value.trigger.job_id == first_summary["job_id"]
    emulator.emulator.clock.advance(61)
    summary, _ = run_task(second, second_context, deferred=deferred.value)
    assert summary["ids"] == 20 and summary["job_id"] != first_summary["job_id"]
    jobs = sorted(emulator.emulator.jobs(), key=lambda job: job["created_at"])
    assert [j["bytes_uploaded"] for j in jobs] == [first_file.stat().st_size, second_file.stat().st_size]


def test_submit_replaces_a_job_whose_upload_window_lapsed(hook, emulator, id_file):
    emulator.emulator.faults.add(Fault("expire_upload"))
    op = XComplianceSubmitJobOperator(task_id="submit", job_type="tweets", ids_path=str(id_file(10)))
    context = make_context(task_id="submit")
    summary, _ = run_task(op, context)
    jobs = {job.name: job for job in hook.list_jobs("tweets")}
    name = job_name("x_compliance_test", "submit", "manual__1")
    lapsed, replacement = jobs[name], jobs[f"{name}~1"]
    assert summary["job_id"] == context["ti"].xcoms["job_id"] == replacement.id != lapsed.id
    assert lapsed.status is JobStatus.EXPIRED and summary["ids"] == 10


# -- sensor -----------------------------------------------------------------------------------


def _uploaded_job(hook, id_file, job_type="tweets", count=200):
    job = hook.create_job(job_type)
    steps.upload_ids(hook, job, id_file(count))
    return job


@pytest.mark.parametrize(
    ("cls", "args"), [(XComplianceJobSensor, {}), (XComplianceUploadOperator, {"ids_path": "ids.txt"})]
)
def test_the_connection_argument_is_an_operator_argument(cls, args):
    """Taken from a DAG's default_args, accepted by partial, refused when misspelt: for the sensor
    as for every operator."""
    with DAG("conn_args", default_args={"x_compliance_conn_id": "from_defaults"}):
        task = cls(task_id="t", job_id="1", **args)
        mapped = cls.partial(task_id="m", x_compliance_conn_id="from_partial", **args).expand(job_id=["1"])
    assert task.x_compliance_conn_id == "from_defaults" and task.hook.x_compliance_conn_id == "from_defaults"
    assert mapped.partial_kwargs["x_compliance_conn_id"] == "from_partial"
    assert task.ui_color == "#e8f0fe" and len(task.operator_extra_links) == 1
    with pytest.raises(TypeError):
        cls.partial(task_id="bad", x_compliance_conn=1)


def test_sensor_defers_with_the_trigger_and_completes(hook, emulator, id_file):
    job = _uploaded_job(hook, id_file)
    sensor = XComplianceJobSensor(task_id="wait", job_id=job.id, deferrable=True, poke_interval=0.05)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(make_context(task_id="wait"))
    assert deferred.value.trigger.serialize()[0] == "x_compliance.triggers.job.XComplianceJobTrigger"
    emulator.emulator.clock.advance(60)
    result, deferrals = run_task(sensor, deferred=deferred.value)
    assert result == job.id and deferrals == [deferred.value]


def test_sensor_reports_status_calls_and_x_processing_time(hook, emulator, id_file):
    job = _uploaded_job(hook, id_file)
    uploaded_at = "2026-01-01T00:00:00+00:00"
    sensor = XComplianceJobSensor(
        task_id="wait", job_id=job.id, uploaded_at=uploaded_at, deferrable=True, poke_interval=0.05
    )
    context = make_context(task_id="wait")
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context)
    emulator.emulator.clock.advance(60)
    run_task(sensor, context, deferred=deferred.value)
    report = context["ti"].xcoms["wait_report"]
    # One look before deferring, at least one by the trigger; the event tells the rest, no read after.
    assert report["status_calls"] >= 2 and report["status"] == "complete"
    assert report["status_calls"] == status_count(emulator, "get", 200)  # every call counted
    assert report["uploaded_at"] == uploaded_at and report["x_processing_seconds"] > 0
    assert report["status_limit"]["limit"] == 150 and "http" not in json.dumps(report)


def test_sensor_returns_at_once_when_already_complete(hook, emulator, id_file):
    job = _uploaded_job(hook, id_file)
    wait_for_status(hook, emulator, job.id, JobStatus.COMPLETE)
    result, deferrals = run_task(XComplianceJobSensor(task_id="wait", job_id=job.id, deferrable=True))
    assert result == job.id and not deferrals


def test_sensor_fails_with_x_error(hook, emulator, id_file):
    emulator.emulator.faults.add(Fault("fail_job", error="Bad input file"))
    job = _uploaded_job(hook, id_file)
    emulator.emulator.clock.advance(60)
    sensor = XComplianceJobSensor(task_id="wait", job_id=job.id, deferrable=True, poke_interval=0.05)
    with pytest.raises(JobFailedError, match=f"{job.id} failed: Bad input file"):
        run_task(sensor)


def test_sensor_poke_mode(hook, emulator, id_file):
    job = _uploaded_job(hook, id_file)
    sensor = XComplianceJobSensor(task_id="wait", job_id=job.id, deferrable=False, poke_interval=0.05)
    emulator.emulator.clock.advance(60)
    wait_for_status(hook, emulator, job.id, JobStatus.COMPLETE)
    assert sensor.poke(make_context()).is_done is True
    assert sensor.poke(make_context()).xcom_value == job.id


def test_sensor_poke_fails_on_expired(hook, emulator):
    job = hook.create_job("users")
    emulator.emulator.clock.advance(16 * 60)
    sensor = XComplianceJobSensor(task_id="wait", job_id=job.id, deferrable=False, mode="reschedule")
    with pytest.raises(JobExpiredError):
        sensor.poke(make_context())


# -- download ---------------------------------------------------------------------------------


def test_download_writes_normalized_parquet(hook, emulator, id_file, tmp_path):
    path = id_file(5000)
    job = hook.create_job("tweets")
    steps.upload_ids(hook, job, path)
    wait_for_status(hook, emulator, job.id, JobStatus.COMPLETE)
    target = tmp_path / "out" / "results.parquet"
    summary, _ = run_task(XComplianceDownloadOperator(task_id="dl", job_id=job.id, results_path=str(target)))
    table = pq.read_table(target).to_pandas()
    expected = expected_results(emulator, "tweets", path)
    assert dict(zip(table["id"], table["reason"], strict=True)) == expected
    assert table["id"].is_unique  # the emulator writes duplicate lines, as X does
    assert summary["rows"] == len(expected) and summary["path"] == str(target)
    assert sum(summary["counts"].values()) == len(expected)
    assert "X-Goog" not in json.dumps(summary)
    assert not list(target.parent.glob(".*partial"))


def test_malformed_results_write_nothing(tmp_path):
    raw = tmp_path / "raw.jsonl"
    raw.write_text('{"id":"1","reason":"deleted"}\n{"id":"2","reason":\n')
    target = tmp_path / "results.parquet"
    with pytest.raises(MalformedResultError, match="line 2"):
        write_results_parquet(raw, target, job_id="5")


# -- all in one -------------------------------------------------------------------------------


@pytest.mark.parametrize("deferrable", [True, False])
def test_all_in_one(hook, emulator, id_file, tmp_path, deferrable):
    # Long enough that the operator's first look, however late a busy machine makes it, finds
    # the job still in progress: the deferrable one must defer.
    emulator.emulator.config.processing_seconds_base = 1.5
    path = id_file(3000)
    target = tmp_path / "results.parquet"
    op = XComplianceJobOperator(
        task_id="comply",
        job_type="tweets",
        ids_path=str(path),
        results_path=str(target),
        deferrable=deferrable,
        poll_interval=0.1,
    )
    summary, deferrals = run_task(op)
    assert bool(deferrals) is deferrable
    table = pq.read_table(target).to_pandas()
    assert dict(zip(table["id"], table["reason"], strict=True)) == expected_results(emulator, "tweets", path)
    assert summary["rows"] == len(table)


def test_all_in_one_replaces_a_lapsed_job(hook, emulator, id_file, tmp_path):
    emulator.emulator.config.processing_seconds_base = 0.1
    emulator.emulator.faults.add(Fault("expire_upload", target="upload"))
    path = id_file(500)
    target = tmp_path / "results.parquet"
    op = XComplianceJobOperator(
        task_id="comply",
        job_type="tweets",
        ids_path=str(path),
        results_path=str(target),
        deferrable=True,
        poll_interval=0.1,
        slot_poll_interval=0.1,
    )
    result, _ = run_task(op)
    jobs = hook.list_jobs("tweets")
    assert len(jobs) == 2  # the lapsed one and its replacement
    assert result["job_id"] == jobs[0].id
    assert [j.status.value for j in jobs] == ["complete", "expired"]
    assert jobs[0].name.endswith("~1")  # a new name: the lapsed job must not be "reused"
    assert len(pq.read_table(target)) == len(expected_results(emulator, "tweets", path))


def test_all_in_one_waits_deferred_for_the_slot_a_replacement_needs(hook, emulator, id_file, tmp_path):
    """A job lapsed while another holds X's slot: the replacement is created once the slot is free."""
    lapsed = hook.create_job("tweets", name="nightly")
    emulator.emulator.clock.advance(16 * 60)
    blocker = hook.create_job("tweets", name="someone-else")
    # The blocker processes for a minute of the emulator's clock, so however slow this machine
    # is, it still holds the slot when the operator looks; the replacement processes at once.
    emulator.emulator.config.processing_seconds_base = 60
    steps.upload_ids(hook, blocker, id_file(50))
    emulator.emulator.config.processing_seconds_base = 0.1
    path = id_file(20)
    op = XComplianceJobOperator(
        task_id="comply", job_type="tweets", ids_path=str(path), results_path=str(tmp_path / "r.parquet"),
        deferrable=False, poll_interval=0.1, slot_poll_interval=0.05, max_new_jobs=2,
    )  # fmt: skip
    context = make_context(task_id="comply")
    with pytest.raises(TaskDeferred) as deferred:
        op.on_job_created(context, hook.get_job(lapsed.id), deadline=time.time() + 60)
    assert deferred.value.trigger.job_id == blocker.id
    assert deferred.value.kwargs == {"name": "nightly~1", "deadline": ANY, "new_jobs_left": 1}
    emulator.emulator.clock.advance(61)  # the blocker finishes processing
    result, _ = run_task(op, context, deferred=deferred.value)
    replacement = hook.get_job(result["job_id"])
    assert replacement.name == "nightly~1" and replacement.status is JobStatus.COMPLETE
    assert result["rows"] == len(expected_results(emulator, "tweets", path))


def test_retry_after_the_job_completed_downloads_it_without_a_second_job(hook, emulator, id_file, tmp_path):
    """A try that failed after X finished (a worker lost on resume from the deferral): the retry
    finds its own complete job and downloads it; X sees one job for the task."""
    emulator.emulator.config.processing_seconds_base = 0.1
    path = id_file(800)

    def comply(target):
        return XComplianceJobOperator(
            task_id="comply", job_type="tweets", ids_path=str(path), results_path=str(target),
            deferrable=False, poll_interval=0.1,
        )  # fmt: skip

    first, _ = run_task(comply(tmp_path / "first.parquet"))
    retried, _ = run_task(comply(tmp_path / "retried.parquet"))
    (job,) = hook.list_jobs("tweets")
    assert job.status is JobStatus.COMPLETE
    assert first["job_id"] == retried["job_id"] == job.id
    table = pq.read_table(tmp_path / "retried.parquet").to_pandas()
    assert dict(zip(table["id"], table["reason"], strict=True)) == expected_results(emulator, "tweets", path)


def test_a_complete_job_whose_results_expired_is_not_reused(hook, emulator, id_file, tmp_path):
    emulator.emulator.config.processing_seconds_base = 0.1
    path = id_file(50)
    op = XComplianceJobOperator(
        task_id="comply", job_type="tweets", ids_path=str(path), results_path=str(tmp_path / "r.parquet"),
        deferrable=False, poll_interval=0.1,
    )  # fmt: skip
    run_task(op)
    (job,) = hook.list_jobs("tweets")
    assert steps.find_own_job(hook, "tweets", job.name) == job
    # Results are downloadable for 7 days; past that a retry must ask X again.
    assert steps.find_own_job(hook, "tweets", job.name, now=job.download_expires_at) is None
