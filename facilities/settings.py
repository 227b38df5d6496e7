"""The facilities domain's settings, built once from the app's config (core.config holds the
keys and their defaults). Doors read them with ``core.settings.settings_of(FacilitySettings)``
and pass what a service needs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FacilitySettings:
    checkin_secret: str  # signs the check-in codes shown as QR codes (SECRET_KEY)
    payment_callback_secret: str  # the payment provider signs its callbacks with it
    slot_days_ahead: int  # how far ahead the daily job materializes slots
    session_lottery_payment_hours: int  # a session lottery's winner pays within this

    @classmethod
    def from_config(cls, config) -> FacilitySettings:
        return cls(
            checkin_secret=config["SECRET_KEY"],
            payment_callback_secret=config["PAYMENT_CALLBACK_SECRET"],
            slot_days_ahead=config["FACILITIES_SLOT_DAYS_AHEAD"],
            session_lottery_payment_hours=config["FACILITIES_SESSION_LOTTERY_PAYMENT_HOURS"],
        )
