"""Files (photos, PDFs, uploads, job results) behind one interface; local disk by default.

Keys are relative paths chosen by the system (never taken from an upload), so a stored
file can later move to object storage by changing only this module.

STORAGE_DIR may be a network filesystem (NFS) mounted on several app machines: nothing here
is cached in a process, folders are made race-free, and a file is written under a temporary
name of its own, flushed to the server and renamed into place, so that another machine sees
either no file or the whole file, never half of one, and two writers never share a
temporary file.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import unicodedata
import uuid
from pathlib import Path, PurePath, PurePosixPath
from typing import BinaryIO

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


#: stored files hold personal data (photos, letters, exports): readable by the app's user alone
FILE_MODE = 0o600
DIR_MODE = 0o700


def upload_name(name: str | None, suffix: str | None, fallback: str) -> str:
    """The name an uploaded file is shown and downloaded as: no folders, no control or format
    characters (a right-to-left override shows "evil‮gnp.html" as "evil…lmth.png"), and the
    extension `suffix` of its type as detected from its bytes, whatever it was called: a PDF
    named .html must never open as a web page once saved. `suffix` None keeps the name's own
    (only to name a refused file in a message); `fallback` is the stem of a name left empty."""
    base = PurePath((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    base = re.sub(r'["<>:|?*]', "", base)
    path = PurePath(base) if base.strip(" .") else PurePath(fallback)
    # at most 150 bytes of stem: a saved file's name may hold 255 bytes, and 150 Han characters are 450
    stem = path.stem.strip(" .").encode()[:150].decode(errors="ignore").strip(" .") or fallback
    return stem + (path.suffix[:10] if suffix is None else suffix)


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
        # A name of its own (this writer, this machine): O_EXCL never meets another's file.
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)  # the umask cannot widen it, nor narrow it below the app's own
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, (bytes, bytearray)):
                    out.write(data)
                else:
                    shutil.copyfileobj(data, out)
                out.flush()
                os.fsync(out.fileno())  # on the file server before its row can be committed
            tmp.replace(path)  # atomic: a reader on any machine never sees half a file
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
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


# ---- files that follow the database transaction ------------------------------------------
#
# A stored file and the row that names it change together: a photo replaced in a
# transaction is deleted only once that transaction commits (until then the row still
# names it, and a rollback keeps it), and a new file whose row is rolled back is deleted.

_AFTER_COMMIT = "storage_delete_after_commit"
_AFTER_ROLLBACK = "storage_delete_after_rollback"


def delete_after_commit(session, key: str, storage: LocalStorage | None = None) -> None:
    """Delete `key` when the session's transaction commits; keep it if it rolls back."""
    session.info.setdefault(_AFTER_COMMIT, []).append((storage or get_storage(), key))


def delete_after_rollback(session, key: str, storage: LocalStorage | None = None) -> None:
    """Delete `key` if the session's transaction rolls back; keep it once it commits."""
    session.info.setdefault(_AFTER_ROLLBACK, []).append((storage or get_storage(), key))


def _delete_all(files) -> None:
    for storage, key in files:
        try:
            storage.delete(key)
        except OSError:  # a file left behind is untidy; failing the user's commit would be worse
            log.warning("could not delete stored file %s", key, exc_info=True)


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    _delete_all(session.info.pop(_AFTER_COMMIT, []))
    session.info.pop(_AFTER_ROLLBACK, None)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session, transaction) -> None:
    # The outermost transaction ended without a commit (rolled back or closed).
    if transaction.parent is None and (_AFTER_COMMIT in session.info or _AFTER_ROLLBACK in session.info):
        _delete_all(session.info.pop(_AFTER_ROLLBACK, []))
        session.info.pop(_AFTER_COMMIT, None)
