"""The customer-facing consent flow: open the link, go to Allegro, come back connected.

Nothing here shows a staff page, a customer list or an internal id. Every failure is a plain page
with the right status and the next step, stores nothing, and is logged for staff.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from werkzeug.exceptions import HTTPException
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from allegro_resource.errors import AllegroError, InvalidGrant
from allegro_resource.oauth import OAuthClient
from authorize_app.web import render
from control_store import auth_links, customers
from control_store.auth_links import LinkState, LinkUnusable, StateUnusable
from control_store.database import Conflict
from services.consent import AgencyAccountNotSeller, begin_consent, finish_consent
from services.control import Control
from services.link_signing import InvalidLinkToken, verify_link_token

log = logging.getLogger("authorize_app.consent")

STATE_COOKIE = "aam_oauth_state"
STATE_COOKIE_PATH = "/oauth/callback"


@dataclass(frozen=True)
class Problem:
    """A failure page: status, title, what happened, what to do next."""

    status: int
    title: str
    message: str
    next_step: str


LINK_INVALID = Problem(
    404,
    "This link is not valid",
    "The address is incomplete, altered, or was not issued by the agency.",
    "Copy the whole link from the agency's message again, or ask the agency for a new link.",
)
LINK_PROBLEMS = {
    LinkState.USED: Problem(
        410,
        "This link was already used",
        "Each authorisation link works once, and this one has done its job.",
        "If you need to connect again, ask the agency for a new link.",
    ),
    LinkState.EXPIRED: Problem(
        410,
        "This link has expired",
        "Authorisation links work for a limited time, and this one is too old.",
        "Ask the agency for a new link.",
    ),
    LinkState.REVOKED: Problem(
        410,
        "This link was withdrawn",
        "The agency withdrew this authorisation link.",
        "Ask the agency for a new link.",
    ),
}
CUSTOMER_INACTIVE = Problem(
    410,
    "This link is no longer active",
    "The agency no longer uses this authorisation.",
    "Contact the agency if you think this is a mistake.",
)
DENIED = Problem(
    403,
    "You did not allow access",
    "You declined the request on Allegro, so nothing was connected.",
    "If that was a mistake, open the same link again and choose to allow access.",
)
STATE_PROBLEM = Problem(
    400,
    "This sign-in could not be completed",
    "The answer from Allegro does not belong to a sign-in started here, or it was already used.",
    "Open your authorisation link again to start over.",
)
GRANT_REFUSED = Problem(
    400,
    "Allegro did not confirm the access",
    "Allegro refused the confirmation code (it may have expired).",
    "Open your authorisation link again to start over.",
)
ACCOUNT_TAKEN = Problem(
    409,
    "This Allegro account is already connected",
    "The Allegro account you signed in with is already connected to another customer record "
    "of the agency, so it was not connected again.",
    "Sign in with the Allegro account of the business this link was meant for, or contact "
    "the agency.",
)
AGENCY_ACCOUNT = Problem(
    409,
    "This is the agency's own Allegro account",
    "You signed in on Allegro with the account the agency itself uses, not the account of "
    "the business this link was meant for, so nothing was connected.",
    "Sign out of Allegro, open this link again and sign in with your business's own Allegro "
    "account.",
)
ALLEGRO_DOWN = Problem(
    502,
    "Allegro is not answering right now",
    "We could not complete the connection because Allegro did not answer in time.",
    "Nothing was stored. Please open your link again in a few minutes.",
)


class ConsentFlow:
    """Handlers for ``/authorize/<token>`` and ``/oauth/callback``."""

    def __init__(self, control: Control, oauth: OAuthClient) -> None:
        self.control = control
        self.oauth = oauth

    # --- GET /authorize/<token> ---------------------------------------------

    def show(self, request: Request, token: str) -> Response:
        try:
            link_id = verify_link_token(self.control.settings.signing_secret, token)
            link = auth_links.require_usable(self.control.engine, link_id)
        except InvalidLinkToken as exc:
            return self._problem(LINK_INVALID, f"bad link token: {exc}")
        except LinkUnusable as exc:
            return self._link_problem(exc)
        customer = customers.get_customer(self.control.engine, link.customer_id)
        if customer is None or not customer.active:
            return self._problem(CUSTOMER_INACTIVE, f"link {link.id}: customer inactive")
        return render(
            "consent.html",
            agency=self.control.settings.agency_name,
            customer_name=customer.name,
            action=request.path,
            expires_at=link.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        )

    # --- POST /authorize/<token> --------------------------------------------

    def start(self, request: Request, token: str) -> Response:
        shown = self.show(request, token)
        if shown.status_code != 200:
            return shown
        try:
            url = begin_consent(self.control, self.oauth, token)
        except LinkUnusable as exc:
            return self._link_problem(exc)
        state = _state_of(url)
        response = redirect(url, code=303)
        # Binds the flow to this browser: a callback URL replayed elsewhere lacks the cookie.
        response.set_cookie(
            STATE_COOKIE,
            state,
            max_age=int(auth_links.DEFAULT_STATE_TTL.total_seconds()),
            path=STATE_COOKIE_PATH,
            httponly=True,
            samesite="Lax",
            secure=request.scheme == "https",
        )
        return response

    # --- GET /oauth/callback --------------------------------------------------

    def callback(self, request: Request) -> Response:
        state = request.args.get("state", "")
        cookie = request.cookies.get(STATE_COOKIE, "")
        # Bytes: compare_digest refuses str with non-ASCII characters (a forged state was a 500).
        if not state or not cookie or not hmac.compare_digest(state.encode(), cookie.encode()):
            return self._problem(STATE_PROBLEM, "callback state missing or not this browser's")
        if request.args.get("error"):
            return self._denied(state, request.args.get("error", ""))
        code = request.args.get("code", "")
        if not code:
            return self._problem(STATE_PROBLEM, "callback without code")
        try:
            customer = finish_consent(self.control, self.oauth, state=state, code=code)
        except StateUnusable:
            return self._problem(STATE_PROBLEM, "callback state unknown, used or expired")
        except LinkUnusable as exc:
            return self._link_problem(exc)
        except InvalidGrant:
            return self._problem(GRANT_REFUSED, "code exchange refused (invalid_grant)")
        except AgencyAccountNotSeller as exc:
            return self._problem(AGENCY_ACCOUNT, f"agency account used: {exc}")
        except Conflict as exc:
            return self._problem(ACCOUNT_TAKEN, f"account conflict: {exc}")
        except AllegroError as exc:  # unavailable, 5xx, malformed: Allegro's side
            return self._problem(ALLEGRO_DOWN, f"Allegro error during callback: {exc}")
        log.info("customer %s connected Allegro account %s", customer.id, customer.allegro_login)
        response = render(
            "consent_done.html",
            agency=self.control.settings.agency_name,
            customer_name=customer.name,
            allegro_login=customer.allegro_login or "",
        )
        response.delete_cookie(STATE_COOKIE, path=STATE_COOKIE_PATH)
        return response

    # --- helpers ---------------------------------------------------------------

    def _denied(self, state: str, error: str) -> Response:
        try:  # use the state up, so the same answer cannot be replayed
            consumed = auth_links.consume_oauth_state(
                self.control.engine, self.control.tokens.cipher, state
            )
        except StateUnusable:
            return self._problem(STATE_PROBLEM, "denial with an unknown or used state")
        # repr: the text is the caller's; a line break in it must not start a forged log line.
        return self._problem(DENIED, f"customer {consumed.customer_id} declined ({error[:200]!r})")

    def _link_problem(self, exc: LinkUnusable) -> Response:
        problem = LINK_PROBLEMS.get(exc.state, LINK_INVALID) if exc.state else LINK_INVALID
        return self._problem(problem, f"link {exc.link_id}: {exc.state or 'unknown'}")

    def _problem(self, problem: Problem, reason: str) -> Response:
        log.warning("consent refused (%s): %s", problem.status, reason)
        return render(
            "consent_problem.html",
            status=problem.status,
            agency=self.control.settings.agency_name,
            title=problem.title,
            message=problem.message,
            next_step=problem.next_step,
        )


def _state_of(authorization_url: str) -> str:
    values = parse_qs(urlsplit(authorization_url).query).get("state", [])
    if not values:
        raise HTTPException(description="the authorization URL has no state")
    return values[0]
