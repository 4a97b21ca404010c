"""Training helpers shared by every notebook: one short line per model instead of progress bars.

* :class:`EpochLog` -- ``model.fit(..., verbose=0, callbacks=[EpochLog("transformer", index=1, total=4)])``
  keeps one line per model up to date in a notebook (``[1/4] transformer: epoch 3/10, 12 s so
  far, about 28 s left  accuracy 0.8230 ...``), prints e.g. ``transformer  epoch 3/10  loss
  0.5120  accuracy 0.8230  (4.1 s)`` elsewhere, and keeps the seconds each epoch took in
  ``.seconds``.
* :func:`batches` -- arrays as a ``tf.data`` pipeline of batches for ``fit`` (reshuffled every
  epoch under a seed), without tf.data's autotuning, whose thread made some epochs wait 1.6-2.5 s
  on a 2-core CPU.
* :func:`predict_in_batches` -- ``model(x)`` in inference mode, batch by batch, as NumPy
  (no ``predict`` function traced per model).
* :func:`build_metrics` -- a compiled model's metric variables created before ``fit`` (one
  trace of the training step, not two).
* :class:`BestPartWeights` -- ``EarlyStopping(restore_best_weights=True)`` for each part of a
  model trained side by side: each part ends with the weights of its own best validation epoch.
* :func:`remember_start` -- go back to a compiled model's starting point between runs
  (several seeds or data sizes without compiling, and tracing, the model again), with each
  seed's own initial weights if asked (``remember_start(model, build=build)``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np

__all__ = ["BestPartWeights", "EpochLog", "batches", "build_metrics", "predict_in_batches", "remember_start"]


class EpochLog(keras.callbacks.Callback):
    """One progress line per model, and the seconds each epoch took (``.seconds``).

    In a notebook the line is rewritten in place after every epoch, so a cell that trains
    four models shows four short lines, with the model's index and an estimate of the time
    left (the median of this model's epochs times the epochs left)::

        [2/4] BiLSTM(32): epoch 3/5, 41 s so far, about 27 s left  accuracy 0.7712  val_accuracy 0.7304
        [2/4] BiLSTM(32): done, 5 epochs in 68 s  accuracy 0.8120  val_accuracy 0.7391

    Outside a notebook (scripts, tests) it prints one line per epoch (or every ``every``
    epochs, and the last).

    Args:
        name: what the line starts with (e.g. the model's name).
        show: show the line (``False``: only record ``.seconds``).
        every: outside a notebook, print every ``every`` epochs; the last epoch is always printed.
        index, total: this model's number and how many models the cell trains ("[2/4]").
        keys: show only these metrics (e.g. the validation accuracies of models trained side by
            side, whose logs hold a loss and an accuracy per model); all of them if ``None``.

    Example::

        log = EpochLog("transformer")
        model.fit(x, y, epochs=3, verbose=0, callbacks=[log])
        # transformer  epoch 1/3  accuracy 0.6120  loss 0.6402  (2.3 s)
        log.seconds  # [2.3, 1.1, 1.1]: the first epoch also traces the training step
    """

    def __init__(
        self,
        name: str = "model",
        show: bool = True,
        every: int = 1,
        index: int | None = None,
        total: int | None = None,
        keys: list[str] | tuple[str, ...] | None = None,
    ) -> None:
        super().__init__()
        self.name = name
        self.keys = None if keys is None else tuple(keys)
        self.show = show
        self.every = max(1, int(every))
        self.prefix = f"[{index}/{total}] " if index is not None and total is not None else ""
        self.seconds: list[float] = []
        self._start = 0.0
        self._handle: Any = None
        self._last_logs: dict | None = None

    def _metrics(self, logs: dict | None) -> str:
        return "  ".join(
            f"{key} {value:.4f}"
            for key, value in sorted((logs or {}).items())
            if key != "learning_rate" and (self.keys is None or key in self.keys)
        )

    def _show(self, text: str, logs: dict | None = None) -> bool:
        """Show or rewrite this model's line in a notebook; False outside one."""
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return False
        shell = get_ipython()
        if shell is None or type(shell).__name__ == "TerminalInteractiveShell":
            return False
        metrics = self._metrics(logs)
        line = {"text/plain": f"{self.prefix}{self.name}: {text}" + (f"  {metrics}" if metrics else "")}
        if self._handle is None:
            self._handle = display(line, raw=True, display_id=True)
        else:
            self._handle.update(line, raw=True)
        return True

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._handle, self._last_logs = None, None
        if self.show:
            self._show(f"training, epoch 1/{(self.params or {}).get('epochs', '?')}")

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._start)
        self._last_logs = logs
        if not self.show:
            return
        total = (self.params or {}).get("epochs", 0)
        if total:
            left = sorted(self.seconds)[len(self.seconds) // 2] * (total - epoch - 1)
            so_far = f"epoch {epoch + 1}/{total}, {sum(self.seconds):.0f} s so far" + (
                f", about {left:.0f} s left" if epoch + 1 < total else ""
            )
        else:
            so_far = f"epoch {epoch + 1}, {sum(self.seconds):.0f} s so far"
        if self._show(so_far, logs):
            return
        if (epoch + 1) % self.every and epoch + 1 != total:
            return
        of_total = f"/{total}" if total else ""
        seconds = f"({self.seconds[-1]:.1f} s)"
        print(
            f"{self.prefix}{self.name}  epoch {epoch + 1}{of_total}  {self._metrics(logs)}  {seconds}",
            flush=True,
        )

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.show and self.seconds:
            self._show(f"done, {len(self.seconds)} epochs in {sum(self.seconds):.0f} s", self._last_logs)


class BestPartWeights(keras.callbacks.Callback):
    """Each part of a model trained side by side ends with the weights of its own best epoch.

    Several models trained as one Keras model with one output each (notebooks 02 and 04) each
    have their own validation score (``val_<output>_accuracy``) and their own best epoch.
    ``EarlyStopping(restore_best_weights=True)`` would keep the epoch where the *sum* of the
    losses is lowest, for all of them at once; this callback keeps, for every part, a copy of
    its weights at the epoch where its own score is best, and puts them back when training ends.
    Like ``EarlyStopping``, only a strict improvement counts, so of equal scores the first
    epoch is kept (the epoch ``np.argmax`` of the history gives). It never stops training.

    Args:
        parts: ``{output name: part}``, the part being the sub-model (or layer) of the model
            whose weights produce that output.
        monitor: the score's name in the epoch logs, ``{name}`` standing for the output name.
        mode: ``"max"`` (accuracy) or ``"min"`` (loss).

    After ``fit``: ``.best_epoch[name]`` (counted from 1) and ``.best[name]`` (the score).

    Example::

        best = BestPartWeights({"seed": seed_model, "masked": masked_model})
        side_by_side.fit(x, {"seed": y, "masked": y}, validation_data=..., epochs=3, callbacks=[best])
        best.best_epoch  # {"seed": 3, "masked": 1}: each model now holds that epoch's weights
    """

    def __init__(
        self, parts: Mapping[str, Any], monitor: str = "val_{name}_accuracy", mode: str = "max"
    ) -> None:
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError(f"BestPartWeights: mode must be 'max' or 'min', not {mode!r}")
        self.parts, self.monitor, self.mode = dict(parts), monitor, mode
        self.best: dict[str, float] = {}
        self.best_epoch: dict[str, int] = {}
        self._weights: dict[str, list[np.ndarray]] = {}

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.best, self.best_epoch, self._weights = {}, {}, {}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        for name, part in self.parts.items():
            key = self.monitor.format(name=name)
            if key not in logs:
                raise KeyError(
                    f"BestPartWeights: no {key!r} in the epoch logs (they have {sorted(logs)}); "
                    "pass validation data to fit, and name the parts after the model's outputs"
                )
            value = float(logs[key])
            previous = self.best.get(name)
            better = previous is None or (value > previous if self.mode == "max" else value < previous)
            if better:
                self.best[name], self.best_epoch[name] = value, epoch + 1
                self._weights[name] = [w.copy() for w in part.get_weights()]

    def on_train_end(self, logs: dict | None = None) -> None:
        for name, weights in self._weights.items():
            self.parts[name].set_weights(weights)


def batches(x, y=None, batch_size: int = 64, *, shuffle_seed: int | None = None, prepare=None):
    """``(x, y)`` as a ``tf.data.Dataset`` of batches for ``fit`` or ``evaluate``, without autotuning.

    Given NumPy arrays, ``fit`` builds such a pipeline itself, with tf.data's autotuning on: a
    background thread that keeps tuning the pipeline while it runs. When an epoch ends, Keras
    drops that epoch's iterator, and dropping it waits for the autotuning thread. Measured on
    a 2-core CPU (notebook 04, three seeds of three epochs, ``py-spy dump`` in the wait): 2 to 4
    of the 9 epochs started 1.6-2.5 s late, waiting in the iterator's destructor. With this
    pipeline (autotuning off, a fixed prefetch of 2 batches) none did, and the training loop
    took 34.6 s instead of 42-46 s. Our pipelines are trivial (slicing arrays in memory), so
    there is nothing to tune.

    Args:
        x: the inputs, an array (or a dict of arrays), first axis = examples.
        y: the targets, an array or a dict ``{output name: array}``; None for inputs only.
        batch_size: examples per batch (the last batch may be smaller).
        shuffle_seed: None keeps the order (validation, test); a seed shuffles all the examples,
            in a new order every epoch, the sequence of orders depending on the seed alone.
        prepare: None, or a function applied to each batch's inputs (``x``), e.g. the ViT's
            image preparation (:func:`course_utils.vision.make_dataset`); on whole batches, one
            call per batch instead of one per example.

    Example::

        model.fit(batches(x_train, y_train, 64, shuffle_seed=42), epochs=3,
                  validation_data=batches(x_val, y_val, len(x_val)))
    """
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))
    if shuffle_seed is not None:
        count = len(next(iter(x.values()))) if isinstance(x, Mapping) else len(x)
        dataset = dataset.shuffle(count, seed=shuffle_seed, reshuffle_each_iteration=True)  # a full shuffle
    dataset = dataset.batch(batch_size)
    if prepare is not None:
        dataset = dataset.map(prepare if y is None else lambda inputs, targets: (prepare(inputs), targets))
    options = tf.data.Options()
    options.autotune.enabled = False  # nothing to tune here, and its thread delays the end of every epoch
    return dataset.prefetch(2).with_options(options)


def build_metrics(model, x, y) -> None:
    """Create a compiled model's metric variables now, from two examples, before its first ``fit``.

    Keras creates them lazily. Created inside ``fit``'s first traced training step instead, they
    make TensorFlow trace that step twice: seconds per model on a CPU (measured for the ViTs of
    notebooks 06 and 07). Nothing is trained; ``fit`` resets the metrics when it starts.

    ``y`` may be a dict (a model with several outputs, e.g. models trained side by side): the
    loss of each output has its own tracker, built here too (by ``compute_loss``). Call it
    before :func:`remember_start`, so that the state it remembers is complete.
    """
    first = {name: values[:2] for name, values in y.items()} if isinstance(y, Mapping) else y[:2]
    predicted = model(x[:2], training=False)
    model.compute_loss(x[:2], first, predicted)
    model.compute_metrics(x[:2], first, predicted)


def remember_start(model, build=None):
    """Remember a compiled model's starting point; return ``restart(seed=None)``, which goes back to it.

    An experiment that trains the same architecture on several data sizes or seeds needs the
    same start each time. Building and compiling a new model would do, but Keras then traces
    the training step again, which costs several seconds per model on a 2-core CPU. Instead we
    compile once and save the model's whole state here: its weights, the random state of its
    dropout layers (``model.variables`` holds both) and the optimizer's state (step counter,
    Adam's moments). ``restart()`` copies them all back, so a run does not depend on what ran
    before it. ``restart(seed)`` also sets Keras's global seed (the order of the batches) and
    gives every dropout layer a new random state drawn from ``seed`` alone (not the very state a
    model built under the seed would have: that one also depends on the layers built before it).

    Without ``build`` every seed starts from the remembered weights. With ``build``, each seed
    starts from its own initial weights, those of a model freshly built under that seed, so a
    run depends on its seed alone, without compiling (and tracing) a model for each seed:

    * ``build``: a function without arguments that builds a model like ``model``; ``restart(seed)``
      calls it right after ``keras.utils.set_random_seed(seed)`` and copies its weights into ``model``.
    * ``build={part: function, ...}``: for a model made of parts (sub-models or layers of ``model``)
      that should each start as if built alone, e.g. several classifiers trained side by side as
      one model, each built under the same seed so that they start from the same word vectors:
      the seed is set again before each part's function.

    Each seed's weights are built once and kept (an experiment that comes back to a seed, e.g. at
    every data size, builds nothing more). Order matters, and ``restart(seed)`` keeps it: first
    the initial weights are built (building draws random numbers), then the model's state is
    restored and the seed's weights set, and only then the global seed is set and the dropout
    states drawn, so that the dropout masks and the batch order are the seed's whatever was built.
    ``restart()`` (no seed) goes back to the remembered weights.

    Example::

        model = build()  # compiled once
        restart = remember_start(model, build=build)
        for seed in (1, 2, 3):
            restart(seed)  # the weights of build() called under keras.utils.set_random_seed(seed)
            model.fit(...)
    """
    parts = {} if build is None else dict(build) if isinstance(build, Mapping) else {model: build}
    weight_ids = {id(v) for v in model.weights}
    for part in parts:
        if not all(id(v) in weight_ids for v in part.weights):
            raise ValueError(
                f"remember_start: {part.name!r} is not part of {model.name!r}; the keys of `build` "
                "must be the model's own sub-models or layers (the parts whose weights each function builds)"
            )
    model.optimizer.build(model.trainable_variables)  # create Adam's moment variables now
    state = [v.numpy() for v in model.variables]  # weights and the dropout layers' seed states
    optimizer_state = [v.numpy() for v in model.optimizer.variables]
    seed_states = [v for v in model.variables if id(v) not in weight_ids]  # keras.random.SeedGenerator states
    initial_weights: dict[int, list[list[np.ndarray]]] = {}  # seed -> each part's weights, built once

    def built_under(seed: int) -> list[list[np.ndarray]]:
        if seed not in initial_weights:
            weights = []
            for make in parts.values():
                keras.utils.set_random_seed(seed)  # each part as if built alone under the seed
                weights.append(make().get_weights())
            initial_weights[seed] = weights
        return initial_weights[seed]

    def restart(seed: int | None = None) -> None:
        # the seed's initial weights first: building a model draws random numbers
        weights = built_under(seed) if seed is not None and parts else []
        for variable, value in zip(model.variables, state):
            variable.assign(value)
        for variable, value in zip(model.optimizer.variables, optimizer_state):
            variable.assign(value)
        for part, part_weights in zip(parts, weights):
            part.set_weights(part_weights)
        if seed is not None:
            keras.utils.set_random_seed(seed)
            for seed_state in seed_states:  # what a new SeedGenerator gets from the global seed
                seed_state.assign(keras.random.SeedGenerator().state.value)

    return restart


def predict_in_batches(model, inputs, batch_size: int = 500) -> np.ndarray:
    """``model(inputs)`` in inference mode, batch by batch, as NumPy.

    Calling the model directly avoids ``predict``'s one-off tracing (seconds per new model on
    a CPU), which dominates when an experiment evaluates many models on a few thousand images
    or reviews.
    """
    return np.concatenate(
        [
            keras.ops.convert_to_numpy(model(inputs[i : i + batch_size], training=False))
            for i in range(0, len(inputs), batch_size)
        ]
    )
