"""The training engine behind the Keras-style models and the layer-list estimators.

It turns layer descriptions into a C++ network, initializes every variable
with its layer's initializer from one seeded RandomState, prepares targets
for the loss, and runs the C++ training loop, calling back once per epoch to
feed callbacks, the history and verbose output, and to let callbacks change
the learning rate or stop.
"""

import math
import os
import time

import joblib
import numpy as np
import scipy.sparse as sp

from . import _core
from .keras import layers as _layers
from .keras import losses as _losses
from .keras import optimizers as _optimizers


# the CPUs this process may use (affinity, cgroup quotas), as joblib counts them
_N_CPUS = max(1, int(joblib.cpu_count()))


def n_threads(n_jobs=None):
    """Threads for the core: None = every usable CPU within OpenMP's limit
    (OMP_NUM_THREADS, threadpoolctl's ``threadpool_limits``, 1 in a Dask worker),
    -1 = every usable CPU, -k = every CPU but k - 1, k > 0 = k."""
    n_cpus = _N_CPUS
    if n_jobs is None:
        return max(1, min(n_cpus, _core.max_threads()))
    if n_jobs < 0:
        return max(1, n_cpus + 1 + n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, a positive or a negative int")
    return int(n_jobs)


def to_core(X, dtype):
    """X as the C++ core takes it, unchecked: C-contiguous 2-d floats, or a CSR tuple
    (data, int64 indices, int64 indptr, n_rows, n_cols)."""
    if sp.issparse(X):
        X = X.tocsr()
        return (np.ascontiguousarray(X.data, dtype=dtype), np.ascontiguousarray(X.indices, dtype=np.int64),
                np.ascontiguousarray(X.indptr, dtype=np.int64), X.shape[0], X.shape[1])
    return np.ascontiguousarray(X, dtype=dtype)


def as_features(X, dtype, n_features=None, what="x", input_shape=None):
    """X as the core takes it: C-contiguous 2-d floats (or a CSR tuple), checked.

    With ``input_shape`` (per sample), X may have shape (n, *input_shape) (or
    (n, prod) when that is its flat form) and is viewed as (n, prod) with no copy;
    the returned shape is X's own."""
    if input_shape is not None and len(input_shape) > 1 and not sp.issparse(X):
        try:
            arr = np.asarray(X, dtype=dtype)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{what} must be numeric: {e}") from None
        if tuple(arr.shape[1:]) != tuple(input_shape):
            raise ValueError(f"{what} has per-sample shape {tuple(arr.shape[1:])}, but the model "
                             f"expects {tuple(input_shape)}")
        if arr.shape[0] == 0:
            raise ValueError(f"{what} has no samples")
        if not np.isfinite(arr).all():
            raise ValueError(f"{what} contains NaN or infinity")
        return np.ascontiguousarray(arr).reshape(arr.shape[0], -1), arr.shape
    if input_shape is not None and len(input_shape) == 1 and n_features is None:
        n_features = input_shape[0]
    if sp.issparse(X):
        Xc = to_core(X, dtype)
        if not np.isfinite(Xc[0]).all():
            raise ValueError(f"{what} contains NaN or infinity")
        shape = (Xc[3], Xc[4])
    else:
        try:
            arr = np.asarray(X, dtype=dtype)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{what} must be numeric: {e}") from None
        if arr.ndim == 1 and n_features == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2:
            raise ValueError(f"{what} must be 2-dimensional (samples, features), got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{what} contains NaN or infinity")
        Xc = np.ascontiguousarray(arr)
        shape = arr.shape
    if shape[0] == 0:
        raise ValueError(f"{what} has no samples")
    if n_features is not None and shape[1] != n_features:
        raise ValueError(f"{what} has {shape[1]} features, but the model expects {n_features}")
    return Xc, shape


def loss_core(loss):
    """(core loss name, from_logits, delta, sparse) of a Keras loss."""
    spec = _losses.get(loss).spec()
    sparse = spec["name"] == "sparse_categorical_crossentropy"
    name = "categorical_crossentropy" if sparse else spec["name"]
    return name, spec["from_logits"], spec["delta"], sparse


def prepare_targets(y, n_out, loss_name, sparse, dtype, n_samples):
    """Targets (n, n_out) for the core, checked against the model's output."""
    try:
        y = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"y must be numeric: {e}") from None
    if y.shape[0] != n_samples:
        raise ValueError(f"x has {n_samples} samples but y has {y.shape[0]}")
    if not np.isfinite(y).all():
        raise ValueError("y contains NaN or infinity")
    if sparse:
        labels = y.reshape(-1)
        if y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
            raise ValueError("sparse_categorical_crossentropy takes integer labels, one per sample")
        if np.any(labels != np.round(labels)) or labels.min() < 0 or labels.max() >= n_out:
            raise ValueError(
                f"sparse_categorical_crossentropy needs integer labels in [0, {n_out}); "
                f"got values from {labels.min()} to {labels.max()}"
            )
        Y = np.zeros((n_samples, n_out), dtype=dtype)
        Y[np.arange(n_samples), labels.astype(np.int64)] = 1
        return Y
    if y.ndim == 1:
        y = y.reshape(-1, 1)
    if y.ndim > 2:  # targets of a per-sample shape, as the output's: flat rows
        y = y.reshape(y.shape[0], -1)
    if y.ndim != 2 or y.shape[1] != n_out:
        raise ValueError(
            f"y has shape {y.shape} but the model's output has {n_out} units"
            + (" (one-hot encode the labels, e.g. with to_categorical, or use "
               "sparse_categorical_crossentropy)" if loss_name == "categorical_crossentropy" else "")
        )
    return np.ascontiguousarray(y, dtype=dtype)


def resolve_metrics(metrics, loss_name, n_out):
    """Keras's metric names to (display names, core specs)."""
    names, specs = [], []
    for m in metrics or []:
        if isinstance(m, str):
            key = m
        else:
            key = getattr(m, "__name__", None) or getattr(m, "name", None)
            if key is None:
                raise ValueError(f"Unknown metric {m!r}")
        base = key.lower()
        if base in ("accuracy", "acc"):
            if loss_name == "categorical_crossentropy" or (loss_name not in ("binary_crossentropy",) and n_out > 1):
                spec = {"kind": "categorical_accuracy"}
            else:
                spec = {"kind": "binary_accuracy"}
        elif base in ("categorical_accuracy", "sparse_categorical_accuracy"):
            spec = {"kind": "categorical_accuracy"}
        elif base == "binary_accuracy":
            spec = {"kind": "binary_accuracy"}
        else:
            try:
                core, from_logits, delta, sparse = loss_core(getattr(m, "_loss_name", m))
            except ValueError:
                raise ValueError(
                    f"Unknown metric {m!r}: use 'accuracy', 'binary_accuracy', "
                    "'categorical_accuracy' or a loss name such as 'mse' or 'mae'"
                ) from None
            spec = {"kind": "loss", "loss": core, "from_logits": from_logits, "delta": delta}
        names.append(key)
        specs.append(spec)
    return names, specs


class Network:
    """A built network: the C++ object, its flat parameters and state, and the layer map."""

    def __init__(self, layers, input_shape, loss, dtype):
        self.layers = list(layers)
        if isinstance(input_shape, (int, np.integer)):
            input_shape = (int(input_shape),)
        self.input_shape = tuple(int(d) for d in input_shape)
        self.n_in = int(np.prod(self.input_shape))
        self.dtype = np.dtype(dtype)
        self.loss = loss
        self.loss_name, self.from_logits, self.delta, self.sparse = loss_core(loss)
        self._build()
        self.params = np.zeros(self.core.n_params, dtype=self.dtype)
        self.state = self.core.initial_state()

    def _build(self):
        core_specs, self.core_to_layer = [], []
        for i, layer in enumerate(self.layers):
            for spec in layer._core_specs():
                core_specs.append(spec)
                self.core_to_layer.append(i)
        if not core_specs:
            raise ValueError("the model has no layers")
        self.core = _core.Network(self.input_shape, core_specs, self.loss_name, self.dtype.name,
                                  from_logits=self.from_logits, delta=self.delta)
        self.variables = self.core.variables()
        core_shapes = self.core.layer_shapes()
        # each layer's per-sample output shape: that of its last core layer (an
        # InputLayer has none: its input's)
        shape, self.output_shapes = self.input_shape, []
        for i in range(len(self.layers)):
            for j, owner in enumerate(self.core_to_layer):
                if owner == i:
                    shape = tuple(core_shapes[j])
            self.output_shapes.append(shape)
        self.output_shape = tuple(core_shapes[-1])
        self.n_out = int(np.prod(self.output_shape))

    def __getstate__(self):  # the C++ object is rebuilt from the description on load
        state = dict(self.__dict__)
        state.pop("core", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.__dict__.setdefault("input_shape", (self.n_in,))  # pickled before shapes
        self._build()
        if self.params.shape != (self.core.n_params,) or self.state.shape != (self.core.n_state,):
            raise ValueError("the saved parameters do not fit the saved architecture")

    def initialize(self, rng):
        """Every variable from its layer's initializer, drawn from rng (in layer order)."""
        for v in self.variables:
            layer = self.layers[self.core_to_layer[v["layer"]]]
            init = layer._initializers()[v["name"]]
            values = init(tuple(v["shape"]), rng)
            n = int(np.prod(v["shape"]))
            self.params[v["offset"]:v["offset"] + n] = np.asarray(values, dtype=np.float64).ravel()
        self.state[:] = self.core.initial_state()

    # Keras's weights: per layer, kernel and bias (Dense), gamma, beta, moving
    # mean and variance (BatchNormalization), gamma and beta (LayerNormalization)
    def _weight_slices(self):
        out = []
        by_layer = {}
        for buf, variables in (("params", self.variables), ("state", self.core.state_variables())):
            for v in variables:
                by_layer.setdefault(self.core_to_layer[v["layer"]], []).append((buf, v))
        for i in range(len(self.layers)):
            for buf, v in by_layer.get(i, []):
                n = int(np.prod(v["shape"]))
                out.append((buf, v["offset"], n, tuple(v["shape"])))
        return out

    def get_weights(self):
        return [getattr(self, buf)[off:off + n].reshape(shape).copy()
                for buf, off, n, shape in self._weight_slices()]

    def set_weights(self, weights):
        slices = self._weight_slices()
        if len(weights) != len(slices):
            raise ValueError(f"expected {len(slices)} weight arrays, got {len(weights)}")
        for w, (buf, off, n, shape) in zip(weights, slices):
            w = np.asarray(w, dtype=np.float64)
            if w.shape != shape:
                raise ValueError(f"weight of shape {w.shape} where {shape} is expected")
            if not np.isfinite(w).all():
                raise ValueError("weights contain NaN or infinity")
            getattr(self, buf)[off:off + n] = w.ravel()

    def features(self, X, what="x"):
        """X checked against the input shape and viewed as the core takes it: (Xc, X's shape)."""
        return as_features(X, self.dtype, self.n_in, what, self.input_shape)

    def predict(self, X, threads):
        Xc, _ = self.features(X)
        out = self.core.predict(self.params, Xc, threads, self.state)
        return out.reshape((out.shape[0],) + self.output_shape) if len(self.output_shape) > 1 else out

    def evaluate(self, X, y, sample_weight, metric_specs, threads):
        Xc, shape = self.features(X)
        Y = prepare_targets(y, self.n_out, self.loss_name, self.sparse, self.dtype, shape[0])
        sw = None if sample_weight is None else _check_weights(sample_weight, shape[0], self.dtype)
        return self.core.evaluate(self.params, self.state, Xc, Y, sw, metric_specs, True, threads)


def _check_weights(sample_weight, n, dtype):
    sw = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if sw.shape[0] != n:
        raise ValueError(f"sample_weight has {sw.shape[0]} entries for {n} samples")
    if not np.isfinite(sw).all() or (sw < 0).any():
        raise ValueError("sample_weight must be finite and non-negative")
    return np.ascontiguousarray(sw, dtype=dtype)


def class_weights_to_sample_weights(class_weight, Y):
    """Per-sample weights from a {class index: weight} dict (Keras's class_weight)."""
    if Y.shape[1] > 1:
        classes = Y.argmax(axis=1)
    else:
        classes = (Y[:, 0] > 0.5).astype(np.int64)
    out = np.ones(Y.shape[0])
    for c, w in class_weight.items():
        out[classes == int(c)] = float(w)
    return out


def diverged_message(epoch):
    """The error for a fit the C++ core stopped because the loss or a weight became non-finite."""
    return (
        f"Training produced non-finite parameter weights (the loss diverged in epoch {epoch}): "
        f"training stopped and the weights were restored to those before epoch {epoch}, the "
        "optimizer's moments reset. Lower the learning rate or scale the inputs."
    )


class Trainer:
    """Runs epochs of a Network in C++, with Keras-style callbacks and history."""

    def __init__(self, network, optimizer, threads):
        self.net = network
        self.optimizer = _optimizers.get(optimizer)
        self.threads = threads
        self.opt_config = None
        self.slots = None
        self.iterations = 0
        self.u_product = 1.0
        self.base_lr = None

    def state(self):
        """What continuing this training later needs (partial_fit, saved with
        the estimator): the optimizer, its slots and its counters."""
        return {"optimizer": self.optimizer, "slots": self.slots, "iterations": self.iterations,
                "u_product": self.u_product, "learning_rate": self.base_lr}

    @classmethod
    def resumed(cls, network, state, threads):
        """A Trainer continuing from ``state()`` of an earlier one."""
        trainer = cls(network, state["optimizer"], threads)
        trainer.opt_config = trainer.optimizer.config()
        trainer.slots = state["slots"]
        trainer.iterations = int(state["iterations"])
        trainer.u_product = float(state["u_product"])
        trainer.base_lr = float(state["learning_rate"])
        return trainer

    def _ensure_slots(self):
        cfg = self.optimizer.config()
        if self.slots is None or cfg["optimizer"] != self.opt_config["optimizer"]:
            n = _core.optimizer_slots(cfg)
            self.slots = [np.zeros_like(self.net.params) for _ in range(n)]
            if cfg["optimizer"] == "adagrad":
                self.slots[0][:] = cfg.get("initial_accumulator_value", 0.1)
            self.iterations, self.u_product = 0, 1.0
            self.base_lr = cfg["learning_rate_init"]
        self.opt_config = cfg
        return cfg

    def fit(self, X, Y, sample_weight, *, epochs, initial_epoch, batch_size, shuffle, val_idx,
            metric_names, metric_specs, callbacks, model, verbose, rng, incremental=False):
        cfg = dict(self._ensure_slots())
        n = (X[3] if isinstance(X, tuple) else X.shape[0])
        train_idx = np.setdiff1d(np.arange(n, dtype=np.int64), val_idx, assume_unique=True)
        if train_idx.size == 0:
            raise ValueError("no training samples left after the validation split")
        cfg.update({
            "alpha": 0.0, "tol": 0.0, "n_iter_no_change": float("inf"), "shuffle": bool(shuffle),
            "early_stopping": False, "incremental": bool(incremental), "fresh_order": True,
            "batch_size": int(min(batch_size, train_idx.size)), "max_iter": int(epochs - initial_epoch),
            "n_threads": self.threads, "classifier": False, "report_scale": 1.0,
            "keras_weighting": True, "metrics": metric_specs, "validate": val_idx.size > 0,
        })
        state = _core.TrainState()
        state.lr = float(self.base_lr)
        state.iterations = int(self.iterations)
        state.u_product = float(self.u_product)
        _, keys, pos, _, _ = rng.get_state(legacy=True)
        state.rng_keys = keys
        state.rng_pos = int(pos)
        steps = math.ceil(train_idx.size / cfg["batch_size"])
        has_schedule = cfg.get("schedule") is not None
        t0 = [time.perf_counter()]

        def set_optimizer_lr(lr):
            if not has_schedule:
                self.optimizer.learning_rate = float(lr)

        def on_epoch(n_iter, loss, _val, lr, _msg, metrics, val_loss, val_metrics):
            epoch = initial_epoch + n_iter - 1
            logs = {"loss": loss}
            logs.update(zip(metric_names, metrics))
            if val_idx.size:
                logs["val_loss"] = val_loss
                logs.update(("val_" + k, v) for k, v in zip(metric_names, val_metrics))
            if verbose:
                now = time.perf_counter()
                took, t0[0] = now - t0[0], now
                figures = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
                print(f"{steps}/{steps} - {took:.0f}s - {took / steps * 1e3:.0f}ms/step - {figures}",
                      flush=True)
            set_optimizer_lr(self.base_lr_now)
            callbacks.on_epoch_end(epoch, logs)
            stop = bool(model.stop_training)
            if not stop and epoch + 1 < epochs:
                if verbose:
                    print(f"Epoch {epoch + 2}/{epochs}", flush=True)
                callbacks.on_epoch_begin(epoch + 1, {})
            new_lr = None
            if not has_schedule and float(self.optimizer.learning_rate) != self.base_lr_now:
                new_lr = float(self.optimizer.learning_rate)
                self.base_lr_now = new_lr
            return stop, new_lr

        self.base_lr_now = float(self.base_lr)
        model.stop_training = False
        if verbose:
            print(f"Epoch {initial_epoch + 1}/{epochs}", flush=True)
        set_optimizer_lr(self.base_lr_now)
        callbacks.on_epoch_begin(initial_epoch, {})
        if not has_schedule and float(self.optimizer.learning_rate) != self.base_lr_now:
            self.base_lr_now = state.lr = float(self.optimizer.learning_rate)
        try:
            if epochs > initial_epoch and not model.stop_training:
                self.net.core.fit(self.net.params, self.slots, None, X, Y, sample_weight,
                                  train_idx, val_idx, cfg, state, on_epoch, self.net.state)
        finally:
            self.iterations = int(state.iterations)
            self.u_product = float(state.u_product)
            self.base_lr = float(state.lr)
            rng.set_state(("MT19937", np.asarray(state.rng_keys, dtype=np.uint32), state.rng_pos, 0, 0.0))
        if state.diverged:
            raise ValueError(diverged_message(state.diverged_epoch))
        return int(state.n_iter)

