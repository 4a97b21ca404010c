"""Training helpers shared by every notebook: one short line per epoch instead of progress bars.

* :class:`EpochLog` -- ``model.fit(..., verbose=0, callbacks=[EpochLog("transformer")])``
  prints e.g. ``transformer  epoch 3/10  loss 0.5120  accuracy 0.8230  (4.1 s)`` and keeps the
  seconds each epoch took in ``.seconds``.
"""

from __future__ import annotations

import time

import keras

__all__ = ["EpochLog"]


class EpochLog(keras.callbacks.Callback):
    """Print one line per epoch (or every ``every`` epochs, and the last) and keep the seconds.

    Args:
        name: what the line starts with (e.g. the model's name).
        show: print the lines (``False``: only record ``.seconds``).
        every: print every ``every`` epochs; the last epoch is always printed.

    Example::

        log = EpochLog("transformer")
        model.fit(x, y, epochs=3, verbose=0, callbacks=[log])
        # transformer  epoch 1/3  accuracy 0.6120  loss 0.6402  (2.3 s)
        log.seconds  # [2.3, 1.1, 1.1]: the first epoch also traces the training step
    """

    def __init__(self, name: str = "model", show: bool = True, every: int = 1) -> None:
        super().__init__()
        self.name = name
        self.show = show
        self.every = max(1, int(every))
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._start)
        total = (self.params or {}).get("epochs", 0)
        last = epoch + 1 == total
        if not self.show or ((epoch + 1) % self.every and not last):
            return
        metrics = "  ".join(
            f"{key} {value:.4f}" for key, value in sorted((logs or {}).items()) if key != "learning_rate"
        )
        of_total = f"/{total}" if total else ""
        print(f"{self.name}  epoch {epoch + 1}{of_total}  {metrics}  ({self.seconds[-1]:.1f} s)", flush=True)
