"""The schematic figures render and show the parts they are about (found by their labels)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_utils import diagrams  # noqa: E402


def _texts(fig: Figure) -> str:
    return "\n".join(t.get_text() for ax in fig.axes for t in ax.texts) + "\n" + fig._suptitle.get_text()


def _renders(fig: Figure) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=50)
    assert buffer.tell() > 5_000  # a real picture, not an empty canvas


@pytest.mark.parametrize(
    "make,labels",
    [
        (
            diagrams.encoder_blocks_figure,
            [
                "post-LN",
                "pre-LN",
                "MultiHeadAttention",
                "LayerNormalization",
                "Add: x + attention",
                "feed-forward",
                "MLP",
                "skip",
            ],
        ),
        (
            diagrams.multi_head_figure,
            [
                "split_heads",
                "merge_heads",
                "head 0",
                "head 3",
                "W_o",
                "concatenate",
                "not an average",
                "Q = x W_q",
            ],
        ),
        (
            diagrams.vit_pipeline_figure,
            [
                "patches",
                "patch embedding",
                "[class] token",
                "position embeddings",
                "Transformer encoder",
                "head",
            ],
        ),
    ],
)
def test_figure_has_labelled_parts(make, labels):
    fig = make()
    try:
        assert isinstance(fig, Figure)
        text = _texts(fig)
        missing = [label for label in labels if label not in text]
        assert not missing, missing
        _renders(fig)
    finally:
        plt.close(fig)


def test_head_count_follows_argument():
    fig = diagrams.multi_head_figure(num_heads=2)
    try:
        text = _texts(fig)
        assert "head 1" in text and "head 2:" not in text
    finally:
        plt.close(fig)


def test_boxes_stay_inside_the_figure():
    """No label is cut off: every text's window extent lies inside the figure."""
    for make in (diagrams.encoder_blocks_figure, diagrams.multi_head_figure, diagrams.vit_pipeline_figure):
        fig = make()
        try:
            fig.canvas.draw()
            renderer = fig.canvas.get_renderer()
            width, height = fig.bbox.width, fig.bbox.height
            for ax in fig.axes:
                for t in ax.texts:
                    box = t.get_window_extent(renderer)
                    assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= width + 1 and box.y1 <= height + 1, (
                        make.__name__,
                        t.get_text(),
                    )
        finally:
            plt.close(fig)
