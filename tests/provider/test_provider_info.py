"""The provider's metadata: valid for Airflow's own schema, and everything it names is real."""

from __future__ import annotations

import inspect
from importlib import import_module

import jsonschema
import pytest
from airflow.providers_manager import _create_provider_info_schema_validator
from airflow.sdk import BaseOperator, BaseSensorOperator
from airflow.triggers.base import BaseTrigger

from x_compliance.get_provider_info import get_provider_info

INFO = get_provider_info()


def test_it_is_valid_for_airflows_provider_schema():
    _create_provider_info_schema_validator().validate(INFO)
    with pytest.raises(jsonschema.ValidationError):  # the validator does look at the sections
        _create_provider_info_schema_validator().validate({**INFO, "triggers": [{"python-modules": []}]})


def _classes(section: str) -> set[type]:
    found = set()
    for entry in INFO[section]:
        assert entry["integration-name"] == INFO["integrations"][0]["integration-name"]
        for name in entry["python-modules"]:
            module = import_module(name)
            found |= {c for _, c in inspect.getmembers(module, inspect.isclass) if c.__module__ == name}
    return found


@pytest.mark.parametrize(
    ("section", "base", "expected"),
    [
        ("hooks", object, {"XComplianceHook"}),
        (
            "operators",
            BaseOperator,
            {
                "XComplianceCreateJobOperator",
                "XComplianceUploadOperator",
                "XComplianceSubmitJobOperator",
                "XComplianceDownloadOperator",
                "XComplianceJobOperator",
            },
        ),
        ("sensors", BaseSensorOperator, {"XComplianceJobSensor"}),
        ("triggers", BaseTrigger, {"XComplianceJobTrigger"}),
    ],
)
def test_each_section_lists_the_modules_of_its_classes(section, base, expected):
    named = {c.__name__ for c in _classes(section) if issubclass(c, base)}
    assert expected <= named


def test_every_public_operator_and_sensor_is_listed():
    import x_compliance

    listed = {c.__name__ for s in ("operators", "sensors", "triggers", "hooks") for c in _classes(s)}
    public = {name for name in x_compliance.__all__ if name.startswith("XCompliance")}
    assert public <= listed


def test_connection_type_extra_link_and_plugin_resolve():
    (conn,) = INFO["connection-types"]
    module, _, cls = conn["hook-class-name"].rpartition(".")
    hook = getattr(import_module(module), cls)
    assert hook.conn_type == conn["connection-type"] and hook.hook_name == conn["hook-name"]
    for path in INFO["extra-links"] + [p["plugin-class"] for p in INFO["plugins"]]:
        module, _, cls = path.rpartition(".")
        assert inspect.isclass(getattr(import_module(module), cls))
