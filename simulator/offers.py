"""A seller's offers as ``GET /sale/offers`` serves them: the offers their sponsored ads point
to (``ad.offerId``), each with a name, price, stock and publication status drawn from the seed.
Most are active; some ended, inactive, still activating or out of stock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from simulator.entities import EMAIL_DOMAIN, client_structure
from simulator.hashing import text_key

ACTIVE, INACTIVE, ENDED, ACTIVATING = "ACTIVE", "INACTIVE", "ENDED", "ACTIVATING"
CURRENCY = "PLN"
# Leaf categories of allegro.pl (ids as Allegro writes them: digit strings).
_CATEGORIES = ("257931", "259422", "16226", "4183", "261103", "67493", "110934", "300123")
_FIRST_START = datetime(2023, 1, 1, tzinfo=UTC)  # offers started before any served "today"
_START_SPAN_MINUTES = 3 * 365 * 24 * 60


@dataclass(frozen=True, slots=True)
class Offer:
    """One offer of a seller (money in grosze)."""

    id: str
    name: str
    price: int
    available: int
    sold: int
    status: str
    category_id: str
    image_url: str
    external_id: str | None
    started_at: str
    watchers: int
    visits: int


def _unit(h: int, lane: int) -> float:
    """The ``lane``-th 16-bit uniform in [0, 1) of the hash ``h``."""
    return ((h >> (16 * lane)) & 0xFFFF) / 65536.0


def _offer(seed: int, offer_id: str, name: str) -> Offer:
    h = text_key(seed, "offer", offer_id)
    g = text_key(seed, "offer-more", offer_id)
    u_status, u_stock, u_price, u_sold = (_unit(h, k) for k in range(4))
    status = (
        ACTIVE
        if u_status < 0.72
        else ENDED
        if u_status < 0.84
        else INACTIVE
        if u_status < 0.94
        else ACTIVATING
    )
    # An ended offer is often sold out; an inactive one sometimes; a live one never.
    sold_out = (status == ENDED and u_stock < 0.6) or (status == INACTIVE and u_stock < 0.3)
    available = 0 if sold_out else 1 + int(u_stock * u_stock * 500)
    # 9.99 to ~1999.99 PLN, log-uniform, ending in .99 or .00 as shops price.
    zloty = int(10 * 200**u_price)
    price = zloty * 100 - (1 if _unit(g, 0) < 0.7 else 0)
    started = _FIRST_START + timedelta(minutes=int(_unit(g, 1) * _START_SPAN_MINUTES))
    return Offer(
        id=offer_id,
        name=name,
        price=price,
        available=available,
        sold=int(3000 * u_sold**3),
        status=status,
        category_id=_CATEGORIES[h % len(_CATEGORIES)],
        image_url=f"https://img.{EMAIL_DOMAIN}/original/{h:016x}.jpg",
        external_id=f"SKU-{g % 1_000_000:06d}" if _unit(g, 2) < 0.7 else None,
        started_at=started.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        watchers=int(_unit(g, 3) * 40),
        visits=int(_unit(h >> 8, 3) * 5000),
    )


@lru_cache(maxsize=4096)
def seller_offers(seed: int, ads_client_id: str) -> tuple[Offer, ...]:
    """The offers behind ``ads_client_id``'s sponsored ads, once each, in ad order."""
    structure = client_structure(seed, ads_client_id)
    seen: dict[str, Offer] = {}
    for offer_id, name in zip(structure.offer_ids, structure.ad_names, strict=True):
        if offer_id is not None and offer_id not in seen:
            seen[offer_id] = _offer(seed, offer_id, name)
    return tuple(seen.values())


def offer_json(offer: Offer) -> dict[str, Any]:
    """One element of ``offers`` in Allegro's shape (a fresh dict: faults may change it)."""
    return {
        "id": offer.id,
        "name": offer.name,
        "sellingMode": {
            "format": "BUY_NOW",
            "price": {
                "amount": f"{offer.price // 100}.{offer.price % 100:02d}",
                "currency": CURRENCY,
            },
        },
        "stock": {"available": offer.available, "sold": offer.sold},
        "stats": {"watchersCount": offer.watchers, "visitsCount": offer.visits},
        "publication": {
            "status": offer.status,
            "startedAt": offer.started_at,
            "endingAt": None,
            "endedBy": "USER" if offer.status == ENDED else None,
        },
        "category": {"id": offer.category_id},
        "primaryImage": {"url": offer.image_url},
        "external": {"id": offer.external_id} if offer.external_id else None,
    }
