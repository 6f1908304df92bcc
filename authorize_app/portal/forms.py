"""Reading form fields and query parameters strictly: too long, missing or malformed is a 400
whose message says what to fix. Nothing read here ever reaches SQL as text."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest

MAX_TEXT = 200
MAX_IDS = 500
MAX_ID_CHARS = 64
# No report reaches outside these; far dates made date arithmetic overflow (a 500).
FIRST_DATE = date(2000, 1, 1)
LAST_DATE = date(2999, 12, 31)


def bad_request(message: str) -> BadRequest:
    return BadRequest(message)


def text_field(
    values: MultiDict[str, str],
    name: str,
    label: str,
    *,
    max_chars: int = MAX_TEXT,
    required: bool = True,
) -> str:
    """One text value, stripped; 400 when missing (if required), too long or not printable."""
    value = values.get(name, "")
    if len(value) > max_chars:
        raise bad_request(f"{label} is too long: at most {max_chars} characters, please.")
    if not value.isprintable():
        raise bad_request(f"{label} contains control characters or line breaks; type it again.")
    value = value.strip()
    if required and not value:
        raise bad_request(f"{label} is required; fill it in and send the form again.")
    return value


def password_field(values: MultiDict[str, str], name: str, label: str, *, max_chars: int) -> str:
    """A password exactly as typed (spaces kept); 400 when missing or too long."""
    value = values.get(name, "")
    if len(value) > max_chars:
        raise bad_request(f"{label} is too long: at most {max_chars} characters, please.")
    if not value or "\x00" in value:
        raise bad_request(f"{label} is required; fill it in and send the form again.")
    return value


def choice(values: MultiDict[str, str], name: str, label: str, allowed: Collection[str]) -> str:
    """A value from a fixed list; 400 naming the allowed ones otherwise."""
    value = values.get(name, "")
    if value not in allowed:
        options = ", ".join(sorted(a for a in allowed if a)) or "(none)"
        raise bad_request(f"{label} must be one of: {options}.")
    return value


def date_param(values: MultiDict[str, str], name: str, label: str, default: date) -> date:
    """A YYYY-MM-DD date (``default`` when absent or empty); 400 otherwise."""
    found = optional_date(values, name, label)
    return default if found is None else found


def optional_date(values: MultiDict[str, str], name: str, label: str) -> date | None:
    """A YYYY-MM-DD date, None when absent or empty; 400 otherwise."""
    raw = values.get(name, "")
    if not raw:
        return None
    if len(raw) != 10:
        raise bad_request(f"{label} must be a date written YYYY-MM-DD, e.g. 2025-03-31.")
    try:
        found = date.fromisoformat(raw)
    except ValueError:
        raise bad_request(f"{label} must be a date written YYYY-MM-DD, e.g. 2025-03-31.") from None
    if not FIRST_DATE <= found <= LAST_DATE:
        raise bad_request(f"{label} must be a date between {FIRST_DATE} and {LAST_DATE}.")
    return found


def id_list(values: MultiDict[str, str], name: str) -> list[str]:
    """Every non-empty value of a repeated id parameter (e.g. ``customer=ID&customer=ID``)."""
    ids = [value for value in values.getlist(name) if value]
    if len(ids) > MAX_IDS:
        raise bad_request(f"At most {MAX_IDS} {name} values can be chosen at once.")
    for value in ids:
        if len(value) > MAX_ID_CHARS or not value.isprintable():
            raise bad_request(f"A {name} id is malformed; pick {name}s from the list.")
    return ids


def positive_int(values: MultiDict[str, str], name: str, label: str, default: int) -> int:
    """A whole number from 1 up (``default`` when absent); 400 otherwise."""
    raw = values.get(name, "")
    if not raw:
        return default
    # isdigit() alone admits "²" and other digits int() refuses (that was a 500).
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6 or int(raw) < 1:
        raise bad_request(f"{label} must be a whole number from 1 to 999999.")
    return int(raw)
