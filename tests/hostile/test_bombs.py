"""Compression bombs for results: refused with a typed error within seconds by the cap a count
or the connection sets, and by the compression ratio when nothing is known, in the hook and in a
DAG written like the README's; gzipped results as dense as real ones get are never refused."""

from __future__ import annotations

import io
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.dags.conftest import airflow_db  # noqa: F401  (the fixture, shared)
from tests.hostile.bombs import GzipStorage, complete_job, gzip_bomb
from tests.hostile.conftest import bounded, use_x_connection
from tests.provider.conftest import wait_for_status
from x_compliance.exceptions import CompressionRatioError, ResultsTooLargeError, XComplianceError
from x_compliance.files.limits import COMPRESSION_RATIO_FLOOR, MAX_COMPRESSION_RATIO, MIN_RESULTS_CAP
from x_compliance.hooks.jobs import JobStatus
from x_compliance.hooks.storage import DOWNLOAD_BLOCK
from x_compliance.hooks.x_compliance import XComplianceHook
from x_compliance.operators.steps import publish_results, upload_ids
from x_compliance_emulator.runtime.config import default_tweet_rates
from x_compliance_emulator.world.fates import FateModel
from x_compliance_emulator.world.results import LineDetails, write_results

RESULT_LINE = b'{"id":"1170025343920402432","action":"delete","reason":"deleted"}\n'
# Every result flagged, so each ID gives a line: the densest results X can send.
ALL_FLAGGED = {
    reason: rate / sum(default_tweet_rates().values()) for reason, rate in default_tweet_rates().items()
}


@pytest.fixture(scope="module")
def line_bomb() -> bytes:
    """256 MiB of one result line in under 1 MB."""
    return gzip_bomb(RESULT_LINE, 256 << 20)


@pytest.fixture(scope="module")
def blank_bomb() -> bytes:
    """The issue's bomb: 2 GiB of blank lines in about 2 MB."""
    return gzip_bomb(b"\n", 2 << 30)


@pytest.fixture(scope="module")
def dense_results() -> tuple[bytes, int]:
    """Results as well as real ones compress, and better: 100,000 consecutive IDs, every one
    flagged, every line twice, gzip level 9 (about 26 times); and how many IDs they flag."""
    ids = np.uint64(1_170_025_343_920_402_432) + np.arange(100_000, dtype=np.uint64)
    raw = io.BytesIO()
    write_results(raw, [ids], FateModel(7, "tweets", ALL_FLAGGED, None), LineDetails(7, "tweets", 1.0), True)
    return zlib.compress(raw.getvalue(), 9, wbits=31), len(ids)


def _publish(storage: GzipStorage, target: Path, **kwargs) -> dict:
    """The download step against ``storage``, X itself out of reach (no call should go there)."""
    hook = XComplianceHook(max_attempts=2, timeout=10)
    return publish_results(hook, complete_job(storage.results_url), target, **kwargs)


# -- the size cap ---------------------------------------------------------------------------------


def test_a_gzip_bomb_stops_at_the_cap_derived_from_the_ids_uploaded(
    line_bomb, tmp_path, scratch, monkeypatch
):
    # With the ratio guard out of its way (the bomb inflates about 300 times), the cap stops it.
    use_x_connection(monkeypatch, "http://127.0.0.1:9", max_compression_ratio=10_000)
    target = tmp_path / "out" / "results.parquet"
    with (
        GzipStorage(line_bomb) as storage,
        bounded(seconds=20, mb=120),
        pytest.raises(ResultsTooLargeError) as exc,
    ):
        _publish(storage, target, uploaded_ids=1000)
    assert type(exc.value) is ResultsTooLargeError
    assert exc.value.limit == MIN_RESULTS_CAP and exc.value.job_id == "1460"
    assert "max_download_bytes" in str(exc.value)
    assert not target.exists()
    assert len(line_bomb) < 1 << 20


def test_the_connection_extra_sets_the_cap(line_bomb, tmp_path, scratch, monkeypatch):
    use_x_connection(monkeypatch, "http://127.0.0.1:9", max_download_bytes=1 << 20, max_compression_ratio=1e4)
    with (
        GzipStorage(line_bomb) as storage,
        bounded(seconds=10, mb=80),
        pytest.raises(ResultsTooLargeError) as exc,
    ):
        _publish(storage, tmp_path / "results.parquet")
    assert exc.value.limit == 1 << 20


# -- the compression ratio, when nothing says how large the results may be ----------------------


def test_a_bomb_with_no_count_path_or_cap_is_refused_by_its_ratio_within_seconds(
    blank_bomb, tmp_path, scratch, monkeypatch
):
    use_x_connection(monkeypatch, "http://127.0.0.1:9")
    target = tmp_path / "out" / "results.parquet"
    with (
        GzipStorage(blank_bomb) as storage,
        bounded(seconds=5, mb=150),
        pytest.raises(CompressionRatioError) as exc,
    ):
        _publish(storage, target)
    error = exc.value
    assert isinstance(error, ResultsTooLargeError)  # one except clause catches both
    assert error.job_id == "1460" and error.max_ratio == MAX_COMPRESSION_RATIO
    # A body of N bytes costs at most the floor or the ratio times N, and one block: a bomb
    # that inflates a thousand times stops at the floor, under 1% of its 2 GiB.
    bound = max(COMPRESSION_RATIO_FLOOR, MAX_COMPRESSION_RATIO * error.received) + DOWNLOAD_BLOCK
    assert COMPRESSION_RATIO_FLOOR < error.inflated <= bound
    assert error.received < len(blank_bomb) < 2.1e6 and error.inflated < (2 << 30) / 100
    message = str(error)
    assert "job 1460" in message and "max_compression_ratio" in message
    assert "http" not in message and "Signature" not in message  # the signed URL is a credential
    assert not target.exists()


def test_results_as_dense_as_real_ones_get_are_not_refused(dense_results, tmp_path, scratch, monkeypatch):
    body, flagged = dense_results
    inflated = len(zlib.decompress(body, wbits=31))
    assert inflated > COMPRESSION_RATIO_FLOOR and inflated / len(body) > 20  # the guard looks at it
    use_x_connection(monkeypatch, "http://127.0.0.1:9")
    with GzipStorage(body) as storage:
        summary = _publish(storage, tmp_path / "results.parquet")
    assert summary["rows"] == flagged and summary["downloaded_bytes"] == inflated


def test_the_connection_extra_sets_the_ratio(dense_results, tmp_path, scratch, monkeypatch):
    use_x_connection(monkeypatch, "http://127.0.0.1:9", max_compression_ratio="5")
    with GzipStorage(dense_results[0]) as storage, pytest.raises(CompressionRatioError) as exc:
        _publish(storage, tmp_path / "results.parquet")
    assert exc.value.max_ratio == 5 and "more than 5 times" in str(exc.value)


def test_a_bad_ratio_extra_is_refused_by_name(tmp_path, monkeypatch):
    use_x_connection(monkeypatch, "http://127.0.0.1:9", max_compression_ratio="many")
    with GzipStorage(b"") as storage, pytest.raises(XComplianceError, match="max_compression_ratio must be"):
        _publish(storage, tmp_path / "results.parquet")


def test_a_real_million_id_results_download_is_not_refused(emulator, tmp_path, scratch, monkeypatch):
    """1M IDs, every one flagged, through the emulator with gzip on the wire: 130 MB of results
    that arrive compressed about ten times, with no count, path or cap given."""
    emulator.emulator.config.update(
        gzip_downloads=True,
        tweet_rates=ALL_FLAGGED,
        processing_seconds_base=0.0,
        processing_seconds_per_million=0.0,
    )
    use_x_connection(monkeypatch, emulator.url)
    ids = tmp_path / "ids.txt"
    ids.write_bytes(b"".join(b"%d\n" % (1_170_025_343_920_402_432 + i * 7) for i in range(1_000_000)))
    hook = XComplianceHook(max_attempts=2, timeout=60)
    job = hook.create_job("tweets")
    upload_ids(hook, job, ids)
    done = wait_for_status(hook, emulator, job.id, JobStatus.COMPLETE, timeout=120)
    summary = publish_results(hook, done, tmp_path / "results.parquet")
    assert summary["rows"] == 1_000_000
    assert summary["downloaded_bytes"] > 100_000_000 > COMPRESSION_RATIO_FLOOR
    assert emulator.emulator.stats["bytes_downloaded"] * 5 < summary["downloaded_bytes"]  # gzipped


# -- a DAG written like the README's provider example --------------------------------------------

EXAMPLE_DAGS = ROOT / "tests" / "hostile" / "dags"


def _readme_example_dag():
    """The DAG file parsed and saved as the dag-processor would, so ``dag.test()`` can run it."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = BundleDagBag(dag_folder=str(EXAMPLE_DAGS), bundle_path=EXAMPLE_DAGS, bundle_name="dags-folder")
    assert not bag.import_errors, bag.import_errors
    sync_bag_to_db(bag, "dags-folder", None)
    return bag.get_dag("readme_provider_example")


@pytest.mark.usefixtures("airflow_db")
def test_a_dag_like_the_readmes_refuses_a_bomb_within_seconds(
    emulator, blank_bomb, tmp_path, scratch, monkeypatch, capfd
):
    """Submit and wait go to X (the emulator, behind the bomb's server); the download, capped
    from the 1,000 IDs sent, meets 2 GiB of blank lines in 2 MB and fails at once, typed,
    without a retry."""
    emulator.emulator.config.update(processing_seconds_base=0.2)
    monkeypatch.setenv("X_COMPLIANCE_EXAMPLE_FOLDER", str(tmp_path))
    (tmp_path / "ids.txt").write_bytes(
        b"".join(b"%d\n" % (1_170_025_343_920_402_432 + i) for i in range(1000))
    )
    with GzipStorage(blank_bomb, upstream=emulator.url) as storage:
        use_x_connection(monkeypatch, storage.url)
        started = time.perf_counter()
        run = _readme_example_dag().test()
        seconds = time.perf_counter() - started
    states = {ti.task_id: (str(ti.state), ti.try_number, ti) for ti in run.get_task_instances()}
    assert str(run.state) == "failed", states
    assert [states[t][0] for t in ("submit", "wait_for_job")] == ["success"] * 2
    state, tries, download = states["download_results"]
    assert (state, tries) == ("failed", 1)  # typed as a failure no retry can fix
    assert (download.end_date - download.start_date).total_seconds() < 10
    output = capfd.readouterr()
    printed = output.out + output.err
    assert "CompressionRatioError" in printed and "max_compression_ratio" in printed, printed[-3000:]
    assert seconds < 60
    assert not (tmp_path / "results.parquet").exists()
