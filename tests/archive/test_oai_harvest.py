"""A third-party harvester (oaipmh-scythe) harvests the live gunicorn server completely,
page after page (GET and POST), and then incrementally with ``from``, seeing only what
changed since."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

import pytest
from oaipmh_scythe import Scythe
from oaipmh_scythe.config import HTTPConfig
from oaipmh_scythe.exceptions import IdDoesNotExist, NoRecordsMatch

from archive.services import records as record_service
from archive.services.oai import set_spec
from archive.settings import ArchiveSettings
from core.extensions import db
from core.settings import settings_of
from tests.conftest import _live_env, _serve
from tests.fixtures.archive import create_record, now

pytestmark = pytest.mark.slow
PAGE = 7
DOMAIN = "happyhub.local"


@pytest.fixture
def oai_server(app, test_settings, tmp_path):
    """The live server (4 gunicorn workers) answering OAI lists in pages of 7."""
    yield from _serve(_live_env(test_settings, tmp_path, OAI_PAGE_SIZE=str(PAGE)), tmp_path)


def _oai_id(identifier: str) -> str:
    return f"oai:{DOMAIN}:{identifier}"


def _harvest(url: str, method: str = "GET", **args) -> dict[str, object]:
    """identifier → the record scythe made of it, over every page."""
    with Scythe(url, http_config=HTTPConfig(http_method=method, timeout=30)) as scythe:
        found = {}
        for record in scythe.list_records(ignore_deleted=False, **args):
            assert record.header.identifier not in found  # each item once
            found[record.header.identifier] = record
        return found


def _next_second() -> str:
    """Wait for the next whole second (UTC) and return it as an OAI datestamp: whatever
    changes from now on has a datestamp at or after it, and nothing before did."""
    moment = math.ceil(time.time() + 0.01)
    time.sleep(max(0.0, moment - time.time()))
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_scythe_harvests_everything_then_only_what_changed(oai_server):
    records = [
        create_record(
            visibility="published",
            identifier=f"UJB-H{n:03d}",
            title=f"의정부 기록 {n}",
            collections=["의정부 옛 사진"] if n % 3 == 0 else [],
            rights="CC-BY-4.0",
        )
        for n in range(30)
    ]
    drafts = [
        create_record(identifier=f"UJB-HD{n}", rights="KOGL-1", transcription="본문")
        for n in range(3)
    ]
    media_dir = settings_of(ArchiveSettings).media_dir
    for record in records[:2]:
        record_service.withdraw("test", record, now=now())
    for record in records[2:4]:
        record_service.delete_record("test", record, now=now(), media_dir=media_dir)
    db.session.commit()
    url = oai_server("/oai")

    with Scythe(url) as scythe:
        identify = scythe.identify()
        assert identify.repositoryName == "HAPPY-HUB 향토문화 아카이브"
        assert identify.deletedRecord == "persistent"
        sets = {s.setSpec: s.setName for s in scythe.list_sets()}
        assert sets == {set_spec("의정부 옛 사진"): "의정부 옛 사진"}
        record = scythe.get_record(identifier=_oai_id("UJB-H010"))
        assert record.metadata["title"] == ["의정부 기록 10"]
        assert record.metadata["language"] == ["kor"]
        assert "https://creativecommons.org/licenses/by/4.0/deed.ko" in record.metadata["rights"]
        with pytest.raises(IdDoesNotExist):
            scythe.get_record(identifier=_oai_id("UJB-HD0"))
        by_set = list(scythe.list_identifiers(set_=set_spec("의정부 옛 사진")))
        assert {h.identifier for h in by_set} == {_oai_id(f"UJB-H{n:03d}") for n in range(0, 30, 3)}

    for method in ("GET", "POST"):
        found = _harvest(url, method)
        assert set(found) == {_oai_id(f"UJB-H{n:03d}") for n in range(30)}
        deleted = {identifier for identifier, item in found.items() if item.deleted}
        assert deleted == {_oai_id(f"UJB-H{n:03d}") for n in range(4)}
        assert (
            found[_oai_id("UJB-H029")]
            .metadata["identifier"][0]
            .endswith("/archive/records/UJB-H029")
        )

    since = _next_second()
    with Scythe(url) as scythe, pytest.raises(NoRecordsMatch):
        list(scythe.list_records(from_=since))
    record_service.update_record("test", records[10], {"title": "고친 제목"}, now=now())
    record_service.withdraw("test", records[11], now=now())
    record_service.delete_record("test", records[12], now=now(), media_dir=media_dir)
    record_service.publish("test", drafts[0], now=now())
    record_service.update_record("test", drafts[1], {"title": "초안만 고침"}, now=now())
    db.session.commit()

    changed = _harvest(url, **{"from_": since})
    assert {identifier: item.deleted for identifier, item in changed.items()} == {
        _oai_id("UJB-H010"): False,
        _oai_id("UJB-H011"): True,
        _oai_id("UJB-H012"): True,
        _oai_id("UJB-HD0"): False,
    }
    assert changed[_oai_id("UJB-H010")].metadata["title"] == ["고친 제목"]
