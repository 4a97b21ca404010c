"""The data loaders on the real data: Rotten Tomatoes snippets and Fashion-MNIST.

The numbers asserted here (12,752 reviews after dropping duplicates, 57.8 % fresh; 6,000
training and 1,000 test images per Fashion-MNIST class) are properties of the published
data sets, measured independently (see COURSE_DESIGN.md), not values copied from the code.
No test touches the network: COURSE_MIRROR points at a closed port on 127.0.0.1.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from course_utils import data
from course_utils.data import CourseDataError, load_fashion_mnist, load_reviews
from tests.local_mirror import closed_port_url
from tests.test_data_faults import assert_clean_error


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    monkeypatch.setenv("COURSE_MIRROR", closed_port_url())


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def reviews():
    return load_reviews(profile="default")


# ---- movie reviews -------------------------------------------------------------------------


def test_reviews_count_and_no_duplicates(reviews):
    texts = np.concatenate([reviews.x_train, reviews.x_val, reviews.x_test])
    assert len(texts) == 12_752
    assert len(set(texts.tolist())) == len(texts)
    assert all(isinstance(t, str) and t.strip() for t in texts[:500])


def test_review_splits_have_the_asked_sizes_and_are_disjoint(reviews):
    n = 12_752
    assert len(reviews.x_val) == round(0.1 * n)
    assert len(reviews.x_test) == round(0.2 * n)
    assert len(reviews.x_train) == n - len(reviews.x_val) - len(reviews.x_test)
    for x, y in [
        (reviews.x_train, reviews.y_train),
        (reviews.x_val, reviews.y_val),
        (reviews.x_test, reviews.y_test),
    ]:
        assert len(x) == len(y)
        assert y.dtype == np.int32 and set(np.unique(y)) == {0, 1}
    train, val, test = (set(x.tolist()) for x in (reviews.x_train, reviews.x_val, reviews.x_test))
    assert not train & val and not train & test and not val & test


def test_review_positive_fraction(reviews):
    labels = np.concatenate([reviews.y_train, reviews.y_val, reviews.y_test])
    assert labels.mean() == pytest.approx(0.578, abs=0.001)
    assert reviews.info.extra["positive_fraction"] == pytest.approx(labels.mean())
    # the seeded split keeps each part close to the overall balance
    for y in (reviews.y_train, reviews.y_val, reviews.y_test):
        assert abs(y.mean() - labels.mean()) < 0.03


def test_review_split_is_reproducible_and_depends_on_the_seed(reviews):
    again = load_reviews(profile="default")
    assert np.array_equal(again.x_train, reviews.x_train) and np.array_equal(again.y_test, reviews.y_test)
    other = load_reviews(profile="default", seed=99)
    assert not np.array_equal(other.x_train, reviews.x_train)
    assert sorted(other.x_test.tolist() + other.x_val.tolist() + other.x_train.tolist()) == sorted(
        reviews.x_test.tolist() + reviews.x_val.tolist() + reviews.x_train.tolist()
    )


def test_review_info_line_says_what_is_used_and_how_to_get_imdb(empty_cache):
    info = load_reviews(profile="default").info
    line = str(info)
    assert line.startswith("Using Rotten Tomatoes critic snippets")
    assert "12,752 reviews" in line
    assert "IMDB is not in the cache: run `make fetch NAME=imdb`" in line
    assert "\n" not in line
    assert info.checksum == f"sha256:{data.RT_SHA256}"
    assert info.counts == {"train": 8_927, "validation": 1_275, "test": 2_550}


def test_full_reviews_offline_with_an_empty_cache_is_one_clear_error(empty_cache):
    with pytest.raises(CourseDataError) as info:
        load_reviews(profile="full")
    assert_clean_error(info.value, "aclImdb_v1.tar.gz", "make fetch NAME=imdb", "COURSE_MIRROR")
    assert not any(empty_cache.rglob("*.tar.gz"))


def test_full_reviews_offline_as_a_learner_sees_it(empty_cache):
    """In a fresh interpreter: one traceback, ending in the CourseDataError line with the fix."""
    code = "from course_utils.data import load_reviews; load_reviews(profile='full')"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert run.stderr.count("Traceback (most recent call last)") == 1, run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("course_utils.data.CourseDataError: ") and "make fetch NAME=imdb" in last
    for library in ("urllib3/", "requests/", "pooch/"):
        assert library not in run.stderr


# ---- Fashion-MNIST -------------------------------------------------------------------------


def _fashion_available() -> bool:
    debian = all(
        data.verify(data.FASHION_MNIST_DEBIAN_DIR / e.path.split("/")[-1], e)
        for e in data.REGISTRY["fashion-mnist"]
    )
    return debian or data.is_cached("fashion-mnist")


needs_fashion = pytest.mark.skipif(
    not _fashion_available(),
    reason="Fashion-MNIST is neither in the cache nor installed from Debian: `make fetch NAME=fashion-mnist`",
)


@needs_fashion
def test_fashion_mnist_shapes_dtypes_and_labels():
    images = load_fashion_mnist()
    assert images.x_train.shape == (60_000, 28, 28) and images.x_train.dtype == np.uint8
    assert images.x_test.shape == (10_000, 28, 28) and images.x_test.dtype == np.uint8
    assert images.y_train.dtype == np.int32 and images.y_test.dtype == np.int32
    assert np.array_equal(np.bincount(images.y_train, minlength=10), np.full(10, 6_000))
    assert np.array_equal(np.bincount(images.y_test, minlength=10), np.full(10, 1_000))
    assert images.x_train.max() == 255 and images.x_train.min() == 0
    assert len(images.class_names) == 10
    assert str(images.info).startswith("Using Fashion-MNIST from the ")
    assert "70,000 images" in str(images.info)


@needs_fashion
def test_fashion_mnist_from_the_debian_package_when_the_cache_is_empty(empty_cache):
    if not data.FASHION_MNIST_DEBIAN_DIR.is_dir():
        pytest.skip("the Debian package dataset-fashion-mnist is not installed")
    images = load_fashion_mnist()
    assert "Debian package dataset-fashion-mnist" in images.info.source
    assert not empty_cache.exists() or not any(empty_cache.rglob("*.gz"))  # read in place, not copied


def test_fashion_mnist_with_no_source_names_every_fix(empty_cache, monkeypatch, tmp_path):
    monkeypatch.setattr(data, "FASHION_MNIST_DEBIAN_DIR", tmp_path / "no-debian-package")
    with pytest.raises(CourseDataError) as info:
        load_fashion_mnist()
    assert_clean_error(
        info.value, "make fetch NAME=fashion-mnist", "COURSE_MIRROR", "apt-get install dataset-fashion-mnist"
    )
