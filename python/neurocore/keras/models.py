"""``neurocore.keras.models``: Sequential, the functional Model of a chain, and saving/loading.

Sequential follows Keras: ``add`` layers (or pass a list), ``compile(optimizer,
loss, metrics)``, ``fit`` (returning a History), ``evaluate``, ``predict``,
``train_on_batch``/``test_on_batch``/``predict_on_batch``,
``summary``, ``get_weights``/``set_weights``, ``save_weights``/``load_weights``,
``save``/``load_model``. ``Model(inputs, outputs)`` is the same model built
from tensors (``Input(shape)`` and layers called on it); models that hold the
same layer objects share their weights. Keras 2 spellings work: ``nb_epoch``, ``lr``,
``decay``, ``input_dim``. Everything trains in neurocore's C++ core.
"""

import io
import math
import os

import numpy as np
from sklearn.exceptions import NotFittedError

from .. import _engine, _onnx, _progress
from .._device import parse_device, require_device
from .._persist import read_archive, write_archive
from .._validation import exclusive_fit
from . import _config, _functional
from . import callbacks as _callbacks
from . import layers as _layers
from . import losses as _losses
from . import metrics as _metrics
from . import optimizers as _optimizers

FORMAT = "neurocore-keras"
FORMAT_VERSION = 1


class Sequential:
    """A linear stack of layers.

    Parameters
    ----------
    layers : list of Layer, optional
        The layers, first to last (an ``Input`` may come first).
    name : str, optional
    device : {'cpu', 'cuda', 'cuda:N'}, default='cpu'
        Where fit, evaluate and predict compute (not in Keras, where a device
        scope does this). 'cuda' needs neurocore's optional CUDA extension and
        a usable GPU: when either is missing they raise
        ``DeviceUnavailableError`` saying which; the networks have no GPU
        path in this build yet, so 'cuda' raises that error on a GPU machine
        too.

    Examples
    --------
    >>> import numpy as np
    >>> from neurocore.keras.models import Sequential
    >>> from neurocore.keras.layers import Dense
    >>> model = Sequential()
    >>> model.add(Dense(20, input_dim=5, activation='relu'))
    >>> model.add(Dense(2, activation='softmax'))
    >>> model.compile('rmsprop', 'categorical_crossentropy', metrics=['accuracy'])
    """

    def __init__(self, layers=None, name=None, device="cpu"):
        parse_device(device)  # a malformed device string fails here
        self.device = device  # 'cpu', 'cuda' or 'cuda:N': checked by fit, evaluate and predict
        self.name = name or "sequential"
        self._layers = []
        self._net = None
        self._trainer = None
        self._compiled = None
        self.stop_training = False
        self.history = None
        self.dtype = np.float32
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------
    # structure

    @property
    def layers(self):
        """The layers (without the Input)."""
        return [layer for layer in self._layers if not isinstance(layer, _layers.InputLayer)]

    def add(self, layer):
        """Append a layer (or an ``Input``, first)."""
        if isinstance(layer, _functional.KerasTensor):
            if layer._inbound is not None:
                raise ValueError("Sequential takes layers (and an Input first), not a layer's output "
                                 "tensor: build Model(inputs, outputs) from tensors")
            layer = layer._layer
        if not isinstance(layer, _layers.Layer):
            raise ValueError(f"{layer!r} is not a layer of neurocore.keras.layers")
        if isinstance(layer, _layers.InputLayer) and self._layers:
            raise ValueError("an Input must come first")
        self._layers.append(layer)
        self._net = None
        self._trainer = None

    def pop(self):
        """Remove the last layer."""
        if not self.layers:
            raise ValueError("the model has no layers to pop")
        self._layers.pop()
        self._net = None
        self._trainer = None

    def _declared_input(self):
        return self._layers[0]._input_shape if self._layers else None

    def build(self, input_shape=None):
        """Create the weights for inputs of `input_shape`.

        Parameters
        ----------
        input_shape : tuple, optional
            The batch's shape, ``(batch, *sample_shape)`` as Keras takes it (``batch``
            may be None), or ``(features,)``. Default: the shape the first layer or
            the ``Input`` declares.
        """
        if input_shape is not None:
            shape = tuple(input_shape)
            sample = shape if len(shape) == 1 else shape[1:]
        else:
            sample = self._declared_input()
        if sample is None:
            raise ValueError(
                "the model does not know its input shape yet: give input_shape= (or "
                "input_dim=) to the first layer, start with Input(shape=...), or fit it"
            )
        sample = tuple(int(d) for d in sample)
        if self._net is not None and self._net.input_shape == sample:
            return
        loss = self._compiled["loss"] if self._compiled else _losses.get("mean_squared_error")
        self._net = _engine.Network(self.layers, sample, loss, self.dtype)
        self._net.initialize(self._rng())
        self._trainer = None
        # a layer another model holds keeps its weights; the new ones are this model's
        self.__dict__["_synced"] = {}  # a new buffer: nothing copied into it yet
        fresh = [layer for layer in self._net.layers if layer.__dict__.get("_home") is None]
        self._claim(fresh)
        self._pull()

    # ------------------------------------------------------------------
    # layers shared between models (Keras: a layer's weights are one set,
    # whichever model uses it). Each layer remembers the model whose buffer
    # holds its newest weights (`_home`); a model copies a shared layer's
    # weights from there before it uses them, and takes the layers over when
    # it changes them (fit, train_on_batch, set_weights).

    def _claim(self, layers=None):
        self.__dict__["_gen"] = self.__dict__.get("_gen", 0) + 1
        for layer in self._net.layers if layers is None else layers:
            layer._home = self

    def _pull(self):
        if self._net is None:
            return
        synced = self.__dict__.setdefault("_synced", {})
        for i, layer in enumerate(self._net.layers):
            home = layer.__dict__.get("_home")
            if home is None or home is self or home._net is None:
                continue
            stamp = (id(home), home._gen)
            if synced.get(id(layer)) == stamp:
                continue
            j = next((k for k, other in enumerate(home._net.layers) if other is layer), None)
            if j is not None:
                self._net.set_weights(home._net.get_weights(j), layer=i)
            synced[id(layer)] = stamp

    @property
    def built(self):
        return self._net is not None

    def _rng(self):
        if not hasattr(self, "_random_state"):
            self._random_state = np.random.RandomState(np.random.randint(0, 2**31 - 1))
        return self._random_state

    def count_params(self):
        """Number of weights (trainable and moving statistics)."""
        self._require_built()
        return int(self._net.params.size + self._net.state.size)

    def _require_built(self):
        if self._net is None:
            self.build()
        self._pull()

    # ------------------------------------------------------------------
    # compile / fit / evaluate / predict

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=None, steps_per_execution=None, jit_compile=None,
                **kwargs):
        """Configure training: an optimizer, a loss and metrics, by name or object.

        Parameters
        ----------
        optimizer : str or Optimizer, default='rmsprop'
        loss : str, Loss or loss function
        metrics : list, optional
            'accuracy' (categorical or binary, chosen from the loss and output),
            'binary_accuracy', 'categorical_accuracy', or any loss name ('mse', 'mae', ...).
        """
        if loss is None:
            raise ValueError("compile needs a loss")
        if loss_weights is not None:
            raise ValueError("loss_weights applies to multi-output models, which Sequential is not")
        if kwargs:
            raise TypeError(f"compile got unexpected arguments {sorted(kwargs)}")
        loss_obj = _losses.get(loss)  # raises on an unknown loss
        self.optimizer = _optimizers.get(optimizer)
        self.loss = loss
        self._compiled = {"loss": loss_obj, "metrics": list(metrics or [])}
        if self._net is not None:  # keep the weights, rebuild for the new loss
            weights = self._net.get_weights()
            self._net = _engine.Network(self.layers, self._net.input_shape, loss_obj, self.dtype)
            self._net.set_weights(weights)
        self._trainer = None

    @property
    def metrics_names(self):
        return ["loss"] + [str(m) if isinstance(m, str) else getattr(m, "__name__", str(m))
                           for m in (self._compiled or {}).get("metrics", [])]

    def _require_compiled(self):
        if not self._compiled:
            raise RuntimeError("You must compile your model before training/testing. Use `model.compile(optimizer, loss)`.")
        self._require_device()

    def _require_device(self):
        if self.__dict__.get("device", "cpu") != "cpu":
            require_device(self.device, f"a Keras-facade {type(self).__name__}")

    @exclusive_fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, nb_epoch=None, **kwargs):
        """Train for `epochs` epochs; returns the History callback.

        ``nb_epoch`` is Keras 1's name for ``epochs``. validation_split takes
        the last fraction of x before shuffling; validation_data is (x, y) or
        (x, y, sample_weight). class_weight maps class index to a weight.
        """
        self._require_compiled()
        if kwargs:
            raise TypeError(f"fit got unexpected arguments {sorted(kwargs)}")
        if steps_per_epoch is not None or validation_steps is not None or validation_freq != 1:
            raise ValueError("steps_per_epoch, validation_steps and validation_freq are not supported "
                             "on in-memory arrays")
        if nb_epoch is not None:
            epochs = nb_epoch
        epochs, initial_epoch = int(epochs), int(initial_epoch)
        batch_size = 32 if batch_size is None else int(batch_size)
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if not 0 <= validation_split < 1:
            raise ValueError("validation_split must be in [0, 1)")
        verbose = 1 if verbose == "auto" else int(verbose)
        if x is None or y is None:
            raise ValueError("fit needs x and y")

        X, Y, sw = self._training_data(x, y, sample_weight, class_weight)
        net = self._net
        n = Y.shape[0]
        val_idx = np.empty(0, dtype=np.int64)
        if validation_data is not None:
            if validation_split:
                raise ValueError("give validation_data or validation_split, not both")
            vx, vy, *rest = validation_data
            VX, vshape = net.features(vx, "validation x")
            VY = _engine.prepare_targets(vy, net.n_out, net.loss_name, net.sparse, self.dtype, vshape[0])
            vsw = rest[0] if rest else None
            X = self._stack(X, VX)
            Y = np.ascontiguousarray(np.vstack([Y, VY]))
            if sw is not None or vsw is not None:
                a = sw if sw is not None else np.ones(n)
                b = np.ones(vshape[0]) if vsw is None else _engine._check_weights(vsw, vshape[0], np.float64)
                sw = np.concatenate([a, b])
            val_idx = np.arange(n, n + vshape[0], dtype=np.int64)
        elif validation_split:
            split_at = int(math.ceil(n * (1.0 - validation_split)))
            val_idx = np.arange(split_at, n, dtype=np.int64)
        if sw is not None:
            sw = np.ascontiguousarray(sw, dtype=self.dtype)

        metric_names, metric_specs = _metrics.resolve(self._compiled["metrics"], net.loss_name, net.n_out)
        trainer = self._ready_trainer()
        history = _callbacks.History()
        cbs = _callbacks.CallbackList(
            [history] + list(callbacks or []), self,
            {"epochs": epochs, "verbose": verbose, "steps": None})
        self.history = history
        cbs.on_train_begin({})
        try:
            trainer.fit(X, Y, sw, epochs=epochs, initial_epoch=initial_epoch,
                              batch_size=batch_size, shuffle=shuffle, val_idx=val_idx,
                              metric_names=metric_names, metric_specs=metric_specs,
                              callbacks=cbs, model=self, verbose=verbose, rng=self._rng())
        finally:
            self._claim()
            cbs.on_train_end({})
        return history

    def _training_data(self, x, y, sample_weight, class_weight):
        """x, y and the sample weights (times class_weight) as the core takes
        them; builds the model for x's width on first use."""
        declared = self._declared_input()
        X0 = np.asarray(x) if not hasattr(x, "tocsr") else x
        sample = tuple(X0.shape[1:]) if getattr(X0, "ndim", 2) >= 2 else None
        if declared is not None and sample is not None and sample != tuple(declared):
            if len(declared) == 1 and len(sample) == 1:
                raise ValueError(f"x has {sample[0]} features, but the model's input_dim is {declared[0]}")
            raise ValueError(f"x has per-sample shape {sample}, but the model's input_shape is {tuple(declared)}")
        self.build(None if declared is not None or sample is None else (None,) + sample)
        self._pull()
        net = self._net
        X, shape = net.features(x)
        Y = _engine.prepare_targets(y, net.n_out, net.loss_name, net.sparse, self.dtype, shape[0])
        sw = None if sample_weight is None else _engine._check_weights(sample_weight, shape[0], np.float64)
        if class_weight is not None:
            cw = _engine.class_weights_to_sample_weights(class_weight, Y)
            sw = cw if sw is None else sw * cw
        return X, Y, sw

    def _ready_trainer(self):
        if self._trainer is None:
            self._trainer = _engine.Trainer(self._net, self.optimizer, _engine.n_threads(None))
        self._trainer.optimizer = self.optimizer
        return self._trainer

    @exclusive_fit
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on the batch (x, y), continuing the optimizer's state.

        Returns the batch's loss and metrics from the forward pass of this step
        (before the update), as Keras 3 does: a scalar loss without metrics,
        [loss, metrics...] with them, or a dict with ``return_dict``. Nothing
        accumulates between calls.
        """
        self._require_compiled()
        if x is None or y is None:
            raise ValueError("train_on_batch needs x and y")
        X, Y, sw = self._training_data(x, y, sample_weight, class_weight)
        if sw is not None:
            sw = np.ascontiguousarray(sw, dtype=self.dtype)
        net = self._net
        names, specs = _metrics.resolve(self._compiled["metrics"], net.loss_name, net.n_out)
        history = _callbacks.History()
        cbs = _callbacks.CallbackList([history], self, {"epochs": 1, "verbose": 0, "steps": 1})
        cbs.on_train_begin({})
        try:
            self._ready_trainer().fit(
                X, Y, sw, epochs=1, initial_epoch=0, batch_size=Y.shape[0], shuffle=False,
                val_idx=np.empty(0, dtype=np.int64), metric_names=names, metric_specs=specs,
                callbacks=cbs, model=self, verbose=0, rng=self._rng())
        finally:
            self._claim()
        logs = {k: float(v[-1]) for k, v in history.history.items()}
        return self._results(logs, names, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics on the batch (x, y) in inference mode, as evaluate."""
        return self.evaluate(x, y, sample_weight=sample_weight, return_dict=return_dict)

    def predict_on_batch(self, x):
        """The model's outputs for the batch x, as predict."""
        return self.predict(x, verbose=0)

    @staticmethod
    def _results(logs, names, return_dict):
        if return_dict:
            return logs
        return [logs["loss"], *(logs[k] for k in names)] if names else logs["loss"]

    @staticmethod
    def _stack(A, B):
        if isinstance(A, tuple) or isinstance(B, tuple):
            import scipy.sparse as sp

            def to_sp(t):
                return sp.csr_matrix((t[0], t[1], t[2]), shape=(t[3], t[4])) if isinstance(t, tuple) else sp.csr_matrix(t)

            S = sp.vstack([to_sp(A), to_sp(B)]).tocsr()
            return (S.data, S.indices.astype(np.int64), S.indptr.astype(np.int64), S.shape[0], S.shape[1])
        return np.ascontiguousarray(np.vstack([A, B]))

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """Loss and metrics on (x, y) in inference mode: a scalar, or [loss, metrics...]."""
        self._require_compiled()
        self._require_built()
        names, specs = _metrics.resolve(self._compiled["metrics"], self._net.loss_name, self._net.n_out)
        bar = self._inference_bar(x, batch_size, verbose)
        loss, values = self._net.evaluate(x, y, sample_weight, specs, _engine.n_threads(None))
        logs = {"loss": loss, **dict(zip(names, values))}
        if bar is not None:
            bar[0].update(bar[1], list(logs.items()), finalize=True)
        return self._results(logs, names, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs for x (inference mode: no dropout, moving statistics)."""
        self._require_device()
        self._require_built()
        bar = self._inference_bar(x, batch_size, verbose)
        out = self._net.predict(x, _engine.n_threads(None))
        if bar is not None:
            bar[0].update(bar[1], finalize=True)
        return out

    @staticmethod
    def _inference_bar(x, batch_size, verbose):
        """(Progbar, steps) for evaluate / predict with verbose (Keras's line:
        steps of batch_size, 32 by default, the time they took), or None."""
        verbose = 1 if verbose == "auto" else int(verbose)
        if not verbose:
            return None
        n = x[3] if isinstance(x, tuple) else len(x)
        steps = max(1, math.ceil(n / int(batch_size or 32)))
        return _progress.Progbar(steps, verbose), steps

    def __call__(self, x):
        return self.predict(x, verbose=0)

    # ------------------------------------------------------------------
    # weights and persistence

    def _onnx_export(self):
        """What neurocore.to_onnx exports: the network's output for the input."""
        if self._net is None:
            try:
                self.build()
            except ValueError as e:
                raise NotFittedError(f"this model is not built, so it has no weights to export ({e})") from None
        self._pull()
        return {"kind": "keras", "net": self._net, "input_shape": self._net.input_shape,
                "int_input": bool(self._net.core_specs) and self._net.core_specs[0]["type"] == "embedding"}

    def get_weights(self):
        """Per layer: kernel and bias (Dense); gamma, beta, moving mean and variance (BatchNormalization)."""
        self._require_built()
        return self._net.get_weights()

    def set_weights(self, weights):
        """Set weights in the order get_weights gives them."""
        self._require_built()
        self._net.set_weights(weights)
        self._claim()

    def save_weights(self, filepath, overwrite=True):
        """Write the weights to a .npz archive (raw arrays, no pickle)."""
        filepath = os.fspath(filepath)
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(filepath)
        weights = self.get_weights()
        with open(filepath, "wb") as f:
            np.savez(f, **{f"w{i}": w for i, w in enumerate(weights)})

    def load_weights(self, filepath):
        """Read weights written by save_weights."""
        self._require_built()
        with np.load(os.fspath(filepath), allow_pickle=False) as data:
            keys = sorted(data.files, key=lambda k: int(k[1:]) if k[1:].isdigit() else -1)
            if any(not k.startswith("w") or not k[1:].isdigit() for k in keys):
                raise ValueError(f"{filepath} is not a neurocore weights file")
            self.set_weights([data[k] for k in keys])

    def get_config(self):
        return {"name": self.name, "class": type(self).__name__,
                "layers": [_config.serialize(layer) for layer in self._layers]}

    def export(self, filepath, format="onnx", verbose=True, **kwargs):
        """Export the model for serving, as Keras 3's ``model.export``.

        Parameters
        ----------
        filepath : str or path-like
            The file to write.
        format : {'onnx'}, default='onnx'
            ONNX, which ONNX Runtime serves (``neurocore.to_onnx``: input
            ``X`` of shape ``(None, *input_shape)``, output ``output_0``).
            Keras's TensorFlow formats need TensorFlow and are not offered.
        verbose : bool, default=True
            Print what was written.
        **kwargs
            Passed to ``neurocore.to_onnx`` (``target_opset``, ``name``, ``X``).

        Returns
        -------
        onnx.ModelProto
        """
        if format != "onnx":
            raise ValueError(f"format must be 'onnx' (ONNX Runtime serves it); got {format!r}: Keras's "
                             "TensorFlow formats need TensorFlow")
        proto = _onnx.to_onnx(self, path=filepath, **kwargs)
        if verbose:
            shape = ["None", *map(str, self._net.input_shape)]
            print(f"Saved an ONNX model to {os.fspath(filepath)}: input 'X' of shape ({', '.join(shape)}), "
                  f"output 'output_0'")
        return proto

    def save(self, filepath, overwrite=True):
        """Save architecture, compile settings and weights to one file (a zip of JSON and raw arrays)."""
        filepath = os.fspath(filepath)
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(filepath)
        self._require_built()
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": self.get_config(),
                "n_in": self._net.n_in, "input_shape": list(self._net.input_shape),
                "dtype": np.dtype(self.dtype).name}
        if self._compiled:
            meta["compile"] = {"optimizer": _config.serialize(self.optimizer),
                               "loss": self._compiled["loss"].spec(),
                               "metrics": [m if isinstance(m, str) else getattr(m, "__name__", str(m))
                                           for m in self._compiled["metrics"]]}
        write_archive(filepath, meta, {"weights.npz": {f"w{i}": w for i, w in enumerate(self.get_weights())}})

    def summary(self, print_fn=None):
        """Print each layer with its output shape and parameter count, as Keras does."""
        print_fn = print_fn or print
        self._require_built()
        net = self._net
        counts, state = {}, 0
        for buf, variables in (("params", net.variables), ("state", net.core.state_variables())):
            for v in variables:
                i = net.core_to_layer[v["layer"]]
                counts[i] = counts.get(i, 0) + int(np.prod(v["shape"]))
                if buf == "state":
                    state += int(np.prod(v["shape"]))
        rows = [(f"{layer.name} ({type(layer).__name__})", str((None,) + tuple(net.output_shapes[i])),
                 f"{counts.get(i, 0):,}") for i, layer in enumerate(net.layers)]
        # Keras's columns (32, 20, 13), widened to fit the longest entry
        w0 = max([32] + [len(r[0]) + 1 for r in rows])
        w1 = max([20] + [len(r[1]) + 1 for r in rows])
        width = w0 + w1 + 13
        lines = [f'Model: "{self.name}"', "_" * width,
                 f"{'Layer (type)':<{w0}}{'Output Shape':<{w1}}{'Param #':>13}", "=" * width]
        lines += [f"{name:<{w0}}{shape:<{w1}}{count:>13}" for name, shape, count in rows]
        total = net.params.size + state
        lines += ["=" * width, f"Total params: {total:,}", f"Trainable params: {net.params.size:,}",
                  f"Non-trainable params: {state:,}", "_" * width]
        for line in lines:
            print_fn(line)


class Model(Sequential):
    """A model from tensors (Keras's functional API, for chains).

    ``inputs`` is the tensor of an ``Input(shape)``, ``outputs`` the tensor
    that calling layers on it, one after another, made. The model has every
    method of :class:`Sequential` (compile, fit, evaluate, predict, summary,
    get_weights, save). A model built on part of another's graph holds the
    same layer objects, and so the same weights: train the whole, then
    predict with the part.

    Parameters
    ----------
    inputs : KerasTensor or list of one
        From ``Input(shape)``.
    outputs : KerasTensor or list of one
        A tensor made from ``inputs`` by layers called in a chain.
    name : str, optional

    Raises
    ------
    ValueError
        When the outputs do not come from the inputs, or the graph branches
        or merges (several inputs or outputs, a layer called on a list).

    Examples
    --------
    >>> from neurocore.keras import Input, Model
    >>> from neurocore.keras.layers import Dense
    >>> x = Input(shape=(8,))
    >>> code = Dense(2, activation="relu")(x)
    >>> autoencoder = Model(x, Dense(8, activation="sigmoid")(code))
    >>> encoder = Model(x, code)  # the same first layer, the same weights
    """

    def __init__(self, inputs=None, outputs=None, name=None, device="cpu", **kwargs):
        if kwargs:
            raise TypeError(f"Model got unexpected arguments {sorted(kwargs)}")
        if inputs is None or outputs is None:
            raise ValueError("Model(inputs, outputs) needs the input and output tensors (subclassing "
                             "Model with a call method is not supported: the core runs the layers)")
        input_layer, layers = _functional.chain(inputs, outputs)
        super().__init__([input_layer, *layers], name=name or "functional", device=device)
        self.inputs = [_functional.single(inputs, "inputs")]
        self.outputs = [_functional.single(outputs, "outputs")]

    @classmethod
    def _from_layers(cls, layers, name=None):
        """The chain of an InputLayer and layers as a Model (load_model)."""
        t = _functional.KerasTensor(layers[0])
        inputs = t
        for layer in layers[1:]:
            t = _functional.KerasTensor(layer, t)
        return cls(inputs, t, name=name)

    @property
    def layers(self):
        """The layers, the InputLayer first (as Keras lists a functional model's)."""
        return list(self._layers)


def load_model(filepath, compile=True):
    """Load a model written by Sequential.save or Model.save."""
    filepath = os.fspath(filepath)
    try:  # Keras raises ValueError for a missing file too
        meta, raw = read_archive(filepath, FORMAT, FORMAT_VERSION, ("weights.npz",), "neurocore model")
    except FileNotFoundError as e:
        raise ValueError(f"{filepath} is not a neurocore model file: {e}") from None
    try:
        return _rebuild_model(meta, raw["weights.npz"], compile)
    except Exception as e:  # noqa: BLE001 - any inconsistency is a damaged file
        raise ValueError(f"{filepath} holds an invalid neurocore model: {e}") from None


def _rebuild_model(meta, weights_npz, compile):
    with np.load(io.BytesIO(weights_npz), allow_pickle=False) as data:
        keys = sorted(data.files, key=lambda k: int(k[1:]))
        weights = [data[k] for k in keys]
    spec = meta.get("model", {})
    layers = [_config.deserialize(d) for d in spec.get("layers", [])]
    if spec.get("class", "Sequential") not in ("Sequential", "Model"):
        raise ValueError(f"unknown model class {spec.get('class')!r}")
    model = (Model._from_layers if spec.get("class") == "Model" else Sequential)(layers, name=spec.get("name"))
    if meta.get("dtype") in ("float32", "float64"):
        model.dtype = np.dtype(meta["dtype"]).type
    if compile and "compile" in meta:
        c = meta["compile"]
        loss = _losses.get(c["loss"]["name"]) if c["loss"]["name"] in _losses._ALIASES else None
        if loss is None:
            loss = _losses.Loss()
            loss.name = c["loss"]["name"]
        loss.from_logits, loss.delta = c["loss"].get("from_logits", False), c["loss"].get("delta", 1.0)
        model.compile(_config.deserialize(c["optimizer"]), loss, c.get("metrics"))
    n_in = int(meta["n_in"])
    input_shape = tuple(int(d) for d in meta.get("input_shape", [n_in]))
    if int(np.prod(input_shape)) != n_in:
        raise ValueError(f"n_in {n_in} does not match input_shape {input_shape}")
    model.build((None,) + input_shape)
    model.set_weights(weights)
    return model
