"""Images with Pillow: what a file really is, and the public derivatives made from it.

Files are judged by their content, never by their name. Sizes are read from the header and
checked before any pixel is decoded, so a small file that expands to gigabytes of pixels
(a decompression bomb) is refused without being expanded.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from archive.services.storage import write_atomic

FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "TIFF": ("image/tiff", "tif"),
    "WEBP": ("image/webp", "webp"),
    # Phone cameras write JPEGs with extra preview frames ("multi-picture"): a JPEG photo.
    "MPO": ("image/jpeg", "jpg"),
}
OPENERS = ["JPEG", "PNG", "TIFF", "WEBP"]


class ImageRejected(Exception):
    """``kind``: unsupported (not an accepted image), corrupt, or too_large (pixel bomb)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class ImageInfo:
    format: str
    mime: str
    extension: str
    width: int
    height: int
    pages: int


def _open(path: Path, max_pixels: int) -> Image.Image:
    """Open (read the header only). The archive's own pixel limit, checked in ``inspect``,
    decides; Pillow's warning is silenced and its hard error (twice its own limit) stays as
    a last line."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(path, formats=OPENERS)
        except Image.DecompressionBombError as error:
            raise ImageRejected(
                "too_large", f"The image has too many pixels (limit {max_pixels})"
            ) from error
        except UnidentifiedImageError as error:
            raise ImageRejected(
                "unsupported", "The file is not a JPEG, PNG, TIFF or WebP image"
            ) from error


def _open_checked(path: Path) -> Image.Image:
    """Open a stored original: it passed ``inspect`` at ingest."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(path, formats=OPENERS)


def inspect(path: Path, *, max_pixels: int, max_pages: int) -> ImageInfo:
    """Identify and check an uploaded file; decode the first page fully to catch damage."""
    with _open(path, max_pixels) as image:
        if image.format not in FORMATS:
            raise ImageRejected("unsupported", "The file is not a JPEG, PNG, TIFF or WebP image")
        mime, extension = FORMATS[image.format]
        pages = _page_count(image)
        if pages > max_pages:
            raise ImageRejected("too_large", f"The file has {pages} pages (limit {max_pages})")
        width, height = image.size
        try:
            for index in range(pages):
                image.seek(index)
                if image.size[0] * image.size[1] > max_pixels:
                    raise ImageRejected(
                        "too_large",
                        f"Page {index + 1} is {image.size[0]}×{image.size[1]} pixels, more than "
                        f"the limit of {max_pixels} pixels: refused as a possible "
                        "decompression bomb",
                    )
            image.seek(0)
            if image.format == "JPEG":
                # Decoding at reduced scale still reads the whole stream (damage shows)
                # at a fraction of the memory.
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            image.load()
        except ImageRejected:
            raise
        except (OSError, ValueError, SyntaxError, EOFError) as error:
            raise ImageRejected(
                "corrupt", f"The {image.format} image is damaged or truncated and cannot be read"
            ) from error
    return ImageInfo(image.format, mime, extension, width, height, pages)


def _page_count(image: Image.Image) -> int:
    """Pages of text: every TIFF page; a phone JPEG's preview frames are not pages."""
    return getattr(image, "n_frames", 1) if image.format == "TIFF" else 1


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on white: JPEG has no alpha, and 16-bit or palette scans need converting."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda value: value / 256).convert("L")
    return image.convert("RGB")


def _save_jpeg(image: Image.Image, target: Path) -> None:
    # Only pixels are written: no EXIF (GPS, camera, orientation), no XMP, no comments.
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    write_atomic(target, lambda temp: clean.save(temp, "JPEG", quality=85, optimize=True))


def make_derivatives(
    source: Path, thumbnail: Path, display: Path, *, thumbnail_px: int, display_px: int
) -> None:
    """Thumbnail and display image from the first page, turned upright by its EXIF
    orientation, stripped of all metadata."""
    with _open_checked(source) as image:
        image.seek(0)
        if image.format == "JPEG":  # decode big scans at a reduced scale, still >= display
            image.draft("RGB", (display_px, display_px))
        upright = _flatten(ImageOps.exif_transpose(image))
    shown = upright.copy()
    shown.thumbnail((display_px, display_px), Image.Resampling.LANCZOS)
    _save_jpeg(shown, display)
    small = shown.copy()
    small.thumbnail((thumbnail_px, thumbnail_px), Image.Resampling.LANCZOS)
    _save_jpeg(small, thumbnail)


def pages(source: Path, start: int = 0) -> Iterator[Image.Image]:
    """Every page from index ``start`` on (the pages before it are skipped, not decoded),
    upright, in grayscale (what OCR reads)."""
    with _open_checked(source) as image:
        for index in range(start, _page_count(image)):
            image.seek(index)
            yield _flatten(ImageOps.exif_transpose(image)).convert("L")


# EXIF orientations that turn the picture a quarter: its upright width is its stored height.
_QUARTER_TURNS = {5, 6, 7, 8}


def page_sizes(source: Path) -> list[tuple[int, int]]:
    """Every page's upright size, read from the file's headers (no pixel decoded)."""
    sizes = []
    with _open_checked(source) as image:
        for index in range(_page_count(image)):
            image.seek(index)
            width, height = image.size
            orientation = image.getexif().get(0x0112)
            sizes.append((height, width) if orientation in _QUARTER_TURNS else (width, height))
    return sizes


def open_page(source: Path, index: int) -> Image.Image:
    """A page decoded whole, upright, in grayscale (``L``) when it has no colour (1-bit,
    8- or 16-bit gray scans), else RGB on white."""
    with _open_checked(source) as image:
        image.seek(index)
        upright = ImageOps.exif_transpose(image)
        if upright.mode in ("1", "L", "I;16", "I;16B", "I;16L", "I"):
            if upright.mode.startswith("I"):
                return upright.point(lambda value: value / 256).convert("L")
            return upright.convert("L")
        if upright.mode == "LA":
            return _flatten(upright).convert("L")
        return _flatten(upright)
