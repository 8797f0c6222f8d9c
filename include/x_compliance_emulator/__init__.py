"""A wire-faithful local emulator of X's batch compliance API and its signed storage URLs.

Start one with ``EmulatorServer(EmulatorConfig(...)).start()``; drive it with ``server.emulator``
in-process or with ``client.EmulatorAdmin`` from another process. See README.md.
"""

from x_compliance_emulator.config import EmulatorConfig
from x_compliance_emulator.emulator import Emulator
from x_compliance_emulator.faults import Fault
from x_compliance_emulator.server import EmulatorServer

__all__ = ["Emulator", "EmulatorConfig", "EmulatorServer", "Fault"]
