"""Who and what the simulator serves: the agency accounts, the sellers (each a client of one
agency), and each agency client's campaigns, ad groups and ads. Everything is a pure function
of the seed (and the client id)."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from simulator import names
from simulator.hashing import U64, lanes, mix, pick, splitmix64, text_key

I64 = NDArray[np.int64]

AGENCY_LOGIN = "agency"  # the first agency account; further ones are agency2, agency3, …
SPONSORED_OFFER = "SPONSORED_OFFER"
GRAPHIC_AD = "GRAPHIC_AD"
AD_TYPES = (SPONSORED_OFFER, GRAPHIC_AD)
EMAIL_DOMAIN = "sim.allegro.test"  # .test is reserved: no mail can ever leave

# Ads start on absolute dates so a past day's figures do not depend on "today": about half run
# since before any served history, the rest start somewhere between ANCHOR and ANCHOR + 1100 days.
_ALWAYS_STARTED = date(2020, 1, 1).toordinal()
_START_ANCHOR = date(2024, 1, 1).toordinal()
_START_SPAN_DAYS = 1100
_UUID_NAMESPACE = uuid.UUID("6f1c3b52-9a0e-4d7b-8f4e-2d5a1c0b7e93")


@dataclass(frozen=True, slots=True)
class SimUser:
    """A simulated Allegro account: a seller (an agency's client) or an agency account."""

    login: str
    user_id: str
    name: str
    email: str
    first_name: str
    last_name: str
    ads_client_id: str | None  # the seller's id as an agency client; None for an agency
    is_agency: bool = False
    agency_login: str | None = None  # the agency whose client the seller is; None for agencies


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    name: str
    ad_type: str
    status: str  # ACTIVE | PAUSED | ARCHIVED


@dataclass(frozen=True, eq=False)
class ClientStructure:
    """One ads client's campaigns, ad groups and ads; per-ad arrays are aligned by ad index."""

    client_id: str
    campaigns: tuple[Campaign, ...]
    group_ids: tuple[str, ...]
    group_names: tuple[str, ...]
    group_campaign: I64  # campaign index of each ad group
    ad_ids: tuple[str, ...]
    ad_names: tuple[str, ...]
    offer_ids: tuple[str | None, ...]
    ad_group: I64  # ad-group index of each ad
    ad_key: U64  # the ad's hash key: every daily figure derives from it
    ad_graphic: NDArray[np.bool_]
    ad_start: I64  # first day (date ordinal) the ad has statistics

    @property
    def ad_campaign(self) -> I64:
        """Campaign index of each ad."""
        return self.group_campaign[self.ad_group]


def agency_login(index: int) -> str:
    """The login of the ``index``-th agency account (0-based): agency, agency2, agency3, …"""
    return AGENCY_LOGIN if index == 0 else f"{AGENCY_LOGIN}{index + 1}"


def make_users(
    seed: int, count: int, agencies: int = 1
) -> tuple[tuple[SimUser, ...], tuple[SimUser, ...]]:
    """The ``count`` sellers (seller01, seller02, …) and the ``agencies`` agency accounts
    (agency, agency2, …) for ``seed``. Seller N is a client of agency (N - 1) mod ``agencies``."""
    if agencies < 1:
        raise ValueError("a simulated Allegro needs at least one agency account")
    # The first agency takes the first id so sellers keep theirs whatever ``count`` is; further
    # agencies draw from a range no seller id comes from.
    ids = random.Random(seed).sample(range(10_000_000, 100_000_000), count + 1)
    extra_ids = random.Random(f"{seed}/agencies").sample(
        range(100_000_000, 200_000_000), agencies - 1
    )
    logins = [agency_login(i) for i in range(agencies)]
    sellers = tuple(
        _seller(seed, i, str(ids[i]), logins[(i - 1) % agencies]) for i in range(1, count + 1)
    )
    accounts = tuple(
        _agency(i, str(ids[0]) if i == 0 else str(extra_ids[i - 1])) for i in range(agencies)
    )
    return sellers, accounts


def _agency(index: int, user_id: str) -> SimUser:
    login = agency_login(index)
    suffix = "" if index == 0 else f" {index + 1}"
    return SimUser(
        login=login,
        user_id=user_id,
        name=f"Agencja Reklamowa Demo{suffix}",
        email=f"{login}@{EMAIL_DOMAIN}",
        first_name="Ada",
        last_name="Agencyjna",
        ads_client_id=None,
        is_agency=True,
    )


def _seller(seed: int, index: int, user_id: str, agency: str) -> SimUser:
    login = f"seller{index:02d}"
    h = text_key(seed, "seller", index)
    shop = (
        f"{pick(names.SHOP_KINDS, h)} {pick(names.SHOP_THEMES, h >> 8)} "
        f"{pick(names.CITIES, h >> 16)}{pick(names.LEGAL_FORMS, h >> 24)}"
    )
    first = pick(names.FIRST_NAMES, h >> 32)
    last = pick(names.LAST_NAMES, h >> 40)
    if names.FIRST_NAMES.index(first) < 8 and last.endswith("ki"):
        last = last[:-1] + "a"  # Polish feminine surname form: Wiśniewski -> Wiśniewska
    return SimUser(
        login=login,
        user_id=user_id,
        name=shop,
        email=f"{login}@{EMAIL_DOMAIN}",
        first_name=first,
        last_name=last,
        ads_client_id=str(uuid.uuid5(_UUID_NAMESPACE, f"{seed}/{login}")),
        agency_login=agency,
    )


def _uuids(key: int, salt: int, count: int) -> list[str]:
    hi = mix(key, salt + 2 * np.arange(count, dtype=np.uint64))
    lo = mix(key, salt + 2 * np.arange(count, dtype=np.uint64) + 1)
    return [
        str(uuid.UUID(int=(int(a) << 64) | int(b), version=4)) for a, b in zip(hi, lo, strict=True)
    ]


@lru_cache(maxsize=8192)
def client_structure(seed: int, client_id: str) -> ClientStructure:
    """The campaigns, ad groups and ads of ``client_id`` (2-12 campaigns, 1-5 groups each,
    1-20 ads per group; bigger clients have more ads per group)."""
    ck = text_key(seed, "client", client_id)
    size, camp_u = (float(x[0]) for x in lanes(mix(ck, 0))[:2])
    n_campaigns = 2 + int(camp_u**1.3 * 11)

    camp_h = mix(ck, 1_000 + np.arange(n_campaigns, dtype=np.uint64))
    cl = lanes(camp_h)
    graphic = cl[0] < 0.2
    graphic[0] = False  # every client runs at least one sponsored-offers campaign
    statuses = np.where(cl[1] < 0.7, "ACTIVE", np.where(cl[1] < 0.9, "PAUSED", "ARCHIVED"))
    groups_per = 1 + (cl[2] * 5).astype(np.int64)
    campaigns = _campaigns(ck, camp_h, graphic, statuses)

    group_campaign = np.repeat(np.arange(n_campaigns, dtype=np.int64), groups_per)
    group_h = mix(ck, 100_000 + np.arange(len(group_campaign), dtype=np.uint64))
    ads_per = 1 + (lanes(group_h)[0] * (4 + 16 * size)).astype(np.int64)
    group_names = []
    for g, c in enumerate(group_campaign.tolist()):
        first_of_campaign = int(np.searchsorted(group_campaign, c))
        group_names.append(
            f"{pick(names.GROUP_SEGMENTS, int(group_h[g]))} #{g - first_of_campaign + 1}"
        )

    ad_group = np.repeat(np.arange(len(group_campaign), dtype=np.int64), ads_per)
    n_ads = len(ad_group)
    ad_key = mix(ck, 10_000_000 + np.arange(n_ads, dtype=np.uint64))
    al = lanes(splitmix64(ad_key ^ np.uint64(0x5741525453)))
    ad_start = np.where(
        al[0] < 0.55, _ALWAYS_STARTED, _START_ANCHOR + (al[1] * _START_SPAN_DAYS).astype(np.int64)
    ).astype(np.int64)
    ad_graphic = graphic[group_campaign[ad_group]]

    ad_names: list[str] = []
    offer_ids: list[str | None] = []
    for i, key in enumerate(ad_key.tolist()):
        if ad_graphic[i]:
            theme = campaigns[int(group_campaign[ad_group[i]])].name.split(" - ")[0]
            ad_names.append(f"Baner {pick(names.BANNER_SIZES, key >> 8)} - {theme}")
            offer_ids.append(None)
        else:
            product = pick(names.PRODUCTS, key >> 8)
            ad_names.append(f"{product} {pick(names.PRODUCT_VARIANTS, key >> 24)}")
            offer_ids.append(str(10_000_000_000 + key % 89_999_999_999))

    for shared in (group_campaign, ad_group, ad_key, ad_graphic, ad_start):
        shared.setflags(write=False)  # cached and shared between threads: nobody may mutate it
    return ClientStructure(
        client_id=client_id,
        campaigns=campaigns,
        group_ids=tuple(_uuids(ck, 1 << 40, len(group_campaign))),
        group_names=tuple(group_names),
        group_campaign=group_campaign,
        ad_ids=tuple(_uuids(ck, 1 << 50, n_ads)),
        ad_names=tuple(ad_names),
        offer_ids=tuple(offer_ids),
        ad_group=ad_group,
        ad_key=ad_key,
        ad_graphic=ad_graphic,
        ad_start=ad_start,
    )


def _campaigns(
    ck: int, camp_h: U64, graphic: NDArray[np.bool_], statuses: NDArray[np.str_]
) -> tuple[Campaign, ...]:
    ids = _uuids(ck, 1 << 30, len(camp_h))
    seen: Counter[str] = Counter()
    result = []
    for i, h in enumerate(camp_h.tolist()):
        kind = "Kampania graficzna" if graphic[i] else "Oferty sponsorowane"
        name = f"{pick(names.CAMPAIGN_THEMES, h >> 20)} - {kind}"
        seen[name] += 1
        if seen[name] > 1:  # names repeat in real accounts too, but a suffix keeps reports legible
            name = f"{name} {seen[name]}"
        result.append(
            Campaign(
                id=ids[i],
                name=name,
                ad_type=GRAPHIC_AD if graphic[i] else SPONSORED_OFFER,
                status=str(statuses[i]),
            )
        )
    return tuple(result)
