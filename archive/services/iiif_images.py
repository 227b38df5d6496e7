"""IIIF Image API 3.0 at compliance level 2: the image requests of a media item's pages.

A request is parsed into a value object (``parse``: pure, no I/O), refused with a 400 for bad
syntax and a 501 for what level 2 does not ask for and this server does not do (rotation by
other than multiples of 90 degrees, formats other than jpg, png and webp). An image is named
``{media_id}`` (its first page) or ``{media_id}-p{n}`` (page n of a multi-page TIFF, n >= 2).

Every request checks that the caller may see the media item (a ready item of a published
record, or any item for archivists) before anything else, the answer cache included, so a
withdrawn record's images stop at once.

Images come from a pyramid made once per page on first use and kept under MEDIA_DIR
(``iiif/pyramids/<sha256>/p<n>``): the upright page at full size and at every halving down
to one tile, each cut into 512-pixel JPEG tiles. A request reads only the tiles of the
smallest level that still covers the size asked for, so a tile of a 10,000-pixel scan never
decodes the original. Answers are kept on disk (``iiif/cache``) under their canonical request,
the least recently used removed past ``IIIF_CACHE_MAX_BYTES``.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import math
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps
from sqlalchemy import select

from archive.models import Media, Record
from archive.services import imaging, storage
from archive.settings import ArchiveSettings
from core.db import MAX_INTEGER_ID
from core.errors import DomainError, NotFound
from core.extensions import db
from core.transactions import snapshot

TILE = 512
PYRAMID_VERSION = 1
TILE_QUALITY = 90
IMAGE_CONTEXT = "http://iiif.io/api/image/3/context.json"
PROTOCOL = "http://iiif.io/api/image"
PROFILE_URI = "http://iiif.io/api/image/3/level2.json"
FORMATS = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
# Formats the Image API names that this server does not make (501, not 400).
KNOWN_FORMATS = {"tif", "gif", "pdf", "jp2"}
QUALITIES = ("default", "color", "gray", "bitonal")
EXTRA_FEATURES = ["mirroring", "sizeUpscaling", "canonicalLinkHeader", "profileLinkHeader"]


class BadImageRequest(DomainError):
    status, code = 400, "iiif_bad_request"


class NotSupported(DomainError):
    status, code = 501, "iiif_not_implemented"


# --- the request, parsed --------------------------------------------------------------


@dataclass(frozen=True)
class ImageId:
    media_id: int
    page: int = 1  # 1-based

    @property
    def text(self) -> str:
        return str(self.media_id) if self.page == 1 else f"{self.media_id}-p{self.page}"


@dataclass(frozen=True)
class Region:
    kind: str  # full, square, px, pct
    values: tuple = ()


@dataclass(frozen=True)
class Size:
    kind: str  # max, w, h, wh, confined, pct
    upscale: bool = False
    width: int | None = None
    height: int | None = None
    percent: float | None = None


@dataclass(frozen=True)
class ImageRequest:
    image: ImageId
    region: Region
    size: Size
    rotation: int  # 0, 90, 180 or 270
    mirror: bool
    quality: str
    format: str


_ID_RE = re.compile(r"^([1-9][0-9]{0,9})(?:-p([1-9][0-9]{0,3}))?$")
_INT = r"(?:0|[1-9][0-9]{0,8})"
_DEC = r"(?:[0-9]{1,9}(?:\.[0-9]{1,6})?|\.[0-9]{1,6})"
_PX_RE = re.compile(rf"^({_INT}),({_INT}),({_INT}),({_INT})$")
_PCT_RE = re.compile(rf"^pct:({_DEC}),({_DEC}),({_DEC}),({_DEC})$")
_SIZE_RE = re.compile(rf"^(\^)?(?:(max)|pct:({_DEC})|(!)?({_INT})?,({_INT})?)$")
_ROT_RE = re.compile(rf"^(!)?({_DEC})$")


def parse_identifier(text: str) -> ImageId:
    """``{media_id}`` or ``{media_id}-p{n}`` (n >= 2); anything else names no image (404)."""
    found = _ID_RE.match(text or "")
    if not found or int(found.group(1)) > MAX_INTEGER_ID or found.group(2) == "1":
        raise NotFound(f"No image {text!r}")
    return ImageId(int(found.group(1)), int(found.group(2) or 1))


def parse_region(text: str) -> Region:
    if text in ("full", "square"):
        return Region(text)
    if found := _PX_RE.match(text):
        x, y, w, h = (int(v) for v in found.groups())
        if w == 0 or h == 0:
            raise BadImageRequest("The region's width and height must be above zero")
        return Region("px", (x, y, w, h))
    if found := _PCT_RE.match(text):
        x, y, w, h = (float(v) for v in found.groups())
        if w <= 0 or h <= 0 or x >= 100 or y >= 100:
            raise BadImageRequest("The region's percentages leave no pixels")
        return Region("pct", (x, y, w, h))
    raise BadImageRequest(f"Bad region {text!r}: full, square, x,y,w,h or pct:x,y,w,h")


def parse_size(text: str) -> Size:
    found = _SIZE_RE.match(text)
    if not found:
        raise BadImageRequest(f"Bad size {text!r}: max, w,  ,h  pct:n  w,h  !w,h (^ to upscale)")
    up, is_max, pct, bang, w, h = found.groups()
    upscale = up is not None
    if is_max:
        return Size("max", upscale)
    if pct is not None:
        percent = float(pct)
        if percent <= 0:
            raise BadImageRequest("A size in percent must be above zero")
        return Size("pct", upscale, percent=percent)
    width = int(w) if w is not None else None
    height = int(h) if h is not None else None
    if width == 0 or height == 0 or (width is None and height is None):
        raise BadImageRequest(f"Bad size {text!r}: widths and heights must be above zero")
    if bang:
        if width is None or height is None:
            raise BadImageRequest(f"Bad size {text!r}: !w,h needs both")
        return Size("confined", upscale, width, height)
    if width is None:
        return Size("h", upscale, height=height)
    if height is None:
        return Size("w", upscale, width=width)
    return Size("wh", upscale, width, height)


def parse_rotation(text: str) -> tuple[int, bool]:
    found = _ROT_RE.match(text)
    if not found:
        raise BadImageRequest(f"Bad rotation {text!r}: degrees from 0 to 360, ! to mirror")
    degrees = float(found.group(2))
    if degrees > 360:
        raise BadImageRequest("Rotation is at most 360 degrees")
    if degrees % 90:
        raise NotSupported("Only rotations by multiples of 90 degrees are supported")
    return int(degrees) % 360, found.group(1) is not None


def parse_quality_format(text: str) -> tuple[str, str]:
    quality, dot, fmt = text.rpartition(".")
    if not dot or quality not in QUALITIES:
        raise BadImageRequest(f"Bad quality {quality or text!r}: {', '.join(QUALITIES)}")
    if fmt in KNOWN_FORMATS:
        raise NotSupported(f"The {fmt} format is not supported: jpg, png or webp")
    if fmt not in FORMATS:
        raise BadImageRequest(f"Unknown format {fmt!r}: jpg, png or webp")
    return quality, fmt


def parse(identifier: str, region: str, size: str, rotation: str, quality_format: str):
    """An image request from its five path segments (pure)."""
    image = parse_identifier(identifier)
    degrees, mirror = parse_rotation(rotation)
    quality, fmt = parse_quality_format(quality_format)
    return ImageRequest(
        image, parse_region(region), parse_size(size), degrees, mirror, quality, fmt
    )


# --- the request against an image of known size ---------------------------------------


@dataclass(frozen=True)
class Limits:
    max_width: int
    max_height: int
    max_area: int

    @classmethod
    def of(cls, settings: ArchiveSettings) -> Limits:
        return cls(settings.iiif_max_width, settings.iiif_max_width, settings.iiif_max_area)


def resolve_region(region: Region, width: int, height: int) -> tuple[int, int, int, int]:
    """The region in pixels of the full image, cut to its edges; 400 when outside it."""
    if region.kind == "full":
        return 0, 0, width, height
    if region.kind == "square":
        side = min(width, height)
        return (width - side) // 2, (height - side) // 2, side, side
    if region.kind == "px":
        x, y, w, h = region.values
    else:
        px, py, pw, ph = region.values
        x, y = round(width * px / 100), round(height * py / 100)
        w, h = round(width * pw / 100), round(height * ph / 100)
    if x >= width or y >= height:
        raise BadImageRequest("The region is outside the image")
    w, h = min(w, width - x), min(h, height - y)
    if w < 1 or h < 1:
        raise BadImageRequest("The region has no pixels")
    return x, y, w, h


def _fit(width: float, height: float, limits: Limits) -> tuple[int, int]:
    """The largest size of this shape within the limits (width, height and area)."""
    scale = min(
        limits.max_width / width,
        limits.max_height / height,
        math.sqrt(limits.max_area / (width * height)),
    )
    return max(1, int(width * scale)), max(1, int(height * scale))


def resolve_size(size: Size, rw: int, rh: int, limits: Limits) -> tuple[int, int]:
    """The answer's size for a region of rw×rh pixels; 400 when it is larger than the region
    without ^, or beyond the service's limits."""
    if size.kind == "max":
        fitted = _fit(rw, rh, limits)
        if size.upscale:
            return fitted
        return (rw, rh) if fitted[0] >= rw and fitted[1] >= rh else fitted
    if size.kind == "w":
        w, h = size.width, round(rh * size.width / rw)
    elif size.kind == "h":
        w, h = round(rw * size.height / rh), size.height
    elif size.kind == "pct":
        w, h = round(rw * size.percent / 100), round(rh * size.percent / 100)
    elif size.kind == "wh":
        w, h = size.width, size.height
    else:  # confined: the largest size within w×h that keeps the region's shape
        scale = min(size.width / rw, size.height / rh)
        w = min(size.width, max(1, round(rw * scale)))
        h = min(size.height, max(1, round(rh * scale)))
    if w < 1 or h < 1:
        raise BadImageRequest("The size asked for has no pixels")
    if not size.upscale and (w > rw or h > rh):
        raise BadImageRequest("Larger than the region: ask with ^ to upscale")
    if w > limits.max_width or h > limits.max_height or w * h > limits.max_area:
        raise BadImageRequest(
            f"Larger than this service gives (maxWidth {limits.max_width}, "
            f"maxArea {limits.max_area})"
        )
    return w, h


@dataclass(frozen=True)
class Resolved:
    request: ImageRequest
    box: tuple[int, int, int, int]  # x, y, w, h in the full image
    size: tuple[int, int]
    canonical: str  # the canonical path after the identifier


def resolve(request: ImageRequest, width: int, height: int, limits: Limits) -> Resolved:
    box = resolve_region(request.region, width, height)
    size = resolve_size(request.size, box[2], box[3], limits)
    region = "full" if box == (0, 0, width, height) else ",".join(map(str, box))
    if request.size.kind == "max" and not request.size.upscale:
        size_text = "max"
    else:
        size_text = ("^" if size[0] > box[2] or size[1] > box[3] else "") + f"{size[0]},{size[1]}"
    rotation = ("!" if request.mirror else "") + str(request.rotation)
    canonical = f"{region}/{size_text}/{rotation}/{request.quality}.{request.format}"
    return Resolved(request, box, size, canonical)


# --- who may see which image ----------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A visible page of a media item, as read on a snapshot (no ORM object outlives it)."""

    image: ImageId
    sha256: str
    original_path: str
    published: bool


def find_source(image: ImageId, may_see_unpublished: bool) -> Source:
    """The page if the caller may see it, else 404 (no probing for drafts)."""
    with snapshot():
        row = db.session.execute(
            select(
                Media.sha256,
                Media.original_path,
                Media.page_count,
                Media.status,
                Record.visibility,
            )
            .join(Record, Record.id == Media.record_id)
            .where(Media.id == image.media_id)
        ).first()
    if row is None or image.page > row.page_count:
        raise NotFound(f"No image {image.text}")
    published = row.visibility == "published" and row.status == "ready"
    if not published and not may_see_unpublished:
        raise NotFound(f"No image {image.text}")
    return Source(image, row.sha256, row.original_path, published)


# --- pyramids -------------------------------------------------------------------------


@dataclass(frozen=True)
class Pyramid:
    root: Path
    width: int
    height: int
    levels: int

    def level_size(self, level: int) -> tuple[int, int]:
        factor = 2**level
        return -(-self.width // factor), -(-self.height // factor)

    @property
    def scale_factors(self) -> list[int]:
        return [2**level for level in range(self.levels)]

    def tile_path(self, level: int, column: int, row: int) -> Path:
        return self.root / f"l{level}" / f"{column}_{row}.jpg"


def pyramids_dir(media_dir: str) -> Path:
    return Path(media_dir) / "iiif" / "pyramids"


def pyramid_folder(media_dir: str, sha256: str) -> Path:
    """The pyramids of every page of one original."""
    return pyramids_dir(media_dir) / sha256[:2] / sha256


def pyramid_root(media_dir: str, sha256: str, page: int) -> Path:
    return pyramid_folder(media_dir, sha256) / f"p{page}"


@contextlib.contextmanager
def _locked(path: Path, *, wait: bool = True):
    """An exclusive flock on ``path`` (created), shared by every process; None when
    ``wait`` is False and another holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_pyramid(root: Path) -> Pyramid | None:
    try:
        meta = json.loads((root / "meta.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    if meta.get("version") != PYRAMID_VERSION:
        return None
    return Pyramid(root, meta["width"], meta["height"], meta["levels"])


def pyramid(source: Source, media_dir: str) -> Pyramid:
    """The page's pyramid, made now if it is not there yet (one process makes it; the others
    wait for it). Made in a folder of its own and renamed into place whole."""
    root = pyramid_root(media_dir, source.sha256, source.image.page)
    if found := _read_pyramid(root):
        return found
    with _locked(root.parent / f".p{source.image.page}.lock"):
        if found := _read_pyramid(root):
            return found
        return build_pyramid(
            storage.absolute(media_dir, source.original_path), source.image.page, root
        )


def build_pyramid(original: Path, page: int, root: Path) -> Pyramid:
    building = root.parent / f".build-{uuid.uuid4().hex}"
    try:
        image = imaging.open_page(original, page - 1)
        width, height = image.size
        level = 0
        while True:
            _cut_tiles(image, building / f"l{level}")
            level += 1
            if max(image.size) <= TILE:
                break
            image = image.reduce(2)
        meta = {"version": PYRAMID_VERSION, "width": width, "height": height, "levels": level}
        (building / "meta.json").write_text(json.dumps(meta))
        if root.exists() and _read_pyramid(root) is None:
            shutil.rmtree(root, ignore_errors=True)  # an older version's
        try:
            os.replace(building, root)
        except OSError:
            # Another server made it meanwhile: shared storage whose locks do not reach across
            # machines. Its pyramid is as good as ours, and stays in place for its readers.
            if found := _read_pyramid(root):
                return found
            raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return Pyramid(root, width, height, level)


def _cut_tiles(image: Image.Image, folder: Path) -> None:
    folder.mkdir(parents=True)
    width, height = image.size
    for row in range(-(-height // TILE)):
        for column in range(-(-width // TILE)):
            box = (column * TILE, row * TILE, min(width, (column + 1) * TILE))
            box += (min(height, (row + 1) * TILE),)
            image.crop(box).save(
                folder / f"{column}_{row}.jpg", "JPEG", quality=TILE_QUALITY, subsampling=0
            )


# --- making an answer -----------------------------------------------------------------


def _assemble(pyr: Pyramid, level: int, box: tuple[int, int, int, int]) -> Image.Image:
    """The pixels of ``box`` (left, top, right, bottom) of one level, from its tiles."""
    left, top, right, bottom = box
    if left // TILE == (right - 1) // TILE and top // TILE == (bottom - 1) // TILE:
        column, row = left // TILE, top // TILE
        with Image.open(pyr.tile_path(level, column, row)) as tile:
            tile.load()
            x0, y0 = column * TILE, row * TILE
            if (left - x0, top - y0, right - x0, bottom - y0) == (0, 0) + tile.size:
                return tile.copy()
            return tile.crop((left - x0, top - y0, right - x0, bottom - y0))
    canvas = None
    for row in range(top // TILE, (bottom - 1) // TILE + 1):
        for column in range(left // TILE, (right - 1) // TILE + 1):
            with Image.open(pyr.tile_path(level, column, row)) as tile:
                tile.load()
                if canvas is None:
                    canvas = Image.new(tile.mode, (right - left, bottom - top))
                canvas.paste(tile, (column * TILE - left, row * TILE - top))
    return canvas


def render(pyr: Pyramid, resolved: Resolved) -> Image.Image:
    """The answer's pixels: the smallest level that still covers the size asked for, the
    region's tiles, resized, mirrored, rotated and in the quality asked for."""
    x, y, w, h = resolved.box
    tw, th = resolved.size
    scale = min(w / tw, h / th)
    level = 0
    while level + 1 < pyr.levels and 2 ** (level + 1) <= scale:
        level += 1
    factor = 2**level
    lw, lh = pyr.level_size(level)
    fx0, fy0, fx1, fy1 = x / factor, y / factor, (x + w) / factor, (y + h) / factor
    left, top = int(fx0), int(fy0)
    right, bottom = min(lw, math.ceil(fx1)), min(lh, math.ceil(fy1))
    part = _assemble(pyr, level, (left, top, right, bottom))
    inner = (fx0 - left, fy0 - top, min(fx1, right) - left, min(fy1, bottom) - top)
    if part.size != (tw, th) or inner != (0, 0, tw, th):
        part = part.resize((tw, th), Image.Resampling.LANCZOS, box=inner)
    request = resolved.request
    if request.mirror:
        part = ImageOps.mirror(part)
    if request.rotation:
        turn = {
            90: Image.Transpose.ROTATE_270,  # the API turns clockwise, Pillow the other way
            180: Image.Transpose.ROTATE_180,
            270: Image.Transpose.ROTATE_90,
        }
        part = part.transpose(turn[request.rotation])
    if request.quality == "gray":
        part = part.convert("L")
    elif request.quality == "bitonal":
        part = part.convert("L").point(lambda value: 255 if value >= 128 else 0)
        if request.format == "png":
            part = part.convert("1")
    elif request.quality == "color" and part.mode != "RGB":
        part = part.convert("RGB")
    return part


def encode(image: Image.Image, fmt: str, target: Path) -> None:
    if fmt == "jpg":
        image.save(target, "JPEG", quality=85)
    elif fmt == "png":
        image.save(target, "PNG", compress_level=3)
    else:
        image.save(target, "WEBP", quality=80, method=2)


# --- the answer cache -----------------------------------------------------------------


_written_since_sweep: dict[str, int] = {}


def cache_dir(media_dir: str) -> Path:
    return Path(media_dir) / "iiif" / "cache"


def cache_path(media_dir: str, key: str, fmt: str) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()
    return cache_dir(media_dir) / digest[:2] / f"{digest}.{fmt}"


def cached(path: Path) -> bool:
    """Whether the answer is there; marks it as used now (the cache drops the least recently
    used first)."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    return True


def keep(media_dir: str, path: Path, max_bytes: int) -> None:
    """Count a new answer; past a 32nd of the cap written by this process since its last
    sweep, sweep (one process at a time)."""
    root = str(cache_dir(media_dir))
    written = _written_since_sweep.get(root, 0) + path.stat().st_size
    _written_since_sweep[root] = written
    if written >= max_bytes // 32:
        sweep(media_dir, max_bytes)


def sweep(media_dir: str, max_bytes: int) -> int:
    """Remove the least recently used answers until the cache holds at most ``max_bytes``;
    returns the bytes it holds after."""
    root = cache_dir(media_dir)
    _written_since_sweep[str(root)] = 0
    with _locked(root / ".sweep.lock", wait=False) as mine:
        if not mine:
            return -1
        entries = []
        total = 0
        for folder in root.iterdir() if root.exists() else ():
            if not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                with contextlib.suppress(FileNotFoundError):
                    stat = entry.stat()
                    entries.append((stat.st_mtime, stat.st_size, entry.path))
                    total += stat.st_size
        if total <= max_bytes:
            return total
        entries.sort()
        for _, size, path in entries:
            if total <= max_bytes * 0.9:
                break
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                total -= size
        return total


# --- the use cases the door calls -----------------------------------------------------


@dataclass(frozen=True)
class ImageAnswer:
    path: Path
    mime: str
    canonical: str  # path of the canonical request, from /iiif/3/
    published: bool


def service_id(base_url: str, image: ImageId) -> str:
    return f"{base_url}/iiif/3/{image.text}"


def size_of(source: Source, media_dir: str) -> tuple[int, int]:
    """The upright page's size: the pyramid's when it is made, else read from the file's
    header (nothing decoded)."""
    found = _read_pyramid(pyramid_root(media_dir, source.sha256, source.image.page))
    if found is not None:
        return found.width, found.height
    return page_sizes(str(storage.absolute(media_dir, source.original_path)))[source.image.page - 1]


@functools.lru_cache(maxsize=1024)
def page_sizes(original: str) -> tuple[tuple[int, int], ...]:
    """The upright size of every page of an original (content-addressed: never stale)."""
    return tuple(imaging.page_sizes(Path(original)))


def info(
    identifier: str, *, may_see_unpublished: bool, base_url: str, settings: ArchiveSettings
) -> tuple[dict, bool]:
    """The image information (info.json) of a visible image, and whether it is public."""
    source = find_source(parse_identifier(identifier), may_see_unpublished)
    width, height = size_of(source, settings.media_dir)
    limits = Limits.of(settings)
    levels = 1
    while max(-(-width // 2 ** (levels - 1)), -(-height // 2 ** (levels - 1))) > TILE:
        levels += 1
    sizes = []
    for level in reversed(range(levels)):
        w, h = -(-width // 2**level), -(-height // 2**level)
        if w <= limits.max_width and h <= limits.max_height and w * h <= limits.max_area:
            sizes.append({"width": w, "height": h})
    body = {
        "@context": IMAGE_CONTEXT,
        "id": service_id(base_url, source.image),
        "type": "ImageService3",
        "protocol": PROTOCOL,
        "profile": "level2",
        "width": width,
        "height": height,
        "maxWidth": limits.max_width,
        "maxHeight": limits.max_height,
        "maxArea": limits.max_area,
        "sizes": sizes,
        "tiles": [{"width": TILE, "height": TILE, "scaleFactors": [2**k for k in range(levels)]}],
        "extraQualities": ["color", "gray", "bitonal"],
        "extraFormats": ["webp"],
        "extraFeatures": EXTRA_FEATURES,
    }
    return body, source.published


def image(
    identifier: str,
    region: str,
    size: str,
    rotation: str,
    quality_format: str,
    *,
    may_see_unpublished: bool,
    settings: ArchiveSettings,
) -> ImageAnswer:
    """The answer to an image request: from the cache, or made from the page's pyramid and
    kept. The caller's right to see the image is checked first, every time."""
    request = parse(identifier, region, size, rotation, quality_format)
    source = find_source(request.image, may_see_unpublished)
    media_dir = settings.media_dir
    pyr = pyramid(source, media_dir)
    resolved = resolve(request, pyr.width, pyr.height, Limits.of(settings))
    canonical = f"{request.image.text}/{resolved.canonical}"
    path = cache_path(media_dir, f"v{PYRAMID_VERSION}/{source.sha256}/{canonical}", request.format)
    if not cached(path):
        picture = render(pyr, resolved)
        storage.write_atomic(path, lambda temp: encode(picture, request.format, temp))
        keep(media_dir, path, settings.iiif_cache_max_bytes)
    return ImageAnswer(path, FORMATS[request.format], canonical, source.published)
