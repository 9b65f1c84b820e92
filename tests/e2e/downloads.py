"""Waiting for a file the browser downloads.

Chromium reserves the final file name with an empty file as soon as a download starts and
writes into `<name>.crdownload` beside it, renaming at the end. A file is therefore only
done when no `.crdownload` is left in the folder, it is not empty, and its size has stopped
changing. Looking only at the name once returned that empty placeholder (a CI failure).
"""
from __future__ import annotations

import time
from pathlib import Path


def wait_for_download(folder: Path, pattern: str, timeout: float = 15,
                      seen: set | frozenset = frozenset()) -> Path:
    """The finished file matching `pattern` in `folder` that is not among `seen`."""
    deadline = time.monotonic() + timeout
    last_size = None
    while time.monotonic() < deadline:
        found = _finished(folder, pattern, seen)
        if found is not None:
            size = found.stat().st_size
            if size == last_size:
                return found
            last_size = size
        time.sleep(0.2)
    raise AssertionError(f"no finished {pattern} downloaded into {folder}")


def _finished(folder: Path, pattern: str, seen) -> Path | None:
    if any(folder.glob("*.crdownload")):
        return None
    for path in sorted(folder.glob(pattern)):
        if path not in seen and path.stat().st_size > 0:
            return path
    return None
