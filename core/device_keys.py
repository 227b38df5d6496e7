"""Devices that call the service with a key of their own: ``Authorization: <Scheme> <key>``.

Library kiosks, facility check-in gates and SIP2 self-check logins are all such devices. Keys
are random, shown once when issued, stored only as SHA-256 hashes, and revoked by staff. A
domain declares its kind of device once as a ``DeviceKind``; the doors take the key from their
protocol (``core.http.Blueprint.device`` for HTTP) and ask the kind for the device.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.errors import Unauthorized
from core.extensions import db
from core.security import new_token, token_hash


@dataclass(frozen=True)
class DeviceKind:
    scheme: str  # the Authorization scheme, "Kiosk"
    model: type  # a table with ``key_hash`` and a revocation timestamp
    revoked_attribute: str = "revoked_at"

    @property
    def noun(self) -> str:
        return self.scheme.lower()

    @property
    def security_scheme(self) -> str:
        """The name of the scheme in the OpenAPI document, ``kioskKey``."""
        return f"{self.noun}Key"

    @property
    def challenge(self) -> dict:
        return {"WWW-Authenticate": f'{self.scheme} realm="happyhub"'}

    def new_key(self) -> tuple[str, str]:
        """A fresh key and the hash to store; the key itself is shown once and never kept."""
        raw = new_token()
        return raw, token_hash(raw)

    def by_key(self, raw_key: str):
        """The device holding this key; an unknown or revoked key is a 401."""
        device = db.session.scalar(select(self.model).filter_by(key_hash=token_hash(raw_key)))
        if device is None or getattr(device, self.revoked_attribute) is not None:
            raise Unauthorized(
                f"The {self.noun} key is invalid or revoked",
                code=f"invalid_{self.noun}_key",
                headers=self.challenge,
            )
        return device

    def key_required(self) -> Unauthorized:
        return Unauthorized(
            f"A {self.noun} key is required: Authorization: {self.scheme} <key>",
            code=f"{self.noun}_key_required",
            headers=self.challenge,
        )

    def document(self, api) -> None:
        """Describe this scheme in the OpenAPI document beside core's bearerAuth."""
        api.spec.components.security_scheme(
            self.security_scheme,
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": f"{self.scheme} <key>",
            },
        )
