"""OAI-PMH 2.0 at /oai: every verb, every error condition that can arise, datestamps and
granularity, resumption through pages, deleted records (withdrawn, deleted, renamed), and every
answer valid against the protocol's XML schemas (tests/fixtures/oai)."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import current_app
from lxml import etree
from werkzeug.datastructures import MultiDict

from archive.services import records as record_service
from archive.services.oai import collection_of, set_spec
from archive.settings import ArchiveSettings, OaiSettings
from core.extensions import db
from core.settings import settings_of
from tests.fixtures.archive import create_record, now

SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).parents[1] / "fixtures/oai/all.xsd")))
NS = {
    "o": "http://www.openarchives.org/OAI/2.0/",
    "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DOMAIN = "happyhub.local"
# What a draft needs besides a title and a readable date to be published by an archivist.
READY = {"rights": "KOGL-1", "transcription": "관아 앞 거리 풍경을 적은 글"}


def oai_id(identifier: str) -> str:
    return f"oai:{DOMAIN}:{identifier}"


def ask(client, *pairs, method="GET", **args):
    """One OAI-PMH request (arguments as pairs, repeats allowed, or keywords); the answer,
    checked: HTTP 200, XML, valid against the schemas."""
    query = list(pairs) + list(args.items())
    if method == "POST":
        response = client.post("/oai", data=MultiDict(query))
    else:
        response = client.get("/oai", query_string=query)
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/xml"
    doc = etree.fromstring(response.data)
    assert SCHEMA.validate(doc), SCHEMA.error_log
    return doc


def error_of(doc) -> str | None:
    found = doc.find("o:error", NS)
    return None if found is None else found.get("code")


def request_attrs(doc) -> dict:
    return dict(doc.find("o:request", NS).attrib)


def headers(doc) -> list[tuple[str, bool]]:
    return [
        (h.findtext("o:identifier", namespaces=NS), h.get("status") == "deleted")
        for h in doc.iterfind(".//o:header", NS)
    ]


def token_of(doc):
    return doc.find(".//o:resumptionToken", NS)


def use_oai_settings(monkeypatch, **changes) -> OaiSettings:
    changed = dataclasses.replace(settings_of(OaiSettings), **changes)
    monkeypatch.setitem(current_app.extensions["settings"], OaiSettings, changed)
    return changed


def publish(**fields):
    return create_record(visibility="published", **fields)


def withdraw(record):
    record_service.withdraw("test", record, now=now())
    db.session.commit()


def delete(record):
    media_dir = settings_of(ArchiveSettings).media_dir
    record_service.delete_record("test", record, now=now(), media_dir=media_dir)
    db.session.commit()


# --- Identify, formats, sets ----------------------------------------------------------------


def test_identify_describes_the_repository(client, clock):
    publish(identifier="UJB-1")
    clock.advance(hours=1)
    doc = ask(client, verb="Identify")
    assert error_of(doc) is None
    assert request_attrs(doc) == {"verb": "Identify"}
    assert doc.findtext("o:request", namespaces=NS) == "http://localhost/oai"
    identify = doc.find("o:Identify", NS)
    assert identify.findtext("o:repositoryName", namespaces=NS) == "HAPPY-HUB 향토문화 아카이브"
    assert identify.findtext("o:baseURL", namespaces=NS) == "http://localhost/oai"
    assert identify.findtext("o:protocolVersion", namespaces=NS) == "2.0"
    assert identify.findtext("o:adminEmail", namespaces=NS) == "archive@happyhub.local"
    assert identify.findtext("o:deletedRecord", namespaces=NS) == "persistent"
    assert identify.findtext("o:granularity", namespaces=NS) == "YYYY-MM-DDThh:mm:ssZ"
    # The earliest datestamp is the first record's, not the time of asking.
    assert identify.findtext("o:earliestDatestamp", namespaces=NS) == "2026-03-02T01:00:00Z"
    assert doc.findtext("o:responseDate", namespaces=NS) == "2026-03-02T02:00:00Z"


def test_post_is_answered_as_get(client, clock):
    doc = ask(client, method="POST", verb="Identify")
    assert error_of(doc) is None
    assert doc.find("o:Identify", NS) is not None


def test_public_base_url_names_the_repository_and_record_pages(client, clock, monkeypatch):
    use_oai_settings(monkeypatch, public_base_url="https://archive.example.kr")
    publish(identifier="UJB-URL")
    doc = ask(client, verb="GetRecord", identifier=oai_id("UJB-URL"), metadataPrefix="oai_dc")
    assert doc.findtext("o:request", namespaces=NS) == "https://archive.example.kr/oai"
    ids = [e.text for e in doc.iterfind(".//dc:identifier", NS)]
    assert "https://archive.example.kr/archive/records/UJB-URL" in ids


def test_list_metadata_formats(client, clock):
    record = publish(identifier="UJB-FMT")
    for args in ({}, {"identifier": oai_id(record.identifier)}):
        doc = ask(client, verb="ListMetadataFormats", **args)
        formats = doc.findall(".//o:metadataFormat", NS)
        assert [f.findtext("o:metadataPrefix", namespaces=NS) for f in formats] == ["oai_dc"]
        assert formats[0].findtext("o:metadataNamespace", namespaces=NS) == NS["oai_dc"]
    doc = ask(client, verb="ListMetadataFormats", identifier=oai_id("NOPE"))
    assert error_of(doc) == "idDoesNotExist"
    assert request_attrs(doc) == {"verb": "ListMetadataFormats", "identifier": oai_id("NOPE")}


def test_sets_are_collections(client, clock):
    doc = ask(client, verb="ListSets")
    assert error_of(doc) == "noSetHierarchy"
    doc = ask(client, verb="ListIdentifiers", metadataPrefix="oai_dc", set="x")
    assert error_of(doc) == "noSetHierarchy"

    publish(identifier="UJB-S1", collections=["의정부 옛 사진", "A:B~c"])
    publish(identifier="UJB-S2", collections=["의정부 옛 사진"])
    publish(identifier="UJB-S3")
    create_record(identifier="UJB-S4", collections=["초안 모음"])  # a draft: no set of it
    doc = ask(client, verb="ListSets")
    sets = {
        s.findtext("o:setSpec", namespaces=NS): s.findtext("o:setName", namespaces=NS)
        for s in doc.iterfind(".//o:set", NS)
    }
    assert sets == {set_spec("A:B~c"): "A:B~c", set_spec("의정부 옛 사진"): "의정부 옛 사진"}
    assert ":" not in set_spec("A:B~c") and collection_of(set_spec("A:B~c")) == "A:B~c"

    doc = ask(
        client, verb="ListIdentifiers", metadataPrefix="oai_dc", set=set_spec("의정부 옛 사진")
    )
    assert sorted(headers(doc)) == [(oai_id("UJB-S1"), False), (oai_id("UJB-S2"), False)]
    specs = {h.findtext("o:setSpec", namespaces=NS) for h in doc.iterfind(".//o:header", NS)}
    assert set_spec("의정부 옛 사진") in specs
    doc = ask(client, verb="ListRecords", metadataPrefix="oai_dc", set="no-such-set")
    assert error_of(doc) == "noRecordsMatch"
    doc = ask(client, verb="ListSets", resumptionToken="anything")
    assert error_of(doc) == "badResumptionToken"


# --- GetRecord and oai_dc ---------------------------------------------------------------------


def test_get_record_in_oai_dc(client, clock):
    publish(
        identifier="UJB-DC-1",
        title="회룡사 대웅전",
        alt_title="回龍寺 大雄殿",
        creator="김사진",
        contributor="의정부문화원",
        description="대웅전 앞마당\x0b풍경",
        date_text="1910년대",
        type="photo",
        subjects=["사찰", "불교"],
        place="호원동",
        collections=["사찰 기록"],
        rights="KOGL-1",
        source="의정부문화원 기증",
    )
    doc = ask(client, verb="GetRecord", identifier=oai_id("UJB-DC-1"), metadataPrefix="oai_dc")
    assert request_attrs(doc) == {
        "verb": "GetRecord",
        "identifier": oai_id("UJB-DC-1"),
        "metadataPrefix": "oai_dc",
    }
    header = doc.find(".//o:header", NS)
    assert header.get("status") is None
    assert header.findtext("o:datestamp", namespaces=NS) == "2026-03-02T01:00:00Z"
    assert [s.text for s in header.iterfind("o:setSpec", NS)] == [set_spec("사찰 기록")]
    dc = doc.find(".//oai_dc:dc", NS)

    def values(name):
        return [(e.text, e.get(XML_LANG)) for e in dc.iterfind(f"dc:{name}", NS)]

    assert values("title") == [("회룡사 대웅전", "ko"), ("回龍寺 大雄殿", "ko-Hani")]
    assert values("creator") == [("김사진", None)]
    assert values("contributor") == [("의정부문화원", None)]
    assert values("subject") == [("사찰", "ko"), ("불교", "ko")]
    assert values("description") == [("대웅전 앞마당풍경", "ko")]  # no control character
    assert values("date") == [("1910년대", None), ("1910/1919", None)]
    assert values("type") == [("StillImage", None), ("사진", "ko")]
    assert values("identifier") == [
        ("http://localhost/archive/records/UJB-DC-1", None),
        ("UJB-DC-1", None),
    ]
    assert values("language") == [("kor", None)]
    assert values("coverage") == [("호원동", "ko")]
    assert values("publisher") == [("HAPPY-HUB 향토문화 아카이브", "ko")]
    assert values("source") == [("의정부문화원 기증", None)]
    rights = values("rights")
    assert rights[0] == ("https://www.kogl.or.kr/info/licenseType1.do", None)
    assert rights[1][0].startswith("공공누리 제1유형: 출처표시.") and rights[1][1] == "ko"
    # The record page the identifier names is there.
    assert client.get("/archive/records/UJB-DC-1").status_code == 200


def test_get_record_errors(client, clock):
    publish(identifier="UJB-G1")
    create_record(identifier="UJB-DRAFT")
    cases = [
        ({"identifier": oai_id("UJB-G1"), "metadataPrefix": "marc21"}, "cannotDisseminateFormat"),
        ({"identifier": oai_id("UJB-DRAFT"), "metadataPrefix": "oai_dc"}, "idDoesNotExist"),
        ({"identifier": "oai:elsewhere.org:UJB-G1", "metadataPrefix": "oai_dc"}, "idDoesNotExist"),
        ({"identifier": oai_id("../x"), "metadataPrefix": "oai_dc"}, "idDoesNotExist"),
        ({"identifier": "urn:ISBN:0-395-36341-1", "metadataPrefix": "oai_dc"}, "idDoesNotExist"),
        ({"identifier": oai_id("UJB-G1")}, "badArgument"),
        ({"metadataPrefix": "oai_dc"}, "badArgument"),
        ({"identifier": "not a uri", "metadataPrefix": "oai_dc"}, "badArgument"),
        ({"identifier": "oai:x:%zz", "metadataPrefix": "oai_dc"}, "badArgument"),
        ({"identifier": oai_id("UJB-G1"), "metadataPrefix": "oai dc"}, "badArgument"),
        ({"identifier": oai_id("UJB-G1") + "\x01", "metadataPrefix": "oai_dc"}, "badArgument"),
        ({"identifier": oai_id("UJB-G1") + "\x00", "metadataPrefix": "oai_dc"}, "badArgument"),
    ]
    for args, code in cases:
        doc = ask(client, verb="GetRecord", **args)
        assert error_of(doc) == code, args
        assert doc.find("o:GetRecord", NS) is None
        if code == "badArgument":
            assert request_attrs(doc) == {}, args


# --- errors common to every verb ------------------------------------------------------------


@pytest.mark.parametrize(
    "pairs",
    [
        [],
        [("verb", "Frobnicate")],
        [("verb", "")],
        [("verb", "Identify"), ("verb", "Identify")],
        [("verb", "identify")],
        [("metadataPrefix", "oai_dc")],
    ],
)
def test_bad_verb(client, pairs):
    for method in ("GET", "POST"):
        doc = ask(client, *pairs, method=method)
        assert error_of(doc) == "badVerb"
        assert request_attrs(doc) == {}


@pytest.mark.parametrize(
    "pairs",
    [
        [("verb", "Identify"), ("set", "x")],
        [("verb", "ListRecords")],
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("metadataPrefix", "oai_dc")],
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("identifier", "oai:a:b")],
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("resumptionToken", "x")],
        [("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc"), ("from", "2026-3-2")],
        [("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc"), ("from", "2026-02-30")],
        [("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc"), ("from", "2026-03-02T01:00Z")],
        [
            ("verb", "ListIdentifiers"),
            ("metadataPrefix", "oai_dc"),
            ("from", "2026-03-02T01:00:00+09:00"),
        ],
        [("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc"), ("until", "")],
        [("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc"), ("set", "a b")],
        [("verb", "ListSets"), ("set", "x")],
        [("verb", "ListMetadataFormats"), ("metadataPrefix", "oai_dc")],
        [("verb", "ListMetadataFormats"), ("identifier", "oai:a:b"), ("identifier", "oai:a:c")],
    ],
)
def test_bad_argument(client, pairs):
    doc = ask(client, *pairs)
    assert error_of(doc) == "badArgument"
    assert request_attrs(doc) == {}


def test_from_and_until_must_share_a_granularity_and_an_order(client, clock):
    publish(identifier="UJB-GR")
    for start, end in (
        ("2026-03-01", "2026-03-02T01:00:00Z"),
        ("2026-03-01T00:00:00Z", "2026-03-02"),
    ):
        doc = ask(
            client, verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": start}, until=end
        )
        assert error_of(doc) == "badArgument"
    doc = ask(
        client,
        verb="ListIdentifiers",
        metadataPrefix="oai_dc",
        **{"from": "2026-03-03"},
        until="2026-03-02",
    )
    assert error_of(doc) == "badArgument"
    # The same day as both bounds is that whole day.
    doc = ask(
        client,
        verb="ListIdentifiers",
        metadataPrefix="oai_dc",
        **{"from": "2026-03-02"},
        until="2026-03-02",
    )
    assert headers(doc) == [(oai_id("UJB-GR"), False)]


def test_datestamps_select_by_day_and_by_second(client, clock):
    clock.advance(seconds=0.5)  # 01:00:00.5: shown as 01:00:00
    publish(identifier="UJB-T1")
    clock.advance(seconds=1)  # 01:00:01.5
    publish(identifier="UJB-T2")
    clock.advance(days=1)
    publish(identifier="UJB-T3")

    def listed(**args):
        doc = ask(client, verb="ListIdentifiers", metadataPrefix="oai_dc", **args)
        return None if error_of(doc) else [i.rsplit(":", 1)[1] for i, _ in headers(doc)]

    assert listed(until="2026-03-02T01:00:00Z") == ["UJB-T1"]  # inclusive of its second
    assert listed(**{"from": "2026-03-02T01:00:00Z"}) == ["UJB-T1", "UJB-T2", "UJB-T3"]
    assert listed(**{"from": "2026-03-02T01:00:01Z"}) == ["UJB-T2", "UJB-T3"]
    assert listed(**{"from": "2026-03-02T01:00:01Z", "until": "2026-03-02T01:00:01Z"}) == ["UJB-T2"]
    assert listed(until="2026-03-02") == ["UJB-T1", "UJB-T2"]
    assert listed(**{"from": "2026-03-03"}) == ["UJB-T3"]
    assert listed(**{"from": "2026-03-04"}) is None
    doc = ask(client, verb="ListRecords", metadataPrefix="oai_dc", until="2026-03-01")
    assert error_of(doc) == "noRecordsMatch"
    assert request_attrs(doc) == {
        "verb": "ListRecords",
        "metadataPrefix": "oai_dc",
        "until": "2026-03-01",
    }
    doc = ask(client, verb="ListRecords", metadataPrefix="marc21")
    assert error_of(doc) == "cannotDisseminateFormat"


# --- lists and resumption -------------------------------------------------------------------


def _harvest(client, verb, **args):
    """Every page of a list: (items seen in order, the resumptionToken elements)."""
    seen, tokens = [], []
    doc = ask(client, verb=verb, metadataPrefix="oai_dc", **args)
    while True:
        assert error_of(doc) is None
        seen.extend(headers(doc))
        token = token_of(doc)
        if token is None:
            return seen, tokens
        tokens.append(token)
        if not token.text:
            return seen, tokens
        assert request_attrs(ask(client, verb=verb, resumptionToken=token.text)) == {
            "verb": verb,
            "resumptionToken": token.text,
        }
        doc = ask(client, verb=verb, resumptionToken=token.text)


def test_lists_resume_through_pages(client, clock, monkeypatch):
    use_oai_settings(monkeypatch, page_size=3)
    published = [publish(identifier=f"UJB-P{n}") for n in range(7)]
    create_record(identifier="UJB-DRAFT-1")  # never seen
    withdraw(published[2])
    delete(published[4])
    gone = create_record(identifier="UJB-DRAFT-2")
    delete(gone)  # a draft deleted: no tombstone
    for verb in ("ListIdentifiers", "ListRecords"):
        seen, tokens = _harvest(client, verb)
        ids = [identifier.rsplit(":", 1)[1] for identifier, _ in seen]
        assert sorted(ids) == sorted(f"UJB-P{n}" for n in range(7))
        assert len(ids) == len(set(ids)) == 7
        assert dict(seen)[oai_id("UJB-P2")] is True
        assert dict(seen)[oai_id("UJB-P4")] is True
        assert sum(deleted for _, deleted in seen) == 2
        # pages of 3, 3, 1: each says how many before it and how many in all
        assert [(t.get("cursor"), t.get("completeListSize")) for t in tokens] == [
            ("0", "7"),
            ("3", "7"),
            ("6", "7"),
        ]
        assert [bool(t.text) for t in tokens] == [True, True, False]
        assert tokens[0].get("expirationDate") == "2026-03-03T01:00:00Z"
        assert tokens[-1].get("expirationDate") is None
    doc = ask(client, verb="ListRecords", metadataPrefix="oai_dc")
    records = doc.findall(".//o:record", NS)
    assert all(
        (r.find("o:metadata", NS) is None) == (r.find("o:header", NS).get("status") == "deleted")
        for r in records
    )


def test_one_page_lists_have_no_token(client, clock):
    publish(identifier="UJB-ONE")
    doc = ask(client, verb="ListRecords", metadataPrefix="oai_dc")
    assert token_of(doc) is None
    assert headers(doc) == [(oai_id("UJB-ONE"), False)]


def test_bad_resumption_tokens(client, clock, monkeypatch):
    use_oai_settings(monkeypatch, page_size=1, token_ttl_seconds=600)
    publish(identifier="UJB-R1")
    publish(identifier="UJB-R2")
    doc = ask(client, verb="ListIdentifiers", metadataPrefix="oai_dc")
    token = token_of(doc).text
    payload, signature = token.split(".")
    state = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    state["c"] = 0
    forged = base64.urlsafe_b64encode(json.dumps(state).encode()).rstrip(b"=").decode()
    for bad in (
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        "garbage",
        f"{forged}.{signature}",
    ):
        doc = ask(client, verb="ListIdentifiers", resumptionToken=bad)
        assert error_of(doc) == "badResumptionToken"
        assert request_attrs(doc) == {"verb": "ListIdentifiers", "resumptionToken": bad}
    # A list's token is for that verb only.
    assert error_of(ask(client, verb="ListRecords", resumptionToken=token)) == "badResumptionToken"
    # Signed with another secret: refused.
    use_oai_settings(monkeypatch, signing_key=b"another key")
    assert (
        error_of(ask(client, verb="ListIdentifiers", resumptionToken=token)) == "badResumptionToken"
    )
    monkeypatch.undo()
    use_oai_settings(monkeypatch, page_size=1, token_ttl_seconds=600)
    assert error_of(ask(client, verb="ListIdentifiers", resumptionToken=token)) is None
    clock.advance(seconds=601)
    doc = ask(client, verb="ListIdentifiers", resumptionToken=token)
    assert error_of(doc) == "badResumptionToken"
    assert "expired" in doc.findtext("o:error", namespaces=NS)


# --- deleted records and datestamps -----------------------------------------------------------


def test_withdrawn_and_deleted_records_are_deleted_headers(client, clock, archivist_headers):
    record = publish(identifier="UJB-W1", collections=["모음"])
    clock.advance(minutes=5)
    assert (
        client.post(
            f"/api/archive/records/{record.id}/withdraw", headers=archivist_headers
        ).status_code
        == 200
    )
    doc = ask(client, verb="GetRecord", identifier=oai_id("UJB-W1"), metadataPrefix="oai_dc")
    header = doc.find(".//o:header", NS)
    assert header.get("status") == "deleted"
    assert header.findtext("o:datestamp", namespaces=NS) == "2026-03-02T01:05:00Z"
    assert doc.find(".//o:metadata", NS) is None
    assert [s.text for s in header.iterfind("o:setSpec", NS)] == [set_spec("모음")]

    clock.advance(minutes=5)
    assert (
        client.delete(f"/api/archive/records/{record.id}", headers=archivist_headers).status_code
        == 204
    )
    doc = ask(client, verb="GetRecord", identifier=oai_id("UJB-W1"), metadataPrefix="oai_dc")
    header = doc.find(".//o:header", NS)
    assert header.get("status") == "deleted"
    assert header.findtext("o:datestamp", namespaces=NS) == "2026-03-02T01:10:00Z"
    assert [s.text for s in header.iterfind("o:setSpec", NS)] == [set_spec("모음")]
    doc = ask(client, verb="ListIdentifiers", metadataPrefix="oai_dc", set=set_spec("모음"))
    assert headers(doc) == [(oai_id("UJB-W1"), True)]
    assert error_of(ask(client, verb="ListMetadataFormats", identifier=oai_id("UJB-W1"))) is None

    # Published again under the same identifier: the tombstone gives way to the record.
    clock.advance(minutes=5)
    again = create_record(identifier="UJB-W1", **READY)
    assert headers(ask(client, verb="ListIdentifiers", metadataPrefix="oai_dc")) == [
        (oai_id("UJB-W1"), True)
    ]
    record_service.publish("test", again, now=now())
    db.session.commit()
    doc = ask(client, verb="ListIdentifiers", metadataPrefix="oai_dc")
    assert headers(doc) == [(oai_id("UJB-W1"), False)]


def test_a_renamed_record_leaves_its_old_identifier_deleted(client, clock, archivist_headers):
    record = publish(identifier="UJB-OLD")
    clock.advance(minutes=1)
    response = client.patch(
        f"/api/archive/records/{record.id}",
        json={"identifier": "UJB-NEW"},
        headers=archivist_headers,
    )
    assert response.status_code == 200
    doc = ask(client, verb="ListIdentifiers", metadataPrefix="oai_dc")
    assert sorted(headers(doc)) == [(oai_id("UJB-NEW"), False), (oai_id("UJB-OLD"), True)]
    # And named back: the old identifier is a record again, the new one deleted.
    clock.advance(minutes=1)
    client.patch(
        f"/api/archive/records/{record.id}",
        json={"identifier": "UJB-OLD"},
        headers=archivist_headers,
    )
    doc = ask(client, verb="ListIdentifiers", metadataPrefix="oai_dc")
    assert sorted(headers(doc)) == [(oai_id("UJB-NEW"), True), (oai_id("UJB-OLD"), False)]


def test_a_draft_is_invisible_and_deleting_it_leaves_nothing(client, clock):
    draft = create_record(identifier="UJB-D1")
    assert error_of(ask(client, verb="ListRecords", metadataPrefix="oai_dc")) == "noRecordsMatch"
    delete(draft)
    assert error_of(ask(client, verb="ListRecords", metadataPrefix="oai_dc")) == "noRecordsMatch"
    doc = ask(client, verb="GetRecord", identifier=oai_id("UJB-D1"), metadataPrefix="oai_dc")
    assert error_of(doc) == "idDoesNotExist"


def test_incremental_harvest_sees_only_what_changed(client, clock, archivist_headers):
    records = [publish(identifier=f"UJB-I{n}") for n in range(6)]
    draft = create_record(identifier="UJB-I-DRAFT", **READY)
    first, _ = _harvest(client, "ListRecords")
    assert len(first) == 6
    clock.advance(hours=1)
    since = "2026-03-02T02:00:00Z"
    # Nothing changed yet.
    assert (
        error_of(ask(client, verb="ListRecords", metadataPrefix="oai_dc", **{"from": since}))
        == "noRecordsMatch"
    )
    clock.advance(minutes=1)
    client.patch(
        f"/api/archive/records/{records[0].id}",
        json={"title": "새 제목"},
        headers=archivist_headers,
    )
    client.post(f"/api/archive/records/{records[1].id}/withdraw", headers=archivist_headers)
    client.delete(f"/api/archive/records/{records[2].id}", headers=archivist_headers)
    client.post(f"/api/archive/records/{draft.id}/publish", headers=archivist_headers)
    # A change to a draft is not a change harvesters see ... and nor is an unchanged save.
    client.patch(
        f"/api/archive/records/{records[3].id}",
        json={"title": records[3].title},
        headers=archivist_headers,
    )
    changed, _ = _harvest(client, "ListRecords", **{"from": since})
    assert sorted(changed) == [
        (oai_id("UJB-I-DRAFT"), False),
        (oai_id("UJB-I0"), False),
        (oai_id("UJB-I1"), True),
        (oai_id("UJB-I2"), True),
    ]
    doc = ask(client, verb="GetRecord", identifier=oai_id("UJB-I0"), metadataPrefix="oai_dc")
    assert doc.findtext(".//dc:title", namespaces=NS) == "새 제목"
    assert doc.findtext(".//o:datestamp", namespaces=NS) == "2026-03-02T02:01:00Z"


def test_unsupported_body_and_methods_are_not_pages(client):
    response = client.post("/oai", data="verb=Identify", content_type="text/plain")
    assert response.status_code == 415 and response.is_json
    response = client.put("/oai", data={"verb": "Identify"})
    assert response.status_code == 405 and response.is_json
    # An OAI request sent as a form is answered even with a query string beside it.
    doc = ask(client, method="POST", verb="ListSets")
    assert error_of(doc) == "noSetHierarchy"


def test_datestamps_are_utc_whatever_the_clock_zone(client, clock):
    clock.at = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    publish(identifier="UJB-Z")
    doc = ask(
        client,
        verb="ListIdentifiers",
        metadataPrefix="oai_dc",
        **{"from": "2026-03-02"},
        until="2026-03-02",
    )
    assert headers(doc) == [(oai_id("UJB-Z"), False)]
    assert doc.findtext(".//o:datestamp", namespaces=NS) == "2026-03-02T23:30:00Z"


def test_a_list_read_while_records_change_stays_complete(client, clock, monkeypatch):
    use_oai_settings(monkeypatch, page_size=2)
    records = [publish(identifier=f"UJB-M{n}") for n in range(4)]
    doc = ask(client, verb="ListIdentifiers", metadataPrefix="oai_dc")
    first = [identifier for identifier, _ in headers(doc)]
    assert first == [oai_id("UJB-M0"), oai_id("UJB-M1")]
    clock.advance(minutes=1)
    # One already listed changes, one not yet listed is deleted: neither is lost.
    record_service.update_record("test", records[0], {"title": "바뀐 제목"}, now=now())
    db.session.commit()
    delete(records[2])
    seen = []
    token = token_of(doc).text
    while token:
        doc = ask(client, verb="ListIdentifiers", resumptionToken=token)
        seen.extend(headers(doc))
        token = token_of(doc).text
    # Same datestamp: records before tombstones.
    assert seen == [(oai_id("UJB-M3"), False), (oai_id("UJB-M0"), False), (oai_id("UJB-M2"), True)]


def test_a_page_emptied_by_changes_past_until_is_no_records_match(client, clock, monkeypatch):
    use_oai_settings(monkeypatch, page_size=1)
    publish(identifier="UJB-U0")
    moved = publish(identifier="UJB-U1")
    doc = ask(client, verb="ListRecords", metadataPrefix="oai_dc", until="2026-03-02T01:00:00Z")
    assert headers(doc) == [(oai_id("UJB-U0"), False)]
    clock.advance(minutes=1)
    record_service.update_record("test", moved, {"title": "나중에 고침"}, now=now())
    db.session.commit()
    doc = ask(client, verb="ListRecords", resumptionToken=token_of(doc).text)
    assert error_of(doc) == "noRecordsMatch"
