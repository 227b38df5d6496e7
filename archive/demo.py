"""Demo records: a few published items with generated scan images (safe to run again)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from archive.services import media as media_service
from archive.services import records as record_service
from archive.settings import ArchiveSettings
from core.extensions import db
from core.models import User
from core.settings import settings_of

# Debian's fonts-nanum; without it the images fall back to Pillow's built-in font.
KOREAN_FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")

DEMO_RECORDS = [
    {
        "identifier": "UJB-DEMO-0001",
        "title": "의정부 관아 터 사진",
        "alt_title": "議政府 官衙",
        "description": "의정부동 관아 터 앞 거리를 찍은 유리건판 사진. 초가와 기와집이 보인다.",
        "creator": "미상",
        "date_text": "1911",
        "type": "photo",
        "subjects": ["관아", "거리 풍경"],
        "place": "의정부동",
        "collections": ["유리건판 사진"],
        "rights": "KOGL-1",
        "scan": ["의정부 관아 터", "1911년 촬영", "유리건판 사진"],
    },
    {
        "identifier": "UJB-DEMO-0002",
        "title": "회룡사 중수기",
        "alt_title": "回龍寺 重修記",
        "description": "회룡사를 고쳐 지은 내력을 적은 기문. 절의 연혁을 알 수 있다.",
        "creator": "회룡사",
        "date_text": "광무 3년",
        "type": "document",
        "subjects": ["사찰", "불교"],
        "place": "호원동",
        "collections": ["고문서"],
        "rights": "KOGL-1",
        "scan": ["회룡사 중수기", "광무 3년", "절을 고쳐 지은 내력"],
    },
    {
        "identifier": "UJB-DEMO-0003",
        "title": "의정부 시가지 지도",
        "description": "1960년대 초 의정부 시가지와 경원선 철도를 그린 지도.",
        "creator": "의정부시",
        "date_text": "1960년대 초",
        "type": "map",
        "subjects": ["지도", "철도"],
        "place": "의정부동",
        "collections": ["지도"],
        "rights": "KOGL-2",
        "scan": ["의정부 시가지 지도", "경원선 의정부역", "1960년대"],
    },
    {
        "identifier": "UJB-DEMO-0004",
        "title": "송산동 마을 제사 기록",
        "description": "송산동 마을에서 해마다 지내던 산신제의 절차를 적은 기록.",
        "creator": "송산동 노인회",
        "date_text": "1950년대",
        "type": "document",
        "subjects": ["민속", "마을 제사"],
        "place": "송산동",
        "collections": ["민속 기록"],
        "rights": "CC-BY-4.0",
        "scan": ["송산동 산신제", "제사 절차 기록", "마을 노인회"],
    },
    {
        "identifier": "UJB-DEMO-0005",
        "title": "스마트도서관 개관 기념 사진",
        "description": "시립 스마트 도서관 개관식 기념 사진과 안내문.",
        "creator": "의정부시립도서관",
        "date_text": "2024-05-23",
        "type": "photo",
        "subjects": ["도서관", "개관식"],
        "place": "신곡동",
        "collections": ["시정 사진"],
        "rights": "KOGL-1",
        "scan": ["스마트도서관 개관", "2024년 5월 23일", "의정부시립도서관"],
    },
]


def render_scan(lines: list[str], *, size=(1240, 900), font_size=40) -> bytes:
    """A page with Korean text on off-white paper, as a JPEG (like a flatbed scan)."""
    image = Image.new("RGB", size, (252, 250, 244))
    draw = ImageDraw.Draw(image)
    if KOREAN_FONT.is_file():
        font = ImageFont.truetype(str(KOREAN_FONT), font_size)
    else:
        font = ImageFont.load_default(font_size)
    for index, line in enumerate(lines):
        draw.text((110, 140 + index * int(font_size * 1.9)), line, font=font, fill=(30, 26, 20))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def seed_demo_records(now) -> list[str]:
    settings = settings_of(ArchiveSettings)
    actor = db.session.scalar(select(User).filter_by(email="archivist@demo.happyhub.kr"))
    actor = actor or "seed"
    lines = ["Archive records:"]
    for spec in DEMO_RECORDS:
        data = {key: value for key, value in spec.items() if key != "scan"}
        if record_service.find_by_identifier(data["identifier"]) is not None:
            lines.append(f"  {data['identifier']} (exists)")
            continue
        record = record_service.create_record(actor, data, now=now, visibility="published")
        media_service.upload(
            actor,
            record,
            io.BytesIO(render_scan(spec["scan"])),
            f"{data['identifier']}.jpg",
            now=now,
            settings=settings,
        )
        lines.append(f"  {data['identifier']} {data['title']} (published, scan queued)")
    return lines
