"""What a record's rights statement lets people do: its name, its terms in Korean and the
licence's address. The record page shows it and OAI-PMH's ``dc:rights`` carries it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from archive.models import CC0_RE, CC_RE, KOGL_RE


@dataclass(frozen=True)
class Rights:
    badge: str
    name: str
    allows: str
    url: str | None


KOGL = {
    "1": ("출처표시", "출처를 표시하면 상업적 이용과 변경을 포함해 자유롭게 이용할 수 있습니다."),
    "2": (
        "출처표시 + 상업적 이용금지",
        "출처를 표시하면 변경해서 이용할 수도 있으나, 상업적으로는 이용할 수 없습니다.",
    ),
    "3": (
        "출처표시 + 변경금지",
        "출처를 표시하면 상업적으로도 이용할 수 있으나, 내용을 변경할 수 없습니다.",
    ),
    "4": (
        "출처표시 + 상업적 이용금지 + 변경금지",
        "출처를 표시하면 이용할 수 있으나, 상업적으로 이용하거나 변경할 수 없습니다.",
    ),
}
CC_TERMS = {"BY": "저작자표시", "NC": "비영리", "ND": "변경금지", "SA": "동일조건변경허락"}
CC_RULES = {
    "NC": "상업적으로 이용할 수 없습니다.",
    "ND": "내용을 변경할 수 없습니다.",
    "SA": "변경한 저작물은 같은 조건으로 공유해야 합니다.",
}


def rights_of(code: str | None) -> Rights | None:
    """What a stored rights statement (``archive.models.normalize_rights``) lets people do."""
    if not code:
        return None
    kogl = KOGL_RE.match(code)
    if kogl:
        number = kogl.group(1)
        terms, allows = KOGL[number]
        return Rights(
            f"공공누리 제{number}유형",
            f"공공누리 제{number}유형: {terms}",
            allows,
            f"https://www.kogl.or.kr/info/licenseType{number}.do",
        )
    if CC0_RE.match(code):
        return Rights(
            "CC0",
            "CC0 1.0 퍼블릭 도메인 헌정",
            "저작권자가 권리를 포기했습니다. 조건 없이 자유롭게 이용할 수 있습니다.",
            "https://creativecommons.org/publicdomain/zero/1.0/deed.ko",
        )
    if CC_RE.match(code):
        parts = code.split("-")[1:]  # BY, NC, SA|ND, version
        version = parts.pop() if re.fullmatch(r"\d\.\d", parts[-1]) else None
        terms = "-".join(CC_TERMS[part] for part in parts)
        rules = [CC_RULES[part] for part in parts if part in CC_RULES]
        allows = "저작자를 표시하면 " + (
            "이용할 수 있으나, " + " ".join(rules)
            if rules
            else "상업적 이용과 변경을 포함해 자유롭게 이용할 수 있습니다."
        )
        short = "CC " + "-".join(parts) + (f" {version}" if version else "")
        path = "-".join(parts).lower()
        url = (
            f"https://creativecommons.org/licenses/{path}/{version}/deed.ko"
            if version
            else "https://creativecommons.org/licenses/?lang=ko"
        )
        name = f"크리에이티브 커먼즈 {terms}" + (f" {version}" if version else "")
        return Rights(short, name, allows, url)
    return Rights(code, code, "이용 조건은 자료를 제공한 기관에 문의해 주세요.", None)
