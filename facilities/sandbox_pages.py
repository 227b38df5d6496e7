"""The local test payment page (development and testing only: ``facilities.init_app``
registers it nowhere else). It plays the payment provider: it signs the same callback body the
provider would, with ``PAYMENT_CALLBACK_SECRET``, and hands it to the same use case that
verifies and handles the provider's callback (``payments.handle_signed_callback``)."""

from __future__ import annotations

import json

import marshmallow as ma
from flask import redirect, render_template, url_for

from core.clock import now
from core.http import ID_RANGE as ID
from core.security import hmac_sha256
from core.settings import settings_of
from core.web import Form, PageBlueprint, idempotency_key, login_required, read_form, signed_in_user
from facilities.pages import Formats
from facilities.schemas import PaymentCallbackSchema
from facilities.services import booking as bookings
from facilities.services import payments
from facilities.settings import FacilitySettings

blp = PageBlueprint("facilities_sandbox", __name__, template_folder="templates")

_callback_schema = PaymentCallbackSchema()


class CheckoutFormSchema(PaymentCallbackSchema):
    """The callback's fields as this page's form sends them: its numbers arrive as text
    (the provider's JSON carries them as numbers, which the callback's schema insists on)."""

    booking_id = ma.fields.Integer(required=True, validate=ID)
    amount = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0))


_checkout_schema = CheckoutFormSchema()


@blp.context_processor
def _formats() -> dict:
    return {"fmt": Formats}


def _read_callback(raw: bytes) -> dict:
    """The body this page signed: read back as the API reads the provider's."""
    return _callback_schema.load(json.loads(raw))


@blp.get("/test-payment/<int:booking_id>")
@login_required()
def pay_form(booking_id):
    booking = bookings.get_booking(booking_id, signed_in_user())
    # One payment id per rendering, as a provider's checkout has: paying twice from the same
    # page is the same payment, answered again.
    form = Form.empty(
        booking_id=booking.id, amount=booking.price, payment_id=f"test-{idempotency_key()}"
    )
    return render_template(
        "facilities/sandbox_pay.html",
        booking=booking,
        form=form,
        # Without the shared secret no callback verifies, the provider's nor this page's.
        can_sign=bool(settings_of(FacilitySettings).payment_callback_secret),
    )


@blp.post("/test-payment")
@login_required()
def pay():
    """Sign the provider's callback for what the form says, and have it handled."""
    data, form = read_form(_checkout_schema)
    if data is None:
        page = render_template(
            "facilities/sandbox_pay.html", booking=None, form=form, can_sign=True
        )
        return page, 422
    raw = json.dumps(data, sort_keys=True).encode()
    secret = settings_of(FacilitySettings).payment_callback_secret
    booking = payments.handle_signed_callback(
        raw, hmac_sha256(secret, raw), secret=secret, now=now(), read=_read_callback
    )
    return redirect(url_for("facilities_pages.booking", booking_id=booking.id), 303)
