"""IIIF Presentation API 3.0: a record as a Manifest (one Canvas per image, or per page of a
multi-page TIFF, each painted by its IIIF Image service) and the collections as IIIF
Collections. Only published records take part, and only their ready images; archivists may
see a draft's manifest.

Rights: the Presentation API wants ``rights`` from Creative Commons, RightsStatements.org or
an extension. CC licences and CC0 are given as their Creative Commons URIs (``http://``, as the
API's examples and validators have them); the Korea Open Government Licence (공공누리, KOGL),
which has no Creative Commons or RightsStatements.org URI, is given as the KOGL's own licence
page for its type (``http://www.kogl.or.kr/info/licenseType{n}.do``), the archive's extension
of the allowed families. ``requiredStatement`` spells out the attribution each licence asks
for.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from archive.models import CC0_RE, CC_RE, KOGL_RE, TYPE_WORDS
from archive.services import browsing, iiif_images, storage
from archive.services.iiif_images import ImageId, Limits
from archive.services.records import find_by_identifier
from archive.settings import ArchiveSettings
from core.errors import NotFound

PRESENTATION_CONTEXT = "http://iiif.io/api/presentation/3/context.json"
ARCHIVE_NAME = "향토문화 아카이브"
THUMBNAIL_PX = 256
CC_DEFAULT_VERSION = "4.0"

KOGL_NAMES = {
    "1": "공공누리 제1유형: 출처표시",
    "2": "공공누리 제2유형: 출처표시, 상업적 이용금지",
    "3": "공공누리 제3유형: 출처표시, 변경금지",
    "4": "공공누리 제4유형: 출처표시, 상업적 이용금지, 변경금지",
}
# The Korean name of each record type: the first word archivists use for it.
TYPE_NAMES: dict[str, str] = {}
for _word, _type in TYPE_WORDS.items():
    TYPE_NAMES.setdefault(_type, _word)

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")


def title_language(text: str) -> str:
    """``ko-Hani`` for a title written in Hanja (Han characters, no Hangul), else ``ko``."""
    return "ko-Hani" if _HAN.search(text) and not _HANGUL.search(text) else "ko"


def rights_uri(code: str | None) -> str | None:
    """The licence URI of a stored rights statement (``archive.models.normalize_rights``)."""
    if not code:
        return None
    if kogl := KOGL_RE.match(code):
        return f"http://www.kogl.or.kr/info/licenseType{kogl.group(1)}.do"
    if CC0_RE.match(code):
        return "http://creativecommons.org/publicdomain/zero/1.0/"
    if CC_RE.match(code):
        parts = code.split("-")[1:]
        version = parts.pop() if re.fullmatch(r"\d\.\d", parts[-1]) else CC_DEFAULT_VERSION
        return f"http://creativecommons.org/licenses/{'-'.join(parts).lower()}/{version}/"
    return None


def rights_name(code: str | None) -> str | None:
    if not code:
        return None
    if kogl := KOGL_RE.match(code):
        return KOGL_NAMES[kogl.group(1)]
    if CC0_RE.match(code):
        return "CC0 1.0 퍼블릭 도메인"
    return code.replace("-", " ", 1)  # CC BY-SA-4.0


def _ko(*values: str) -> dict:
    return {"ko": [v for v in values if v]}


def _pair(ko: str, en: str, value: dict) -> dict:
    return {"label": {"ko": [ko], "en": [en]}, "value": value}


def _metadata(record) -> list[dict]:
    pairs = [_pair("자료 번호", "Identifier", {"none": [record.identifier]})]
    pairs.append(_pair("유형", "Type", _ko(TYPE_NAMES.get(record.type, record.type))))
    if record.alt_title and title_language(record.alt_title) == title_language(record.title):
        pairs.append(_pair("다른 제목", "Alternative title", _ko(record.alt_title)))
    for name, ko, en in (
        ("date_text", "날짜", "Date"),
        ("creator", "만든 이", "Creator"),
        ("contributor", "제공", "Contributor"),
        ("place", "장소", "Place"),
    ):
        if value := getattr(record, name):
            pairs.append(_pair(ko, en, _ko(value)))
    if record.subjects:
        pairs.append(_pair("주제", "Subjects", _ko(*record.subjects)))
    if record.collections:
        pairs.append(_pair("모음", "Collections", _ko(*record.collections)))
    if record.language:
        pairs.append(_pair("언어", "Language", {"none": [record.language]}))
    if record.source:
        pairs.append(_pair("출처", "Source", _ko(record.source)))
    if name := rights_name(record.rights):
        pairs.append(_pair("이용 조건", "Rights", _ko(name)))
    return pairs


def _label(record) -> dict:
    label = {title_language(record.title): [record.title]}
    if record.alt_title:
        label.setdefault(title_language(record.alt_title), [record.alt_title])
    return label


def _service(base_url: str, image: ImageId) -> list[dict]:
    return [
        {
            "id": iiif_images.service_id(base_url, image),
            "type": "ImageService3",
            "profile": "level2",
        }
    ]


def _thumbnail(base_url: str, image: ImageId, width: int, height: int) -> dict:
    scale = min(1.0, THUMBNAIL_PX / max(width, height))
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    return {
        "id": f"{iiif_images.service_id(base_url, image)}/full/!{w},{h}/0/default.jpg",
        "type": "Image",
        "format": "image/jpeg",
        "width": w,
        "height": h,
        "service": _service(base_url, image),
    }


def manifest_url(base_url: str, identifier: str) -> str:
    return f"{base_url}/iiif/3/records/{identifier}/manifest.json"


def collection_url(base_url: str, name: str) -> str:
    return f"{base_url}/iiif/3/collections/{quote(name, safe='')}.json"


def _pages(record, settings: ArchiveSettings) -> list[tuple[ImageId, int, int]]:
    """(image, width, height) of every page of the record's ready images, in order."""
    pages = []
    for media in record.media:
        if media.status != "ready":
            continue
        original = storage.absolute(settings.media_dir, media.original_path)
        sizes = iiif_images.page_sizes(str(original))
        for page, (width, height) in enumerate(sizes[: media.page_count], start=1):
            pages.append((ImageId(media.id, page), width, height))
    return pages


def _canvas(base_url, manifest_id, image, width, height, label, limits) -> dict:
    canvas_id = f"{manifest_id.removesuffix('/manifest.json')}/canvas/{image.text}"
    full_w, full_h = iiif_images.resolve_size(iiif_images.Size("max"), width, height, limits)
    body = {
        "id": f"{iiif_images.service_id(base_url, image)}/full/max/0/default.jpg",
        "type": "Image",
        "format": "image/jpeg",
        "width": full_w,
        "height": full_h,
        "service": _service(base_url, image),
    }
    return {
        "id": canvas_id,
        "type": "Canvas",
        "label": {"ko": [label]},
        "width": width,
        "height": height,
        "thumbnail": [_thumbnail(base_url, image, width, height)],
        "items": [
            {
                "id": f"{canvas_id}/page",
                "type": "AnnotationPage",
                "items": [
                    {
                        "id": f"{canvas_id}/image",
                        "type": "Annotation",
                        "motivation": "painting",
                        "body": body,
                        "target": canvas_id,
                    }
                ],
            }
        ],
    }


def _visible(identifier: str, may_see_unpublished: bool):
    record = find_by_identifier(identifier)
    if record is None or (not record.is_published and not may_see_unpublished):
        raise NotFound(f"Record {identifier} not found")
    return record


def manifest(
    identifier: str, *, may_see_unpublished: bool, base_url: str, settings: ArchiveSettings
) -> tuple[dict, bool]:
    """The record's Manifest, and whether it is public; 404 when the caller may not see the
    record or it has no ready image (a Manifest needs at least one Canvas)."""
    record = _visible(identifier, may_see_unpublished)
    pages = _pages(record, settings)
    if not pages:
        raise NotFound(f"Record {identifier} has no images")
    manifest_id = manifest_url(base_url, identifier)
    limits = Limits.of(settings)
    media_ids = list(dict.fromkeys(image.media_id for image, _, _ in pages))
    canvases = []
    for image, width, height in pages:
        number = media_ids.index(image.media_id) + 1
        pages_of_it = sum(1 for other, _, _ in pages if other.media_id == image.media_id)
        label = f"이미지 {number}" + (f" - {image.page}쪽" if pages_of_it > 1 else "")
        canvases.append(_canvas(base_url, manifest_id, image, width, height, label, limits))
    body = {
        "@context": PRESENTATION_CONTEXT,
        "id": manifest_id,
        "type": "Manifest",
        "label": _label(record),
        "metadata": _metadata(record),
    }
    if record.description:
        body["summary"] = _ko(record.description)
    if uri := rights_uri(record.rights):
        body["rights"] = uri
    attribution = ", ".join(
        part
        for part in (record.contributor or ARCHIVE_NAME, f"「{record.title}」")
        + ((rights_name(record.rights),) if record.rights else ())
        if part
    )
    body["requiredStatement"] = _pair("출처 표시", "Attribution", _ko(attribution))
    body["provider"] = [
        {
            "id": f"{base_url}/archive",
            "type": "Agent",
            "label": _ko(ARCHIVE_NAME),
            "homepage": [
                {
                    "id": f"{base_url}/archive",
                    "type": "Text",
                    "label": _ko(ARCHIVE_NAME),
                    "format": "text/html",
                }
            ],
        }
    ]
    body["thumbnail"] = canvases[0]["thumbnail"]
    body["homepage"] = [
        {
            "id": f"{base_url}/archive/records/{identifier}",
            "type": "Text",
            "label": _label(record),
            "format": "text/html",
            "language": ["ko"],
        }
    ]
    body["seeAlso"] = [
        {
            "id": f"{base_url}/api/archive/records/{record.id}",
            "type": "Dataset",
            "label": {"en": ["Record (JSON)"]},
            "format": "application/json",
        }
    ]
    if record.collections:
        body["partOf"] = [
            {"id": collection_url(base_url, name), "type": "Collection", "label": _ko(name)}
            for name in record.collections
        ]
    if any(image.page > 1 for image, _, _ in pages):
        body["behavior"] = ["paged"]
    body["items"] = canvases
    return body, record.is_published


def _manifest_reference(base_url: str, record, settings: ArchiveSettings) -> dict | None:
    pages = _pages(record, settings)
    if not pages:
        return None
    image, width, height = pages[0]
    return {
        "id": manifest_url(base_url, record.identifier),
        "type": "Manifest",
        "label": _label(record),
        "thumbnail": [_thumbnail(base_url, image, width, height)],
    }


def collection(name: str, *, base_url: str, settings: ArchiveSettings) -> dict:
    """A collection's published records with images, as a IIIF Collection of Manifests; 404
    when it has none."""
    items = [
        reference
        for record in browsing.records_in_collection(name)
        if (reference := _manifest_reference(base_url, record, settings)) is not None
    ]
    if not items:
        raise NotFound(f"No collection {name!r} with published images")
    return {
        "@context": PRESENTATION_CONTEXT,
        "id": collection_url(base_url, name),
        "type": "Collection",
        "label": _ko(name),
        "summary": _ko(f"{ARCHIVE_NAME}의 모음 「{name}」"),
        "homepage": [
            {
                "id": f"{base_url}/archive/collections/{quote(name, safe='')}",
                "type": "Text",
                "label": _ko(name),
                "format": "text/html",
            }
        ],
        "partOf": [
            {"id": f"{base_url}/iiif/3/collections.json", "type": "Collection"},
        ],
        "items": items,
    }


def collections(*, base_url: str) -> dict:
    """Every collection with a published record with images, as the archive's top IIIF
    Collection."""
    found = browsing.collections(with_images=True)
    return {
        "@context": PRESENTATION_CONTEXT,
        "id": f"{base_url}/iiif/3/collections.json",
        "type": "Collection",
        "label": _ko(ARCHIVE_NAME),
        "items": [
            {"id": collection_url(base_url, c.name), "type": "Collection", "label": _ko(c.name)}
            for c in found
        ],
    }
