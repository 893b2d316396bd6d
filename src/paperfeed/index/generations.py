"""Index directories as immutable generations: written aside, checked, swapped by a pointer.

Tantivy and faiss memory-map their files, and reading a mapped page past the end of a
truncated file kills the process with SIGBUS; no Python handler can catch it. So a
reader never opens files it has not checked:

- every generation (``<root>/<name>/``) is written in full, fsynced, and only then named
  in ``<root>/CURRENT`` (a rename, itself fsynced), so no reader sees a half-written one;
- each generation carries ``paperfeed-manifest.json``: every file's size and a blake2b
  checksum (of the whole file up to ``FULL_HASH_MAX``, else of its first and last
  ``EDGE`` bytes), checked before the generation is opened; sizes are checked again with
  one ``stat`` per file before each search, since a file can be damaged while open;
- a generation that fails the check is renamed ``<name>.damaged-<seq>`` (kept for a
  post-mortem) and the sync loop builds a new one from the database.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "paperfeed-manifest.json"
POINTER = "CURRENT"
FULL_HASH_MAX = 1 << 20
EDGE = 64 << 10
KEEP_DAMAGED = 2
# tantivy's lock files change while the index is open; they hold no data
_UNCHECKED = {".tantivy-writer.lock", ".tantivy-meta.lock", MANIFEST}


class DamagedIndex(RuntimeError):
    """A generation whose files do not match its manifest."""


@dataclass
class Check:
    ok: bool
    problem: str = ""


def current(root: Path) -> str | None:
    try:
        return (root / POINTER).read_text().strip() or None
    except FileNotFoundError:
        return None


def next_name(root: Path, prefix: str) -> str:
    taken = [int(p.name[len(prefix):].split(".")[0]) for p in root.glob(f"{prefix}*")
             if p.name[len(prefix):].split(".")[0].isdigit()]
    return f"{prefix}{max(taken, default=0) + 1:06d}"


def _digest(path: Path, size: int) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        if size <= FULL_HASH_MAX:
            h.update(fh.read())
        else:
            h.update(fh.read(EDGE))
            fh.seek(size - EDGE)
            h.update(fh.read(EDGE))
    return h.hexdigest()


def _data_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name not in _UNCHECKED)


def write_manifest(folder: Path, **extra) -> None:
    """Record every file's size and checksum, then fsync the files and the folder."""
    files = {}
    for path in _data_files(folder):
        size = path.stat().st_size
        files[path.name] = [size, _digest(path, size)]
        _fsync(path)
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps({"files": files, **extra}))
    _fsync(tmp)
    os.replace(tmp, folder / MANIFEST)
    _fsync(folder)


def read_manifest(folder: Path) -> dict:
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def verify(folder: Path, *, checksums: bool = True) -> Check:
    """Whether the folder's files are exactly those its manifest lists (sizes, checksums)."""
    files = read_manifest(folder).get("files")
    if files is None:
        return Check(False, f"{folder.name}: no manifest")
    for name, (size, digest) in files.items():
        path = folder / name
        try:
            actual = path.stat().st_size
        except FileNotFoundError:
            return Check(False, f"{name} is missing")
        if actual != size:
            return Check(False, f"{name} has {actual} bytes, {size} expected")
        if checksums and _digest(path, size) != digest:
            return Check(False, f"{name} does not match its checksum")
    return Check(True)


def publish(root: Path, name: str) -> None:
    """Make ``name`` the current generation (atomic), and drop all but it and the previous."""
    previous = current(root)
    tmp = root / (POINTER + ".tmp")
    tmp.write_text(name)
    _fsync(tmp)
    os.replace(tmp, root / POINTER)
    _fsync(root)
    _remove_old(root, keep={name, previous})


def set_aside(root: Path, name: str, seq: int) -> Path:
    """Rename a damaged generation out of the way and forget it as current."""
    target = root / f"{name}.damaged-{seq}"
    if current(root) == name:
        (root / POINTER).unlink(missing_ok=True)
    if (root / name).exists():
        os.replace(root / name, target)
    damaged = sorted(root.glob("*.damaged-*"), key=lambda p: p.stat().st_mtime)
    for old in damaged[:-KEEP_DAMAGED]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def copy_generation(source: Path | None, target: Path) -> None:
    """A new generation that starts as ``source``: segment files are hard links (tantivy
    never rewrites one), the small JSON files real copies (rewritten in place by rename)."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    if source is None:
        return
    for path in _data_files(source):
        if path.suffix == ".json":
            shutil.copy2(path, target / path.name)
        else:
            try:
                os.link(path, target / path.name)
            except OSError:
                shutil.copy2(path, target / path.name)


def _remove_old(root: Path, keep: set) -> None:
    # The previous generation stays: a reader in another process may be opening it now.
    for child in root.iterdir():
        if child.is_dir() and "." not in child.name and child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
