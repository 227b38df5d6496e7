"""SIP2 2.00 messages on the wire, and nothing else (no I/O, no database).

A message is a two-digit command, fixed-length fields, then variable fields (a two-letter
identifier, the value, ``|``), optionally ``AY<digit>AZ<4 hex>`` (sequence number and
checksum), and a carriage return. The checksum is the two's complement of the 16-bit sum of
every byte up to and including ``AZ``. Text is UTF-8 by default; a kiosk may speak CP949.

``parse`` turns a frame into a ``Request`` or raises a ``FrameError`` that says what is wrong
(bad checksum, unknown command, a field too long or missing, text that is not in the
encoding); ``format_message`` renders an answer, with the trailer when the request had one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

ENCODINGS = ("utf-8", "cp949")
DELIMITER = "|"
# A frame longer than this is refused without being read further (a 2.00 message with every
# field at its longest stays well below).
MAX_FRAME_BYTES = 4096
# Variable fields: 255 characters unless the library's own columns are shorter.
DEFAULT_FIELD_LIMIT = 255
FIELD_LIMITS = {
    "AA": 30,  # patron identifier: the card number
    "AB": 40,  # item identifier: the copy's barcode
    "AD": 32,  # patron password: the PIN
    "CN": 30,  # login user id: the kiosk code
    "CO": 128,  # login password: the kiosk key
    "AO": 64,  # institution id
    "AJ": 255,  # title identifier
    "BS": 30,  # pickup location: a kiosk code
}


@dataclass(frozen=True)
class Layout:
    """A request's fixed fields (name, width) in wire order and its required variable ones."""

    name: str
    fixed: tuple[tuple[str, int], ...]
    required: tuple[str, ...] = ()


DATE = 18
REQUESTS: dict[str, Layout] = {
    "93": Layout("login", (("uid_algorithm", 1), ("pwd_algorithm", 1)), ("CN", "CO")),
    "99": Layout(
        "sc_status", (("status_code", 1), ("max_print_width", 3), ("protocol_version", 4))
    ),
    "97": Layout("resend", ()),
    "63": Layout(
        "patron_information",
        (("language", 3), ("transaction_date", DATE), ("summary", 10)),
        ("AO", "AA"),
    ),
    "23": Layout("patron_status", (("language", 3), ("transaction_date", DATE)), ("AO", "AA")),
    "11": Layout(
        "checkout",
        (
            ("sc_renewal_policy", 1),
            ("no_block", 1),
            ("transaction_date", DATE),
            ("nb_due_date", DATE),
        ),
        ("AO", "AA", "AB"),
    ),
    "09": Layout(
        "checkin",
        (("no_block", 1), ("transaction_date", DATE), ("return_date", DATE)),
        ("AO", "AB"),
    ),
    "29": Layout(
        "renew",
        (
            ("third_party_allowed", 1),
            ("no_block", 1),
            ("transaction_date", DATE),
            ("nb_due_date", DATE),
        ),
        ("AO", "AA", "AB"),
    ),
    "17": Layout("item_information", (("transaction_date", DATE),), ("AO", "AB")),
    "15": Layout("hold", (("hold_mode", 1), ("transaction_date", DATE)), ("AO", "AA")),
    "35": Layout("end_session", (("transaction_date", DATE),), ("AO", "AA")),
    "65": Layout("renew_all", (("transaction_date", DATE),), ("AO", "AA")),
}
# The answer to each request (a refusal is an answer of this kind too).
ANSWERS = {
    "93": "94",
    "99": "98",
    "63": "64",
    "23": "24",
    "11": "12",
    "09": "10",
    "29": "30",
    "17": "18",
    "15": "16",
    "35": "36",
    "65": "66",
}
# ``BX`` in the status answer: which of the 16 messages of SIP2 2.00 are served, in the
# standard's order (patron status, checkout, checkin, block patron, SC/ACS status, resend,
# login, patron information, end patron session, fee paid, item information, item status
# update, patron enable, hold, renew, renew all).
BX_ORDER = (
    "23",
    "11",
    "09",
    "01",
    "99",
    "97",
    "93",
    "63",
    "35",
    "37",
    "17",
    "19",
    "25",
    "15",
    "29",
    "65",
)
SUPPORTED = "".join("Y" if command in REQUESTS else "N" for command in BX_ORDER)


class FrameError(Exception):
    """A frame that cannot be acted on; ``command`` is set when it names a known one, so the
    answer can be that command's refusal."""

    def __init__(self, reason: str, *, command: str | None = None, **details):
        super().__init__(reason)
        self.reason, self.command, self.details = reason, command, details


class ChecksumError(FrameError):
    """The checksum does not match: answered with 96 (send it again)."""


class UnknownCommand(FrameError):
    pass


class FieldTooLong(FrameError):
    pass


class FieldMissing(FrameError):
    pass


class BadText(FrameError):
    pass


class BadDate(FrameError):
    pass


_DATE = re.compile(r"[0-9]{8}[A-Z ]{4}[0-9]{6}")


@dataclass
class Request:
    command: str
    fixed: dict[str, str]
    fields: dict[str, list[str]]
    sequence: str | None = None
    checksummed: bool = False
    # The frame without its trailer: what a retry repeats byte for byte.
    body: bytes = b""
    encoding: str = "utf-8"
    order: list[str] = field(default_factory=list)

    def get(self, field_id: str) -> str | None:
        values = self.fields.get(field_id)
        return values[0] if values else None


def checksum(data: bytes) -> str:
    """Four hex digits: the two's complement of the 16-bit sum of ``data``'s bytes."""
    return f"{(-sum(data)) & 0xFFFF:04X}"


def split_trailer(frame: bytes) -> tuple[bytes, str | None, bool]:
    """(body, sequence number, checksummed), the checksum verified."""
    if len(frame) >= 6 and frame[-6:-4] == b"AZ":
        digits = frame[-4:]
        try:
            expected = int(digits, 16)
        except ValueError:
            raise ChecksumError("checksum is not hexadecimal") from None
        if (sum(frame[:-4]) + expected) & 0xFFFF:
            raise ChecksumError("checksum mismatch")
        rest = frame[:-6]
        if len(rest) >= 3 and rest[-3:-1] == b"AY" and chr(rest[-1]).isdigit():
            return rest[:-3], chr(rest[-1]), True
        return rest, None, True
    if len(frame) >= 3 and frame[-3:-1] == b"AY" and chr(frame[-1]).isdigit():
        return frame[:-3], chr(frame[-1]), False
    return frame, None, False


def strip_frame(raw: bytes) -> bytes:
    """A frame as read up to its CR: without the CR, and without the LF some machines send
    after the previous one."""
    return raw.rstrip(b"\r\n").lstrip(b"\n")


def peek_command(frame: bytes) -> str | None:
    head = frame[:2]
    return head.decode("ascii") if len(head) == 2 and head.isdigit() else None


def parse(frame: bytes, encoding: str = "utf-8") -> Request:
    """A frame (CR removed) as a request; raises a ``FrameError`` saying what is wrong."""
    if len(frame) > MAX_FRAME_BYTES:
        raise FrameError(f"longer than {MAX_FRAME_BYTES} bytes", command=peek_command(frame))
    if b"\x00" in frame:
        raise FrameError("contains a NUL byte", command=peek_command(frame))
    body, sequence, checksummed = split_trailer(frame)
    command = peek_command(body)
    if command is None:
        raise UnknownCommand("no command")
    layout = REQUESTS.get(command)
    if layout is None:
        raise UnknownCommand(f"command {command} is not served", command=None)
    try:
        text = body[2:].decode(encoding)
    except UnicodeDecodeError:
        raise BadText(f"not {encoding}", command=command, encoding=encoding) from None
    fixed, cursor = {}, 0
    for name, width in layout.fixed:
        value = text[cursor : cursor + width]
        if len(value) < width:
            raise FieldMissing(f"fixed field {name} is missing", command=command, field=name)
        if width == DATE and value.strip() and not _DATE.match(value):
            raise BadDate(f"{name} is not a SIP2 date", command=command, field=name)
        fixed[name], cursor = value, cursor + width
    fields: dict[str, list[str]] = {}
    order = []
    for part in text[cursor:].split(DELIMITER):
        if not part:
            continue
        if len(part) < 2:
            raise FrameError(f"field {part!r} has no identifier", command=command)
        field_id, value = part[:2], part[2:]
        limit = FIELD_LIMITS.get(field_id, DEFAULT_FIELD_LIMIT)
        if len(value) > limit:
            raise FieldTooLong(
                f"{field_id} longer than {limit}", command=command, field=field_id, limit=limit
            )
        if "\r" in value or "\n" in value:
            raise FrameError(f"{field_id} holds a line break", command=command)
        fields.setdefault(field_id, []).append(value)
        order.append(field_id)
    for field_id in layout.required:
        if field_id not in fields:
            raise FieldMissing(f"{field_id} is missing", command=command, field=field_id)
    return Request(command, fixed, fields, sequence, checksummed, body, encoding, order)


def _clean(value: str) -> str:
    value = value.replace(DELIMITER, "/").replace("\r", " ").replace("\n", " ")
    return value[:DEFAULT_FIELD_LIMIT]


def format_message(
    command: str,
    fixed: Sequence[str] = (),
    fields: Iterable[tuple[str, str | None]] = (),
    *,
    sequence: str | None = None,
    checksummed: bool = False,
    encoding: str = "utf-8",
) -> bytes:
    """An answer on the wire, CR included. Fields whose value is None are left out; text the
    encoding cannot hold becomes '?'. With ``checksummed`` (the request had a checksum) the
    answer carries ``AY`` (the request's sequence number) and ``AZ``."""
    text = command + "".join(fixed)
    text += "".join(
        f"{fid}{_clean(value)}{DELIMITER}" for fid, value in fields if value is not None
    )
    data = text.encode(encoding, errors="replace")
    if checksummed:
        if sequence is not None:
            data += b"AY" + sequence.encode("ascii")
        data += b"AZ"
        data += checksum(data).encode("ascii")
    return data + b"\r"


def sip_date(moment: datetime, tz: ZoneInfo) -> str:
    """``YYYYMMDDZZZZHHMMSS`` in local time: the zone part blank, as SIP2 writes local time."""
    local = moment.astimezone(tz)
    return f"{local:%Y%m%d}    {local:%H%M%S}"


def parse_date(text: str, tz: ZoneInfo) -> datetime | None:
    """A SIP2 date (blank zone: local time; ``   Z`` or ``UTC ``: UTC); None when blank."""
    if not text.strip():
        return None
    if len(text) != DATE or not (text[:8].isdigit() and text[12:].isdigit()):
        raise ValueError(f"not a SIP2 date: {text!r}")
    zone = text[8:12].strip()
    base = datetime.strptime(text[:8] + text[12:], "%Y%m%d%H%M%S")
    if zone in ("Z", "UTC", "GMT"):
        return base.replace(tzinfo=UTC)
    return base.replace(tzinfo=tz)


def flags(*values: bool) -> str:
    return "".join("Y" if value else " " for value in values)


def yes_no(value: bool) -> str:
    return "Y" if value else "N"


def count(number: int) -> str:
    return f"{min(number, 9999):04d}"
