"""The simulator's HTML pages: consent, device verification and errors (small on purpose)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

_STYLE = (
    "body{font-family:sans-serif;max-width:34rem;margin:3rem auto;color:#222}"
    ".sim{background:#ff5a00;color:#fff;padding:.3rem .6rem;font-size:.8rem}"
    ".error{color:#b00020;font-weight:bold}button{margin-right:.5rem;padding:.4rem 1rem}"
)


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang='pl'><head><meta charset='utf-8'><title>{escape(title)}"
        f"</title><style>{_STYLE}</style></head><body><p class='sim'>Allegro simulator - "
        f"not the real Allegro</p><h1>{escape(title)}</h1>{body}</body></html>"
    )


def _hidden(fields: Mapping[str, str]) -> str:
    return "".join(
        f"<input type='hidden' name='{escape(k)}' value='{escape(v)}'>" for k, v in fields.items()
    )


def _login_input(logins: Iterable[str]) -> str:
    options = "".join(f"<option value='{escape(login)}'>" for login in logins)
    return (
        "<label>Login <input type='text' name='login' list='logins' autofocus required>"
        f"</label><datalist id='logins'>{options}</datalist> "
        "<label>Hasło (password) <input type='password' name='password'></label>"
    )


def _decisions() -> str:
    return (
        "<p><button type='submit' name='decision' value='approve'>Zezwól (approve)</button>"
        "<button type='submit' name='decision' value='deny'>Odmów (deny)</button></p>"
    )


def consent_page(
    action: str,
    params: Mapping[str, str],
    app_name: str,
    scope: str,
    logins: Iterable[str],
    error: str = "",
) -> str:
    """Login + consent form for ``scope``; ``params`` (the authorize query) travel in hidden
    fields."""
    problem = f"<p class='error'>{escape(error)}</p>" if error else ""
    return _page(
        "Zaloguj się i zezwól aplikacji",
        f"{problem}<p>The application <b>{escape(app_name)}</b> asks for access to your "
        f"Allegro account (scope: <code>{escape(scope)}</code>).</p>"
        f"<form method='post' action='{escape(action)}'>{_hidden(params)}"
        f"<p>{_login_input(logins)}</p>{_decisions()}</form>",
    )


def device_page(action: str, user_code: str, logins: Iterable[str], error: str = "") -> str:
    """The device-flow page where a user types the code shown by the application."""
    problem = f"<p class='error'>{escape(error)}</p>" if error else ""
    return _page(
        "Połącz urządzenie",
        f"{problem}<form method='post' action='{escape(action)}'><p><label>Code "
        f"<input type='text' name='user_code' value='{escape(user_code)}' required></label></p>"
        f"<p>{_login_input(logins)}</p>{_decisions()}</form>",
    )


def message_page(title: str, message: str) -> str:
    """A page with one message (errors that must not redirect, confirmations)."""
    return _page(title, f"<p>{escape(message)}</p>")
