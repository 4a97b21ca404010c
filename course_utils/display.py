"""Tables for people: ``display(format_table(frame))`` instead of ``display(frame)``.

A raw DataFrame shows code names as headers (``seconds_per_epoch``), integers that went
through a float column as ``3.000000``, missing values as ``nan``, large counts without
separators (``28339968``) and small differences as ``3.576279e-07``. :func:`format_table` returns a
pandas ``Styler`` that shows the same numbers for reading:

* headers and index names with spaces (``seconds per epoch``), or the names you give;
* whole numbers (int columns, or float columns whose values are all whole) with thousands
  separators: ``28,339,968``, ``3``;
* other numbers with the same decimals down a column, three significant digits for its
  largest value (``0.812``; ``12.35``; ``120.3`` and ``0.5``), tiny ones in short scientific
  notation (``3.6e-07``);
* missing values as an en dash.

``formats`` overrides a column's format (a format string such as ``"{:.1%}"`` or a
function), keyed by the column's name in ``frame``. The numbers themselves are not
changed: ``format_table(frame).data`` is the frame, renamed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["format_table", "human_name", "number_format"]

MISSING = "–"


def human_name(name: Any) -> Any:
    """``"seconds_per_epoch"`` -> ``"seconds per epoch"``; other labels unchanged."""
    return name.replace("_", " ") if isinstance(name, str) else name


def number_format(values: pd.Series) -> str | None:
    """The format of a numeric column, chosen from its values (None: not numeric)."""
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return None
    finite = values[np.isfinite(values.astype("float64"))].astype("float64")
    if pd.api.types.is_integer_dtype(values) or (
        len(finite) and (finite == finite.round()).all() and finite.abs().max() < 1e15
    ):
        return "{:,.0f}"
    nonzero = finite[finite != 0].abs()
    if len(nonzero) == 0:
        return "{:.1f}"
    if nonzero.max() < 1e-3:
        return "{:.1e}"  # e.g. differences from a reference: 3.6e-07
    # One number of decimals per column (so the decimal points line up): three significant
    # digits for the column's largest value, at least one decimal and at most four.
    decimals = int(min(4, max(1, 2 - np.floor(np.log10(nonzero.max())))))
    return f"{{:,.{decimals}f}}"


def format_table(
    frame: pd.DataFrame,
    formats: Mapping[str, str | Callable] | None = None,
    names: Mapping[str, str] | None = None,
) -> pd.io.formats.style.Styler:
    """``frame`` formatted for reading (see the module's docstring); display it with ``display``.

    ``names`` maps column or index names to headers (default: underscores become spaces).
    """
    formats, names = dict(formats or {}), dict(names or {})

    def rename(label: Any) -> Any:
        return names.get(label, human_name(label))

    shown = frame.rename(columns=rename)
    shown.index = (
        shown.index.rename([rename(n) for n in shown.index.names])
        if shown.index.nlevels > 1
        else shown.index.rename(rename(shown.index.name))
    )
    if shown.columns.nlevels > 1:
        shown.columns = shown.columns.rename([rename(n) for n in shown.columns.names])
    else:
        shown.columns.name = rename(shown.columns.name)
    by_column = {}
    for original, new in zip(frame.columns, shown.columns):
        fmt = formats.get(original if not isinstance(original, tuple) else original[0]) or number_format(
            frame[original]
        )
        if fmt is not None:
            by_column[new] = fmt
    styler = shown.style.format(by_column, na_rep=MISSING).format_index(
        lambda v: f"{v:,}" if isinstance(v, (int, np.integer)) else v, axis=0
    )
    if isinstance(frame.index, pd.RangeIndex) and frame.index.name is None:
        styler = styler.hide(axis="index")  # 0, 1, 2, ... says nothing
    return styler
