"""Demo data: three kiosks with stock, patrons with cards, a few holds ready for pickup.

Safe to run twice: existing kiosks, titles, copies and patrons are kept; keys and PINs are
printed only when created.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select

from core.extensions import db
from core.models import User
from core.settings import settings_of
from library.models import Copy, Patron
from library.services import catalogue, holds, kiosks, patrons
from library.services import isbn as isbn_rules
from library.services.slots import free_slots
from library.settings import LibrarySettings

ACTOR = "seed"
KIOSKS = [
    ("GN-01", "강남역 스마트도서관", "강남역 2번 출구 지하상가", 37.4979, 127.0276, 60),
    ("SC-02", "서초구청 스마트도서관", "서초구청 민원실 앞", 37.4837, 127.0324, 40),
    ("YS-03", "양재시민의숲 스마트도서관", "양재시민의숲역 1번 출구", 37.4700, 127.0382, 40),
]
TITLES = [
    ("소년이 온다", "한강", "창비", 2014, "813.7"),
    ("채식주의자", "한강", "창비", 2007, "813.7"),
    ("82년생 김지영", "조남주", "민음사", 2016, "813.7"),
    ("아몬드", "손원평", "창비", 2017, "813.7"),
    ("불편한 편의점", "김호연", "나무옆의자", 2021, "813.7"),
    ("달러구트 꿈 백화점", "이미예", "팩토리나인", 2020, "813.7"),
    ("코스모스", "칼 세이건", "사이언스북스", 2006, "443"),
    ("사피엔스", "유발 하라리", "김영사", 2015, "909"),
    ("총, 균, 쇠", "재레드 다이아몬드", "김영사", 2005, "909"),
    ("어린 왕자", "생텍쥐페리", "열린책들", 2015, "863"),
    ("토지 1", "박경리", "마로니에북스", 2012, "813.6"),
    ("혼불 1", "최명희", "매안", 2009, "813.6"),
]
PATRONS = [
    ("HH-DEMO-0001", "김시민", "resident@demo.happyhub.kr"),
    ("HH-DEMO-0002", "이도서", None),
    ("HH-DEMO-0003", "박독서", None),
]


def _isbn(n: int) -> str:
    first12 = f"97889{n:07d}"
    return first12 + isbn_rules.isbn13_check_digit(first12)


def seed_demo(now: datetime) -> list[str]:
    settings = settings_of(LibrarySettings)
    lines = ["Library kiosks:"]
    fleet = []
    for code, name, location, lat, lon, slots in KIOSKS:
        kiosk = kiosks.kiosk_by_code(code)
        if kiosk is None:
            kiosk, key = kiosks.create_kiosk(
                ACTOR,
                code=code,
                name=name,
                slot_count=slots,
                location=location,
                latitude=lat,
                longitude=lon,
                now=now,
            )
            kiosks.heartbeat(kiosk, [], now=now, settings=settings)
            lines.append(f"  {code:8} {name}  key: {key}")
        else:
            lines.append(f"  {code:8} {name}  (exists; key was printed when it was created)")
        fleet.append(kiosk)

    titles = []
    for n, (name, author, publisher, year, kdc) in enumerate(TITLES, start=1):
        isbn = _isbn(3000 + n)
        title = catalogue.title_by_isbn(isbn) or catalogue.create_title(
            ACTOR,
            {
                "isbn": isbn,
                "title": name,
                "author": author,
                "publisher": publisher,
                "year": year,
                "kdc": kdc,
            },
            now=now,
        )
        titles.append(title)
        for c in range(1, 5):
            barcode = f"DEMO{n:03d}{c:02d}"
            copy = db.session.scalar(select(Copy).filter_by(barcode=barcode))
            if copy is not None:
                continue
            copy = catalogue.create_copy(ACTOR, title, barcode, now=now)
            if c <= 3:  # copies 1-3 go into the three kiosks; copy 4 stays on the shelf
                kiosk = fleet[(n + c) % len(fleet)]
                free = free_slots(kiosk)
                if free:
                    kiosks.load(ACTOR, kiosk, free[0], barcode, now=now, settings=settings)
    lines.append(f"  {len(titles)} titles, {len(titles) * 4} copies (3 of each in kiosks)")

    lines.append("Library cards:")
    for index, (card, name, email) in enumerate(PATRONS):
        if db.session.scalar(select(Patron).filter_by(card_number=card)) is not None:
            lines.append(f"  {card}  {name}  (exists; PIN was printed when it was created)")
            continue
        user = db.session.scalar(select(User).filter_by(email=email)) if email else None
        pin = f"{secrets.randbelow(10000):04d}"
        patron = patrons.create_patron(
            ACTOR,
            card_number=card,
            pin=pin,
            name=name,
            user_id=user.id if user else None,
            loan_limit=None,
            now=now,
            settings=settings,
        )
        linked = f"  linked to {email}" if user else ""
        lines.append(f"  {card}  {name}  PIN: {pin}{linked}")
        # Holds ready for pickup: a title stocked in the first kiosk, picked up there.
        for title in titles[index * 2 : index * 2 + 2]:
            in_first = db.session.scalar(
                select(Copy.id).filter_by(
                    title_id=title.id, kiosk_id=fleet[0].id, status="in_kiosk"
                )
            )
            if in_first is not None:
                hold = holds.place_hold(patron, title, fleet[0].id, now=now, settings=settings)
                lines.append(
                    f"    hold {hold.id}: 『{title.title}』 {hold.status} at {fleet[0].code}"
                )
    return lines
