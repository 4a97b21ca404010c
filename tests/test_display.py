"""course_utils.display.table: numbers formatted for reading, headers in words, data unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_utils.display import format_table as table


def _text(frame, **kwargs) -> str:
    return table(frame, **kwargs).to_string()


def test_whole_numbers_missing_values_and_headers():
    frame = pd.DataFrame(
        {
            "model": ["a", "b"],
            "best_epoch": [3.0, np.nan],
            "parameters": [28339968, 1234],
            "seconds_per_epoch": [12.3456, 1.5],
        }
    ).set_index("model")
    text = _text(frame)
    assert "best epoch" in text and "seconds per epoch" in text and "best_epoch" not in text
    assert "3.000000" not in text and "nan" not in text and "–" in text
    assert "28,339,968" in text and "1,234" in text
    assert "12.3" in text and "12.3456" not in text


def test_one_number_of_decimals_per_column_and_no_range_index():
    frame = pd.DataFrame({"attention_ms": [0.5, 120.3], "cosine": [0.0761, 0.957]})
    text = _text(frame)
    assert "0.5" in text and "120.3" in text and "120.30" not in text
    assert "0.076" in text and "0.957" in text and "0.0761" not in text
    assert "attention ms" in text and not any(line.split()[:1] == ["0"] for line in text.splitlines())


def test_tiny_values_short_scientific_and_explicit_formats():
    frame = pd.DataFrame(
        {"configuration": ["x", "y"], "max_diff": [3.576279e-07, 1.2e-08], "test_accuracy": [0.8123, 0.5]}
    )
    text = _text(frame, formats={"test_accuracy": "{:.1%}"}, names={"max_diff": "max |Δ|"})
    assert "3.6e-07" in text and "3.576279e-07" not in text
    assert "81.2%" in text and "max |Δ|" in text


def test_data_is_not_changed_and_pivots_work():
    frame = pd.DataFrame(
        {
            "embed_dim": [32, 32, 768, 768],
            "choice": ["seed", "paper"] * 2,
            "parameters": [8448, 4224, 28339968, 2362368],
        }
    )
    pivot = frame.pivot(index="embed_dim", columns="choice", values="parameters")
    styler = table(pivot)
    assert (styler.data.to_numpy() == pivot.to_numpy()).all()
    text = styler.to_string()
    assert "embed dim" in text and "28,339,968" in text
