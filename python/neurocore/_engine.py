"""The training engine behind every model: the MLPs, the layer-list estimators
and the Keras-style Sequential.

It turns layer descriptions into a C++ network (``Network``: the core object,
its flat parameters and state, the layer map), holds the optimizer's slots and
counters between calls (``OptimizerState``), runs the C++ training loop
(``run_fit``: one place marshals the loop's state in and out), calls back
once per epoch to feed callbacks (``Callback``, ``CallbackList``, ``History``,
``ModelHandle``), and prepares inputs and targets for the core.

It knows no layer, loss or optimizer class: layers are objects with
``_core_specs()`` (and ``_initializers()``) or plain core spec dicts, a loss
is an object with ``spec()`` or a spec dict, an optimizer an object with
``config()`` and ``learning_rate``. neurocore.keras defines those classes on
top of this module; the estimators sit on both.
"""

import math
import os
import re

import joblib
import numpy as np
import scipy.sparse as sp

from . import _core, _persist, _progress


# the least time between two redraws of the progress bar within an epoch (the
# C++ batch loop calls back no more often)
PROGRESS_INTERVAL = 0.1

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
    """(core loss name, from_logits, delta, sparse) of a loss: an object with
    ``spec()`` (a Keras loss) or its spec dict ``{"name", "from_logits", "delta"}``."""
    spec = loss if isinstance(loss, dict) else loss.spec()
    sparse = spec["name"] == "sparse_categorical_crossentropy"
    name = "categorical_crossentropy" if sparse else spec["name"]
    return name, bool(spec.get("from_logits", False)), float(spec.get("delta", 1.0)), sparse


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


def check_raw_input(layers, X, what="x"):
    """What the first layer demands of X before it becomes floats (an
    Embedding's integer token ids in range): a ValueError naming the problem."""
    for layer in layers:
        if isinstance(layer, dict) or layer._core_specs():
            check = getattr(layer, "_check_raw_input", None)
            if check is not None:
                check(X, what)
            return


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
            for spec in ([layer] if isinstance(layer, dict) else layer._core_specs()):
                core_specs.append(spec)
                self.core_to_layer.append(i)
        if not core_specs:
            raise ValueError("the model has no layers")
        try:
            self.core = _core.Network(self.input_shape, core_specs, self.loss_name, self.dtype.name,
                                      from_logits=self.from_logits, delta=self.delta)
        except ValueError as e:  # "layer <core index> on input <shape>: ...": name the layer
            found = re.match(r"layer (\d+) (on input .*)", str(e), re.S)
            if not found or int(found[1]) >= len(self.core_to_layer):
                raise
            layer = self.layers[self.core_to_layer[int(found[1])]]
            name = layer["type"] if isinstance(layer, dict) else f"{layer.name!r} ({type(layer).__name__})"
            raise ValueError(f"layer {name} {found[2]}") from None
        self.core_specs = core_specs  # what the core built (the ONNX export reads them)
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
    def _weight_slices(self, layer=None):
        """(buffer, offset, size, shape) of every weight, or of layer `layer`'s."""
        out = []
        by_layer = {}
        for buf, variables in (("params", self.variables), ("state", self.core.state_variables())):
            for v in variables:
                by_layer.setdefault(self.core_to_layer[v["layer"]], []).append((buf, v))
        for i in range(len(self.layers)) if layer is None else [layer]:
            # each core layer's variables in its declaration order (a
            # Bidirectional's forward kernel, recurrent kernel and bias, then
            # the backward ones: Keras's order, not the buffer's)
            for buf, v in sorted(by_layer.get(i, []), key=lambda e: (e[1]["layer"], e[1].get("index", 0))):
                n = int(np.prod(v["shape"]))
                out.append((buf, v["offset"], n, tuple(v["shape"])))
        return out

    def get_weights(self, layer=None):
        return [getattr(self, buf)[off:off + n].reshape(shape).copy()
                for buf, off, n, shape in self._weight_slices(layer)]

    def set_weights(self, weights, layer=None):
        slices = self._weight_slices(layer)
        if len(weights) != len(slices):
            raise ValueError(f"expected {len(slices)} weight arrays, got {len(weights)}")
        for w, (buf, off, n, shape) in zip(weights, slices):
            w = np.asarray(w, dtype=np.float64)
            if w.shape != shape:
                raise ValueError(f"weight of shape {w.shape} where {shape} is expected")
            if not np.isfinite(w).all():
                raise ValueError("weights contain NaN or infinity")
            getattr(self, buf)[off:off + n] = w.ravel()

    def features(self, X, what="x", raw_checked=False):
        """X checked against the input shape and viewed as the core takes it: (Xc, X's shape).
        ``raw_checked``: check_raw_input already saw X before it became floats."""
        if not raw_checked:
            check_raw_input(self.layers, X, what)
        return as_features(X, self.dtype, self.n_in, what, self.input_shape)

    def predict_rows(self, Xc, threads, check_finite=False):
        """The outputs, (n, n_out), of rows already as the core takes them
        (``check_finite``: the core refuses NaN and infinity in Xc itself)."""
        return self.core.predict(self.params, Xc, threads, self.state, check_finite)

    def predict(self, X, threads):
        Xc, _ = self.features(X)
        out = self.predict_rows(Xc, threads)
        return out.reshape((out.shape[0],) + self.output_shape) if len(self.output_shape) > 1 else out

    def check_buffers(self, slots=(), params_name="the parameters", **buffers):
        """After loading: the parameters, the state and every optimizer slot (and
        any other named parameter-sized buffer) fit this architecture."""
        n, dtype = self.core.n_params, self.dtype
        for name, buf in {params_name: self.params, **buffers}.items():
            if not isinstance(buf, np.ndarray) or buf.shape != (n,) or buf.dtype != dtype:
                got = (f"shape {buf.shape} and dtype {buf.dtype}" if isinstance(buf, np.ndarray)
                       else type(buf).__name__)
                raise ValueError(f"{name} ({got}) does not match the network's {n} {dtype} parameters")
        if (not isinstance(self.state, np.ndarray) or self.state.dtype != dtype
                or self.state.shape != (self.core.n_state,)):
            raise ValueError("invalid network state")
        if not isinstance(slots, (list, tuple)) or not all(
                isinstance(a, np.ndarray) and a.shape == (n,) and a.dtype == dtype for a in slots):
            raise ValueError("the optimizer state does not match the parameters")

    def evaluate(self, X, y, sample_weight, metric_specs, threads):
        Xc, shape = self.features(X)
        Y = prepare_targets(y, self.n_out, self.loss_name, self.sparse, self.dtype, shape[0])
        sw = None if sample_weight is None else _check_weights(sample_weight, shape[0], self.dtype)
        return self.core.evaluate(self.params, self.state, Xc, Y, sw, metric_specs, True, threads)


def fast_rows(estimator, X, dtype, n_in):
    """A plain 2-d float ndarray of the fitted width (rows of ``n_in`` features:
    the network's input is 1-d), for an estimator fitted
    without feature names, as the core takes it (the core then refuses NaN and
    infinity itself): predict's fast path. None for anything else, which
    scikit-learn's validation must see."""
    d = estimator.__dict__
    if (type(X) is np.ndarray and X.ndim == 2 and X.dtype.kind == "f" and X.shape[0] > 0
            and X.shape[1] == d["n_features_in_"] == n_in and "feature_names_in_" not in d):
        return np.ascontiguousarray(X, dtype=dtype)
    return None


_persist.register_object("Network", Network)


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


class OptimizerState:
    """The optimizer's slots and counters, which outlive one call (partial_fit,
    a second Sequential.fit, a saved estimator).

    ``slots`` are flat buffers the C++ step updates in place (SGD velocities;
    Adam's first and second moments; RMSprop's mean square, momentum and mean
    gradient; ...); ``lr`` is the current base rate (SGD's under scikit-learn's
    schedules, or as callbacks set it), ``t`` the number of steps taken and
    ``u_product`` Nadam's running momentum product. ``learning_rate`` mirrors
    scikit-learn's optimizer attribute of that name.
    """

    def __init__(self, config, n_params, dtype):
        self.solver = config["optimizer"]
        self.config = dict(config)
        self.slots = [
            np.zeros(n_params, dtype=dtype) for _ in range(_core.optimizer_slots(config))
        ]
        if self.solver == "adagrad":
            self.slots[0][:] = config.get("initial_accumulator_value", 0.1)
        self.learning_rate_init = float(config["learning_rate_init"])
        self.lr = self.learning_rate_init
        self.t = 0
        self.u_product = 1.0

    @property
    def learning_rate(self):
        if self.solver in ("adam", "adamw") and self.t > 0:
            b1, b2 = self.config["beta_1"], self.config["beta_2"]
            return self.learning_rate_init * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        return self.lr

    def fits(self, config, params):
        """Whether these slots continue an optimizer of ``config`` on ``params``."""
        return (self.config == config and all(a.shape == params.shape and a.dtype == params.dtype for a in self.slots))


_persist.register_object("OptimizerState", OptimizerState)


def run_fit(net, opt, X, Y, sample_weight, train_idx, val_idx, config, rng, on_epoch,
            best=None, counters=None, record=None, on_batch=None):
    """Run the C++ training loop on ``net`` with the optimizer state ``opt``.

    The loop's state goes in and comes back here, whatever happens (an error,
    Ctrl-C): the optimizer's rate and counters, the random stream ``rng``
    (shuffling, dropout and noise draw from it), and ``counters``, the
    scikit-learn stopping rule's (t, no_improvement_count, best_loss,
    best_val_score); ``record(state)`` then sees what the loop completed, even
    when it raised. ``on_batch(step, steps, loss, metrics)``, if given, sees
    the epoch's progress at most every 0.1 s. Returns the core's TrainState
    (n_iter, loss_curve, val_scores, diverged, ...)."""
    state = _core.TrainState()
    state.lr = float(opt.lr)
    state.iterations = int(opt.t)
    state.u_product = float(opt.u_product)
    for key, value in (counters or {}).items():
        setattr(state, key, value)
    _, keys, pos, _, _ = rng.get_state(legacy=True)
    state.rng_keys = keys
    state.rng_pos = int(pos)
    try:
        net.core.fit(net.params, opt.slots, best, X, Y, sample_weight, train_idx, val_idx, config,
                     state, on_epoch, net.state, on_batch)
    finally:
        opt.lr = float(state.lr)
        opt.t = int(state.iterations)
        opt.u_product = float(state.u_product)
        rng.set_state(("MT19937", np.asarray(state.rng_keys, dtype=np.uint32), state.rng_pos, 0, 0.0))
        if record is not None:
            record(state)
    return state


# ----------------------------------------------------------------------
# callbacks: what every fit calls once per epoch


class Callback:
    """Base class of the callbacks (``neurocore.keras.callbacks.Callback``)."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass


class CallbackList:
    """Calls every callback in order."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks or [])
        for c in self.callbacks:
            if not isinstance(c, Callback):
                raise ValueError(f"{c!r} is not a Callback")
            c.set_model(model)
            c.set_params(params)

    def __getattr__(self, name):
        def call(*args):
            for c in self.callbacks:
                getattr(c, name)(*args)
        return call


class History(Callback):
    """Records every epoch's logs: ``history.history['loss']`` and so on."""

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


class _Rate:
    """An optimizer as callbacks see it: a ``learning_rate`` to read and set."""

    def __init__(self, learning_rate):
        self.learning_rate = learning_rate


class ModelHandle:
    """What callbacks see as ``self.model`` during an estimator's fit: the
    network's weights (Keras's per-layer list), the optimizer's learning rate,
    ``stop_training``, and ``save`` (the estimator's file). Sequential is its
    own handle."""

    def __init__(self, estimator, net, optimizer):
        self.estimator = estimator
        self.optimizer = _Rate(optimizer) if isinstance(optimizer, (int, float)) else optimizer
        self._net = net
        self.stop_training = False

    def get_weights(self):
        return self._net.get_weights()

    def set_weights(self, weights):
        self._net.set_weights(weights)

    def save_weights(self, filepath, overwrite=True):
        with open(os.fspath(filepath), "wb") as f:
            np.savez(f, **{f"w{i}": w for i, w in enumerate(self.get_weights())})

    def save(self, filepath, overwrite=True):
        self.estimator.save(filepath)


class Trainer:
    """Runs epochs of a Network in C++ the Keras way, with callbacks and history.

    ``optimizer`` is an object with ``config()`` (the core's optimizer
    description) and a ``learning_rate`` callbacks may change."""

    def __init__(self, network, optimizer, threads):
        self.net = network
        self.optimizer = optimizer
        self.threads = threads
        self.opt = None  # an OptimizerState, made on the first fit

    @property
    def iterations(self):
        return 0 if self.opt is None else self.opt.t

    def state(self):
        """What continuing this training later needs (partial_fit, saved with
        the estimator): the optimizer, its slots and its counters."""
        opt = self.opt
        return {"optimizer": self.optimizer, "slots": None if opt is None else opt.slots,
                "iterations": self.iterations, "u_product": 1.0 if opt is None else opt.u_product,
                "learning_rate": None if opt is None else opt.lr}

    @classmethod
    def resumed(cls, network, state, threads):
        """A Trainer continuing from ``state()`` of an earlier one."""
        trainer = cls(network, state["optimizer"], threads)
        if state.get("slots") is None:  # saved before its first step
            return trainer
        opt = OptimizerState.__new__(OptimizerState)
        cfg = trainer.optimizer.config()
        opt.solver, opt.config, opt.slots = cfg["optimizer"], cfg, state["slots"]
        opt.learning_rate_init = float(cfg["learning_rate_init"])
        opt.t = int(state["iterations"])
        opt.u_product = float(state["u_product"])
        opt.lr = float(state["learning_rate"])
        trainer.opt = opt
        return trainer

    def _ensure_slots(self):
        """The optimizer's config; new slots when there are none yet or the
        optimizer changed kind (compile with another optimizer)."""
        cfg = self.optimizer.config()
        if self.opt is None or self.opt.slots is None or cfg["optimizer"] != self.opt.solver:
            self.opt = OptimizerState(cfg, self.net.params.shape[0], self.net.params.dtype)
        self.opt.config = cfg
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
        steps = math.ceil(train_idx.size / cfg["batch_size"])
        has_schedule = cfg.get("schedule") is not None
        bar = [None]

        def begin_epoch(epoch):
            if verbose:
                if epochs > 1:
                    print(f"Epoch {epoch + 1}/{epochs}", flush=True)
                bar[0] = _progress.Progbar(steps, verbose)

        def on_batch(step, _steps, loss, metrics):
            bar[0].update(step, [("loss", loss)] + list(zip(metric_names, metrics)))

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
                bar[0].update(steps, list(logs.items()), finalize=True)
            set_optimizer_lr(rate[0])
            callbacks.on_epoch_end(epoch, logs)
            stop = bool(model.stop_training)
            if not stop and epoch + 1 < epochs:
                begin_epoch(epoch + 1)
                callbacks.on_epoch_begin(epoch + 1, {})
            new_lr = None
            if not has_schedule and float(self.optimizer.learning_rate) != rate[0]:
                new_lr = rate[0] = float(self.optimizer.learning_rate)
            return stop, new_lr

        opt = self.opt
        rate = [float(opt.lr)]  # the base rate as callbacks last saw it
        model.stop_training = False
        begin_epoch(initial_epoch)
        set_optimizer_lr(rate[0])
        callbacks.on_epoch_begin(initial_epoch, {})
        if not has_schedule and float(self.optimizer.learning_rate) != rate[0]:
            rate[0] = opt.lr = float(self.optimizer.learning_rate)
        if epochs <= initial_epoch or model.stop_training:
            return 0
        live = verbose == 1 and bar[0] is not None and bar[0].dynamic  # a bar within each epoch
        cfg["progress_ms"] = int(PROGRESS_INTERVAL * 1000)
        state = run_fit(self.net, opt, X, Y, sample_weight, train_idx, val_idx, cfg, rng, on_epoch,
                        on_batch=on_batch if live else None)
        if state.diverged:
            raise ValueError(diverged_message(state.diverged_epoch))
        return int(state.n_iter)

