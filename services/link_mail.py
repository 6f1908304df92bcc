"""E-mailing a customer a new consent link: in Polish and English, from the agency by name,
saying how long the link works. The portal's "Send a new link" and ``allegro-ads links send``
both come here.

Everything that could stop the e-mail is checked before a link is issued (a contact address, a
mail server); a link whose e-mail then fails is revoked at once, so no working link exists that
nobody received.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from control_store import auth_links, customers
from control_store.database import Conflict
from services.control import Control
from services.links import IssuedLink, issue_link
from services.mail import Mailer, MailError, OutgoingMail


class NoContactAddress(Conflict):
    """The customer has no contact address to send the link to."""


@dataclass(frozen=True, slots=True)
class SentLink:
    issued: IssuedLink
    to: str


def send_link(
    control: Control,
    mailer: Mailer,
    customer: str,
    *,
    created_by: str | None,
    ttl: timedelta | None = None,
) -> SentLink:
    """Issue a consent link for ``customer`` (id or name) and e-mail it to their contact
    address; ``NoContactAddress`` or ``Conflict`` (deactivated) before anything is issued."""
    found = customers.find_customer(control.engine, customer)
    if not found.active:
        raise Conflict(f"{found.name} is deactivated; no link can be issued for it")
    if not found.contact_email:
        raise NoContactAddress(
            f"{found.name} has no contact address: set it with allegro-ads customers contact "
            f"{found.id} EMAIL (or on the customer's page in the portal)"
        )
    issued = issue_link(control, found.id, ttl=ttl, created_by=created_by)
    lifetime = issued.link.expires_at - issued.link.created_at
    message = link_message(
        to=found.contact_email,
        agency_name=control.settings.agency_name,
        customer_name=found.name,
        url=issued.url,
        lifetime=lifetime,
        expires_at=issued.link.expires_at,
        timezone=control.settings.reporting_timezone,
    )
    try:
        mailer.send(message)
    except MailError:
        auth_links.revoke_link(control.engine, issued.link.id)
        raise
    return SentLink(issued, found.contact_email)


def link_message(
    *,
    to: str,
    agency_name: str,
    customer_name: str,
    url: str,
    lifetime: timedelta,
    expires_at: datetime,
    timezone: str,
) -> OutgoingMail:
    """The bilingual e-mail carrying a consent link (Polish first: Allegro's sellers are)."""
    local = expires_at.astimezone(ZoneInfo(timezone))
    until = f"{local:%d.%m.%Y %H:%M} ({timezone})"
    polish = (
        "Dzień dobry,\n\n"
        f"{agency_name} prosi o połączenie konta sprzedawcy Allegro ({customer_name}), aby "
        "raporty reklam pokazywały nazwy, ceny i stany ofert. Wystarczy otworzyć link, "
        "zalogować się na Allegro i zatwierdzić dostęp.\n\n"
        f"{url}\n\n"
        f"Link jest ważny przez {lifetime_pl(lifetime)} (do {until}) i działa tylko raz. "
        "Jeśli wygaśnie, prosimy o kontakt: wyślemy nowy.\n\n"
        f"Pozdrawiamy,\n{agency_name}\n"
    )
    english = (
        "Hello,\n\n"
        f"{agency_name} asks you to connect your Allegro seller account ({customer_name}) so "
        "that the advertising reports show your offers' names, prices and stock. Open the "
        "link, sign in to Allegro and approve the access.\n\n"
        f"{url}\n\n"
        f"The link is valid for {lifetime_en(lifetime)} (until {until}) and works once. If it "
        "expires, contact us and we will send a new one.\n\n"
        f"Kind regards,\n{agency_name}\n"
    )
    return OutgoingMail(
        to=(to,),
        subject=(f"{agency_name}: połącz konto Allegro / connect your Allegro account"),
        text=polish + "\n----------------------------------------\n\n" + english,
    )


def lifetime_en(lifetime: timedelta) -> str:
    """ "3 days", "1 hour", "45 minutes"."""
    amount, unit = _amount(lifetime)
    return f"{amount} {unit}{'' if amount == 1 else 's'}"


def lifetime_pl(lifetime: timedelta) -> str:
    """ "3 dni", "1 godzinę", "22 godziny", "45 minut" (after "przez", hence the accusative)."""
    amount, unit = _amount(lifetime)
    forms = {
        "day": ("dzień", "dni", "dni"),
        "hour": ("godzinę", "godziny", "godzin"),
        "minute": ("minutę", "minuty", "minut"),
    }[unit]
    return f"{amount} {_polish_plural(amount, *forms)}"


def _amount(lifetime: timedelta) -> tuple[int, str]:
    """The lifetime in the largest whole unit that states it exactly (else whole minutes)."""
    minutes = max(1, round(lifetime.total_seconds() / 60))
    if minutes % (24 * 60) == 0:
        return minutes // (24 * 60), "day"
    if minutes % 60 == 0:
        return minutes // 60, "hour"
    return minutes, "minute"


def _polish_plural(n: int, one: str, few: str, many: str) -> str:
    if n == 1:
        return one
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return few
    return many
