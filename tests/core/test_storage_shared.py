"""Stored files on a folder several app machines share: whole files or none, no shared
temporary files, nothing cached in a process."""
from __future__ import annotations

import os
import threading

import pytest

from examadmin.core.storage import FILE_MODE, LocalStorage


def test_two_writers_of_one_key_never_mix_their_bytes(tmp_path):
    """Two machines (here threads with storages of their own) write the same key at once:
    the file is one writer's whole content, and no temporary file is left."""
    key = "shared/one.bin"
    payloads = [bytes([n]) * 4_000_000 for n in (1, 2)]
    barrier = threading.Barrier(2)

    def write(data):
        barrier.wait()
        LocalStorage(tmp_path).save(key, data)

    threads = [threading.Thread(target=write, args=(data,)) for data in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = LocalStorage(tmp_path).read(key)
    assert stored in payloads
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == ["one.bin"]


def test_a_failed_write_leaves_no_file_and_no_temporary_file(tmp_path):
    class Broken:
        def read(self, *_):
            raise OSError("网络文件系统断开")

    storage = LocalStorage(tmp_path)
    storage.save("a/ok.bin", b"old")
    with pytest.raises(OSError):
        storage.save("a/ok.bin", Broken())
    assert storage.read("a/ok.bin") == b"old"  # the previous whole file stays
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["ok.bin"]


def test_a_file_written_by_another_machine_is_seen_at_once(tmp_path):
    here, there = LocalStorage(tmp_path), LocalStorage(tmp_path)
    assert not here.exists("photos/x.jpg")
    there.save("photos/x.jpg", b"jpeg")
    assert here.exists("photos/x.jpg") and here.read("photos/x.jpg") == b"jpeg"
    assert os.stat(tmp_path / "photos" / "x.jpg").st_mode & 0o777 == FILE_MODE


def test_an_upload_name_fits_a_file_system_and_shows_no_hidden_characters():
    from examadmin.core.storage import upload_name

    long = upload_name("证" * 300 + ".html", ".pdf", "函件")
    assert long.endswith(".pdf") and len(long.encode()) <= 160 and long.startswith("证")
    assert upload_name("a\u2028b\u2029c\u202e.pdf", ".pdf", "函件") == "abc.pdf"
    assert upload_name("...", ".png", "证明材料") == "证明材料.png"
    assert upload_name("../../x.html", ".pdf", "函件") == "x.pdf"
