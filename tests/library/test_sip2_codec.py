"""The SIP2 wire format, checked against the third-party ``pysip2`` codec: checksums, fixed
and variable fields, field limits, encodings and dates."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pysip2 import (
    ACSStatusResponse,
    CheckoutRequest,
    calculate_checksum,
    decode_message,
    encode_message,
    verify_checksum,
)

from library.sip2 import codec

SEOUL = ZoneInfo("Asia/Seoul")
DATE = "20261201    093000"


def checkout(**fields) -> CheckoutRequest:
    values = {
        "sc_renewal_policy": "N",
        "no_block": "N",
        "transaction_date": DATE,
        "nb_due_date": DATE,
        "institution_id": "HAPPYHUB",
        "patron_identifier": "CARD-1",
        "item_identifier": "BC1",
        "terminal_password": "",
        "patron_password": "4821",
    }
    return CheckoutRequest(**(values | fields))


@pytest.mark.parametrize("data", [b"", b"9300CNa|COb|AY1AZ", "한글|AY3AZ".encode(), b"\xff" * 300])
def test_the_checksum_is_the_twos_complement_of_the_byte_sum(data):
    assert codec.checksum(data) == calculate_checksum(data)
    assert verify_checksum(data + codec.checksum(data).encode())


def test_a_request_from_a_third_party_encoder_is_read_field_by_field():
    frame = encode_message(
        checkout(patron_identifier="카드-1"), sequence_number=7, checksum=True, encoding="utf-8"
    )
    request = codec.parse(codec.strip_frame(frame), "utf-8")
    assert request.command == "11"
    assert request.fixed == {
        "sc_renewal_policy": "N",
        "no_block": "N",
        "transaction_date": DATE,
        "nb_due_date": DATE,
    }
    assert request.get("AA") == "카드-1"
    assert request.get("AB") == "BC1" and request.get("AD") == "4821"
    assert request.get("AC") == ""
    assert (request.sequence, request.checksummed) == ("7", True)
    assert request.body == frame[: frame.index(b"AY7AZ")]


def test_a_wrong_checksum_is_refused_as_such():
    frame = codec.strip_frame(encode_message(checkout(), sequence_number=1, checksum=True))
    broken = frame[:-4] + (b"0000" if frame[-4:] != b"0000" else b"0001")
    with pytest.raises(codec.ChecksumError):
        codec.parse(broken)
    with pytest.raises(codec.ChecksumError):
        codec.parse(frame[:-4] + b"ZZZZ")


def test_without_a_trailer_the_message_is_read_as_is():
    request = codec.parse(codec.strip_frame(encode_message(checkout())), "utf-8")
    assert (request.sequence, request.checksummed) == (None, False)
    assert request.get("AA") == "CARD-1"


def test_fields_longer_than_allowed_are_refused_naming_the_field():
    frame = codec.strip_frame(encode_message(checkout(item_identifier="B" * 41)))
    with pytest.raises(codec.FieldTooLong) as refused:
        codec.parse(frame)
    assert refused.value.command == "11"
    assert refused.value.details == {"field": "AB", "limit": 40}
    codec.parse(codec.strip_frame(encode_message(checkout(item_identifier="B" * 40))))
    with pytest.raises(codec.FieldTooLong):
        codec.parse(b"17" + DATE.encode() + b"AOX|ABY|AF" + b"x" * 256 + b"|")


def test_missing_parts_are_refused_naming_what_is_missing():
    with pytest.raises(codec.FieldMissing) as refused:
        codec.parse(b"11NN" + DATE.encode() + DATE.encode() + b"AOX|AAY|")
    assert refused.value.details == {"field": "AB"}
    with pytest.raises(codec.FieldMissing) as truncated:
        codec.parse(b"11NN2026")
    assert truncated.value.command == "11"
    with pytest.raises(codec.FrameError):
        codec.parse(b"17" + DATE.encode() + b"AOX|ABY|Q|")


def test_dates_in_fixed_fields_must_be_sip2_dates_or_blank():
    with pytest.raises(codec.BadDate) as refused:
        codec.parse(b"172026-12-01T09:30:00AOX|ABY|")
    assert refused.value.details == {"field": "transaction_date"}
    assert codec.parse(b"17" + b" " * 18 + b"AOX|ABY|").fixed["transaction_date"] == " " * 18


@pytest.mark.parametrize("frame", [b"42abc", b"", b"x", b"\xea\xb0"])
def test_an_unknown_command_is_refused_without_a_command(frame):
    with pytest.raises(codec.UnknownCommand) as refused:
        codec.parse(frame)
    assert refused.value.command is None


def test_oversized_frames_and_nul_bytes_are_refused():
    with pytest.raises(codec.FrameError) as refused:
        codec.parse(b"17" + b"x" * codec.MAX_FRAME_BYTES)
    assert refused.value.command == "17"
    with pytest.raises(codec.FrameError):
        codec.parse(b"17" + DATE.encode() + b"AOX|AB\x00|")


def test_text_is_utf8_by_default_and_cp949_when_the_kiosk_says_so():
    name = "작별하지 않는다"
    frame = b"17" + DATE.encode() + b"AOX|AB" + name.encode("cp949") + b"|"
    with pytest.raises(codec.BadText):
        codec.parse(frame, "utf-8")
    assert codec.parse(frame, "cp949").get("AB") == name
    answer = codec.format_message(
        "18", ["03", "00", "01", DATE], [("AB", "1"), ("AJ", name)], encoding="cp949"
    )
    assert name.encode("cp949") in answer
    # what CP949 cannot hold becomes '?', never a failure
    assert b"AJ?|" in codec.format_message("18", [], [("AJ", "😀")], encoding="cp949")


def test_an_answer_is_well_formed_for_a_third_party_decoder():
    answer = codec.format_message(
        "98",
        ["Y", "Y", "Y", "Y", "N", "N", "050", "003", DATE, "2.00"],
        [
            ("AO", "HAPPYHUB"),
            ("AM", "해피 | 도서관"),
            ("BX", codec.SUPPORTED),
            ("AN", None),
            ("AF", "첫 줄\r둘째 줄"),
        ],
        sequence="3",
        checksummed=True,
    )
    assert answer.endswith(b"\r") and b"AY3AZ" in answer
    decoded = decode_message(answer, encoding="utf-8")
    message = decoded.message
    assert isinstance(message, ACSStatusResponse)
    assert decoded.sequence_number == 3
    assert message.library_name == "해피 / 도서관"  # the delimiter never ends a value early
    assert message.screen_message == ("첫 줄 둘째 줄",)
    assert message.terminal_location is None
    assert message.supported_messages == "YYYNYYYYYNYNNYYY"


def test_long_values_are_cut_to_the_field_limit():
    answer = codec.format_message("36", ["Y", DATE], [("AO", "X"), ("AA", "1"), ("AF", "가" * 300)])
    message = decode_message(answer, encoding="utf-8").message
    assert message.screen_message == ("가" * 255,)


def test_dates_are_local_time_with_a_blank_zone():
    moment = datetime(2026, 12, 1, 0, 30, 5, tzinfo=UTC)
    assert codec.sip_date(moment, SEOUL) == "20261201    093005"
    assert codec.parse_date("20261201    093005", SEOUL) == moment
    assert codec.parse_date("20261201   Z003005", SEOUL) == moment
    assert codec.parse_date(" " * 18, SEOUL) is None
    with pytest.raises(ValueError):
        codec.parse_date("2026-12-01 09:30:0", SEOUL)


def test_supported_messages_follow_the_standards_order():
    assert len(codec.SUPPORTED) == 16
    served = {c for c, flag in zip(codec.BX_ORDER, codec.SUPPORTED, strict=True) if flag == "Y"}
    assert served == set(codec.REQUESTS)
    assert codec.SUPPORTED[3] == "N"  # block patron is not served
