"""Media files on disk: content-addressed originals, derivatives, atomic writes.

Paths stored in the database are relative to MEDIA_DIR. A file written for a transaction
that then rolls back is removed again (``stage_new_file``, ``stage_new_folder``); files of
deleted media are removed only once the deletion has committed (``remove_after_commit``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

CHUNK = 1024 * 1024


class TooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


@dataclass
class Staged:
    """An incoming file written to a temporary path, hashed on the way."""

    path: Path
    sha256: str
    size: int


def _tmp_dir(media_dir: str) -> Path:
    path = Path(media_dir) / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def stage_stream(stream, media_dir: str, max_bytes: int) -> Staged:
    """Copy a stream to a temporary file, hashing it; TooLarge past ``max_bytes``."""
    digest = hashlib.sha256()
    size = 0
    path = _tmp_dir(media_dir) / f"upload-{uuid.uuid4().hex}"
    try:
        with open(path, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(max_bytes)
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Staged(path, digest.hexdigest(), size)


def stage_file(source: Path, media_dir: str, max_bytes: int) -> Staged:
    with open(source, "rb") as stream:
        return stage_stream(stream, media_dir, max_bytes)


def original_relpath(sha256: str, extension: str) -> str:
    return f"originals/{sha256[:2]}/{sha256[2:4]}/{sha256}.{extension}"


def derivative_relpath(media_id: int, kind: str) -> str:
    return f"derivatives/{media_id}/{kind}.jpg"


def absolute(media_dir: str, relpath: str) -> Path:
    return Path(media_dir) / relpath


def keep_original(staged: Staged, media_dir: str, relpath: str, session: Session) -> None:
    """Move the staged file to its content address. The same bytes stored before are kept
    as they are (and the staged copy dropped); a new file is removed again if the
    transaction rolls back."""
    target = absolute(media_dir, relpath)
    if target.exists():
        staged.path.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged.path, target)
    stage_new_file(session, target)


def write_atomic(target: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same directory, then rename over the target,
    so readers see the old file or the new one, never half of one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    os.close(handle)
    temp = Path(name)
    try:
        write(temp)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def stage_new_file(session: Session, path: Path) -> None:
    session.info.setdefault("archive_new_files", []).append(path)


def stage_new_folder(session: Session, path: Path) -> None:
    """A folder written for this transaction: removed with its contents if it rolls back."""
    session.info.setdefault("archive_new_folders", []).append(path)


def forget_new_files(session: Session, paths) -> None:
    """Files a savepoint rolled back: remove them now (the outer transaction goes on)."""
    created = session.info.get("archive_new_files", [])
    for path in paths:
        if path in created:
            created.remove(path)
            Path(path).unlink(missing_ok=True)


def remove_after_commit(session: Session, path: Path) -> None:
    session.info.setdefault("archive_doomed_files", []).append(path)


def remove_folder_after_commit(session: Session, path: Path) -> None:
    """A folder made from files that are going (an original's IIIF pyramids): removed with its
    contents once the transaction commits."""
    session.info.setdefault("archive_doomed_folders", []).append(path)


@event.listens_for(Session, "after_commit")
def _files_after_commit(session: Session) -> None:
    session.info.pop("archive_new_files", None)
    session.info.pop("archive_new_folders", None)
    for path in session.info.pop("archive_doomed_files", []):
        Path(path).unlink(missing_ok=True)
    for path in session.info.pop("archive_doomed_folders", []):
        shutil.rmtree(path, ignore_errors=True)


@event.listens_for(Session, "after_soft_rollback")
def _files_after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.nested:
        return  # a savepoint: the caller cleans up what it wrote inside it
    for path in session.info.pop("archive_new_files", []):
        Path(path).unlink(missing_ok=True)
    for path in session.info.pop("archive_new_folders", []):
        shutil.rmtree(path, ignore_errors=True)
    session.info.pop("archive_doomed_files", None)
    session.info.pop("archive_doomed_folders", None)
