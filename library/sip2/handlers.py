"""The SIP2 door: one function per message. Each reads its fields, makes one call into the
library's use cases (the kiosk API's: the same rules, journal, suspensions, holds, audit) as
the kiosk the session logged in as, and renders the answer as SIP2 fields.

A session is one connection. Lending transactions are journaled under a transaction id made
from (kiosk, sequence number, message), so a machine that retries a checkout, even on a new
connection, gets the first answer back from the journal and nothing happens twice.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from core.clock import now as clock_now
from core.db import intent
from core.errors import DomainError
from core.settings import settings_of
from core.transactions import snapshot, unit_of_work
from library.messages import MESSAGES, SIP2_TEXTS
from library.services import kiosk_transactions, kiosks, patrons
from library.settings import LibrarySettings, Sip2Settings
from library.sip2 import codec
from library.sip2.codec import count, flags, sip_date, yes_no

log = logging.getLogger(__name__)

LANGUAGE = "000"  # unknown / default
TIMEOUT_PERIOD = "050"  # tenths of a second the machine waits for an answer
RETRIES_ALLOWED = "003"
LIBRARY_NAME = "HAPPY-HUB 스마트도서관"
# Circulation status of item information (18), by copy status.
CIRCULATION = {
    "available": "03",
    "in_kiosk": "03",
    "on_loan": "04",
    "reserved_for_pickup": "08",
    "in_transit": "10",
    "lost": "12",
    "withdrawn": "01",
}
FUNCTION_NAMES = {"checkout": "대출", "return": "반납", "pickup": "예약 대출"}


@dataclass
class Answer:
    command: str
    fixed: list[str]
    fields: list[tuple[str, str | None]]


@dataclass
class Session:
    """One connection: the kiosk it logged in as, its text encoding, the last exchange (for
    97 and for a repeated sequence number), the PINs patrons gave in this patron session (a
    checkout without ``AD`` uses the PIN given at patron information; 35 forgets it) and the
    use cases' memory of the PINs they verified (``patrons.PinMemory``: the same card and PIN
    in the next message is not hashed again while the patron's row shows no reset or lock)."""

    kiosk_id: int | None = None
    kiosk_code: str = ""
    encoding: str = "utf-8"
    last_request: bytes | None = None
    last_answer: bytes | None = None
    pins: dict[str, str] = field(default_factory=dict)
    verified: patrons.PinMemory = field(default_factory=patrons.PinMemory)

    # --- the frame ---------------------------------------------------------------------

    def answer(self, frame: bytes) -> bytes:
        """The bytes to send for one frame (its CR removed). Never raises."""
        frame = codec.strip_frame(frame)
        if codec.peek_command(frame) == "97":
            return self.last_answer or codec.format_message("96")
        if frame == self.last_request and self.last_answer is not None and _sequenced(frame):
            return self.last_answer  # the same message with the same sequence number: a retry
        try:
            request = codec.parse(frame, self.encoding)
        except codec.ChecksumError:
            return codec.format_message("96")
        except codec.UnknownCommand as error:
            log.info("sip2: refused a frame: %s", error.reason)
            return codec.format_message("96")
        except codec.FrameError as error:
            data = self._refusal_for_frame(frame, error)
        else:
            data = self._dispatch(request)
        self.last_request, self.last_answer = frame, data
        return data

    def _refusal_for_frame(self, frame: bytes, error: codec.FrameError) -> bytes:
        if error.command is None:
            return codec.format_message("96")
        if isinstance(error, codec.FieldTooLong):
            text = SIP2_TEXTS["field_too_long"].format(**error.details)
        elif isinstance(error, codec.FieldMissing) and "field" in error.details:
            text = SIP2_TEXTS["field_missing"].format(field=error.details["field"])
        elif isinstance(error, codec.BadDate):
            text = SIP2_TEXTS["bad_date"].format(field=error.details["field"])
        elif isinstance(error, codec.BadText):
            text = SIP2_TEXTS["bad_text"].format(encoding=self.encoding.upper())
        else:
            text = SIP2_TEXTS["malformed"].format(reason=error.reason)
        try:
            body, sequence, checksummed = codec.split_trailer(frame)
        except codec.FrameError:
            sequence, checksummed = None, False
        request = codec.Request(error.command, {}, {}, sequence, checksummed, frame, self.encoding)
        return self._render(request, refuse(request, self, text))

    def _render(self, request: codec.Request, answer: Answer) -> bytes:
        return codec.format_message(
            answer.command,
            answer.fixed,
            answer.fields,
            sequence=request.sequence,
            checksummed=request.checksummed,
            encoding=self.encoding,
        )

    def _dispatch(self, request: codec.Request) -> bytes:
        handler = HANDLERS[request.command]
        if self.kiosk_id is None and request.command not in ("93", "99"):
            return self._render(request, refuse(request, self, SIP2_TEXTS["login_first"]))
        try:
            try:
                with unit_of_work():
                    answer = handler(self, request)
            except DomainError as refusal:
                answer = refuse(request, self, korean(refusal.code, refusal.message))
        except Exception:  # a failure is answered, never a dropped connection
            log.exception("sip2: message %s failed", request.command)
            answer = refuse(request, self, SIP2_TEXTS["server_error"])
        return self._render(request, answer)

    # --- what the handlers share ---------------------------------------------------------

    def kiosk(self):
        """The kiosk, read on a snapshot as the kiosk API reads its caller: the message's own
        transaction begins later, after the PIN is checked, and holds no lock meanwhile."""
        with snapshot():
            return kiosks.logged_in(self.kiosk_id)

    def transaction_id(self, request: codec.Request) -> str:
        """The journal's transaction id of a lending message: the same (kiosk, sequence
        number, message) always gives the same id, so a retry replays the first answer. The
        passwords are left out (the id is stored in the clear)."""
        digest = hashlib.sha256(f"{self.kiosk_id}:{request.sequence}:".encode())
        digest.update(request.command.encode())
        digest.update("".join(request.fixed.values()).encode(request.encoding))
        for field_id in sorted(request.fields):
            if field_id not in ("AD", "AC", "CO"):
                for value in request.fields[field_id]:
                    digest.update(f"|{field_id}{value}".encode(request.encoding))
        return "sip2-" + digest.hexdigest()[:31]

    def pin(self, request: codec.Request) -> str | None:
        given = request.get("AD")
        return given if given else self.pins.get(request.get("AA") or "")


def _sequenced(frame: bytes) -> bool:
    try:
        return codec.split_trailer(frame)[1] is not None
    except codec.FrameError:
        return False


def korean(code: str | None, fallback: str) -> str:
    return MESSAGES.get(code or "", fallback)


def _lib() -> LibrarySettings:
    return settings_of(LibrarySettings)


def _sip() -> Sip2Settings:
    return settings_of(Sip2Settings)


def _now() -> datetime:
    return clock_now()


def _date(moment: datetime | None = None) -> str:
    return sip_date(moment or _now(), _lib().tz)


def _iso_date(text: str | None) -> str | None:
    return sip_date(datetime.fromisoformat(text), _lib().tz) if text else None


def _day(text: str | None) -> str:
    return _lib().local_text(datetime.fromisoformat(text))[:10] if text else ""


def _occurred_at(request: codec.Request) -> datetime:
    try:
        given = codec.parse_date(request.fixed.get("transaction_date", ""), _lib().tz)
    except ValueError:
        given = None
    return given or _now()


def _refusal_text(body: dict) -> list[str]:
    """The screen messages of a journaled refusal: its Korean text, and for a full kiosk the
    nearby ones that have room."""
    texts = [korean(body.get("code"), body.get("message", ""))]
    if body.get("code") == "kiosk_full":
        nearby = body.get("nearby") or []
        if nearby:
            places = ", ".join(
                f"{k['name']} ({k['code']}, 빈 칸 {k['free_slots']})" for k in nearby
            )
            texts.append(SIP2_TEXTS["nearby_room"].format(kiosks=places))
        else:
            texts.append(SIP2_TEXTS["no_nearby_room"])
    if body.get("code") == "function_unavailable":
        name = FUNCTION_NAMES.get(body.get("function"), body.get("function"))
        texts = [SIP2_TEXTS["out_of_service"].format(functions=name)]
    return texts


def _screen(texts: list[str]) -> list[tuple[str, str]]:
    return [("AF", text) for text in texts if text]


# --- the messages ---------------------------------------------------------------------


def login(session: Session, request: codec.Request) -> Answer:
    """93 → 94: the kiosk by its code (CN) and key (CO); the session then acts as it."""
    with snapshot():
        kiosk = kiosks.sip2_login(request.get("CN") or "", request.get("CO") or "")
        session.kiosk_id, session.kiosk_code = kiosk.id, kiosk.code
        session.encoding, session.pins = kiosk.sip2_encoding, {}
    return Answer("94", ["1"], [])


def sc_status(session: Session, request: codec.Request) -> Answer:
    """99 → 98: the kiosk's state as flags (a heartbeat: printer status 1 sets its fault)."""
    sip = _sip()
    if session.kiosk_id is None:
        return Answer(
            "98",
            ["Y", "N", "N", "N", "N", "N", TIMEOUT_PERIOD, RETRIES_ALLOWED, _date(), "2.00"],
            [
                ("AO", sip.institution_id),
                ("AM", LIBRARY_NAME),
                ("BX", codec.SUPPORTED),
                ("AF", SIP2_TEXTS["login_first"]),
            ],
        )
    printer_ok = request.fixed.get("status_code") != "1"
    state = kiosks.status_report(session.kiosk(), printer_ok, now=_now(), settings=_lib())
    functions = state["functions"]
    online = state["state"] in ("online", "fault")
    off = [FUNCTION_NAMES[name] for name, on in functions.items() if not on]
    return Answer(
        "98",
        [
            yes_no(online),
            yes_no(online and functions["return"]),
            yes_no(online and functions["checkout"]),
            "Y",  # renewals are decided by the library
            "N",
            "N",
            TIMEOUT_PERIOD,
            RETRIES_ALLOWED,
            _date(),
            "2.00",
        ],
        [
            ("AO", sip.institution_id),
            ("AM", LIBRARY_NAME),
            ("BX", codec.SUPPORTED),
            ("AN", f"{state['code']} {state['name']}"),
            *_screen(
                [SIP2_TEXTS["out_of_service"].format(functions=", ".join(off))] if off else []
            ),
        ],
    )


def _status_bits(standing: dict) -> str:
    """Patron status: charge privileges denied (suspended, overdue, over the loan limit or
    PIN-locked), renewal denied (PIN-locked), hold denied, too many items charged, too many
    overdue."""
    if not standing["valid_patron"]:
        return flags(True, True, True, True) + " " * 10
    return flags(
        standing["borrow_refusal"] is not None,
        standing["pin_locked"],
        False,
        standing["hold_refusal"] is not None,
        False,
        standing["over_loan_limit"],
        standing["overdue_count"] > 0,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
    )


def _standing(session: Session, request: codec.Request) -> dict:
    card = request.get("AA") or ""
    pin = request.get("AD")
    standing = kiosk_transactions.patron_standing(
        session.kiosk(), card, pin or None, now=_now(), settings=_lib(), pin_memory=session.verified
    )
    if standing["valid_pin"]:
        session.pins[card] = pin
    elif standing["valid_pin"] is False:  # a wrong PIN given: forget any earlier one
        session.pins.pop(card, None)
    return standing


def _standing_texts(standing: dict) -> list[str]:
    if not standing["valid_patron"]:
        return [SIP2_TEXTS["unknown_card"]]
    texts = []
    if standing["pin_locked"]:
        texts.append(SIP2_TEXTS["pin_locked"])
    elif standing["valid_pin"] is False:
        texts.append(SIP2_TEXTS["wrong_pin"])
    if standing["suspended_until"]:
        texts.append(SIP2_TEXTS["suspended_until"].format(until=_day(standing["suspended_until"])))
    elif standing["borrow_refusal"] and standing["borrow_refusal"] != "card_locked":
        texts.append(korean(standing["borrow_refusal"], ""))
    return texts


def _validity(standing: dict, request: codec.Request) -> list[tuple[str, str | None]]:
    pin = standing["valid_pin"]
    return [
        ("BL", yes_no(standing["valid_patron"])),
        ("CQ", None if pin is None else yes_no(pin)),
    ]


def patron_status(session: Session, request: codec.Request) -> Answer:
    """23 → 24."""
    standing = _standing(session, request)
    name = standing.get("name", "") if standing["valid_pin"] else ""
    return Answer(
        "24",
        [_status_bits(standing), LANGUAGE, _date()],
        [
            ("AO", _sip().institution_id),
            ("AA", request.get("AA")),
            ("AE", name),
            *_validity(standing, request),
            *_screen(_standing_texts(standing)),
        ],
    )


def patron_information(session: Session, request: codec.Request) -> Answer:
    """63 → 64: the standing, and with the right PIN the name, loans (charged, overdue) and
    holds (ready ones as hold items, the others as unavailable holds)."""
    standing = _standing(session, request)
    summary = standing["summary"]
    loans = summary["loans"] if summary else []
    holds = summary["holds"] if summary else []
    ready = [h for h in holds if h["status"] == "ready"]
    waiting = [h for h in holds if h["status"] != "ready"]
    overdue = [loan for loan in loans if loan["overdue"]]
    texts = _standing_texts(standing)
    if summary and summary["holds_ready_here"]:
        texts.append(SIP2_TEXTS["holds_ready"].format(count=len(summary["holds_ready_here"])))
    fields: list[tuple[str, str | None]] = [
        ("AO", _sip().institution_id),
        ("AA", request.get("AA")),
        ("AE", standing.get("name", "") if summary else ""),
    ]
    if standing["valid_patron"]:
        fields += [
            ("BZ", count(standing["hold_limit"])),
            ("CB", count(standing["loan_limit"])),
        ]
    fields += _validity(standing, request)
    fields += [("AS", h["barcode"] or h["title"]) for h in ready]
    fields += [("AT", loan["barcode"]) for loan in overdue]
    fields += [("AU", loan["barcode"]) for loan in loans]
    fields += [("CD", h["title"]) for h in waiting]
    fields += _screen(texts)
    return Answer(
        "64",
        [
            _status_bits(standing),
            LANGUAGE,
            _date(),
            count(len(ready)),
            count(len(overdue)),
            count(len(loans)),
            count(0),
            count(0),
            count(len(waiting)),
        ],
        fields,
    )


def _patron_transaction(session: Session, request: codec.Request, use_case, *, item: bool):
    """A patron's journaled message (checkout, renew, renew all): the PIN required, the
    journal's transaction id derived from the message, one call of the kiosk API's use case.
    Returns (data, body), or (None, the refusal as the command's answer)."""
    pin = session.pin(request)
    if not pin:
        return None, refuse(request, session, SIP2_TEXTS["pin_required"])
    data = {
        "transaction_id": session.transaction_id(request),
        "occurred_at": _occurred_at(request),
        "card_number": request.get("AA"),
        "pin": pin,
    }
    if item:
        data["barcode"] = request.get("AB")
    body, status = use_case(
        session.kiosk(), data, now=_now(), settings=_lib(), pin_memory=session.verified
    )
    if status >= 400:
        return None, refuse(request, session, *_refusal_text(body))
    return data, body


def checkout(session: Session, request: codec.Request) -> Answer:
    """11 → 12: the kiosk API's checkout (picking up a hold included), journaled."""
    data, body = _patron_transaction(session, request, kiosk_transactions.checkout, item=True)
    if data is None:
        return body
    text = "hold_collected" if body["hold_collected"] else "checked_out"
    return Answer(
        "12",
        # when the loan began: a retry answered from the journal repeats the first answer
        ["1", "N", "U", "Y", _iso_date(body["out_at"])],
        [
            ("AO", _sip().institution_id),
            ("AA", request.get("AA")),
            ("AB", body["barcode"]),
            ("AJ", body["title"]),
            ("AH", _iso_date(body["due_at"])),
            ("BK", data["transaction_id"]),
            ("AF", SIP2_TEXTS[text].format(due=_day(body["due_at"]))),
        ],
    )


def checkin(session: Session, request: codec.Request) -> Answer:
    """09 → 10: the kiosk API's return into the lowest free slot (sort bin ``CL``); a full
    kiosk is refused with the nearby kiosks that have room."""
    data = {
        "transaction_id": session.transaction_id(request),
        "occurred_at": _occurred_at(request),
        "barcode": request.get("AB"),
        "slot": None,
    }
    body, status = kiosk_transactions.return_copy(
        session.kiosk(), data, now=_now(), settings=_lib()
    )
    if status >= 400:
        return refuse(request, session, *_refusal_text(body))
    texts = [SIP2_TEXTS["checked_in"].format(slot=body["slot"])]
    if body["overdue_days"]:
        texts.append(
            SIP2_TEXTS["checked_in_overdue"].format(
                days=body["overdue_days"], until=_day(body["suspended_until"])
            )
        )
    if body["reserved_for_hold"]:
        texts.append(SIP2_TEXTS["reserved_for_hold"])
    return Answer(
        "10",
        ["1", "Y", "U", yes_no(body["reserved_for_hold"]), _iso_date(body["returned_at"])],
        [
            ("AO", _sip().institution_id),
            ("AB", body["barcode"]),
            ("AQ", session.kiosk_code),
            ("AJ", body["title"]),
            ("CL", str(body["slot"])),
            *_screen(texts),
        ],
    )


def renew(session: Session, request: codec.Request) -> Answer:
    """29 → 30: renew one loan, journaled as a checkout is."""
    data, body = _patron_transaction(session, request, kiosk_transactions.renew, item=True)
    if data is None:
        return body
    return Answer(
        "30",
        ["1", "Y", "U", "U", _date()],
        [
            ("AO", _sip().institution_id),
            ("AA", request.get("AA")),
            ("AB", body["barcode"]),
            ("AJ", body["title"]),
            ("AH", _iso_date(body["due_at"])),
            ("AF", SIP2_TEXTS["renewed"].format(due=_day(body["due_at"]))),
        ],
    )


def renew_all(session: Session, request: codec.Request) -> Answer:
    """65 → 66."""
    data, body = _patron_transaction(session, request, kiosk_transactions.renew_all, item=False)
    if data is None:
        return body
    renewed, unrenewed = body["renewed"], body["unrenewed"]
    return Answer(
        "66",
        ["1", count(len(renewed)), count(len(unrenewed)), _date()],
        [
            ("AO", _sip().institution_id),
            *[("BM", item["barcode"]) for item in renewed],
            *[("BN", item["barcode"]) for item in unrenewed],
            (
                "AF",
                SIP2_TEXTS["renewed_all"].format(renewed=len(renewed), unrenewed=len(unrenewed)),
            ),
        ],
    )


def item_information(session: Session, request: codec.Request) -> Answer:
    """17 → 18."""
    with intent(writes=False):
        item = kiosk_transactions.item_information(request.get("AB") or "", settings=_lib())
    return Answer(
        "18",
        [CIRCULATION.get(item["status"], "01"), "00", "01", _date()],
        [
            ("CF", str(item["holds_waiting"])),
            ("AH", _iso_date(item["due_at"])),
            ("CM", _iso_date(item["pickup_deadline"])),
            ("AB", item["barcode"]),
            ("AJ", item["title"]),
            ("AQ", _sip().institution_id),
            ("AP", f"{item['kiosk_code']}-{item['slot']}" if item["kiosk_code"] else None),
        ],
    )


def hold(session: Session, request: codec.Request) -> Answer:
    """15 → 16: place (+) or cancel (-) a hold for pickup; a change (*) is refused."""
    mode = request.fixed["hold_mode"]
    pin = session.pin(request)
    if mode not in "+-":
        return refuse(request, session, SIP2_TEXTS["hold_mode_unsupported"])
    if not pin:
        return refuse(request, session, SIP2_TEXTS["pin_required"])
    common = {
        "barcode": request.get("AB"),
        "isbn": request.get("AJ"),
        "now": _now(),
        "settings": _lib(),
        "pin_memory": session.verified,
    }
    card = request.get("AA") or ""
    if mode == "+":
        view = kiosk_transactions.place_hold(
            session.kiosk(), card, pin, pickup_code=request.get("BS"), **common
        )
        if view["status"] == "ready":
            text = SIP2_TEXTS["hold_ready"].format(
                kiosk=view["pickup_kiosk"], deadline=_day(view["pickup_deadline"].isoformat())
            )
        else:
            text = SIP2_TEXTS["hold_placed"].format(kiosk=view["pickup_kiosk"])
    else:
        view = kiosk_transactions.cancel_hold(session.kiosk(), card, pin, **common)
        text = SIP2_TEXTS["hold_cancelled"]
    deadline = view["pickup_deadline"]
    return Answer(
        "16",
        ["1", yes_no(view["status"] == "ready"), _date()],
        [
            ("BW", sip_date(deadline, _lib().tz) if deadline else None),
            ("BS", view["pickup_kiosk_code"]),
            ("AO", _sip().institution_id),
            ("AA", card),
            ("AB", view["barcode"]),
            ("AJ", view["title"]),
            ("AF", text),
        ],
    )


def end_session(session: Session, request: codec.Request) -> Answer:
    """35 → 36: the patron is done; the PIN they gave, and its verification, are forgotten."""
    card = request.get("AA") or ""
    session.pins.pop(card, None)
    session.verified.forget(card)
    return Answer(
        "36",
        ["Y", _date()],
        [
            ("AO", _sip().institution_id),
            ("AA", request.get("AA")),
            ("AF", SIP2_TEXTS["goodbye"]),
        ],
    )


HANDLERS: dict[str, Callable[[Session, codec.Request], Answer]] = {
    "93": login,
    "99": sc_status,
    "63": patron_information,
    "23": patron_status,
    "11": checkout,
    "09": checkin,
    "29": renew,
    "17": item_information,
    "15": hold,
    "35": end_session,
    "65": renew_all,
}


def refuse(request: codec.Request, session: Session, *texts: str) -> Answer:
    """The refusal of a request in its own answer: ok 0 (or the flags that say no), what was
    asked echoed back, and why in ``AF``."""
    sip = _sip()
    get = request.get
    date = _date()
    screen = _screen(list(texts))
    command = codec.ANSWERS[request.command]
    blank_status = flags(True, True, True, True) + " " * 10
    layouts: dict[str, tuple[list[str], list[tuple[str, str | None]]]] = {
        "94": (["0"], []),
        "98": (
            ["N", "N", "N", "N", "N", "N", TIMEOUT_PERIOD, RETRIES_ALLOWED, date, "2.00"],
            [("AO", sip.institution_id), ("BX", codec.SUPPORTED)],
        ),
        "64": (
            [blank_status, LANGUAGE, date, *[count(0)] * 6],
            [("AO", sip.institution_id), ("AA", get("AA") or ""), ("AE", ""), ("BL", "N")],
        ),
        "24": (
            [blank_status, LANGUAGE, date],
            [("AO", sip.institution_id), ("AA", get("AA") or ""), ("AE", ""), ("BL", "N")],
        ),
        "12": (
            ["0", "N", "U", "N", date],
            [
                ("AO", sip.institution_id),
                ("AA", get("AA") or ""),
                ("AB", get("AB") or ""),
                ("AJ", ""),
                ("AH", ""),
            ],
        ),
        "10": (
            ["0", "N", "U", "Y", date],
            [("AO", sip.institution_id), ("AB", get("AB") or ""), ("AQ", session.kiosk_code)],
        ),
        "30": (
            ["0", "N", "U", "U", date],
            [
                ("AO", sip.institution_id),
                ("AA", get("AA") or ""),
                ("AB", get("AB") or ""),
                ("AJ", ""),
                ("AH", ""),
            ],
        ),
        "18": (
            ["01", "00", "01", date],
            [("AB", get("AB") or ""), ("AJ", "")],
        ),
        "16": (
            ["0", "N", date],
            [("AO", sip.institution_id), ("AA", get("AA") or "")],
        ),
        "36": (
            ["N", date],
            [("AO", sip.institution_id), ("AA", get("AA") or "")],
        ),
        "66": (["0", count(0), count(0), date], [("AO", sip.institution_id)]),
    }
    fixed, fields = layouts[command]
    return Answer(command, fixed, fields + screen)
