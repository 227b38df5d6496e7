"""Errors specific to uploads (the rest come from ``core.errors``)."""

from core.errors import DomainError


class PayloadTooLarge(DomainError):
    status, code = 413, "payload_too_large"


class UnsupportedMedia(DomainError):
    status, code = 415, "unsupported_media_type"
