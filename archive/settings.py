"""The archive's configuration, read once from the app config when the app is built
(``archive.init_app`` registers it); doors pass it to the services."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class ArchiveSettings:
    media_dir: str
    max_upload_bytes: int
    max_image_pixels: int
    max_pages: int
    thumbnail_px: int
    display_px: int
    tesseract_cmd: str
    ocr_lang: str
    ocr_psm: int
    ocr_timeout: int
    import_batch: int
    import_lease_seconds: int
    # Media processing: how long a job's hold on an item lasts without renewal (seconds), and
    # how many times in a row its processing may die before the item is marked failed.
    media_lease_seconds: int
    media_max_attempts: int
    index_dir: str
    search_backend: str  # "whoosh" (files in index_dir) or "postgres" (tables, see pg_index)
    search_postings_cache: int  # postgres: postings kept per process between writes
    search_max_per_page: int
    search_result_cache: int
    search_index_limitmb: int
    tz: ZoneInfo  # dates shown to people (a record's publication day)
    # IIIF: the answer cache's size cap (bytes), the largest answer given (width and height,
    # and area in pixels)
    iiif_cache_max_bytes: int
    iiif_max_width: int
    iiif_max_area: int

    @classmethod
    def from_config(cls, config) -> ArchiveSettings:
        return cls(
            media_dir=config["MEDIA_DIR"],
            max_upload_bytes=int(config["ARCHIVE_MAX_UPLOAD_BYTES"]),
            max_image_pixels=int(config["ARCHIVE_MAX_IMAGE_PIXELS"]),
            max_pages=int(config["ARCHIVE_MAX_PAGES"]),
            thumbnail_px=int(config["ARCHIVE_THUMBNAIL_PX"]),
            display_px=int(config["ARCHIVE_DISPLAY_PX"]),
            tesseract_cmd=config["ARCHIVE_TESSERACT_CMD"],
            ocr_lang=config["ARCHIVE_OCR_LANG"],
            ocr_psm=int(config["ARCHIVE_OCR_PSM"]),
            ocr_timeout=int(config["ARCHIVE_OCR_TIMEOUT"]),
            import_batch=max(1, int(config["ARCHIVE_IMPORT_BATCH"])),
            import_lease_seconds=max(1, int(config["ARCHIVE_IMPORT_LEASE_SECONDS"])),
            media_lease_seconds=max(1, int(config["ARCHIVE_MEDIA_LEASE_SECONDS"])),
            media_max_attempts=max(1, int(config["ARCHIVE_MEDIA_MAX_ATTEMPTS"])),
            index_dir=config["INDEX_DIR"],
            search_backend=config["SEARCH_BACKEND"],  # checked by core.config.check
            search_postings_cache=max(0, int(config["SEARCH_POSTINGS_CACHE"])),
            search_max_per_page=int(config["SEARCH_MAX_PER_PAGE"]),
            search_result_cache=int(config["SEARCH_RESULT_CACHE"]),
            search_index_limitmb=int(config["SEARCH_INDEX_LIMITMB"]),
            tz=ZoneInfo(config["TIMEZONE"]),
            iiif_cache_max_bytes=max(1, int(config["IIIF_CACHE_MAX_BYTES"])),
            iiif_max_width=max(1, int(config["IIIF_MAX_WIDTH"])),
            iiif_max_area=max(1, int(config["IIIF_MAX_AREA"])),
        )


@dataclass(frozen=True)
class OaiSettings:
    """The OAI-PMH repository: its name, the domain in its item identifiers, its admin's
    address, how many items one answer holds, how long a resumption token lasts, where the
    public record pages are (empty: the harvester's own address of the site), and the key
    resumption tokens are signed with."""

    repository_name: str
    domain: str
    admin_email: str
    page_size: int
    token_ttl_seconds: int
    public_base_url: str
    signing_key: bytes

    @classmethod
    def from_config(cls, config) -> OaiSettings:
        return cls(
            repository_name=config["OAI_REPOSITORY_NAME"],
            domain=config["OAI_REPOSITORY_DOMAIN"],
            admin_email=config["OAI_ADMIN_EMAIL"],
            page_size=max(1, int(config["OAI_PAGE_SIZE"])),
            token_ttl_seconds=max(1, int(config["OAI_TOKEN_TTL_SECONDS"])),
            public_base_url=config["PUBLIC_BASE_URL"].rstrip("/"),
            signing_key=("oai-resumption:" + config["SECRET_KEY"]).encode(),
        )
