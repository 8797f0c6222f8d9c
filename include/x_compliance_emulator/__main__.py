"""``python -m x_compliance_emulator``: the same as the ``x-compliance-emulator`` command."""

import sys

from x_compliance_emulator.runtime.cli import main

sys.exit(main())
