"""IIIF tile benchmark: a 10,000 × 8,000 scan served as 512-pixel tiles through gunicorn.

Makes a textured scan (deterministic), ingests it as a published record's media in a fresh
SQLite instance, starts gunicorn (``--preload``, 2 workers) and asks for random tiles of the
IIIF tile grid at several scale factors, as a deep-zoom viewer does:

- the pyramid build: the first tile request, which makes the page's pyramid;
- cold: tiles never asked before (the pyramid is made, the answer cache is empty for them);
- warm: the same tiles again (answered from the cache, after the visibility check).

Prints one JSON object.

    .venv/bin/python bench/iiif_tiles.py [--tiles N] [--width W --height H] [--quick]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from support import cpu_probe_ms, percentile, start_gunicorn, stop_gunicorn

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEED = 20261201
TILE = 512


def make_scan(width: int, height: int) -> bytes:
    """A scan-like JPEG: smooth paper shading, ink lines and grain."""
    import numpy as np  # the bench's own image maker
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(SEED)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    paper = 200 + 30 * np.sin(xs / 900) * np.cos(ys / 700)
    grain = rng.normal(0, 6, (height, width)).astype(np.float32)
    base = np.clip(paper + grain, 0, 255).astype(np.uint8)
    image = Image.merge(
        "RGB",
        [
            Image.fromarray(base),
            Image.fromarray(np.clip(base.astype(np.int16) - 12, 0, 255).astype(np.uint8)),
            Image.fromarray(np.clip(base.astype(np.int16) - 40, 0, 255).astype(np.uint8)),
        ],
    )
    draw = ImageDraw.Draw(image)
    random.seed(SEED)
    for _ in range(4000):
        x, y = random.randrange(width), random.randrange(height)
        draw.line((x, y, x + random.randrange(-300, 300), y + random.randrange(-40, 40)),
                  fill=(30, 25, 20), width=random.randrange(2, 9))  # fmt: skip
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def ingest(env: dict[str, str], scan: bytes) -> int:
    """A published record with the scan as its media (derivatives made, OCR off)."""
    os.environ.update(env)
    sys.path.insert(0, str(PROJECT_ROOT))
    from flask_migrate import upgrade  # the app, built here only to set the bench up

    from archive.services import media as media_service
    from archive.services import records as record_service
    from archive.settings import ArchiveSettings
    from core.app import create_app
    from core.clock import now
    from core.extensions import db
    from core.settings import settings_of

    app = create_app()
    with app.app_context():
        upgrade()
        record = record_service.create_record(
            "bench",
            {"identifier": "BENCH-IIIF-1", "title": "대형 스캔", "type": "map"},
            now=now(),
            visibility="published",
        )
        media = media_service.upload(
            "bench",
            record,
            io.BytesIO(scan),
            "scan.jpg",
            now=now(),
            settings=settings_of(ArchiveSettings),
        )
        media_id = media.id
        db.session.commit()  # processing runs now (immediate jobs)
    return media_id


def get(url: str) -> tuple[float, int]:
    began = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        body = response.read()
        assert response.status == 200, response.status
    return (time.perf_counter() - began) * 1000, len(body)


def tile_urls(base: str, width: int, height: int, count: int) -> list[str]:
    """Random tiles of the IIIF grid at scale factors 1, 2, 4, 8 and 16 (distinct)."""
    rng = random.Random(SEED)
    chosen: set[str] = set()
    factors = [1, 2, 4, 8, 16]
    while len(chosen) < count:
        factor = rng.choice(factors)
        span = TILE * factor
        column = rng.randrange(-(-width // span))
        row = rng.randrange(-(-height // span))
        x, y = column * span, row * span
        w, h = min(span, width - x), min(span, height - y)
        chosen.add(f"{base}/{x},{y},{w},{h}/{-(-w // factor)},/0/default.jpg")
    return sorted(chosen, key=lambda _: rng.random())


def figures(times: list[float]) -> dict:
    return {
        "n": len(times),
        "p50_ms": percentile(times, 50),
        "p95_ms": percentile(times, 95),
        "max_ms": round(max(times), 1),
    }


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=10_000)
    parser.add_argument("--height", type=int, default=8_000)
    parser.add_argument("--tiles", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="a 4,000 × 3,000 scan, 60 tiles")
    args = parser.parse_args()
    if args.quick:
        args.width, args.height, args.tiles = 4000, 3000, 60

    workdir = Path(tempfile.mkdtemp(prefix="bench-iiif-"))
    env = {
        "APP_ENV": "development",
        "SECRET_KEY": "bench",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "MEDIA_DIR": str(workdir / "media"),
        "INDEX_DIR": str(workdir / "index"),
        "JOBS_IMMEDIATE": "1",
        "JOBS_DB_PATH": str(workdir / "jobs.db"),
        "REDIS_URL": "",
        "ARCHIVE_TESSERACT_CMD": str(workdir / "no-tesseract"),  # OCR is not what is measured
    }
    server = None
    try:
        began = time.perf_counter()
        scan = make_scan(args.width, args.height)
        made_s = time.perf_counter() - began
        began = time.perf_counter()
        media_id = ingest(env, scan)
        ingest_s = time.perf_counter() - began
        server = start_gunicorn(env, workdir, args.workers, extra_args=["--timeout", "300"])
        base = f"{server.url}/iiif/3/{media_id}"
        with urllib.request.urlopen(base + "/info.json", timeout=60) as response:
            info = json.load(response)
        urls = tile_urls(base, info["width"], info["height"], args.tiles + 1)
        build_ms, _ = get(urls[0])  # makes the pyramid
        cold, sizes = [], []
        for url in urls[1:]:
            elapsed, size = get(url)
            cold.append(elapsed)
            sizes.append(size)
        warm = [get(url)[0] for url in urls[1:]]
        media = Path(env["MEDIA_DIR"])
        result = {
            "image": f"{info['width']}x{info['height']}",
            "original_bytes": len(scan),
            "scan_made_s": round(made_s, 1),
            "ingest_s": round(ingest_s, 1),
            "scale_factors": info["tiles"][0]["scaleFactors"],
            "pyramid_build_first_tile_ms": round(build_ms, 1),
            "pyramid_bytes": folder_bytes(media / "iiif" / "pyramids"),
            "tiles_cold": figures(cold),
            "tiles_warm": figures(warm),
            "tile_bytes_mean": round(sum(sizes) / len(sizes)),
            "cache_bytes": folder_bytes(media / "iiif" / "cache"),
            "workers": args.workers,
            "cpu_probe_ms": cpu_probe_ms(),
        }
        print(json.dumps(result))
    finally:
        if server is not None:
            stop_gunicorn(server)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
