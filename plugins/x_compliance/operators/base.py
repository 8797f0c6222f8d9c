"""What every X compliance operator and sensor shares: the connection argument, a hook built
from it, and the extra link to the job's entry on the Compliance page."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.bases.operator import BaseOperatorMeta

from x_compliance.hooks.x_compliance import XComplianceHook
from x_compliance.operators.links import XComplianceJobLink


class XComplianceConnectionMixin(metaclass=BaseOperatorMeta):
    """Mixed in before ``BaseOperator`` or ``BaseSensorOperator``: takes the connection argument
    off the keyword arguments and builds the hook from it on first use.

    Airflow's operator metaclass makes the argument a real operator argument: accepted by
    ``partial``/``expand`` and filled from a DAG's ``default_args``.

    :param x_compliance_conn_id: Airflow connection of type ``x_compliance``.
    """

    ui_color = "#e8f0fe"
    operator_extra_links = (XComplianceJobLink(),)

    def __init__(
        self, *, x_compliance_conn_id: str = XComplianceHook.default_conn_name, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.x_compliance_conn_id = x_compliance_conn_id

    @cached_property
    def hook(self) -> XComplianceHook:
        return XComplianceHook(self.x_compliance_conn_id)


class XComplianceBaseOperator(XComplianceConnectionMixin, BaseOperator):
    """:param x_compliance_conn_id: Airflow connection of type ``x_compliance``."""
