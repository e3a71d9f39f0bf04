"""The recurrent and sequence layers (``neurocore.keras.layers``): Keras 3's
``SimpleRNN``, ``LSTM``, ``GRU``, ``Bidirectional``, ``Embedding`` and
``Masking``, with Keras's arguments, defaults and weight layouts (kernel
(features, gates * units), recurrent_kernel (units, gates * units), bias;
LSTM gates i, f, c, o; GRU gates z, r, h with a (2, 3 * units) bias when
``reset_after``), so ``get_weights`` / ``set_weights`` exchange weights with
Keras. The C++ core runs them (backpropagation through time) and checks their
shapes when the model is built."""

import numpy as np

from . import _config
from . import activations as _acts
from . import constraints as _constraints
from . import initializers as _inits
from . import regularizers as _regs
from ._base import Layer, _penalty_specs, _WeightsMixin


def _positive_int(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _rate(value, what):
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{what} must be in [0, 1), got {value!r}")
    return value


def _plain_activation(identifier, what):
    """The core name of an activation that takes no parameters (a recurrent
    activation is sent by name)."""
    spec = _acts.get(identifier)
    if spec.get("alpha", 0.0) or spec.get("max_value") is not None or spec.get("threshold", 0.0):
        raise ValueError(f"{what}: a recurrent activation takes no parameters, got {identifier!r}")
    return spec["activation"]


class _UnitForgetBias(_inits.Initializer):
    """LSTM's bias with unit_forget_bias: the bias initializer's values with
    ones at the forget gate (Keras's LSTMCell.build)."""

    def __init__(self, base, units):
        self.base, self.units = base, units

    def sample(self, shape, rng):
        u = self.units
        return np.concatenate([np.ravel(self.base((u,), rng)), np.ones(u),
                               np.ravel(self.base((2 * u,), rng))]).reshape(shape)


class _Recurrent(_WeightsMixin, Layer):
    """What SimpleRNN, LSTM and GRU share (the kernel and bias options as Dense's)."""

    _cell = "lstm"
    _gates = 4

    def _init_rnn(self, units, activation, recurrent_activation, use_bias, kernel_initializer,
                  recurrent_initializer, bias_initializer, kernel_regularizer,
                  recurrent_regularizer, bias_regularizer, activity_regularizer,
                  kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                  recurrent_dropout, seed, return_sequences, return_state, go_backwards,
                  stateful, unroll):
        name = type(self).__name__
        self.units = _positive_int(units, f"{name}: units")
        self._init_weights(activation, use_bias, kernel_initializer, bias_initializer,
                           kernel_regularizer, bias_regularizer, activity_regularizer,
                           kernel_constraint, bias_constraint)
        self.recurrent_activation = recurrent_activation
        self._ract = _plain_activation(recurrent_activation, name)
        self.recurrent_initializer = _inits.get(recurrent_initializer)
        self.recurrent_regularizer = _regs.get(recurrent_regularizer)
        self.recurrent_constraint = _constraints.get(recurrent_constraint)
        self.dropout = _rate(dropout, f"{name}: dropout")
        self.recurrent_dropout = _rate(recurrent_dropout, f"{name}: recurrent_dropout")
        self.seed = seed  # the fit's random stream draws the masks
        self.return_sequences = bool(return_sequences)
        if return_state:
            raise ValueError(f"{name}: return_state=True is not supported (a Sequential model "
                             "has one output)")
        self.return_state = False
        self.go_backwards = bool(go_backwards)
        if stateful:
            raise ValueError(f"{name}: stateful=True is not supported (every batch starts from "
                             "a zero state)")
        self.stateful = False
        self.unroll = bool(unroll)  # a speed hint: the results are the same

    def _core_specs(self):
        spec = {"type": self._cell, "units": self.units, "use_bias": self.use_bias,
                "return_sequences": self.return_sequences, "go_backwards": self.go_backwards,
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, **self._act}
        if self._cell != "simple_rnn":
            spec["recurrent_activation"] = self._ract
        _penalty_specs(spec, {"kernel": self.kernel_regularizer, "recurrent": self.recurrent_regularizer,
                              "bias": self.bias_regularizer, "activity": self.activity_regularizer},
                       {"kernel": self.kernel_constraint, "recurrent": self.recurrent_constraint,
                        "bias": self.bias_constraint})
        return [spec]

    def _bias_init(self):
        return self.bias_initializer

    def _initializers(self):
        inits = {"kernel": self.kernel_initializer, "recurrent_kernel": self.recurrent_initializer}
        if self.use_bias:
            inits["bias"] = self._bias_init()
        return inits


class SimpleRNN(_Recurrent):
    """Fully connected recurrence: h(t) = activation(x(t) @ kernel + h(t-1) @ recurrent_kernel + bias).

    Input (timesteps, features); output (units), the last state, or
    (timesteps, units) with ``return_sequences``.
    """

    _prefix = "simple_rnn"
    _cell = "simple_rnn"
    _gates = 1

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self._init_rnn(units, activation, "linear", use_bias, kernel_initializer,
                       recurrent_initializer, bias_initializer, kernel_regularizer,
                       recurrent_regularizer, bias_regularizer, activity_regularizer,
                       kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                       recurrent_dropout, seed, return_sequences, return_state, go_backwards,
                       stateful, unroll)


class LSTM(_Recurrent):
    """Long short-term memory (Hochreiter and Schmidhuber, 1997), Keras's gate order i, f, c, o.

    c(t) = f * c(t-1) + i * activation(z_c), h(t) = o * activation(c(t)), the
    gates i, f, o the recurrent activation of their pre-activations
    x(t) @ kernel + h(t-1) @ recurrent_kernel + bias. ``unit_forget_bias``
    starts the forget gate's bias at 1.
    """

    _prefix = "lstm"
    _cell = "lstm"
    _gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 use_cudnn="auto", **kwargs):
        super().__init__(**kwargs)
        self._init_rnn(units, activation, recurrent_activation, use_bias, kernel_initializer,
                       recurrent_initializer, bias_initializer, kernel_regularizer,
                       recurrent_regularizer, bias_regularizer, activity_regularizer,
                       kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                       recurrent_dropout, seed, return_sequences, return_state, go_backwards,
                       stateful, unroll)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.use_cudnn = use_cudnn  # accepted for Keras's signature; the CPU core runs it

    def _bias_init(self):
        if self.unit_forget_bias:
            return _UnitForgetBias(self.bias_initializer, self.units)
        return self.bias_initializer


class GRU(_Recurrent):
    """Gated recurrent unit (Cho et al., 2014), Keras's gate order z, r, h.

    h(t) = z * h(t-1) + (1 - z) * activation(x_h + r * (h(t-1) @ R_h + b_rec_h))
    with ``reset_after=True`` (Keras's default: the bias is (2, 3 * units),
    input and recurrent rows), or activation(x_h + (r * h(t-1)) @ R_h) with
    ``reset_after=False`` (bias (3 * units,)).
    """

    _prefix = "gru"
    _cell = "gru"
    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, reset_after=True,
                 use_cudnn="auto", **kwargs):
        super().__init__(**kwargs)
        self._init_rnn(units, activation, recurrent_activation, use_bias, kernel_initializer,
                       recurrent_initializer, bias_initializer, kernel_regularizer,
                       recurrent_regularizer, bias_regularizer, activity_regularizer,
                       kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                       recurrent_dropout, seed, return_sequences, return_state, go_backwards,
                       stateful, unroll)
        self.reset_after = bool(reset_after)
        self.use_cudnn = use_cudnn

    def _core_specs(self):
        return [{**super()._core_specs()[0], "reset_after": self.reset_after}]


class Bidirectional(Layer):
    """Runs ``layer`` (a SimpleRNN, LSTM or GRU) forwards and a copy of it
    backwards over the sequence and merges their outputs: ``merge_mode``
    "concat" (the default), "sum", "mul" or "ave". Weights: the forward
    layer's, then the backward one's (Keras's order)."""

    _prefix = "bidirectional"

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, _Recurrent):
            raise ValueError("Bidirectional wraps a recurrent layer (SimpleRNN, LSTM or GRU), got "
                             f"{type(layer).__name__}")
        if merge_mode not in ("concat", "sum", "mul", "ave"):
            raise ValueError("Bidirectional: merge_mode must be 'concat', 'sum', 'mul' or 'ave', got "
                             f"{merge_mode!r}")
        if backward_layer is not None:
            raise ValueError("Bidirectional: backward_layer is not supported; the backward layer "
                             "is a copy of `layer` reading the sequence backwards")
        if weights is not None:
            raise ValueError("Bidirectional: give weights with set_weights after building the model")
        self.layer, self.merge_mode = layer, merge_mode
        if self._input_shape is None:
            self._input_shape = layer._input_shape

    def _core_specs(self):
        spec = dict(self.layer._core_specs()[0])
        spec["layer"] = spec.pop("type")
        return [{"type": "bidirectional", "merge_mode": self.merge_mode, **spec}]

    def _initializers(self):
        inner = self.layer._initializers()
        return {f"{d}_{k}": v for d in ("forward", "backward") for k, v in inner.items()}


class _Pretrained(_inits.Initializer):
    """The weights an Embedding was given (``weights=[matrix]``)."""

    def __init__(self, value):
        self.value = np.asarray(value, dtype=np.float64)

    def sample(self, shape, rng):
        if self.value.shape != tuple(shape):
            raise ValueError(f"Embedding: weights of shape {self.value.shape} where {tuple(shape)} "
                             "is expected")
        return self.value.copy()


class Embedding(Layer):
    """Turns integer token ids in [0, input_dim) into dense vectors of size
    output_dim (rows of the "embeddings" table). With ``mask_zero`` id 0 is
    padding: the recurrent layers above skip its steps. ``input_length``
    (Keras 2) declares the sequence length."""

    _prefix = "embedding"

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, input_length=None, activity_regularizer=None, **kwargs):
        if input_length is not None and "input_shape" not in kwargs:
            kwargs["input_shape"] = (_positive_int(input_length, "Embedding: input_length"),)
        super().__init__(**kwargs)
        self.input_dim = _positive_int(input_dim, "Embedding: input_dim")
        self.output_dim = _positive_int(output_dim, "Embedding: output_dim")
        self.embeddings_initializer = _inits.get(embeddings_initializer)
        self.embeddings_regularizer = _regs.get(embeddings_regularizer)
        self.embeddings_constraint = _constraints.get(embeddings_constraint)
        self.activity_regularizer = _regs.get(activity_regularizer)
        self.mask_zero = bool(mask_zero)
        self.input_length = input_length
        self.weights = None
        if weights is not None:
            w = weights[0] if isinstance(weights, (list, tuple)) else weights
            self.weights = [np.asarray(w, dtype=np.float64)]
            if self.weights[0].shape != (self.input_dim, self.output_dim):
                raise ValueError(f"Embedding: weights of shape {self.weights[0].shape} where "
                                 f"{(self.input_dim, self.output_dim)} is expected")

    def _core_specs(self):
        spec = {"type": "embedding", "input_dim": self.input_dim, "output_dim": self.output_dim,
                "mask_zero": self.mask_zero}
        _penalty_specs(spec, {"embeddings": self.embeddings_regularizer,
                              "activity": self.activity_regularizer},
                       {"embeddings": self.embeddings_constraint})
        return [spec]

    def get_config(self):
        config = super().get_config()
        config["weights"] = None  # the trained table travels with the model's weights
        return config

    def _initializers(self):
        if self.weights is not None:
            return {"embeddings": _Pretrained(self.weights[0])}
        return {"embeddings": self.embeddings_initializer}

    def _check_raw_input(self, X, what="x"):
        """Token ids as the model receives them: integers in [0, input_dim)."""
        if hasattr(X, "toarray"):
            raise ValueError(f"Embedding: {what} must be a dense array of integer token ids")
        arr = np.asarray(X)
        if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
            raise ValueError(f"Embedding: {what} must hold integer token ids, got dtype {arr.dtype} "
                             "(cast with X.astype(int) if the values are whole)")
        if arr.size and (arr.min() < 0 or arr.max() >= self.input_dim):
            bad = arr[(arr < 0) | (arr >= self.input_dim)].ravel()[0]
            raise ValueError(f"Embedding: token id {bad} is outside [0, input_dim = {self.input_dim})")


class Masking(Layer):
    """Marks the steps whose features all equal ``mask_value`` as padding: their
    output is zeros and the recurrent layers above skip them."""

    _prefix = "masking"

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def _core_specs(self):
        return [{"type": "masking", "mask_value": self.mask_value}]


_config.register_module(globals())
