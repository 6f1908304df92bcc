"""A customer's contact address and the "Send a new link" action (admins): the link is e-mailed
to the contact address in Polish and English, never shown, and its lifetime is stated."""

from __future__ import annotations

from werkzeug.exceptions import BadRequest, ServiceUnavailable
from werkzeug.wrappers import Response

from authorize_app.portal.context import Ctx
from authorize_app.portal.forms import text_field
from control_store import customers
from services.link_mail import lifetime_en, send_link
from services.mail import MailError, require_mailer

EMAIL_CHARS = 320


def customer_contact(ctx: Ctx, customer_id: str) -> Response:
    """POST /customers/<id>/contact (admin): set (or, empty, clear) the contact address."""
    customer = ctx.scope.require(customer_id)
    email = text_field(
        ctx.request.form, "contact_email", "Contact address", max_chars=EMAIL_CHARS, required=False
    )
    try:
        customers.set_contact_email(ctx.control.engine, customer.id, email or None)
    except ValueError as exc:
        raise BadRequest(f"{exc}; type the customer's address again.") from None
    return ctx.redirect("customer_detail", customer_id=customer.id)


def link_send(ctx: Ctx, customer_id: str) -> Response:
    """POST /customers/<id>/links/send (admin): e-mail a new consent link to the customer."""
    customer = ctx.scope.require(customer_id)
    assert ctx.user is not None
    try:
        mailer = require_mailer(ctx.control.settings)
        sent = send_link(ctx.control, mailer, customer.id, created_by=ctx.user.email)
    except MailError as exc:
        raise ServiceUnavailable(f"The link was not sent (and is not usable): {exc}") from None
    lifetime = sent.issued.link.expires_at - sent.issued.link.created_at
    return ctx.render(
        "link_sent.html",
        active="customers",
        customer=customer,
        sent=sent,
        lifetime=lifetime_en(lifetime),
    )
