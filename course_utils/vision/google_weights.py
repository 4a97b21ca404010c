"""Google's ViT-B/32 from the course cache, or the tiny ViT: :func:`load_backbone` (data layer).

:func:`load_backbone` makes the seed's own call
``vit.vit_b32(..., pretrained=True, include_top=False, pretrained_top=False)`` when the weights
are in the course cache (``make fetch NAME=vit-b32``) and the profile asks for them, else it
returns the course's tiny ViT, with a :class:`BackboneInfo` that says in one line which
backbone and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from course_utils.data import REGISTRY, CourseDataError, cached_path, is_cached
from course_utils.paths import data_dir
from course_utils.profile import PROFILE
from course_utils.vision.tiny_vit import TINY_VIT_CONFIG, TINY_VIT_NAME
from course_utils.vision.weights import load_tiny_vit, read_card, sha256_of

__all__ = [
    "GOOGLE_B32_FILE",
    "BackboneInfo",
    "google_weights_available",
    "load_backbone",
    "place_google_weights",
]


GOOGLE_B32_FILE = "ViT-B_32_imagenet21k+imagenet2012.npz"
"""The file name vit-keras 0.2.0 asks ``keras.utils.get_file`` for (``load_pretrained``)."""


def google_weights_available() -> bool:
    """True when the course cache holds ViT-B/32's ``.npz`` and it verifies (recorded sha256)."""
    return is_cached("vit-b32")


def place_google_weights() -> Path:
    """Put the cached ViT-B/32 ``.npz`` where vit-keras looks for it, and return that path.

    The course cache (``$COURSE_DATA_DIR``) is the one place ``make fetch`` writes to, with its
    sha256 recorded at first fetch and verified after; vit-keras reads from the Keras cache
    (``keras.utils.get_file(fname, origin, cache_subdir="weights")``: ``<Keras home>/weights``).
    We ask ``keras.utils.get_file`` itself (public API, so the folder is exactly the one
    vit-keras will use) to fetch the verified file from the course cache (a ``file://`` origin:
    a local copy, no network) with its sha256: a file already there with that sha256 is kept,
    a different one (stale, partial) is replaced, so vit-keras never downloads and never reads
    an unverified file.
    """
    import keras

    entry = REGISTRY["vit-b32"][0]
    source = cached_path(entry)
    if not google_weights_available():
        raise CourseDataError(
            f"Google's ViT-B/32 weights are not in the course cache ({source}) or fail their recorded "
            "sha256. Fix: `make fetch NAME=vit-b32` (about 340 MB)."
        )
    placed = keras.utils.get_file(
        fname=GOOGLE_B32_FILE,
        origin=source.resolve().as_uri(),
        cache_subdir="weights",
        file_hash=sha256_of(source),
        hash_algorithm="sha256",
    )
    return Path(placed)


@dataclass
class BackboneInfo:
    """Which backbone :func:`load_backbone` returned and why, printable in one line."""

    name: str
    kind: str  # "google" or "tiny"
    image_size: int
    patch_size: int
    hidden_size: int
    params: int
    reason: str

    def __str__(self) -> str:
        return (
            f"Backbone: {self.name} ({self.params / 1e6:.2f} M parameters, "
            f"{self.image_size}×{self.image_size} input, "
            f"patch {self.patch_size}, {self.hidden_size} features). {self.reason}"
        )


def load_backbone(image_size: int = 224, activation: str = "linear", google: bool | None = None):
    """A pretrained ViT without its top, and a :class:`BackboneInfo` saying which and why.

    ``google=None`` (the default) follows the profile: Google's ViT-B/32 only with
    ``COURSE_PROFILE=full`` (at 224×224 it is far too slow for the default profile's
    budgets on a laptop CPU), the tiny ViT otherwise.

    With ``google=True`` and ViT-B/32's weights in the course cache, this is the seed's call::

        vit.vit_b32(image_size=image_size, activation=activation, pretrained=True,
                    include_top=False, pretrained_top=False)

    (its weights placed first where vit-keras reads them, see :func:`place_google_weights`).
    Otherwise it is the course's tiny ViT (:func:`load_tiny_vit`), whose input is 28×28
    whatever ``image_size`` says: the pipeline must resize to ``info.image_size``.
    """
    chosen_by_profile = google is None
    if chosen_by_profile:
        google = PROFILE == "full"
    if google and google_weights_available():
        from vit_keras import vit

        place_google_weights()
        model = vit.vit_b32(
            image_size=image_size,
            activation=activation,  # unused without a top; kept as in the seed
            pretrained=True,
            include_top=False,
            pretrained_top=False,
        )
        reason = (
            f"Why: Google's weights (ImageNet-21k + ImageNet-2012) are in the course cache ({data_dir()})."
        )
        info = BackboneInfo("Google ViT-B/32", "google", image_size, 32, 768, model.count_params(), reason)
        return model, info
    model = load_tiny_vit(include_top=False)
    card = read_card()
    if google and cached_path(REGISTRY["vit-b32"][0]).is_file():
        reason = (
            "Why: Google's ViT-B/32 weights in the course cache fail their recorded sha256 "
            "(`make fetch NAME=vit-b32` fetches them again)."
        )
    elif google:
        reason = (
            "Why: Google's ViT-B/32 weights are not in the course cache "
            "(`make fetch NAME=vit-b32` adds them, about 340 MB)."
        )
    elif chosen_by_profile:
        cached = (
            "(in the cache)"
            if google_weights_available()
            else "once `make fetch NAME=vit-b32` has fetched it"
        )
        reason = (
            "Why: the default profile uses the tiny ViT; "
            f"COURSE_PROFILE=full uses Google's ViT-B/32 {cached}."
        )
    elif google_weights_available():
        reason = (
            "Why: asked for the tiny ViT (google=False), although Google's ViT-B/32 weights are in the cache."
        )
    else:
        reason = (
            "Why: asked for the tiny ViT (google=False); "
            "Google's ViT-B/32 weights are not in the cache either."
        )
    reason += (
        " The tiny ViT was pretrained on the Fashion-MNIST classes "
        f"{', '.join(card['data']['source_class_names'])} "
        f"({card['results']['test_accuracy']:.1%} test accuracy on them)."
    )
    info = BackboneInfo(
        f"course tiny ViT {TINY_VIT_NAME}",
        "tiny",
        TINY_VIT_CONFIG["image_size"],
        TINY_VIT_CONFIG["patch_size"],
        TINY_VIT_CONFIG["hidden_size"],
        model.count_params(),
        reason,
    )
    return model, info
