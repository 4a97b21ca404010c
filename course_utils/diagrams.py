"""Schematic figures drawn with matplotlib: where a picture beats prose (lesson code).

Three diagrams, each a function that returns a :class:`matplotlib.figure.Figure` (the
notebook shows it with ``plt.show()``):

* :func:`encoder_blocks_figure` -- the post-LN block of "Attention Is All You Need" and of
  the seed (LayerNorm *after* each skip connection) beside the pre-LN block of the Vision
  Transformer and of most models since (LayerNorm *before* each branch), notebook 04;
* :func:`multi_head_figure` -- multi-head attention as split, attend, concatenate,
  project, with the shapes at each step, notebook 03;
* :func:`vit_pipeline_figure` -- the Vision Transformer from image to class, notebook 06.

Every box is a text artist with a rounded frame, so a test can find each labelled part by
its text. Only matplotlib: no files, no data.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

__all__ = ["encoder_blocks_figure", "multi_head_figure", "vit_pipeline_figure"]

# One colour per kind of operation, the same in every diagram.
COLOURS = {
    "data": "#f2f2f2",
    "attention": "#fbd5b5",
    "norm": "#fff2a8",
    "add": "#d9ead3",
    "dense": "#cfe2f3",
    "reshape": "#e6d7f0",
    "head": "#f4cccc",
}


def _box(
    ax,
    x: float,
    y: float,
    text: str,
    kind: str,
    width: float = 2.6,
    height: float = 0.55,
    fontsize: float = 9,
):
    """A labelled rounded box centred on (x, y) in data coordinates; returns its Text."""
    return ax.text(
        x,
        y,
        text,
        ha="center",
        va="center",
        fontsize=fontsize,
        wrap=False,
        bbox=dict(boxstyle="round,pad=0.3", facecolor=COLOURS[kind], edgecolor="black", linewidth=0.8),
    )


def _arrow(ax, start: tuple[float, float], end: tuple[float, float], style: str = "-|>", **kwargs) -> None:
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle=style,
            mutation_scale=10,
            linewidth=1.0,
            color="black",
            shrinkA=9,
            shrinkB=9,
            **kwargs,
        )
    )


def _skip(ax, x: float, y_from: float, y_to: float, left: float = 1.55, add_half_width: float = 0.72) -> None:
    """A skip connection: leaves the main path at y_from, runs left of it, enters the Add at y_to."""
    ax.plot([x, x - left, x - left], [y_from, y_from, y_to], color="tab:green", linewidth=1.2)
    ax.add_patch(
        FancyArrowPatch(
            (x - left, y_to),
            (x - add_half_width, y_to),
            arrowstyle="-|>",
            mutation_scale=10,
            linewidth=1.2,
            color="tab:green",
            shrinkA=0,
            shrinkB=2,
        )
    )


def _column(ax, x: float, steps: list[tuple[str, str]], skips: list[tuple[int, int]], title: str) -> None:
    """A vertical stack of boxes from the bottom up, arrows between them, skip connections."""
    ys = [0.6 + 1.0 * i for i in range(len(steps))]
    for (text, kind), y in zip(steps, ys):
        _box(ax, x, y, text, kind)
    for y0, y1 in zip(ys, ys[1:]):
        _arrow(ax, (x, y0), (x, y1))
    for i_from, i_to in skips:  # the skip leaves between box i_from and the next one
        _skip(ax, x, ys[i_from] + 0.5, ys[i_to])
    ax.text(x, ys[-1] + 0.8, title, ha="center", va="bottom", fontsize=10, fontweight="bold")


def _finish(fig: Figure, ax, title: str, xlim: tuple[float, float], ylim: tuple[float, float]) -> Figure:
    """A schematic's frame: its drawing area, no axes, its title; laid out."""
    ax.set(xlim=xlim, ylim=ylim)
    ax.axis("off")
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return fig


def encoder_blocks_figure() -> Figure:
    """The post-LN encoder block (paper, seed, BERT) beside the pre-LN block (ViT, GPT-2 on)."""
    fig, ax = plt.subplots(figsize=(10, 6.2))
    post = [
        ("input x  (batch, T, E)", "data"),
        ("MultiHeadAttention(x, x)", "attention"),
        ("Dropout", "dense"),
        ("Add: x + attention", "add"),
        ("LayerNormalization", "norm"),
        ("feed-forward: Dense(ff, relu), Dense(E)", "dense"),
        ("Add: skip + feed-forward", "add"),
        ("LayerNormalization", "norm"),
        ("output  (batch, T, E)", "data"),
    ]
    pre = [
        ("input x  (batch, T, E)", "data"),
        ("LayerNormalization", "norm"),
        ("MultiHeadAttention", "attention"),
        ("Add: x + attention", "add"),
        ("LayerNormalization", "norm"),
        ("MLP: Dense(mlp, GELU), Dense(E)", "dense"),
        ("Add: skip + MLP", "add"),
        ("output (LayerNorm once, after the last block)", "data"),
    ]
    _column(ax, 2.2, post, skips=[(0, 3), (4, 6)], title="post-LN (Vaswani et al. 2017; the seed; BERT)")
    _column(ax, 7.6, pre, skips=[(0, 3), (3, 6)], title="pre-LN (ViT, GPT-2 and most models since)")
    ax.text(
        2.2,
        -0.2,
        "LayerNorm after each skip: the main path\nis normalised twice per block",
        ha="center",
        va="top",
        fontsize=8,
        style="italic",
    )
    ax.text(
        7.6,
        -0.2,
        "LayerNorm inside each branch: the skip path\nruns from input to output untouched",
        ha="center",
        va="top",
        fontsize=8,
        style="italic",
    )
    ax.text(
        4.9, 4.0, "green arrows:\nskip connections", ha="center", va="center", fontsize=8, color="tab:green"
    )
    return _finish(
        fig,
        ax,
        "One Transformer encoder block, two orders of the same parts",
        xlim=(-0.6, 10.6),
        ylim=(-1.0, 10.4),
    )


def multi_head_figure(num_heads: int = 4) -> Figure:
    """Multi-head attention: project, split into heads, attend per head, merge, project."""
    fig, ax = plt.subplots(figsize=(11, 5.6))
    H = num_heads
    _box(ax, 1.2, 5.0, "x  (batch, T, E)", "data", fontsize=9)
    for i, name in enumerate("QKV"):
        y = 6.1 - 1.1 * i
        _box(ax, 3.6, y, f"{name} = x W_{name.lower()}\n(batch, T, H·d)", "dense", fontsize=8)
        _arrow(ax, (1.9, 5.0), (2.75, y))
    _box(
        ax,
        6.2,
        5.0,
        "split_heads\nreshape (batch, T, H, d)\ntranspose (batch, H, T, d)",
        "reshape",
        fontsize=8,
    )
    for i in range(3):
        _arrow(ax, (4.45, 6.1 - 1.1 * i), (5.25, 5.0))
    head_ys = [6.6 - 3.2 * h / max(H - 1, 1) for h in range(H)]
    for h, y in enumerate(head_ys):
        _box(ax, 8.7, y, f"head {h}: softmax(Q_{h} K_{h}ᵀ/√d) V_{h}", "head", fontsize=8)
        _arrow(ax, (7.15, 5.0), (7.45, y))
    _box(
        ax,
        8.7,
        2.2,
        "merge_heads\ntranspose (batch, T, H, d)\nreshape = concatenate (batch, T, H·d)",
        "reshape",
        fontsize=8,
    )
    for y in head_ys:
        _arrow(ax, (9.95, y), (10.1, 2.6), connectionstyle="arc3,rad=-0.2")
    _box(
        ax,
        5.2,
        2.2,
        "project: W_o  (H·d × E)\n= Σ_h head_h W_o[h]  (a sum, not an average)",
        "dense",
        fontsize=8,
    )
    _arrow(ax, (7.4, 2.2), (6.9, 2.2))
    _box(ax, 1.6, 2.2, "output  (batch, T, E)", "data", fontsize=9)
    _arrow(ax, (3.5, 2.2), (2.6, 2.2))
    ax.text(
        6.2,
        0.9,
        f"H = {H} heads of size d (Keras: key_dim, per head); the paper takes d = E / H, "
        "the seed's key_dim = E makes every head full width",
        ha="center",
        fontsize=8,
        style="italic",
    )
    return _finish(
        fig, ax, "Multi-head attention: split, attend, concatenate, project", xlim=(0, 11.3), ylim=(0.4, 7.2)
    )


def vit_pipeline_figure(grid: int = 3) -> Figure:
    """The Vision Transformer from image to class (Dosovitskiy et al. 2021, Fig. 1)."""
    fig, ax = plt.subplots(figsize=(12, 4.4))
    # The image and its grid of patches.
    size = 1.8
    x0, y0 = 0.2, 1.4
    step = size / grid
    for r in range(grid):
        for c in range(grid):
            shade = 0.35 + 0.5 * ((r * grid + c) % (grid + 1)) / grid
            ax.add_patch(
                Rectangle(
                    (x0 + c * step, y0 + (grid - 1 - r) * step),
                    step,
                    step,
                    facecolor=plt.cm.Blues(shade),
                    edgecolor="white",
                    linewidth=1.5,
                )
            )
    ax.text(
        x0 + size / 2,
        y0 - 0.15,
        f"image H × W × C\ncut into N = {grid}×{grid} patches P × P",
        ha="center",
        va="top",
        fontsize=8,
    )
    # Patches as a sequence.
    seq_x, cell = 2.4, 0.16
    for i in range(grid * grid):
        ax.add_patch(
            Rectangle(
                (seq_x + cell * i, 2.1),
                0.85 * cell,
                0.45,
                facecolor=plt.cm.Blues(0.35 + 0.5 * (i % (grid + 1)) / grid),
                edgecolor="black",
                linewidth=0.5,
            )
        )
    ax.text(
        seq_x + cell * grid * grid / 2,
        1.95,
        "flatten each patch:\nN vectors of P·P·C",
        ha="center",
        va="top",
        fontsize=8,
    )
    _arrow(ax, (x0 + size, 2.3), (seq_x, 2.3))
    steps = [  # (centre x, text, kind, half width of the box in data units)
        (5.55, "patch embedding\nDense(D) = Conv2D(D, P, stride P)", "dense", 1.05),
        (8.1, "prepend [class] token\n+ position embeddings\n(N + 1, D)", "add", 0.65),
        (10.3, "Transformer encoder\n× L pre-LN blocks", "attention", 0.6),
    ]
    previous = seq_x + cell * grid * grid
    for x, text, kind, half_width in steps:
        _box(ax, x, 2.3, text, kind, fontsize=8)
        ax.add_patch(
            FancyArrowPatch(
                (previous, 2.3),
                (x - half_width - 0.05, 2.3),
                arrowstyle="-|>",
                mutation_scale=10,
                linewidth=1.0,
                color="black",
                shrinkA=2,
                shrinkB=2,
            )
        )
        previous = x + half_width + 0.05
    _box(ax, 10.3, 0.6, "[class] token output\n→ LayerNorm → head → class", "head", fontsize=8)
    _arrow(ax, (10.3, 2.0), (10.3, 0.9))
    ax.text(
        6.0,
        3.6,
        "an image is a sequence of N patch 'words': the encoder is the text Transformer's, unchanged",
        ha="center",
        fontsize=9,
        style="italic",
    )
    return _finish(
        fig, ax, "The Vision Transformer (ViT), from image to class", xlim=(0, 11.8), ylim=(0, 4.0)
    )
