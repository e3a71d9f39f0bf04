"""Callbacks (``neurocore.keras.callbacks``), called once per epoch.

The batch loop runs in C++, so callbacks see epochs: on_train_begin/end and
on_epoch_begin/end (logs hold loss, metrics, val_loss and val metrics).
Setting ``self.model.stop_training = True`` stops after the epoch; setting
``self.model.optimizer.learning_rate`` changes the rate from the next epoch.
"""

import csv
import math
import os
import warnings

import numpy as np

from .. import _engine


# the base class, the list that calls them and History live with the engine
# that calls them (every fit does); this module holds the callbacks themselves
Callback = _engine.Callback
CallbackList = _engine.CallbackList
History = _engine.History


def _mode_op(mode, monitor):
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"mode {mode!r} is unknown; using 'auto'")
        mode = "auto"
    if mode == "auto":
        # as Keras: accuracies are maximised, losses minimised; scores (the
        # scikit-learn estimators' validation_score: accuracy or R^2) too
        higher_is_better = "acc" in monitor or monitor.endswith("auc") or "score" in monitor
        mode = "max" if higher_is_better else "min"
    return mode


class EarlyStopping(Callback):
    """Stops when `monitor` has not improved by min_delta for `patience` epochs.

    With restore_best_weights, the weights of the best epoch are put back when
    it stops. start_from_epoch ignores the first epochs (warm-up); baseline
    demands that value be beaten.
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor, self.patience, self.verbose = monitor, int(patience), verbose
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self.mode = _mode_op(mode, monitor)
        self.min_delta = abs(min_delta) if self.mode == "max" else -abs(min_delta)

    def _improved(self, value, reference):
        if reference is None:
            return True
        if self.mode == "max":
            return value - self.min_delta > reference
        return value - self.min_delta < reference

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"EarlyStopping: {self.monitor!r} is not in the logs "
                          f"({sorted(logs or {})}); nothing to monitor")
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._improved(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.stopped_epoch > 0 and self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by `factor` when `monitor` stops improving."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0")
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.mode = _mode_op(mode, monitor)
        self.min_delta, self.cooldown, self.min_lr = min_delta, cooldown, min_lr

    def _better(self, a, b):
        if b is None:
            return True
        return a < b - self.min_delta if self.mode == "min" else a > b + self.min_delta

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        lr = float(self.model.optimizer.learning_rate)
        logs["learning_rate"] = lr
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"ReduceLROnPlateau: {self.monitor!r} is not in the logs")
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._better(current, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and lr > self.min_lr:
                new_lr = max(lr * self.factor, self.min_lr)
                self.model.optimizer.learning_rate = new_lr
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Sets the learning rate at each epoch's start: schedule(epoch, lr) or schedule(epoch)."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = float(self.model.optimizer.learning_rate)
        try:
            new = self.schedule(epoch, lr)
        except TypeError:
            new = self.schedule(epoch)
        new = float(new)
        if not math.isfinite(new) or new <= 0:
            raise ValueError(f"the schedule returned an invalid learning rate {new!r}")
        self.model.optimizer.learning_rate = new
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {new}.")


class ModelCheckpoint(Callback):
    """Saves the model (or its weights) after epochs; with save_best_only, only on improvement.

    filepath may contain format fields: ``"model-{epoch:02d}-{val_loss:.3f}.keras"``.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__()
        if save_freq != "epoch":
            raise ValueError("ModelCheckpoint saves per epoch (save_freq='epoch')")
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.mode = _mode_op(mode, monitor)
        self.best = initial_value_threshold

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"ModelCheckpoint: {self.monitor!r} is not in the logs; not saving")
                return
            better = self.best is None or (current < self.best if self.mode == "min" else current > self.best)
            if not better:
                return
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best} to {current}, "
                      f"saving model to {path}")
            self.best = current
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class CSVLogger(Callback):
    """Streams each epoch's logs to a CSV file (epoch first)."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._writer = None
        self._header_written = exists

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._writer is None:
            self._keys = sorted(logs)
            self._writer = csv.writer(self._file, delimiter=self.sep)
            if not self._header_written:
                self._writer.writerow(["epoch"] + self._keys)
        self._writer.writerow([epoch] + [logs.get(k, "NA") for k in self._keys])
        self._file.flush()

    def on_train_end(self, logs=None):
        self._file.close()


class TerminateOnNaN(Callback):
    """Stops training when the loss becomes NaN or infinite."""

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            print(f"Epoch {epoch + 1}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from functions: on_epoch_begin(epoch, logs), on_epoch_end(epoch, logs),
    on_train_begin(logs), on_train_end(logs)."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, **kwargs):
        super().__init__()
        batch = [k for k in kwargs if "batch" in k]
        if batch:
            raise ValueError(f"per-batch callbacks ({batch}) are not available: the batch loop runs in C++")
        if kwargs:
            raise TypeError(f"unexpected arguments {sorted(kwargs)}")
        if on_epoch_begin:
            self.on_epoch_begin = on_epoch_begin
        if on_epoch_end:
            self.on_epoch_end = on_epoch_end
        if on_train_begin:
            self.on_train_begin = on_train_begin
        if on_train_end:
            self.on_train_end = on_train_end
