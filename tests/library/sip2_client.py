"""A self-check machine's side of SIP2 for the tests and the bench: the third-party ``pysip2``
codec (UTF-8, or CP949) encodes the requests and decodes, and so checks, every answer."""

from __future__ import annotations

import socket
from datetime import datetime
from zoneinfo import ZoneInfo

from pysip2 import (
    CheckinRequest,
    CheckoutRequest,
    LoginRequest,
    PatronInformationRequest,
    SCStatusRequest,
    decode_message,
    encode_message,
)

INSTITUTION = "HAPPYHUB"
SEOUL = ZoneInfo("Asia/Seoul")


def sip_now() -> str:
    return datetime.now(SEOUL).strftime("%Y%m%d    %H%M%S")


class Sip2Client:
    def __init__(self, port: int, *, encoding: str = "utf-8", timeout: float = 30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.encoding, self.sequence, self.buffer = encoding, 0, b""
        self.last_frame = b""
        self.before_send = None

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Sip2Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def read(self) -> bytes:
        while b"\r" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            self.buffer += chunk
        frame, _, self.buffer = self.buffer.partition(b"\r")
        return frame + b"\r"

    def send_raw(self, data: bytes) -> bytes:
        if self.before_send is not None:
            self.before_send()
        self.sock.sendall(data)
        return self.read()

    def frame(self, message, *, sequence: int | None = None) -> bytes:
        if sequence is None:
            sequence, self.sequence = self.sequence, (self.sequence + 1) % 10
        return encode_message(
            message, sequence_number=sequence, checksum=True, encoding=self.encoding
        )

    def decode(self, raw: bytes):
        return decode_message(raw, encoding=self.encoding).message

    def request(self, message, *, sequence: int | None = None):
        self.last_frame = self.frame(message, sequence=sequence)
        return self.decode(self.send_raw(self.last_frame))

    # --- the usual messages ---

    def login(self, code: str, key: str):
        return self.request(
            LoginRequest(
                uid_algorithm="0", pwd_algorithm="0", login_user_id=code, login_password=key
            )
        )

    def status(self, code: str = "0"):
        return self.request(
            SCStatusRequest(status_code=code, max_print_width="040", protocol_version="2.00")
        )

    def patron_information(self, card: str, pin: str | None = None, summary: str = " " * 10):
        return self.request(
            PatronInformationRequest(
                language="000",
                transaction_date=sip_now(),
                summary=summary,
                institution_id=INSTITUTION,
                patron_identifier=card,
                patron_password=pin,
            )
        )

    def checkout_message(self, card: str, barcode: str, pin: str | None = None):
        return CheckoutRequest(
            sc_renewal_policy="N",
            no_block="N",
            transaction_date=sip_now(),
            nb_due_date=sip_now(),
            institution_id=INSTITUTION,
            patron_identifier=card,
            item_identifier=barcode,
            terminal_password="",
            patron_password=pin,
        )

    def checkout(self, card: str, barcode: str, pin: str | None = None):
        return self.request(self.checkout_message(card, barcode, pin))

    def checkin(self, barcode: str):
        return self.request(
            CheckinRequest(
                no_block="N",
                transaction_date=sip_now(),
                return_date=sip_now(),
                current_location="",
                institution_id=INSTITUTION,
                item_identifier=barcode,
                terminal_password="",
            )
        )
