"""Switchable faults: what tests can make the simulated Allegro do wrong, and how each
fault changes a request or an answer."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

# JSON key -> accepted Python type(s). bool is checked apart: it is an int subclass.
_INT_KEYS = ("latency_ms", "spike_ms", "fail_next", "fail_status", "throttle_next", "retry_after")
_RATE_KEYS = ("fail_rate", "spike_rate")
_COUNT_KEYS = ("truncate_next", "malformed_next")
_BOOL_KEYS = ("extra_field", "missing_field", "include_oauth")
_LIST_KEYS = ("remove_clients", "clients")


@dataclass(frozen=True, slots=True)
class Faults:
    """The faults in force. Counters (``*_next``) are used up one matching call at a time."""

    latency_ms: int = 0
    spike_rate: float = 0.0  # this share of matching calls waits spike_ms on top of latency_ms
    spike_ms: int = 0
    fail_next: int = 0
    fail_status: int = 503
    fail_rate: float = 0.0
    throttle_next: int = 0
    retry_after: int = 1
    truncate_next: int = 0
    malformed_next: int = 0
    extra_field: bool = False
    missing_field: bool = False
    remove_clients: tuple[str, ...] = ()
    include_oauth: bool = False
    clients: tuple[str, ...] = ()  # empty: every path; else only these ads clients' paths

    def merged(self, body: dict[str, Any]) -> Faults:
        """These faults with ``body``'s keys set (``"reset": true`` starts from none);
        raises ValueError naming the bad key."""
        base = Faults() if body.get("reset") is True else self
        known = {f.name for f in fields(Faults)} | {"reset"}
        unknown = sorted(set(body) - known)
        if unknown:
            raise ValueError(f"unknown fault key(s) {unknown}; known: {sorted(known)}")
        changes: dict[str, Any] = {}
        for key, value in body.items():
            if key == "reset":
                if not isinstance(value, bool):
                    raise ValueError("reset must be true or false")
            elif key in _BOOL_KEYS:
                if not isinstance(value, bool):
                    raise ValueError(f"{key} must be true or false")
                changes[key] = value
            elif key in _INT_KEYS or key in _COUNT_KEYS:
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"{key} must be a non-negative integer")
                if key == "fail_status" and not 400 <= value <= 599:
                    raise ValueError("fail_status must be an HTTP error status (400-599)")
                changes[key] = value
            elif key in _RATE_KEYS:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"{key} must be a number between 0 and 1")
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"{key} must be a number between 0 and 1")
                changes[key] = float(value)
            elif key in _LIST_KEYS:
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ValueError(f"{key} must be a list of ads client ids")
                changes[key] = tuple(value)
        return replace(base, **changes)

    def to_json(self) -> dict[str, Any]:
        """The faults as the JSON ``GET /_sim/faults`` returns."""
        data = asdict(self)
        data["remove_clients"] = list(self.remove_clients)
        data["clients"] = list(self.clients)
        return data

    def applies_to(self, *, oauth: bool, client_id: str | None) -> bool:
        """Whether a request (an OAuth one, or an API one on ``client_id``'s paths) is hit."""
        if oauth and not self.include_oauth:
            return False
        return not self.clients or client_id in self.clients


@dataclass(frozen=True, slots=True)
class Before:
    """What happens to a request before it is handled."""

    latency_ms: int = 0
    status: int | None = None  # an injected error status (5xx burst, outage, 429 storm)
    retry_after: int | None = None
    kind: str | None = None  # "fail" | "throttle": for the counters
    spike_ms: int = 0  # a latency spike on top of latency_ms

    @property
    def delay_ms(self) -> int:
        """How long the call waits before it is handled."""
        return self.latency_ms + self.spike_ms


@dataclass(frozen=True, slots=True)
class After:
    """What happens to a successful JSON answer."""

    truncate: bool = False
    malformed: bool = False
    extra_field: bool = False
    missing_field: bool = False


def take_before(faults: Faults, rng: random.Random) -> tuple[Faults, Before]:
    """Decide the pre-handling faults of one matching call; returns the faults left over."""
    left, before = _take_failure(faults, rng)
    # Drawn after the failure so that runs without spikes keep their fail_rate sequence.
    if faults.spike_rate > 0 and rng.random() < faults.spike_rate:
        before = replace(before, spike_ms=faults.spike_ms)
    return left, before


def _take_failure(faults: Faults, rng: random.Random) -> tuple[Faults, Before]:
    """The injected error status (if any) of one matching call, with the base latency."""
    if faults.fail_next > 0:
        return replace(faults, fail_next=faults.fail_next - 1), Before(
            faults.latency_ms, faults.fail_status, None, "fail"
        )
    if faults.throttle_next > 0:
        return replace(faults, throttle_next=faults.throttle_next - 1), Before(
            faults.latency_ms, 429, faults.retry_after, "throttle"
        )
    if faults.fail_rate > 0 and rng.random() < faults.fail_rate:
        return faults, Before(faults.latency_ms, faults.fail_status, None, "fail")
    return faults, Before(faults.latency_ms)


def take_after(faults: Faults) -> tuple[Faults, After]:
    """Decide the answer-mangling faults of one matching successful call."""
    after = After(
        truncate=faults.truncate_next > 0,
        malformed=faults.malformed_next > 0,
        extra_field=faults.extra_field,
        missing_field=faults.missing_field,
    )
    left = replace(
        faults,
        truncate_next=max(0, faults.truncate_next - 1),
        malformed_next=max(0, faults.malformed_next - 1),
    )
    return left, after


def malform(kind: str, document: dict[str, Any]) -> dict[str, Any]:
    """The answer as valid JSON of the wrong types (what a broken deployment might send)."""
    if kind == "statistics":
        days = [d for ads in document.values() for ad in ads for d in ad["dayData"]]
        for day in days:
            day["data"]["views"] = "abc"
        if not days:
            document["sponsoredOffers"] = "abc"
        return document
    if kind == "clients":
        clients = [{**c, "id": 12345, "name": None} for c in document["clients"]]
        return {**document, "clients": clients or "abc"}
    if kind == "offers":
        offers = [{**o, "stock": "abc"} for o in document["offers"]]
        return {**document, "offers": offers or "abc", "count": "abc", "totalCount": None}
    if kind == "me":
        return {**document, "id": 12345, "login": ["not", "a", "string"]}
    if kind == "token":
        return {**document, "expires_in": "abc"}
    return {"unexpected": document}


def add_extra_fields(document: dict[str, Any], kind: str = "statistics") -> None:
    """Give the answer fields the client does not know (Allegro adds fields without notice):
    every statistics element and day, every agency client, every offer, and the document."""
    extra = {"note": "a field the client does not know"}
    if kind == "statistics":
        for ads in document.values():
            if not isinstance(ads, list):
                continue
            for ad in ads:
                ad["simulatorExtra"] = extra
                for day in ad["dayData"]:
                    day["data"]["unknownMetric"] = "1.00"
                    day["extra"] = True
        return
    for item in document.get(kind) or []:
        item["simulatorExtra"] = extra
    document["simulatorExtra"] = extra


def drop_clicks(document: dict[str, Any]) -> None:
    """Remove ``clicks`` from every day of a statistics answer."""
    for ads in document.values():
        if not isinstance(ads, list):
            continue
        for ad in ads:
            for day in ad["dayData"]:
                day["data"].pop("clicks", None)


def truncate(body: bytes) -> bytes:
    """The first half of the body: a connection cut short with status 200."""
    return body[: len(body) // 2]
