"""course_utils.training: the epoch-logging callback and the restart of a compiled model."""

from __future__ import annotations

import keras
import numpy as np


def _model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_epoch_log_prints_one_line_per_epoch_and_keeps_the_seconds(capsys):
    from course_utils.training import EpochLog

    log = EpochLog("tiny")
    _model().fit(np.zeros((8, 3)), np.zeros(8), epochs=3, verbose=0, callbacks=[log])
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("  ")[:2] for line in lines] == [["tiny", f"epoch {e}/3"] for e in (1, 2, 3)]
    assert "accuracy" in lines[-1] and "loss" in lines[-1] and lines[-1].endswith(" s)")
    assert len(log.seconds) == 3 and all(s > 0 for s in log.seconds)


def test_epoch_log_every_prints_every_nth_and_the_last_epoch(capsys):
    from course_utils.training import EpochLog

    log = EpochLog("probe", every=2)
    _model().fit(np.zeros((4, 3)), np.zeros(4), epochs=5, verbose=0, callbacks=[log])
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("  ")[1] for line in lines] == ["epoch 2/5", "epoch 4/5", "epoch 5/5"]
    assert len(log.seconds) == 5  # every epoch is timed, printed or not


def test_epoch_log_keys_shows_only_those_metrics(capsys):
    from course_utils.training import EpochLog

    _model().fit(
        np.zeros((4, 3)), np.zeros(4), epochs=1, verbose=0, callbacks=[EpochLog("tiny", keys=["accuracy"])]
    )
    line = capsys.readouterr().out
    assert "accuracy" in line and "loss" not in line


def test_epoch_log_silent_still_times(capsys):
    from course_utils.training import EpochLog

    log = EpochLog(show=False)
    _model().fit(np.zeros((4, 3)), np.zeros(4), epochs=2, verbose=0, callbacks=[log])
    assert capsys.readouterr().out == "" and len(log.seconds) == 2


def test_epoch_log_in_a_notebook_keeps_one_line_per_model_with_index_and_estimate(monkeypatch):
    from course_utils.training import EpochLog

    shown = []

    def show(self, text, logs=None):  # what the notebook's display would show, in order
        shown.append(f"{self.prefix}{self.name}: {text}")
        return True

    monkeypatch.setattr(EpochLog, "_show", show)
    _model().fit(
        np.zeros((8, 3)), np.zeros(8), epochs=3, verbose=0, callbacks=[EpochLog("tiny", index=2, total=4)]
    )
    assert shown[0] == "[2/4] tiny: training, epoch 1/3"
    assert shown[1].startswith("[2/4] tiny: epoch 1/3, ") and "s left" in shown[1]
    assert shown[3].startswith("[2/4] tiny: epoch 3/3, ") and "left" not in shown[3]
    assert shown[4].startswith("[2/4] tiny: done, 3 epochs in ") and len(shown) == 5


def test_epoch_log_outside_a_notebook_prefixes_the_index(capsys):
    from course_utils.training import EpochLog

    _model().fit(
        np.zeros((4, 3)), np.zeros(4), epochs=1, verbose=0, callbacks=[EpochLog("tiny", index=1, total=2)]
    )
    assert capsys.readouterr().out.startswith("[1/2] tiny  epoch 1/1  ")


def _dropout_model():
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 6)).astype("float32"), rng.integers(0, 2, 64)


def _train(model, seed=0):
    x, y = _data()
    keras.utils.set_random_seed(seed)  # the same batch order in every call
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    return [w.copy() for w in model.get_weights()]


def test_restart_gives_the_same_run_whatever_ran_before():
    """A restarted run repeats the first run exactly: weights, Adam and the dropout masks come back."""
    from course_utils.training import remember_start

    keras.utils.set_random_seed(1)
    model = _dropout_model()
    restart = remember_start(model)
    first = _train(model)
    restart()
    model(_data()[0], training=True)  # something else draws dropout masks in between
    restart()
    again = _train(model)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))


def test_restart_with_a_seed_draws_that_seeds_dropout_masks():
    """restart(seed): the run depends on the seed alone; another seed gives other masks, same weights."""
    from course_utils.training import remember_start

    keras.utils.set_random_seed(1)
    model = _dropout_model()
    restart = remember_start(model)
    start = [w.copy() for w in model.get_weights()]
    runs = {}
    for seed in (5, 6, 5):
        restart(seed)
        assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), start))
        x, _ = _data()
        masks = keras.ops.convert_to_numpy(model.layers[1](model.layers[0](x), training=True))
        runs.setdefault(seed, []).append(masks)
    assert np.array_equal(
        runs[5][0], runs[5][1]
    )  # the same seed, the same masks, though seed 6 ran in between
    assert not np.array_equal(runs[5][0], runs[6][0])


def _fit_from_restart(model):
    """Train without setting any seed: the batch order and dropout masks are whatever restart(seed) left."""
    x, y = _data()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    return [w.copy() for w in model.get_weights()]


def _weights_built_under(seed, build):
    keras.utils.set_random_seed(seed)
    return build().get_weights()


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_restart_with_build_starts_from_the_weights_of_a_model_built_under_the_seed():
    """restart(seed) with build=: that seed's initial weights (another seed: others), after any training."""
    from course_utils.training import remember_start

    keras.utils.set_random_seed(1)
    model = _dropout_model()
    restart = remember_start(model, build=_dropout_model)
    for seed in (3, 4, 3):  # seed 3 again: after training, and from the kept weights
        restart(seed)
        assert _same(model.get_weights(), _weights_built_under(seed, _dropout_model))
        _fit_from_restart(model)
    restart(3)
    three = [w.copy() for w in model.get_weights()]
    restart(4)
    kernels = [(a, b) for a, b in zip(three, model.get_weights()) if a.std() > 0]  # not the zero biases
    assert kernels and not any(np.array_equal(a, b) for a, b in kernels)
    restart()  # no seed: the remembered weights, as before
    keras.utils.set_random_seed(1)
    assert _same(model.get_weights(), _dropout_model().get_weights())


def test_restart_with_build_repeats_a_run_bit_for_bit_and_as_the_three_step_recipe():
    """A seed's run: the same first and after another seed, and as the notebooks' former recipe by hand."""
    from course_utils.training import remember_start

    keras.utils.set_random_seed(1)
    model = _dropout_model()
    restart = remember_start(model, build=_dropout_model)
    runs = []
    for seed in (3, 4, 3):  # the first seed-3 run builds its weights, the second uses the kept ones
        restart(seed)
        runs.append(_fit_from_restart(model))
    assert _same(runs[0], runs[2]) and not _same(runs[0], runs[1])

    keras.utils.set_random_seed(1)  # what the notebooks did by hand before build= existed
    by_hand = _dropout_model()
    restart_by_hand = remember_start(by_hand)
    initial = _weights_built_under(3, _dropout_model)
    restart_by_hand(3)
    by_hand.set_weights(initial)
    assert _same(_fit_from_restart(by_hand), runs[0])


def _side_by_side():
    """Two classifiers trained as one model (notebook 02's case): each part is a sub-model."""
    parts = {name: _dropout_model() for name in ("a", "b")}
    inputs = keras.Input((6,))
    model = keras.Model(inputs, {name: part(inputs) for name, part in parts.items()})
    model.compile(optimizer="adam", loss={name: "sparse_categorical_crossentropy" for name in parts})
    return model, parts


def test_restart_with_parts_builds_each_part_alone_under_the_seed():
    """build={part: function}: each part starts as if built alone under the seed (both parts alike here)."""
    from course_utils.training import remember_start

    keras.utils.set_random_seed(1)
    model, parts = _side_by_side()
    restart = remember_start(model, build=dict.fromkeys(parts.values(), _dropout_model))
    x, y = _data()
    for seed in (3, 4):
        restart(seed)
        alone = _weights_built_under(seed, _dropout_model)
        assert _same(parts["a"].get_weights(), alone) and _same(parts["b"].get_weights(), alone)
        model.fit(x, {"a": y, "b": y}, epochs=1, batch_size=16, verbose=0)
    restart(3)
    assert not _same(parts["a"].get_weights(), _weights_built_under(4, _dropout_model))
    assert _same(parts["a"].get_weights(), _weights_built_under(3, _dropout_model))


def test_restart_with_a_part_of_another_model_says_so():
    import pytest

    from course_utils.training import remember_start

    model, _ = _side_by_side()
    stranger = _dropout_model()
    with pytest.raises(ValueError, match="not part of"):
        remember_start(model, build={stranger: _dropout_model})


def _traces_of_first_fit(build_first: bool) -> int:
    """How many times fit's training step is traced in a first fit (its Python runs once per trace)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    traces, train_step = [], model.train_step
    model.train_step = lambda data: traces.append(1) or train_step(data)
    x, y = np.random.rand(64, 4).astype("float32"), np.random.randint(0, 3, 64)
    model.optimizer.build(model.trainable_variables)  # as remember_start does: Adam's variables exist
    if build_first:
        from course_utils.training import build_metrics

        build_metrics(model, x, y)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    return len(traces)


def test_build_metrics_saves_the_second_trace_of_the_training_step():
    assert _traces_of_first_fit(build_first=False) == 2  # the metric's variables created in the first trace
    assert _traces_of_first_fit(build_first=True) == 1


def _compiled_side_by_side(seed: int):
    """Two models side by side as one model with a dict of outputs, compiled (a loss and accuracy each)."""
    keras.utils.set_random_seed(seed)
    model, parts = _side_by_side()
    model.compile(
        optimizer="adam",
        loss={name: "sparse_categorical_crossentropy" for name in parts},
        metrics={name: ["accuracy"] for name in parts},
    )
    return model, parts


def _traces_of_first_side_by_side_fit(build_first: bool) -> int:
    """The same for two models trained side by side as one model with a dict of outputs."""
    model, parts = _compiled_side_by_side(seed=0)
    traces, train_step = [], model.train_step
    model.train_step = lambda data: traces.append(1) or train_step(data)
    x, y = _data()
    labels = {name: y for name in parts}
    model.optimizer.build(model.trainable_variables)
    if build_first:
        from course_utils.training import build_metrics

        build_metrics(model, x, labels)
    model.fit(x, labels, epochs=2, batch_size=16, verbose=0)
    return len(traces)


def test_build_metrics_with_a_dict_of_outputs_saves_the_second_trace_too():
    assert _traces_of_first_side_by_side_fit(build_first=False) == 2  # also each output's loss tracker
    assert _traces_of_first_side_by_side_fit(build_first=True) == 1


def _parts_with_scores(scores, mode="max"):
    """Drive BestPartWeights by hand: at epoch e every weight of every part is e, the logs are `scores`."""
    from course_utils.training import BestPartWeights

    model, parts = _side_by_side()
    best = BestPartWeights(parts, mode=mode)
    best.set_model(model)
    best.on_train_begin()
    epochs = len(next(iter(scores.values())))
    for epoch in range(epochs):
        for part in parts.values():
            part.set_weights([np.full_like(w, epoch + 1) for w in part.get_weights()])
        best.on_epoch_end(epoch, {f"val_{name}_accuracy": values[epoch] for name, values in scores.items()})
    best.on_train_end()
    return best, {
        name: {float(v) for w in part.get_weights() for v in np.unique(w)} for name, part in parts.items()
    }


def test_best_part_weights_restores_each_parts_own_best_epoch_first_of_ties():
    best, held = _parts_with_scores({"a": [0.5, 0.7, 0.7, 0.6], "b": [0.5, 0.6, 0.8, 0.9]})
    assert best.best_epoch == {"a": 2, "b": 4} and best.best == {"a": 0.7, "b": 0.9}
    assert held == {
        "a": {2.0},
        "b": {4.0},
    }  # a's weights of epoch 2 (not the tie at 3, not the last), b's of epoch 4


def test_best_part_weights_min_mode_keeps_the_lowest():
    best, held = _parts_with_scores({"a": [0.9, 0.4, 0.6], "b": [0.3, 0.5, 0.4]}, mode="min")
    assert best.best_epoch == {"a": 2, "b": 1} and held == {"a": {2.0}, "b": {1.0}}


def test_best_part_weights_in_a_real_fit_matches_the_history_and_the_snapshots():
    """With fit: each part holds the weights it had at the end of its argmax epoch of val_<part>_accuracy."""
    from course_utils.training import BestPartWeights

    model, parts = _compiled_side_by_side(seed=2)
    x, y = _data()
    snapshots = []
    keep = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: snapshots.append({n: p.get_weights() for n, p in parts.items()})
    )
    best = BestPartWeights(parts)
    history = model.fit(
        x,
        {"a": y, "b": y},
        validation_data=(x[:32], {"a": y[:32], "b": y[:32]}),
        epochs=6,
        batch_size=16,
        verbose=0,
        callbacks=[keep, best],
    )
    for name, part in parts.items():
        epoch = int(np.argmax(history.history[f"val_{name}_accuracy"])) + 1
        assert best.best_epoch[name] == epoch
        assert _same(part.get_weights(), snapshots[epoch - 1][name])
        if epoch < 6:  # restored: not the last epoch's weights
            assert not _same(part.get_weights(), snapshots[-1][name])


def test_best_part_weights_names_the_missing_score():
    import pytest

    from course_utils.training import BestPartWeights

    model, parts = _side_by_side()
    best = BestPartWeights(parts)
    best.set_model(model)
    with pytest.raises(KeyError, match="val_a_accuracy"):
        best.on_epoch_end(0, {"loss": 1.0})


def _epoch_orders(dataset, epochs):
    return [np.concatenate([x.numpy()[:, 0] for x, _ in dataset]).tolist() for _ in range(epochs)]


def test_batches_without_a_seed_keeps_the_order_and_the_batch_size():
    from course_utils.training import batches

    x, y = np.arange(10)[:, None] * np.ones((1, 3)), np.arange(10) % 2
    dataset = batches(x, y, 4)
    sizes = [len(xb) for xb, _ in dataset]
    assert sizes == [4, 4, 2]  # the last batch is smaller, none dropped
    assert _epoch_orders(dataset, 1) == [list(range(10))]
    assert dataset.options().autotune.enabled is False  # the point of the function


def test_batches_with_a_seed_reshuffles_every_epoch_by_the_seed_alone():
    from course_utils.training import batches

    x, y = np.arange(50)[:, None], {"a": np.arange(50), "b": -np.arange(50)}  # dict targets, as side by side
    first = _epoch_orders(batches(x, y, 8, shuffle_seed=3), 3)
    assert all(sorted(order) == list(range(50)) for order in first)  # every example once per epoch
    assert first[0] != first[1] != first[2] and first[0] != list(range(50))  # a new order every epoch
    assert _epoch_orders(batches(x, y, 8, shuffle_seed=3), 3) == first  # the seed alone sets the orders
    assert _epoch_orders(batches(x, y, 8, shuffle_seed=4), 1)[0] != first[0]
    for xb, yb in batches(x, y, 8, shuffle_seed=3):
        first_column = xb.numpy()[:, 0]
        assert (yb["a"].numpy() == first_column).all() and (yb["b"].numpy() == -first_column).all()  # paired


def test_batches_trains_like_the_arrays():
    from course_utils.training import batches

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = _model()
    model.compile(keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    train, validation = batches(x, y, 16, shuffle_seed=1), batches(x, y, 64)
    history = model.fit(train, epochs=20, verbose=0, validation_data=validation)
    assert history.history["val_accuracy"][-1] > 0.9  # a separable problem: learned from the batches
