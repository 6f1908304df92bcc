"""The shared ``/oauth/callback``: Allegro sends customers and admins to the one registered
redirect URI. A state issued for "Connect agency account" is forwarded to the portal, where the
admin's session finishes it; every other callback is a customer's consent (``consent.py``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from authorize_app.portal.agency_pages import AGENCY_CALLBACK_PATH
from control_store.agency_oauth_states import is_agency_state
from services.control import Control

PORTAL_MOUNT = "/portal"
# What Allegro's answer may carry; anything else is dropped, not forwarded.
FORWARDED = ("state", "code", "error")
MAX_VALUE_CHARS = 2048


def forward_agency_callback(control: Control, request: Request) -> Response | None:
    """303 to the portal's agency callback for an agency state; None for anything else."""
    if not is_agency_state(control.engine, request.args.get("state", "")):
        return None
    query = {
        name: request.args[name][:MAX_VALUE_CHARS] for name in FORWARDED if name in request.args
    }
    return redirect(f"{PORTAL_MOUNT}{AGENCY_CALLBACK_PATH}?{urlencode(query)}", code=303)
