"""The parts a deployment test needs are real programs: where one is missing, the test skips
with the reason here and fails in CI (``CI`` set), where ``.ci/run`` must have installed it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from x_compliance_demo.services import MissingPart


@contextmanager
def parts_required() -> Iterator[None]:
    try:
        yield
    except (MissingPart, ImportError) as exc:
        reason = f"a part of the deployment is missing: {exc}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
