"""Files (photos, PDFs, uploads, job results) behind one interface; local disk by default.

Keys are relative paths chosen by the system (never taken from an upload), so a stored
file can later move to object storage by changing only this module.
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from flask import current_app


#: stored files hold personal data (photos, letters, exports): readable by the app's user alone
FILE_MODE = 0o600
DIR_MODE = 0o700


class LocalStorage:
    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    def _folder(self, path: Path) -> None:
        """Create the folders down to `path` as 0700 (mkdir's mode is cut by the umask; chmod is not)."""
        missing = []
        folder = path
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for folder in reversed(missing):
            try:
                folder.mkdir(mode=DIR_MODE)
            except FileExistsError:  # another process made it meanwhile
                continue
            os.chmod(folder, DIR_MODE)

    def _path(self, key: str) -> Path:
        pure = PurePosixPath(key)
        if pure.is_absolute() or ".." in pure.parts or not pure.parts:
            raise ValueError(f"bad storage key {key!r}")
        return self.root.joinpath(*pure.parts)

    def new_key(self, folder: str, suffix: str = "") -> str:
        return f"{folder}/{uuid.uuid4().hex}{suffix}"

    def save(self, key: str, data: bytes | BinaryIO) -> str:
        path = self._path(key)
        self._folder(path.parent)
        tmp = path.with_name(path.name + ".part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        os.fchmod(fd, FILE_MODE)  # also when a stale .part with other bits was left behind
        with os.fdopen(fd, "wb") as out:
            if isinstance(data, (bytes, bytearray)):
                out.write(data)
            else:
                shutil.copyfileobj(data, out)
        tmp.replace(path)  # a reader never sees half a file
        return key

    def path(self, key: str) -> Path:
        """A local path for libraries that want one (reportlab, xlsxwriter).

        A library that writes there creates the file itself: the app's umask (077, set in
        create_app) makes it 0600."""
        path = self._path(key)
        self._folder(path.parent)
        return path

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def get_storage() -> LocalStorage:
    return LocalStorage(current_app.config["STORAGE_DIR"])
