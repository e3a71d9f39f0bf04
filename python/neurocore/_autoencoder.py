"""NeuralNetAutoencoder: an autoencoder as a scikit-learn transformer, trained in C++.

``transform`` gives the code (the encoder's output), ``inverse_transform`` the
reconstruction of a code; fit trains encoder and decoder together to
reproduce X (optionally from a noisy copy: a denoising autoencoder).
"""

from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _engine, _persist
from ._device import require_device
from ._neural_net import _REGRESSOR_LOSSES, _SHARED_DOC, _BaseNeuralNet, _hidden_layers, _sample_shape
from ._validation import exclusive_fit
from .keras import layers as _layers
from .keras import losses as _losses

_LOSSES = (_REGRESSOR_LOSSES - {"auto"}) | {"binary_crossentropy"}
_MSE = {"squared_error": "mean_squared_error", "mse": "mean_squared_error"}
_CONV = (_layers.Conv1D, _layers.Conv2D)
_POOL = {_layers.MaxPooling1D: _layers.UpSampling1D, _layers.AveragePooling1D: _layers.UpSampling1D,
         _layers.MaxPooling2D: _layers.UpSampling2D, _layers.AveragePooling2D: _layers.UpSampling2D}
# layers with no counterpart in a mirrored decoder (they change no shape)
_SKIP = (_layers.Dropout, _layers.GaussianNoise, _layers.BatchNormalization,
         _layers.LayerNormalization, _layers.Activation)


def _mirror(encoder, shapes_in):
    """The encoder's hidden layers reversed, after its first weighted layer
    (whose mirror is the output layer): Dense(units of its input), a
    stride-1 'same' convolution with its input's channels, UpSampling for a
    pooling, Reshape for a Flatten."""
    first = next((i for i, layer in enumerate(encoder) if isinstance(layer, (_layers.Dense, *_CONV))), None)
    if first is None:
        raise ValueError("the encoder has no Dense or convolutional layer to learn a code with")
    out = []
    for i in range(len(encoder) - 1, first, -1):
        layer, shape = encoder[i], shapes_in[i]
        what = f"encoder layer {layer.name!r} ({type(layer).__name__})"
        if isinstance(layer, _layers.Dense):
            out.append(_layers.Dense(shape[-1], activation=layer.activation))
        elif isinstance(layer, _CONV):
            if set(layer.strides) != {1} or set(layer.dilation_rate) != {1} or layer.padding != "same":
                raise ValueError(f"{what} cannot be mirrored (only stride-1 'same' convolutions "
                                 "can): give decoder=[...]")
            out.append(type(layer)(shape[-1], layer.kernel_size, padding="same", activation=layer.activation))
        elif type(layer) in _POOL:
            strides = layer.strides or layer.pool_size
            spatial = shape[:-1]
            if (tuple(strides) != tuple(layer.pool_size)
                    or any(d % p for d, p in zip(spatial, layer.pool_size))):
                raise ValueError(f"{what} cannot be mirrored (only a pooling whose windows tile its "
                                 f"input, here {spatial}, can): give decoder=[...]")
            size = layer.pool_size if len(layer.pool_size) > 1 else layer.pool_size[0]
            out.append(_POOL[type(layer)](size))
        elif isinstance(layer, (_layers.Flatten, _layers.Reshape)):
            out.append(_layers.Reshape(shape))
        elif isinstance(layer, _SKIP):
            continue
        else:
            raise ValueError(f"{what} cannot be mirrored into a decoder: give decoder=[...]")
    return out


def _output_layers(shape, sample, activation):
    """The layers from the decoder's output (shape) to a flat reconstruction of
    a sample of X (sample): a Dense of X's features, or for N-d X one per
    position (a 1x1 convolution) when the decoder keeps X's positions."""
    if len(sample) == 1:
        return ([_layers.Flatten()] if len(shape) > 1 else []) + [_layers.Dense(sample[0], activation=activation)]
    if len(shape) == 1:
        return [_layers.Dense(int(np.prod(sample)), activation=activation)]
    if len(shape) == len(sample) and tuple(shape[:-1]) == tuple(sample[:-1]):
        return [_layers.Dense(sample[-1], activation=activation), _layers.Flatten()]
    raise ValueError(
        f"the decoder's output shape {tuple(shape)} does not match X's per-sample shape {tuple(sample)}: "
        f"it must keep X's positions {tuple(sample[:-1])} (any channels) or be flat"
    )


@_persist.register_estimator
class NeuralNetAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _BaseNeuralNet):
    __doc__ = (
        """An autoencoder as a scikit-learn transformer, trained in C++.

    The encoder maps X to a code, the decoder maps the code back to X; both
    train together to reconstruct X. ``transform`` returns the code,
    ``inverse_transform`` the reconstruction of a code, so the estimator fits
    in a ``Pipeline`` before any classifier, like PCA.

    Parameters
    ----------
    encoder : list, default=(64, 16)
        The encoder's layers, first to last; its last layer's output is the
        code. Ints mean ``Dense(n, activation='relu')`` (on N-d X a Flatten
        comes first); layer objects of ``neurocore.keras.layers`` (Dense,
        Conv1D / Conv2D, pooling, Dropout, BatchNormalization, ...) are used as
        given.
    decoder : list or None, default=None
        The decoder's hidden layers (ints or layer objects), code to output.
        None mirrors the encoder: Dense layers of the sizes the encoder
        narrowed from, stride-1 'same' convolutions back to their input's
        channels, UpSampling for pooling. The output layer (a Dense of X's
        features, or of X's channels per position) is added either way.
    loss : str, default='mse'
        The reconstruction loss: 'mse', 'binary_crossentropy' (X in [0, 1],
        a sigmoid output), or any regression loss of NeuralNetRegressor
        ('mae', 'huber', 'log_cosh', ...).
    output_activation : str, default='auto'
        The output layer's activation: 'auto' is 'sigmoid' for
        binary_crossentropy, 'exponential' for poisson, else 'linear'.
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to the inputs while
        training (a denoising autoencoder); the target stays the clean X.
"""
        + "    optimizer :" + _SHARED_DOC.split("    optimizer :", 1)[1]
        + """
    Attributes
    ----------
    history_ : dict of list
        Per-epoch figures: 'loss', the metrics, and with a validation split
        'val_loss' and 'val_<metric>'.
    n_iter_ : int
        Epochs run.
    loss_ : float
        The last epoch's training loss.
    code_shape_ : tuple
        The per-sample shape of the code (``transform`` flattens it).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    Examples
    --------
    >>> from neurocore import NeuralNetAutoencoder
    >>> from sklearn.datasets import load_digits
    >>> X = load_digits().data / 16
    >>> ae = NeuralNetAutoencoder([32, 8], loss="binary_crossentropy", epochs=20,
    ...                           random_state=0).fit(X)
    >>> ae.transform(X).shape
    (1797, 8)
    >>> ae.inverse_transform(ae.transform(X)).shape
    (1797, 64)
    """
    )

    _parameter_constraints: dict = {
        **{k: v for k, v in _BaseNeuralNet._parameter_constraints.items() if k != "layers"},
        "encoder": [list, tuple],
        "decoder": [list, tuple, None],
        "loss": [StrOptions(_LOSSES)],
        "output_activation": [str],
        "noise": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, encoder=(64, 16), decoder=None, *, loss="mse", output_activation="auto", noise=0.0,
                 optimizer="adam", metrics=None, epochs=100, batch_size=32, validation_split=0.0,
                 callbacks=None, shuffle=True, random_state=None, n_jobs=None, verbose=0, dtype="float32",
                 device="cpu"):
        self.encoder = encoder
        self.decoder = decoder
        self.loss = loss
        self.output_activation = output_activation
        self.noise = noise
        self.optimizer = optimizer
        self.metrics = metrics
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.callbacks = callbacks
        self.shuffle = shuffle
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.dtype = dtype
        self.device = device

    # -- the network ----------------------------------------------------------
    def _loss_name(self):
        return _MSE.get(self.loss, self.loss)

    def _layers_for(self, sample):
        """The whole network for samples of shape `sample`, and the index of the code's layer."""
        loss = self._loss_name()
        act = self.output_activation
        if act == "auto":
            act = {"binary_crossentropy": "sigmoid", "poisson": "exponential"}.get(loss, "linear")
        items = list(self.encoder)
        if not items:
            raise ValueError("encoder must hold at least one layer")
        encoder = _hidden_layers(items)
        if len(sample) > 1 and isinstance(items[0], (int, np.integer)):
            encoder.insert(0, _layers.Flatten())
        probe = _engine.Network(encoder, sample, _losses.get("mean_squared_error"), np.dtype(self.dtype))
        shapes_in = [tuple(sample)] + [tuple(s) for s in probe.output_shapes[:-1]]
        code = tuple(probe.output_shapes[-1])
        decoder = _mirror(encoder, shapes_in) if self.decoder is None else _hidden_layers(self.decoder)
        out_shape = code
        if decoder:
            out_shape = tuple(_engine.Network(decoder, code, _losses.get("mean_squared_error"),
                                              np.dtype(self.dtype)).output_shape)
        noise = [_layers.GaussianNoise(float(self.noise))] if self.noise > 0 else []
        try:
            out = _output_layers(out_shape, sample, act)
        except ValueError as e:
            if self.decoder is not None:
                raise
            raise ValueError(f"{e} (the encoder mirrored: give decoder=[...] that reaches X's shape)") from None
        layers = noise + encoder + decoder + out
        return layers, len(noise) + len(encoder) - 1

    def _fit_ae(self, X, incremental):
        require_device(self.device, type(self).__name__)
        first = not incremental or "_net" not in self.__dict__
        X = validate_data(self, X, accept_sparse=["csr", "csc"], dtype=np.dtype(self.dtype), order="C",
                          reset=first, allow_nd=True)
        dtype = np.dtype(self.dtype)
        sample = tuple(X.shape[1:])
        if not first and sample != self._sample_shape:
            raise ValueError(f"X has samples of shape {sample}, but the autoencoder was fitted on "
                             f"{self._sample_shape}; call fit to start again")
        Y = X.toarray() if sp.issparse(X) else X
        Y = np.ascontiguousarray(Y.reshape(Y.shape[0], -1), dtype=dtype)
        if self._loss_name() == "binary_crossentropy" and (Y.min() < 0 or Y.max() > 1):
            raise ValueError("loss='binary_crossentropy' reconstructs values in [0, 1]; X has values "
                             f"in [{Y.min():g}, {Y.max():g}] (scale it, e.g. with MinMaxScaler)")
        if self._loss_name() == "poisson" and Y.min() < 0:
            raise ValueError("loss='poisson' requires non-negative X")
        layers = None
        if first:
            layers, self._code_index = self._layers_for(sample)
            self._sample_shape = sample
        Xc, shape = _engine.as_features(X, dtype, input_shape=_sample_shape(X))
        self.__dict__.pop("_halves", None)
        self._fit_network(Xc, Y, None, None, self._loss_name(), incremental=incremental,
                          sample_shape=tuple(shape[1:]), layers=layers)
        self.code_shape_ = tuple(self._net.output_shapes[self._code_index])
        self._n_features_out = int(np.prod(self.code_shape_))
        self._split()
        return self

    def _split(self):
        """The encoder's and the decoder's networks, with the fitted weights
        (after each fit, and when the model is loaded)."""
        net, k = self._net, self._code_index
        self._halves = {}
        for which, part, shape, offset in (("encoder", net.layers[:k + 1], net.input_shape, 0),
                                           ("decoder", net.layers[k + 1:], tuple(net.output_shapes[k]), k + 1)):
            half = _engine.Network(part, shape, _losses.get("mean_squared_error"), net.dtype)
            for i in range(len(part)):
                half.set_weights(net.get_weights(offset + i), layer=i)
            self._halves[which] = half

    def _half(self, which):
        return self._halves[which]

    # -- scikit-learn's API -----------------------------------------------------
    @exclusive_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train encoder and decoder to reconstruct X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or (n_samples, d1, ..., dk)
            Rows of features, or samples of any shape (images with a
            convolutional encoder).
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        return self._fit_ae(X, incremental=False)

    @exclusive_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """One epoch over X, continuing the network, its optimizer state and
        its random stream (a first call starts the network).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or (n_samples, d1, ..., dk)
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        return self._fit_ae(X, incremental=True)

    def _rows(self, X):
        check_is_fitted(self, "_net")
        if self.device != "cpu":
            require_device(self.device, type(self).__name__)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False, dtype=np.dtype(self.dtype),
                          order="C", allow_nd=True)
        if tuple(X.shape[1:]) != self._sample_shape:
            raise ValueError(f"X has samples of shape {tuple(X.shape[1:])}, but the autoencoder was "
                             f"fitted on {self._sample_shape}")
        Xc, _ = _engine.as_features(X, np.dtype(self.dtype), input_shape=_sample_shape(X))
        return Xc

    def transform(self, X):
        """The code of each sample: the encoder's output, flattened.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or (n_samples, d1, ..., dk)

        Returns
        -------
        Z : ndarray of shape (n_samples, n_codes)
        """
        return self._half("encoder").predict_rows(self._rows(X), _engine.n_threads(self.n_jobs))

    def _onnx_export(self):
        """What neurocore.to_onnx exports: the encoder (transform's codes, flattened)."""
        check_is_fitted(self, "_net")
        encoder = self._half("encoder")
        return {"kind": "transformer", "net": encoder, "input_shape": encoder.input_shape}

    def inverse_transform(self, Z):
        """The reconstruction of each code (the decoder's output), in X's shape.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_codes)

        Returns
        -------
        X_rec : ndarray of shape (n_samples, n_features) or (n_samples, d1, ..., dk)
        """
        check_is_fitted(self, "_net")
        Z = np.asarray(Z)
        if Z.ndim != 2 or Z.shape[1] != self._n_features_out:
            raise ValueError(f"Z must have shape (n_samples, {self._n_features_out}) (the code's size), "
                             f"got {Z.shape}")
        Zc = np.ascontiguousarray(Z, dtype=np.dtype(self.dtype))
        if not np.isfinite(Zc).all():
            raise ValueError("Z contains NaN or infinity")
        out = self._half("decoder").predict_rows(Zc, _engine.n_threads(self.n_jobs))
        return out.reshape((len(out),) + self._sample_shape)

    def reconstruct(self, X):
        """X encoded and decoded (``inverse_transform(transform(X))`` in one pass).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or (n_samples, d1, ..., dk)

        Returns
        -------
        X_rec : ndarray of X's shape
        """
        out = self._net.predict_rows(self._rows(X), _engine.n_threads(self.n_jobs))
        return out.reshape((len(out),) + self._sample_shape)

    def score(self, X, y=None):
        """The negative mean squared reconstruction error (higher is better).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or (n_samples, d1, ..., dk)
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        rec = self.reconstruct(X)
        X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
        return -float(np.mean((rec.reshape(len(rec), -1) - X.reshape(len(X), -1)) ** 2))

    def __getstate__(self):
        state = dict(super().__getstate__())  # (object's is the instance's own dict)
        state.pop("_halves", None)  # rebuilt from the network on load
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "_net" in self.__dict__ and "_code_index" in self.__dict__:
            self._split()

    def _check_restored(self):
        self._check_restored_inputs()
        self._check_restored_network()
        k = self._code_index
        if not isinstance(k, (int, np.integer)) or not 0 <= k < len(self._net.layers) - 1:
            raise ValueError("invalid code layer")
        self._sample_shape = tuple(int(d) for d in self._sample_shape)
        self.code_shape_ = tuple(int(d) for d in self.code_shape_)
        if self._sample_shape != self._net.input_shape:
            raise ValueError("the sample shape does not match the network")
        if self.transform(np.zeros((2,) + self._sample_shape)).shape != (2, self._n_features_out):
            raise ValueError("the restored autoencoder does not transform")

    def _check_raw_X(self, X):
        pass  # no token ids: an autoencoder reconstructs features

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = [self.dtype]  # the codes are in the estimator's dtype
        return tags
