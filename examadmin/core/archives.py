"""Untrusted zip archives: their structure learnt cheaply, before zipfile parses them.

zipfile reads the whole central directory when it opens a zip: for a 300,000-entry zip
that is seconds and hundreds of MB before any limit can be checked. The end record says
how many entries there are; the directory's fixed-size headers can be walked and counted
without building anything.
"""
from __future__ import annotations

import struct
from pathlib import Path

_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")  # one central directory header (46 bytes)


def _directory(fh, size: int) -> tuple[int, int, int] | None:
    """(declared entries, start, size) of the central directory, from the end record."""
    tail_size = min(size, _EOCD.size + 65535)  # the record, then a comment of up to 64 KB
    fh.seek(size - tail_size)
    tail = fh.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        return None
    _, _, _, _, entries, cd_size, _, _ = _EOCD.unpack_from(tail, at)
    end_at = size - tail_size + at
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF:  # zip64: the real figures are in its own record
        if end_at < _EOCD64_LOCATOR.size + _EOCD64.size:
            return None
        fh.seek(end_at - _EOCD64_LOCATOR.size - _EOCD64.size)
        record = fh.read(_EOCD64.size)
        if record[:4] != b"PK\x06\x06":
            return None
        entries, cd_size = _EOCD64.unpack(record)[7:9]
        end_at -= _EOCD64_LOCATOR.size + _EOCD64.size
    # As zipfile does: the directory ends where the end record begins (data may be prepended).
    return entries, end_at - cd_size, cd_size


def count_entries(path: str | Path, limit: int) -> int | None:
    """How many entries the zip holds, counted up to limit + 1 without parsing the central
    directory (300,000 entries cost zipfile seconds and hundreds of MB); None if not a zip.

    The count declared in the end record is checked first, then the directory's headers are
    walked, as a forged record may declare fewer than there are (zipfile reads them all).
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        directory = _directory(fh, size)
        if directory is None:
            return None
        declared, start, cd_size = directory
        if declared > limit:
            return declared
        if start < 0:
            return None
        fh.seek(start)
        count, walked = 0, 0
        while walked + _CENTRAL.size <= cd_size and count <= limit:
            header = fh.read(_CENTRAL.size)
            if len(header) < _CENTRAL.size or header[:4] != b"PK\x01\x02":
                break
            name_len, extra_len, comment_len = _CENTRAL.unpack(header)[10:13]
            fh.seek(name_len + extra_len + comment_len, 1)
            walked += _CENTRAL.size + name_len + extra_len + comment_len
            count += 1
    return count
