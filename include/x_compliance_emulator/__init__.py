"""A wire-faithful local emulator of X's batch compliance API and its signed storage URLs.

Start one with ``EmulatorServer(EmulatorConfig(...)).start()``; drive it with ``server.emulator``
in-process or with ``EmulatorAdmin`` from another process. See README.md.

The code is split by role: ``api`` (X's endpoints), ``storage`` (the signed-URL storage server),
``world`` (which IDs are non-compliant and the results files saying so), ``jobs`` (the job model
and its store on disk), ``admin`` (the control API and its client) and ``runtime`` (config, clock,
faults, stats, the shared state and the server process around it all).
"""

from x_compliance_emulator.admin.client import EmulatorAdmin, EmulatorAdminError
from x_compliance_emulator.runtime.config import EmulatorConfig
from x_compliance_emulator.runtime.emulator import Emulator
from x_compliance_emulator.runtime.faults import Fault
from x_compliance_emulator.runtime.server import EmulatorServer

__all__ = ["Emulator", "EmulatorAdmin", "EmulatorAdminError", "EmulatorConfig", "EmulatorServer", "Fault"]
