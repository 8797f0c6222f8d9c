"""Build the aiohttp application: X API routes, signed-URL storage routes and the admin API.

Kept apart from the server thread so that the app can also be mounted in an aiohttp test
client or another event loop.
"""

from __future__ import annotations

from aiohttp import web

from x_compliance_emulator.admin import endpoints as admin
from x_compliance_emulator.api import endpoints as api
from x_compliance_emulator.runtime.emulator import Emulator
from x_compliance_emulator.runtime.wire import EMULATOR, count_response
from x_compliance_emulator.storage import envelope as storage_envelope

# Only the small admin and API bodies are read whole; uploads are streamed and not bound by this.
MAX_BODY_BYTES = 1 << 20


def build_app(emulator: Emulator) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[admin.require_admin])
    app[EMULATOR] = emulator
    app.on_response_prepare.append(count_response)
    api.add_routes(app)
    storage_envelope.add_routes(app)
    admin.add_routes(app)
    return app
