"""One ``.keras`` round trip for the layer tests: save, reload (safe mode), same outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np


def assert_keras_round_trip(
    model: keras.Model, inputs: Any, folder: Path, name: str = "model"
) -> keras.Model:
    """Save ``model`` as ``folder/<name>.keras``, reload it and assert identical predictions.

    ``keras.models.load_model`` runs in safe mode (no ``Lambda`` layers), so a layer that is
    not registered serializable or whose ``get_config`` misses an argument fails here.
    Returns the reloaded model for further checks (layer types, configs).
    """
    before = model.predict(inputs, verbose=0)
    path = Path(folder) / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(inputs, verbose=0), before)
    return loaded
