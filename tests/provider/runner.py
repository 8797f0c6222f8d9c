"""Run an operator the way a worker and the triggerer would, without a scheduler.

``execute`` runs; on ``TaskDeferred`` the trigger runs to its first event (as the triggerer
does), and the named method resumes the task with the event, until the task returns.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from airflow.providers.common.compat.sdk import TaskDeferred


class FakeTaskInstance(SimpleNamespace):
    """What operators read of ``context["ti"]``: ids, XComs they push besides their return, and
    the XComs of other task instances (``pullable``: ``{(task_id, map_index, key): value}``)."""

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value

    def xcom_pull(self, task_ids: str, key: str = "return_value", map_indexes: int = -1) -> Any:
        return self.pullable.get((task_ids, map_indexes, key))


def make_context(
    dag_id: str = "x_compliance_test", task_id: str = "task", run_id: str = "manual__1", map_index: int = -1
) -> dict:
    ids = {"dag_id": dag_id, "task_id": task_id, "run_id": run_id, "map_index": map_index}
    ti = FakeTaskInstance(**ids, try_number=1, xcoms={}, pullable={})
    return {"ti": ti, "run_id": run_id, "task_instance": ti}


async def first_event(trigger) -> Any:
    async for event in trigger.run():
        return event
    raise AssertionError(f"{trigger!r} ended without an event")


def run_task(
    operator, context: dict | None = None, *, deferred: TaskDeferred | None = None, max_deferrals: int = 10
) -> tuple[Any, list[TaskDeferred]]:
    """Return (the task's return value, the deferrals it went through).

    With ``deferred``, start from that deferral: the task already ran up to it.
    """
    context = context or make_context(task_id=operator.task_id)
    deferrals: list[TaskDeferred] = []
    pending = deferred
    for _ in range(max_deferrals + 1):
        try:
            if pending is not None:
                raise pending
            return operator.execute(context), deferrals
        except TaskDeferred as deferral:
            deferrals.append(deferral)
            event = asyncio.run(first_event(deferral.trigger))
            method = getattr(operator, deferral.method_name)
            try:
                return method(context, event=event.payload, **(deferral.kwargs or {})), deferrals
            except TaskDeferred as again:
                pending = again
    raise AssertionError(f"{operator.task_id} deferred more than {max_deferrals} times")
