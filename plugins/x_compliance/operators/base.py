"""What every X compliance operator and sensor shares: the connection argument, a hook built
from it, the extra link to the job's entry on the Compliance page, and the deferred wait on a job
(handing it to the triggerer, and reading the job it ended on)."""

from __future__ import annotations

from functools import cached_property
from typing import Any, NoReturn

from airflow.sdk import BaseOperator
from airflow.sdk.bases.operator import BaseOperatorMeta

from x_compliance.hooks.jobs import ComplianceJob
from x_compliance.hooks.x_compliance import XComplianceHook
from x_compliance.operators.links import XComplianceJobLink
from x_compliance.triggers.events import JobEvent
from x_compliance.triggers.job import XComplianceJobTrigger


class XComplianceConnectionMixin(metaclass=BaseOperatorMeta):
    """Mixed in before ``BaseOperator`` or ``BaseSensorOperator``: takes the connection argument
    off the keyword arguments and builds the hook from it on first use.

    Airflow's operator metaclass makes the argument a real operator argument: accepted by
    ``partial``/``expand`` and filled from a DAG's ``default_args``.

    :param x_compliance_conn_id: Airflow connection of type ``x_compliance``.
    """

    ui_color = "#e8f0fe"
    operator_extra_links = (XComplianceJobLink(),)
    linked_job_id: str | None = None  # the job this try made or fed: what its extra link opens

    def __init__(
        self, *, x_compliance_conn_id: str = XComplianceHook.default_conn_name, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.x_compliance_conn_id = x_compliance_conn_id

    @cached_property
    def hook(self) -> XComplianceHook:
        return XComplianceHook(self.x_compliance_conn_id)

    def defer_wait(
        self, job_id: str, *, method_name: str, kwargs: dict[str, Any] | None = None, **trigger_args: Any
    ) -> NoReturn:
        """Hand the wait on ``job_id`` to the triggerer, to resume in ``method_name``: no worker is
        held meanwhile. ``trigger_args``: ``XComplianceJobTrigger``'s pacing and deadline."""
        self.log.info("Deferring: the triggerer watches job %s, no worker is held meanwhile", job_id)
        self.defer(
            trigger=XComplianceJobTrigger(
                job_id=job_id, x_compliance_conn_id=self.x_compliance_conn_id, **trigger_args
            ),
            method_name=method_name,
            kwargs=kwargs,
        )

    def event_after_wait(self, event: Any) -> JobEvent:
        """The event of a deferred wait whose job is complete. The event is validated (it crossed
        a process and a database); a failed, expired or timed-out wait raises."""
        result = JobEvent.from_payload(event)
        self.linked_job_id = result.job_id
        result.raise_unless_complete()
        return result

    def complete_job_after_wait(self, event: Any) -> tuple[ComplianceJob, JobEvent]:
        """The job a deferred wait ended on, once complete, and the wait's event; the job is read
        again (its signed URLs never travel in an event), within the headers the wait saw last."""
        result = self.event_after_wait(event)
        self.hook.knows_status_limit(result.status_limit)
        return self.hook.get_job(result.job_id), result


class XComplianceBaseOperator(XComplianceConnectionMixin, BaseOperator):
    """:param x_compliance_conn_id: Airflow connection of type ``x_compliance``."""
