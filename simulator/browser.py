"""A scripted customer's browser for the simulator's consent page (demo, tests, benchmarks).

Plain ``requests``: read the page's form, fill in the login, press approve or deny.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests

from simulator.state import SimulatorConfig

DEFAULT_PASSWORD = SimulatorConfig().password


@dataclass
class ConsentForm:
    """The first form of a page: where it posts and its hidden fields."""

    action: str | None = None
    hidden: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form: ConsentForm | None = None
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and self.form is None:
            self.form, self._inside = ConsentForm(action=values.get("action") or None), True
        elif tag == "input" and self._inside and self.form is not None and _hidden(values):
            self.form.hidden[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False


def _hidden(values: dict[str, str]) -> bool:
    return values.get("type", "text").lower() == "hidden" and bool(values.get("name"))


def read_form(html: str) -> ConsentForm:
    """The first form in ``html`` (an empty one if there is none)."""
    parser = _FormParser()
    parser.feed(html)
    return parser.form or ConsentForm()


def answer_consent_page(
    http: requests.Session,
    page: requests.Response,
    login: str,
    decision: str = "approve",
    *,
    follow_redirects: bool = True,
    password: str = DEFAULT_PASSWORD,
) -> requests.Response:
    """Submit the simulator's consent form shown in ``page`` as ``login`` (with ``password``:
    the simulator's default unless given) with ``decision``."""
    form = read_form(page.text)
    action = urljoin(page.url, form.action) if form.action else page.url
    fields = form.hidden | {"login": login, "password": password, "decision": decision}
    return http.post(action, data=fields, allow_redirects=follow_redirects, timeout=30)
