"""Run both DAGs, then look everywhere a secret could have leaked: task logs, XComs, rendered
template fields, serialized triggers. Neither the bearer token nor any signed URL may appear."""

from __future__ import annotations

import json

import pytest

from tests.conftest import TOKEN
from tests.dags.conftest import LOGICAL_DATE, load_dag
from x_compliance_emulator import Fault

pytestmark = pytest.mark.usefixtures("airflow_db")


def _stored_texts(run_ids: set[str]) -> list[str]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.trigger import Trigger
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    texts = []
    with create_session() as session:
        for xcom in session.query(XComModel).filter(XComModel.run_id.in_(run_ids)):
            texts.append(json.dumps(xcom.value, default=str))
        for rendered in session.query(RenderedTaskInstanceFields).filter(
            RenderedTaskInstanceFields.run_id.in_(run_ids)
        ):
            texts.append(json.dumps(rendered.rendered_fields, default=str))
        for trigger in session.query(Trigger):
            texts.append(trigger.classpath + json.dumps(trigger.kwargs, default=str))
    return texts


def test_no_token_or_signed_url_anywhere(dag_env, capfd, caplog):
    emulator = dag_env["emulator"]
    # Retries and resumptions are where URLs tend to slip into messages: make some happen.
    emulator.emulator.faults.add(Fault("drop", target="upload", after_bytes=5_000))
    emulator.emulator.faults.add(Fault("drop", target="download", after_bytes=300))
    emulator.emulator.faults.add(Fault("http_503", target="get", count=1))
    runs = [
        load_dag(dag_id).test(logical_date=LOGICAL_DATE)
        for dag_id in ("x_compliance_tweets", "x_compliance_users")
    ]
    assert [str(r.state) for r in runs] == ["success", "success"]
    printed = capfd.readouterr()
    stored = _stored_texts({r.run_id for r in runs})
    logs = [printed.out, printed.err, caplog.text]
    logs += [p.read_text(errors="replace") for p in (dag_env["storage"].parent).rglob("*.log")]
    assert any('"job_id"' in text for text in stored), "the scan did find the runs' XComs"
    assert any("ids.txt" in text for text in stored), "the scan did find the rendered template fields"
    assert any("Upload to job" in text for text in logs), "the scan did see the task logs"
    forbidden = [TOKEN, "X-Goog-Signature", "X-Goog-Credential", "upload_id=", f"{emulator.url}/storage"]
    for text in logs + stored:
        for secret in forbidden:
            assert secret not in text, (
                f"{secret!r} leaked into: ...{text[max(0, text.find(secret) - 200) :][:400]}"
            )
