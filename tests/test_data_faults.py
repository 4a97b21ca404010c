"""Fault tests of the data layer, with a local HTTP server on 127.0.0.1 as the internet.

Each test gives ``course_utils.data.fetch_file`` a small registry entry whose checksum is
computed here, serves the file from :class:`tests.local_mirror.LocalMirror` through
``COURSE_MIRROR``, keeps the cache in ``tmp_path`` (``COURSE_DATA_DIR``), and breaks one
thing: the network, the server, the bytes, the cache folder, or the timing.
"""

from __future__ import annotations

import multiprocessing
import traceback
from pathlib import Path

import pytest

from course_utils import data
from course_utils.data import CourseDataError, fetch_file, verify
from tests.local_mirror import add_file, closed_port_url, files_in, gzipped, mirror, sha256  # noqa: F401 (fixture)

BODY = bytes(range(256)) * 400  # 100 kB of known bytes


def assert_clean_error(exc: CourseDataError, *fragments: str) -> None:
    """The error names the fix, and no urllib/requests/pooch traceback is chained to it."""
    message = str(exc)
    assert "Fix:" in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in: {message}"
    shown = "".join(traceback.format_exception(exc))
    assert "During handling of the above exception" not in shown
    assert "The above exception was the direct cause" not in shown
    for library in ("urllib3", "requests", "pooch"):
        assert f"{library}/" not in shown.replace("\\", "/"), shown


# ---- no source at all ----------------------------------------------------------------------


def test_offline_with_an_empty_cache_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_MIRROR", closed_port_url())  # nothing listens: no network
    entry = add_file(tmp_path / "origin", "toy/file.bin", BODY)
    with pytest.raises(CourseDataError) as info:
        fetch_file(entry, progress=False)
    assert_clean_error(info.value, "toy/file.bin", "make fetch NAME=toy", "COURSE_MIRROR")
    assert files_in(tmp_path / "cache") == []


def test_offline_without_a_mirror_suggests_one(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COURSE_MIRROR", raising=False)
    entry = add_file(tmp_path / "origin", "toy/file.bin", BODY)  # its origin URL is a closed loopback port
    with pytest.raises(CourseDataError) as info:
        fetch_file(entry, progress=False)
    assert_clean_error(
        info.value, entry.url, "make fetch NAME=toy", "set COURSE_MIRROR to your instructor's mirror"
    )


@pytest.mark.parametrize(
    "typo", ["127.0.0.1:8000", "ftp://127.0.0.1:8000", "http://127.0.0.1:99999", "http://"]
)
def test_a_malformed_mirror_is_named_not_mistaken_for_a_checksum_error(tmp_path, monkeypatch, typo):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_MIRROR", typo)
    entry = add_file(tmp_path / "origin", "toy/file.bin", BODY)
    with pytest.raises(CourseDataError) as info:
        fetch_file(entry, progress=False)
    assert_clean_error(info.value, f"check COURSE_MIRROR={typo} (it must look like http://")
    assert "checksum" not in str(info.value)
    assert files_in(tmp_path / "cache") == []


def test_fetch_of_an_unknown_name_lists_the_known_ones():
    with pytest.raises(CourseDataError, match="known: .*fashion-mnist"):
        data.fetch("no-such-data")


# ---- the server misbehaves -------------------------------------------------------------------


def test_a_normal_download_is_verified_and_cached(mirror, tmp_path):
    entry = add_file(mirror.root, "toy/file.bin", BODY)
    path = fetch_file(entry, progress=False)
    assert path == tmp_path / "cache" / "toy" / "file.bin"
    assert path.read_bytes() == BODY
    assert files_in(tmp_path / "cache") == ["toy/file.bin"]
    fetch_file(entry, progress=False)  # second call: served from the cache
    assert mirror.requests["toy/file.bin"] == 1


@pytest.mark.parametrize("hashing", ["sha256", "md5", "content"])
def test_a_checksum_mismatch_leaves_nothing_in_the_cache(mirror, tmp_path, hashing):
    body = gzipped(BODY) if hashing == "content" else BODY
    entry = add_file(mirror.root, "toy/file.gz", body, hashing=hashing)
    mirror.faults["toy/file.gz"] = "wrong"
    with pytest.raises(CourseDataError) as info:
        fetch_file(entry, progress=False)
    assert_clean_error(info.value, "does not match its checksum", "make fetch")
    assert files_in(tmp_path / "cache") == []


@pytest.mark.parametrize("hashing", ["sha256", "none"])
def test_a_truncated_download_leaves_nothing_half_written(mirror, tmp_path, hashing):
    # "none": without a published checksum, only the Content-Length can catch the short body
    entry = add_file(mirror.root, "toy/file.bin", BODY, hashing=hashing)
    mirror.faults["toy/file.bin"] = "truncated"
    with pytest.raises(CourseDataError) as info:
        fetch_file(entry, progress=False)
    assert_clean_error(info.value, "toy/file.bin")
    assert files_in(tmp_path / "cache") == []
    assert data.recorded_hashes() == {}


def test_a_server_error_names_the_fix(mirror, tmp_path):
    entry = add_file(mirror.root, "toy/file.bin", BODY)
    mirror.faults["toy/file.bin"] = "error"
    with pytest.raises(CourseDataError) as info:
        fetch_file(entry, progress=False)
    assert_clean_error(info.value, "500", "COURSE_MIRROR")
    assert files_in(tmp_path / "cache") == []


def test_a_missing_file_on_the_mirror_names_the_fix(mirror, tmp_path):
    entry = add_file(mirror.root, "toy/file.bin", BODY)
    (mirror.root / "toy" / "file.bin").unlink()
    with pytest.raises(CourseDataError) as info:
        fetch_file(entry, progress=False)
    assert_clean_error(info.value, "404")


# ---- the cache folder ----------------------------------------------------------------------


def test_a_cache_folder_below_a_file_is_reported_as_not_writable(mirror, tmp_path, monkeypatch):
    # Tests run as root here, and root ignores chmod; a folder below a regular file fails for everyone.
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("COURSE_DATA_DIR", str(blocker / "cache"))
    entry = add_file(mirror.root, "toy/file.bin", BODY)
    with pytest.raises(CourseDataError) as info:
        fetch_file(entry, progress=False)
    assert_clean_error(info.value, "not writable", "COURSE_DATA_DIR")
    assert mirror.requests["toy/file.bin"] == 0  # it failed before downloading anything


def test_a_read_only_cache_folder_is_reported(mirror, tmp_path, monkeypatch):
    import os

    if os.geteuid() == 0:
        pytest.skip("root may write to read-only folders; the test above covers the root case")
    cache = tmp_path / "cache"
    (cache / "toy").mkdir(parents=True)
    (cache / "toy").chmod(0o555)
    entry = add_file(mirror.root, "toy/file.bin", BODY)
    try:
        with pytest.raises(CourseDataError) as info:
            fetch_file(entry, progress=False)
    finally:
        (cache / "toy").chmod(0o755)
    assert_clean_error(info.value, "not writable", "COURSE_DATA_DIR")


@pytest.mark.parametrize("damage", ["corrupted", "truncated", "empty"])
def test_a_damaged_cached_file_is_detected_and_fetched_again(mirror, tmp_path, damage):
    entry = add_file(mirror.root, "toy/file.bin", BODY)
    cached = tmp_path / "cache" / "toy" / "file.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(
        {"corrupted": BODY[:-1] + b"\x00", "truncated": BODY[: len(BODY) // 2], "empty": b""}[damage]
    )
    assert not verify(cached, entry)
    assert fetch_file(entry, progress=False).read_bytes() == BODY
    assert mirror.requests["toy/file.bin"] == 1
    assert files_in(tmp_path / "cache") == ["toy/file.bin"]


def test_a_damaged_cached_file_that_cannot_be_refetched_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_MIRROR", closed_port_url())
    entry = add_file(tmp_path / "origin", "toy/file.bin", BODY)
    cached = tmp_path / "cache" / "toy" / "file.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(BODY[:1000])
    with pytest.raises(CourseDataError) as info:
        fetch_file(entry, progress=False)
    assert_clean_error(info.value, "make fetch NAME=toy")
    assert not cached.exists()  # the damaged copy is not left to be mistaken for the file


# ---- checksums: mirrors, recompressed gzip, no published hash --------------------------------


def test_a_recompressed_gzip_from_a_mirror_is_accepted_by_its_content_checksum(mirror, tmp_path):
    # Like Fashion-MNIST: the registry has the official .gz md5, Debian recompressed the file.
    official = gzipped(BODY, level=9, mtime=1)
    recompressed = gzipped(BODY, level=1, mtime=2)
    assert official != recompressed
    entry = add_file(tmp_path / "origin", "toy/file.gz", official, hashing="content")
    (mirror.root / "toy").mkdir()
    (mirror.root / "toy" / "file.gz").write_bytes(recompressed)
    path = fetch_file(entry, progress=False)
    assert path.read_bytes() == recompressed
    assert verify(path, entry)


def test_a_gzip_with_other_content_is_rejected(mirror, tmp_path):
    entry = add_file(tmp_path / "origin", "toy/file.gz", gzipped(BODY), hashing="content")
    (mirror.root / "toy").mkdir()
    (mirror.root / "toy" / "file.gz").write_bytes(gzipped(BODY[::-1]))
    with pytest.raises(CourseDataError) as info:
        fetch_file(entry, progress=False)
    assert_clean_error(info.value, "does not match its checksum")
    assert files_in(tmp_path / "cache") == []


def test_without_a_published_hash_the_first_fetch_records_one_and_later_damage_is_caught(mirror, tmp_path):
    entry = add_file(mirror.root, "weights/model.npz", BODY, hashing="none")
    path = fetch_file(entry, progress=False)
    assert data.recorded_hashes() == {"weights/model.npz": sha256(BODY)}

    path.write_bytes(BODY[:-10])  # damaged later, e.g. an interrupted copy
    assert not verify(path, entry)
    assert fetch_file(entry, progress=False).read_bytes() == BODY  # detected and fetched again
    assert mirror.requests["weights/model.npz"] == 2

    (mirror.root / "weights" / "model.npz").write_bytes(b"other weights")  # the source changed
    path.write_bytes(b"junk")
    with pytest.raises(CourseDataError) as info:
        fetch_file(entry, progress=False)
    assert_clean_error(info.value, "does not match its checksum")
    assert files_in(tmp_path / "cache") == ["recorded-hashes.json"]


def test_registered_entries_are_fetched_by_name(mirror, tmp_path, monkeypatch):
    files = [add_file(mirror.root, f"toy/part{i}.bin", BODY[i:]) for i in range(3)]
    monkeypatch.setitem(data.REGISTRY, "toy", files)
    paths = data.fetch("toy", progress=False)
    assert [p.name for p in paths] == ["part0.bin", "part1.bin", "part2.bin"]
    assert data.is_cached("toy")


# ---- two processes at once -----------------------------------------------------------------


def _fetch_in_child(entry, barrier, results) -> None:
    barrier.wait(timeout=30)  # start both downloads together
    try:
        path = fetch_file(entry, progress=False)
        results.put(("ok", str(path), sha256(path.read_bytes())))
    except Exception as exc:  # report it to the parent rather than die silently
        results.put(("error", type(exc).__name__, str(exc)))


@pytest.mark.parametrize("hashing", ["sha256", "none"])
def test_two_processes_fetching_the_same_file_at_once(mirror, tmp_path, hashing):
    body = BODY * 2  # 200 kB sent in 4 kB pieces every 20 ms: both downloads overlap for ~1 s
    entry = add_file(mirror.root, "toy/big.bin", body, hashing=hashing)
    mirror.faults["toy/big.bin"] = "slow"
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_fetch_in_child, args=(entry, barrier, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    assert outcomes == [("ok", str(tmp_path / "cache" / "toy" / "big.bin"), sha256(body))] * 2
    assert mirror.requests["toy/big.bin"] == 2  # they really did download at the same time
    expected = ["toy/big.bin"] + (["recorded-hashes.json"] if hashing == "none" else [])
    assert files_in(tmp_path / "cache") == sorted(expected)
    assert (tmp_path / "cache" / "toy" / "big.bin").read_bytes() == body
    if hashing == "none":
        assert data.recorded_hashes() == {"toy/big.bin": sha256(body)}


def _record_many(entry, cached_file: str, times: int, results) -> None:
    errors = []
    for _ in range(times):
        try:
            data._record_hash(entry, Path(cached_file))
        except Exception as exc:
            errors.append(repr(exc))
    results.put(errors[:3])


def test_two_processes_recording_the_same_hash_at_once(tmp_path, monkeypatch):
    # What two processes that fetched the same file without a published hash do at the end.
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    entry = data.RemoteFile(path="weights/model.npz", url=closed_port_url(), known_hash=None)
    cached = tmp_path / "cache" / entry.path
    cached.parent.mkdir(parents=True)
    cached.write_bytes(BODY)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(target=_record_many, args=(entry, str(cached), 300, results)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    assert outcomes == [[], []]
    assert data.recorded_hashes() == {entry.path: sha256(BODY)}
    assert files_in(tmp_path / "cache") == ["recorded-hashes.json", "weights/model.npz"]


def test_a_gzip_damaged_anywhere_is_detected_and_fetched_again(mirror, tmp_path):
    # A flipped byte inside the deflate stream raises zlib.error (not an OSError) while reading.
    text = b"".join(f"row {i}: {i * i} {i % 7}\n".encode() for i in range(5000))
    entry = add_file(mirror.root, "toy/table.gz", gzipped(text), hashing="content")
    good = gzipped(text)
    cached = tmp_path / "cache" / "toy" / "table.gz"
    cached.parent.mkdir(parents=True)
    for position in range(10, len(good) - 8, 53):
        damaged = bytearray(good)
        damaged[position] ^= 0xFF
        cached.write_bytes(bytes(damaged))
        assert verify(cached, entry) is False, position
    assert fetch_file(entry, progress=False).read_bytes() == good
    assert mirror.requests["toy/table.gz"] == 1


def test_damaged_recorded_hashes_file_names_the_fix(tmp_path, monkeypatch):
    from course_utils import data

    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    (tmp_path / data.RECORDED_HASHES).write_text("{not json")
    with pytest.raises(data.CourseDataError, match="is damaged.*Fix: delete"):
        data.recorded_hashes()
