"""The scikit-learn multilayer perceptron over neurocore's engine: what
MLPClassifier and MLPRegressor share (``neurocore._mlp`` defines those two).

The estimators validate parameters and data once, at this boundary, with
scikit-learn's own tools, then hand plain arrays and a network spec to the
engine (``neurocore._engine``). Parameters live in one flat buffer
(scikit-learn's packing order: every kernel, then every bias); ``coefs_`` and
``intercepts_`` are views into it. The training loop, including shuffling,
early stopping and the learning-rate schedule, runs in C++ and follows
scikit-learn's ``_multilayer_perceptron.py`` rule for rule, drawing from the
same random stream, so a float64 fit reproduces scikit-learn's weights.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator, _fit_context, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from . import _engine
from .keras import activations as _keras_activations
from ._activations import ACTIVATION_NAMES, activation_spec
from ._device import require_device
from ._persist import PersistMixin
from ._validation import FastValidationMixin, check_random_state, exclusive_fit

# the extra losses: estimator name -> the core's (Keras) loss
_KERAS_LOSSES = {
    "hinge": "hinge",
    "squared_hinge": "squared_hinge",
    "categorical_hinge": "categorical_hinge",
    "absolute_error": "mean_absolute_error",
    "huber": "huber",
    "log_cosh": "log_cosh",
    "mean_squared_logarithmic_error": "mean_squared_logarithmic_error",
    "mean_absolute_percentage_error": "mean_absolute_percentage_error",
}
_HINGE = ("hinge", "squared_hinge", "categorical_hinge")

_STOCHASTIC_SOLVERS = ("sgd", "adam", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "adamw")
_DTYPES = {"float32": np.float32, "float64": np.float64}


def _resolve_dtype(dtype):
    if dtype is None:
        return None
    if isinstance(dtype, str):
        return np.dtype(_DTYPES[dtype])
    return np.dtype(dtype)


_resolve_n_jobs = _engine.n_threads  # None or -1: every core; -k: every core but k - 1


def _lbfgs_iprint_options(iprint):
    try:  # scikit-learn knows which scipy versions still take iprint
        from sklearn.utils.fixes import _get_additional_lbfgs_options_dict

        return _get_additional_lbfgs_options_dict("iprint", iprint)
    except ImportError:  # pragma: no cover
        return {}


def _check_lbfgs_result(result, max_iter):
    try:
        from sklearn.utils.optimize import _check_optimize_result

        return _check_optimize_result("lbfgs", result, max_iter)
    except ImportError:  # pragma: no cover
        if not result.success:
            warnings.warn(
                f"lbfgs failed to converge: {result.message}", ConvergenceWarning
            )
        return min(result.nit, max_iter)


# scikit-learn's error for a fit that ends with non-finite weights
_NONFINITE = (
    "Solver produced non-finite parameter weights. The input data may contain large values "
    "and need to be preprocessed."
)


class BaseMultilayerPerceptron(PersistMixin, FastValidationMixin, BaseEstimator):
    """Base class for MLP classification and regression.

    Warning: This class should not be used directly. Use derived classes instead.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATION_NAMES)), list, tuple, callable],
        "solver": [StrOptions({"lbfgs", *_STOCHASTIC_SOLVERS})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [
            Interval(Integral, None, -1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
        "dtype": [
            None,
            StrOptions(set(_DTYPES)),
            Options(type, {np.float32, np.float64}),
        ],
        "dropout": [Interval(Real, 0, 1, closed="left"), list, tuple],
        "batch_norm": ["boolean", StrOptions({"before", "after"})],
        "l1": [Interval(Real, 0, None, closed="left")],
        "callbacks": [list, tuple, None],
        "device": [str, None],
    }

    def __init__(
        self,
        hidden_layer_sizes,
        activation,
        solver,
        alpha,
        batch_size,
        learning_rate,
        learning_rate_init,
        power_t,
        max_iter,
        loss,
        shuffle,
        random_state,
        tol,
        verbose,
        warm_start,
        momentum,
        nesterovs_momentum,
        early_stopping,
        validation_fraction,
        beta_1,
        beta_2,
        epsilon,
        n_iter_no_change,
        max_fun,
        n_jobs,
        dtype,
        dropout=0.0,
        batch_norm=False,
        l1=0.0,
        callbacks=None,
        device="cpu",
    ):
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.n_jobs = n_jobs
        self.dtype = dtype
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.l1 = l1
        self.callbacks = callbacks
        self.device = device

    # ------------------------------------------------------------------
    # the flat parameter buffer and the C++ network

    def _core_loss(self):
        if self.out_activation_ == "softmax":
            return "log_loss"
        if self.out_activation_ == "logistic":
            return "binary_log_loss"
        return _KERAS_LOSSES.get(self.loss, self.loss)  # squared_error, poisson, or a Keras loss

    def _report_scale(self):
        # scikit-learn reports the squared error averaged over outputs, while
        # its gradient (and our objective) sums them
        if self._core_loss() == "squared_error":
            return 1.0 / self.n_outputs_
        return 1.0

    def _hidden_activations(self, n_hidden=None):
        """One activation per hidden layer, checked, as the core's spec: from a
        name, or (as in the Keras facade) an activation layer such as
        ``LeakyReLU(0.3)`` or a function of neurocore.keras.activations."""
        if n_hidden is None:
            n_hidden = len(self._layer_units) - 2
        act = self.activation
        entries = list(act) if isinstance(act, (list, tuple)) else [act] * n_hidden
        if len(entries) != n_hidden:
            raise ValueError(
                f"activation has {len(entries)} entries but the network has {n_hidden} "
                "hidden layers; give one name, or one per hidden layer."
            )
        specs = []
        for entry in entries:
            if isinstance(entry, str):
                if entry not in ACTIVATION_NAMES:
                    raise ValueError(
                        f"Unknown activation {entry!r}; expected one of {sorted(ACTIVATION_NAMES)}."
                    )
                specs.append(activation_spec(entry))
            else:
                specs.append(_keras_activations.get(entry))  # a ValueError names what it cannot read
        return specs

    def _dropout_rates(self, n_hidden):
        rates = self.dropout
        rates = [rates] * n_hidden if not isinstance(rates, (list, tuple)) else list(rates)
        if len(rates) != n_hidden:
            raise ValueError(
                f"dropout has {len(rates)} entries but the network has {n_hidden} hidden layers"
            )
        for r in rates:
            if not (isinstance(r, Real) and 0 <= r < 1):
                raise ValueError(f"dropout rates must be in [0, 1), got {r!r}")
        return [float(r) for r in rates]

    def _extras_used(self):
        return bool(self.batch_norm) or any(r > 0 for r in self._dropout_rates(len(self._layer_units) - 2))

    def _layer_specs(self):
        """The network as the C++ core takes it: Dense layers, with batch norm and dropout extras.

        Dense kernels and biases come first in the flat buffer (scikit-learn's
        packing order), so coefs_ and intercepts_ are the same views with or
        without the extras; batch-norm scales and offsets follow them.
        """
        units = self._layer_units
        hidden = self._hidden_activations()
        rates = self._dropout_rates(len(hidden))
        bn = {True: "before", False: None}.get(self.batch_norm, self.batch_norm)
        l1 = {"kernel_l1": float(self.l1)} if self.l1 else {}
        specs = []
        for u, act, rate in zip(units[1:-1], hidden, rates):
            if bn == "before":
                specs += [{"type": "dense", "units": int(u), **activation_spec("linear"), **l1},
                          {"type": "batch_normalization"},
                          {"type": "activation", **act}]
            else:
                specs.append({"type": "dense", "units": int(u), **act, **l1})
                if bn == "after":
                    specs.append({"type": "batch_normalization"})
            if rate > 0:
                specs.append({"type": "dropout", "rate": rate})
        specs.append({"type": "dense", "units": int(units[-1]), **activation_spec(self.out_activation_), **l1})
        return specs

    def _build_network(self, dtype):
        """A new engine Network of these layer sizes and extras, with fresh buffers."""
        self._net = _engine.Network(self._layer_specs(), (int(self._layer_units[0]),),
                                    {"name": self._core_loss()}, dtype)
        return self._net

    def _network(self):
        """The engine's Network over this estimator's buffers (built once per dtype)."""
        d = self.__dict__
        net, params = d.get("_net"), d["_params"]
        if net is not None and net.params is params and net.state is d.get("_state"):
            return net  # predict's path: identity checks only
        if net is None or net.dtype != params.dtype:
            net = self._build_network(params.dtype)
        net.params = params
        net.state = d.get("_state", net.state)
        return net

    def _bind_views(self):
        """Make coefs_ and intercepts_ views into the flat parameter buffer."""
        units = self._layer_units
        coefs, intercepts = [], []
        start = 0
        for fan_in, fan_out in zip(units[:-1], units[1:]):
            end = start + fan_in * fan_out
            coefs.append(self._params[start:end].reshape(fan_in, fan_out))
            start = end
        for fan_out in units[1:]:
            intercepts.append(self._params[start : start + fan_out])
            start += fan_out
        self.coefs_ = coefs
        self.intercepts_ = intercepts

    def _sync_user_params(self):
        """Copy coefs_/intercepts_ into the buffer if the user replaced them."""
        units = self._layer_units
        coefs = getattr(self, "coefs_", None)
        intercepts = getattr(self, "intercepts_", None)
        if coefs is None or intercepts is None:
            return
        if len(coefs) != len(units) - 1 or len(intercepts) != len(units) - 1:
            raise ValueError(
                "coefs_ and intercepts_ must have one entry per layer "
                f"({len(units) - 1}); got {len(coefs)} and {len(intercepts)}."
            )
        replaced = any(
            not np.shares_memory(a, self._params) for a in list(coefs) + list(intercepts)
        )
        if not replaced:
            return
        new = []
        for i, (fan_in, fan_out) in enumerate(zip(units[:-1], units[1:])):
            c = np.asarray(coefs[i])
            if c.shape != (fan_in, fan_out):
                raise ValueError(
                    f"coefs_[{i}] has shape {c.shape}, expected {(fan_in, fan_out)}."
                )
            new.append(c.ravel())
        for i, fan_out in enumerate(units[1:]):
            b = np.asarray(intercepts[i])
            if b.shape != (fan_out,):
                raise ValueError(
                    f"intercepts_[{i}] has shape {b.shape}, expected {(fan_out,)}."
                )
            new.append(b)
        packed = np.concatenate(new)
        self._params[: packed.size] = packed
        self._bind_views()

    def __getstate__(self):
        state = super().__getstate__()
        state = dict(state)
        # views are rebuilt on load; the C++ network is rebuilt lazily
        for key in ("coefs_", "intercepts_", "_net", "_last_reported_loss"):
            state.pop(key, None)
        if not state.get("early_stopping", False):
            # only early stopping reads it: a copy of the weights not worth shipping
            state.pop("_best_params", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "_params" in self.__dict__:
            if "_best_params" not in self.__dict__:  # not saved without early stopping
                self._best_params = self._params.copy()
            try:
                self._bind_views()
            except (ValueError, IndexError, TypeError) as e:
                raise ValueError(f"the parameters do not match the layer sizes: {e}") from None

    def _check_restored_network(self):
        units, params = self._layer_units, self._params
        if (not isinstance(units, list) or len(units) < 2
                or not all(isinstance(u, (int, np.integer)) and u > 0 for u in units)):
            raise ValueError(f"invalid layer sizes {units!r}")
        if units[0] != self.n_features_in_ or units[-1] != self.n_outputs_ or self.n_layers_ != len(units):
            raise ValueError("layer sizes do not match n_features_in_, n_outputs_ and n_layers_")
        if not isinstance(params, np.ndarray) or params.dtype not in (np.float32, np.float64):
            raise ValueError("the parameters are not a float32 or float64 array")
        if self.out_activation_ not in ("identity", "logistic", "softmax", "exp"):
            raise ValueError(f"invalid out_activation_ {self.out_activation_!r}")
        # the network these hyperparameters build (Dense kernels and biases, and
        # batch normalization's scales and offsets when batch_norm is on)
        self._net = None
        try:
            net = self._network()
        except (ValueError, TypeError) as e:
            raise ValueError(f"the hyperparameters do not build a network: {e}") from None
        opt = getattr(self, "_optimizer", None)
        if opt is not None and not isinstance(opt, _engine.OptimizerState):
            raise ValueError("invalid optimizer state")
        net.check_buffers(slots=[] if opt is None else opt.slots, params_name="_params",
                          _best_params=self.__dict__.get("_best_params", params))

    # ------------------------------------------------------------------
    # fitting

    def _compute_dtype(self):
        return _resolve_dtype(self.dtype)

    def _prepare_X(self, X):
        """X as the C++ core takes it: C-contiguous dense, or a CSR tuple."""
        return _engine.to_core(X, self._params.dtype)

    def _new_buffers(self, dtype):
        """Zeroed parameters (batch-norm scales at 1) and the network's starting state."""
        net = self._build_network(dtype)
        for v in net.variables:
            if v["name"] == "gamma":
                net.params[v["offset"]:v["offset"] + v["shape"][0]] = 1.0
        return net.params, net.state

    def _output_activation(self):
        if not is_classifier(self):
            return "exp" if self.loss == "poisson" else "identity"
        multiclass = self._label_binarizer.y_type_ == "multiclass"
        if self.loss in _HINGE:
            if (self.loss == "categorical_hinge") != multiclass:
                raise ValueError(
                    "loss='categorical_hinge' needs multiclass targets; 'hinge' and "
                    "'squared_hinge' need binary or multilabel ones"
                )
            return "identity"
        return "softmax" if multiclass else "logistic"

    def _initialize(self, y, layer_units, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        self._layer_units = list(layer_units)
        self.out_activation_ = self._output_activation()

        n_coefs = sum(a * b for a, b in zip(layer_units[:-1], layer_units[1:]))
        params, self._state = self._new_buffers(dtype)
        # scikit-learn's Glorot-uniform initialisation, drawn in its order (the
        # bound is sqrt(2 / fan) for logistic layers, sqrt(6 / fan) otherwise;
        # the output layer follows the last hidden layer, as in scikit-learn)
        hidden = [spec["activation"] for spec in self._hidden_activations(len(layer_units) - 2)]
        first = self.activation if isinstance(self.activation, str) else "relu"
        feeding = hidden + [hidden[-1] if hidden else first]
        c_off, b_off = 0, n_coefs
        for i, (fan_in, fan_out) in enumerate(zip(layer_units[:-1], layer_units[1:])):
            factor = 2.0 if feeding[i] in ("logistic", "sigmoid") else 6.0
            bound = np.sqrt(factor / (fan_in + fan_out))
            coef = self._random_state.uniform(-bound, bound, (fan_in, fan_out))
            intercept = self._random_state.uniform(-bound, bound, fan_out)
            params[c_off : c_off + fan_in * fan_out] = coef.ravel()
            params[b_off : b_off + fan_out] = intercept
            c_off += fan_in * fan_out
            b_off += fan_out
        self._params = params
        self._bind_views()
        self._best_params = params.copy()

        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _adopt_user_params(self, y, layer_units, dtype):
        """Start from coefs_ / intercepts_ the user assigned to an unfitted estimator."""
        coefs, intercepts = list(self.coefs_), list(getattr(self, "intercepts_", []))
        units = [layer_units[0]] + [np.shape(c)[1] if np.ndim(c) == 2 else -1 for c in coefs]
        if list(units) != list(layer_units):
            raise ValueError(
                f"coefs_ assigned by hand describe layers {units}, but this data and "
                f"hidden_layer_sizes need {layer_units}."
            )
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        self._layer_units = list(layer_units)
        if not hasattr(self, "out_activation_"):
            self.out_activation_ = self._output_activation()
        self._params, self._state = self._new_buffers(dtype)
        self.coefs_, self.intercepts_ = coefs, intercepts
        self._sync_user_params()
        self._best_params = self._params.copy()
        self._net = None
        for name, value in (("n_iter_", 0), ("t_", 0), ("_no_improvement_count", 0)):
            if not hasattr(self, name):
                setattr(self, name, value)
        if self.solver in _STOCHASTIC_SOLVERS:
            if not hasattr(self, "loss_curve_"):
                self.loss_curve_ = []
            if self.early_stopping:
                self.validation_scores_ = getattr(self, "validation_scores_", None) or []
                self.best_validation_score_ = getattr(
                    self, "best_validation_score_", -np.inf
                )
                self.best_loss_ = None
            else:
                self.best_loss_ = getattr(self, "best_loss_", np.inf)
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _fit(self, X, y, sample_weight=None, incremental=False):
        require_device(self.device, type(self).__name__)
        hidden_layer_sizes = self.hidden_layer_sizes
        if not hasattr(hidden_layer_sizes, "__iter__"):
            hidden_layer_sizes = [hidden_layer_sizes]
        hidden_layer_sizes = list(hidden_layer_sizes)
        if any(
            not isinstance(h, (Integral, np.integer)) or isinstance(h, bool)
            for h in hidden_layer_sizes
        ):
            raise ValueError(
                f"hidden_layer_sizes must contain integers, got {hidden_layer_sizes}."
            )
        if np.any(np.array(hidden_layer_sizes) <= 0):
            raise ValueError(
                "hidden_layer_sizes must be > 0, got %s." % hidden_layer_sizes
            )

        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        dtype = self._compute_dtype()
        X, y = self._validate_input(
            X, y, incremental, reset=first_pass,
            dtype=(np.float64, np.float32) if dtype is None else dtype,
        )
        dtype = X.dtype
        n_samples, n_features = X.shape

        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=dtype)
            sample_weight = np.ascontiguousarray(sample_weight, dtype=dtype)

        if y.ndim == 1:
            y = y.reshape((-1, 1))
        n_outputs = y.shape[1]
        layer_units = [n_features] + hidden_layer_sizes + [n_outputs]

        self._random_state = check_random_state(self.random_state)

        if first_pass:
            self._initialize(y, layer_units, dtype)
        elif not hasattr(self, "_params"):
            self._adopt_user_params(y, layer_units, dtype)
        else:
            if list(layer_units) != list(self._layer_units):
                raise ValueError(
                    f"The network has layers {self._layer_units}, but this data and "
                    f"hidden_layer_sizes need {layer_units}; fit with warm_start=False "
                    "to start a new network."
                )
            if self._params.dtype != dtype:
                # the user changed dtype between calls: continue in the new precision
                self._params = self._params.astype(dtype)
                self._best_params = self._best_params.astype(dtype)
                self._state = self._state.astype(dtype)
                self._net = None
                if hasattr(self, "_optimizer"):
                    del self._optimizer
                self._bind_views()
            self._sync_user_params()
            self.n_outputs_ = n_outputs

        y = np.ascontiguousarray(y, dtype=dtype)
        Xc = self._prepare_X(X)
        class_weights = getattr(self, "_fit_class_weights", None)
        if class_weights is not None:
            del self._fit_class_weights
            sample_weight = class_weights if sample_weight is None else sample_weight * class_weights
            sample_weight = np.ascontiguousarray(sample_weight, dtype=dtype)
        if self.solver == "lbfgs" and (self._extras_used() or self.callbacks):
            raise ValueError(
                "dropout, batch_norm and callbacks need a stochastic solver (batches and "
                "epochs); solver='lbfgs' optimizes the whole-data loss"
            )

        if self.solver in _STOCHASTIC_SOLVERS:
            self._fit_stochastic(Xc, y, sample_weight, incremental)
        elif self.solver == "lbfgs":
            self._fit_lbfgs(Xc, y, sample_weight)

        if not np.isfinite(self._params).all():
            raise ValueError(_NONFINITE)
        return self

    def _loss_grad_lbfgs(self, packed_coef_inter, X, y, sample_weight=None, *_):
        """Loss and gradient of the packed parameter vector (set as the parameters).

        The objective is the mean loss plus ``alpha / 2 * ||W||^2 / n`` (sums of
        sample weights in place of n), computed in C++ over the whole data;
        extra positional arguments (scikit-learn's workspaces) are ignored.
        """
        params = self._params
        params[:] = packed_coef_inter
        Xc = X if isinstance(X, tuple) else self._prepare_X(X)
        n = Xc[3] if isinstance(Xc, tuple) else Xc.shape[0]
        Y = np.ascontiguousarray(y, dtype=params.dtype).reshape(n, -1)
        if sample_weight is not None:
            sample_weight = np.ascontiguousarray(sample_weight, dtype=params.dtype)
        grad = np.empty_like(params)
        obj, reported = self._network().core.objective(
            params, Xc, Y, sample_weight, float(self.alpha), self._report_scale(), grad,
            _resolve_n_jobs(self.n_jobs), 0, True,
        )
        self._last_reported_loss = reported
        return obj, grad.astype(np.float64)

    def _fit_lbfgs(self, Xc, y, sample_weight):
        params = self._params
        last = {}

        start = params.copy()

        def fun(x):
            out = self._loss_grad_lbfgs(x, Xc, y, sample_weight)
            last["x"] = x.copy()
            last["reported"] = self._last_reported_loss
            if np.isfinite(out[0]) and np.isfinite(self._params).all():
                last["finite"] = last["x"]
            return out

        iprint = 1 if (self.verbose is True or self.verbose >= 1) else -1
        # L-BFGS-B's own work is vector operations on the parameter vector;
        # other BLAS libraries' threads spinning after it starved our objective
        # (2 cores: 120 ms instead of 10 ms for 16 iterations). The core's own
        # products run on its OpenMP threads, which this does not limit.
        with threadpool_limits(limits=1, user_api="blas"):
            opt_res = scipy.optimize.minimize(
                fun,
                params.astype(np.float64),
                method="L-BFGS-B",
                jac=True,
                options={
                    "maxfun": self.max_fun,
                    "maxiter": self.max_iter,
                    "gtol": self.tol,
                    **_lbfgs_iprint_options(iprint),
                },
            )
        self.n_iter_ = _check_lbfgs_result(opt_res, self.max_iter)
        params[:] = opt_res.x
        if not np.isfinite(params).all() or not np.isfinite(opt_res.fun):
            params[:] = last.get("finite", start)
            del self._last_reported_loss
            raise ValueError(
                _NONFINITE + " L-BFGS diverged; the weights were restored to its last point with "
                "a finite loss."
            )
        if "x" in last and np.array_equal(last["x"], opt_res.x):
            self.loss_ = float(last["reported"])
        else:
            self._loss_grad_lbfgs(opt_res.x, Xc, y, sample_weight)
            self.loss_ = float(self._last_reported_loss)
        del self._last_reported_loss

    def _optimizer_config(self):
        """The optimizer as the C++ core takes it.

        'sgd' and 'adam' are scikit-learn's; the Keras optimizers keep Keras's
        defaults for what scikit-learn has no parameter for (rho=0.9,
        RMSprop without momentum, Adagrad's initial accumulator 0.1, AdamW's
        weight decay 0.004) and take learning_rate_init, beta_1, beta_2 and
        epsilon from this estimator.
        """
        config = {
            "optimizer": self.solver,
            "learning_rate_init": float(self.learning_rate_init),
            "beta_1": float(self.beta_1),
            "beta_2": float(self.beta_2),
            "epsilon": float(self.epsilon),
        }
        if self.solver == "sgd":
            config.update(momentum=float(self.momentum), nesterov=bool(self.nesterovs_momentum))
        elif self.solver == "adamw":
            config.update(weight_decay=0.004)
        return config

    def _new_optimizer_state(self, n_params, dtype):
        return _engine.OptimizerState(self._optimizer_config(), n_params, dtype)

    def _validation_split(self, y, sample_weight):
        """Indices of scikit-learn's train/validation split (same random draws)."""
        n = y.shape[0]
        stratify = None
        if is_classifier(self):
            if self.n_outputs_ == 1:
                stratify = y > 0.5
            elif self.out_activation_ == "softmax":
                # multiclass: stratify on the class, as scikit-learn documents
                stratify = np.argmax(y, axis=1)
        train_idx, val_idx = train_test_split(
            np.arange(n, dtype=np.int64),
            random_state=self._random_state,
            test_size=self.validation_fraction,
            stratify=stratify,
        )
        if val_idx.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        return np.ascontiguousarray(train_idx), np.ascontiguousarray(val_idx)

    def _fit_stochastic(self, Xc, y, sample_weight, incremental):
        params = self._params
        opt = getattr(self, "_optimizer", None)
        if not incremental or opt is None or not opt.fits(self._optimizer_config(), params):
            opt = self._new_optimizer_state(params.shape[0], params.dtype)
            self._optimizer = opt

        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")

        n_all = y.shape[0]
        if self.early_stopping:
            train_idx, val_idx = self._validation_split(y, sample_weight)
        else:
            train_idx = np.arange(n_all, dtype=np.int64)
            val_idx = np.empty(0, dtype=np.int64)
        n_samples = train_idx.shape[0]

        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than "
                    "sample size. It is going to be clipped"
                )
            batch_size = int(np.clip(self.batch_size, 1, n_samples))

        counters = {
            "t": int(self.t_),
            "no_improvement_count": int(self._no_improvement_count),
            "best_loss": np.inf if self.best_loss_ is None else float(self.best_loss_),
            "best_val_score": (-np.inf if self.best_validation_score_ is None
                               else float(self.best_validation_score_)),
        }
        config = {
            **opt.config,
            "learning_rate": self.learning_rate,
            "power_t": float(self.power_t),
            "alpha": float(self.alpha),
            "tol": float(self.tol),
            "n_iter_no_change": float(self.n_iter_no_change),
            "shuffle": bool(self.shuffle),
            "early_stopping": bool(self.early_stopping),
            "incremental": bool(incremental),
            "batch_size": batch_size,
            "max_iter": int(self.max_iter),
            "n_threads": _resolve_n_jobs(self.n_jobs),
            "classifier": is_classifier(self),
            "report_scale": self._report_scale(),
            "penalty_per_sample": True,
            "accuracy_threshold": 0.0 if self.loss in _HINGE else 0.5,
            "accuracy_argmax": int(self.out_activation_ == "softmax" or self.loss == "categorical_hinge"),
        }
        net = self._network()
        handle = None
        if self.callbacks:
            handle = _engine.ModelHandle(self, net, float(opt.lr))
            callback_list = _engine.CallbackList(list(self.callbacks), handle,
                                                 {"epochs": int(self.max_iter), "verbose": self.verbose})
        on_epoch = self._epoch_hook(handle, callback_list if handle else None)
        if handle is not None:
            callback_list.on_train_begin({})
            callback_list.on_epoch_begin(0, {})
        try:
            state = _engine.run_fit(net, opt, Xc, y, sample_weight, train_idx, val_idx, config,
                                    self._random_state, on_epoch,
                                    best=self._best_params if self.early_stopping else None,
                                    counters=counters, record=self._record)
        finally:
            if handle is not None:
                callback_list.on_train_end({})
        if state.diverged and self.early_stopping:
            # scikit-learn keeps the best weights of a diverging early-stopped fit
            warnings.warn(
                f"The loss diverged in epoch {state.diverged_epoch}: training stopped and the "
                "weights with the best validation score were restored. Lower the learning rate "
                "or scale the inputs.",
                RuntimeWarning,
            )
        elif state.diverged:
            raise ValueError(_NONFINITE + " " + _engine.diverged_message(state.diverged_epoch))
        if state.max_iter_reached and not incremental:
            warnings.warn(
                "Stochastic Optimizer: Maximum iterations (%d) "
                "reached and the optimization hasn't converged yet." % self.max_iter,
                ConvergenceWarning,
            )

    def _record(self, state):
        """What the loop completed: scikit-learn's fitted attributes and counters."""
        self.n_iter_ = int(state.n_iter)
        self.t_ = int(state.t)
        if state.n_iter > 0:
            self.loss_ = float(state.loss)
        self.loss_curve_.extend(state.loss_curve)
        if self.early_stopping:
            self.validation_scores_.extend(state.val_scores)
            self.best_validation_score_ = float(state.best_val_score)
        else:
            self.best_loss_ = float(state.best_loss)
        self._no_improvement_count = int(state.no_improvement_count)

    def _epoch_hook(self, handle, callbacks):
        """The per-epoch call from C++: scikit-learn's verbose lines, then callbacks.

        Callbacks see logs with 'loss', 'learning_rate' and, with early
        stopping, 'validation_score'; they may stop the fit or change the rate.
        """
        if not self.verbose and handle is None:
            return None
        early_stopping, verbose = self.early_stopping, self.verbose

        def on_epoch(n_iter, loss, val_score, lr, message, *_):
            if verbose:
                print("Iteration %d, loss = %.8f" % (n_iter, loss))
                if early_stopping:
                    print("Validation score: %f" % val_score)
                if message:
                    print(message)
            if handle is None:
                return False
            logs = {"loss": loss, "learning_rate": lr}
            if early_stopping:
                logs["validation_score"] = val_score
            handle.optimizer.learning_rate = lr
            callbacks.on_epoch_end(n_iter - 1, logs)
            if not handle.stop_training and n_iter < self.max_iter:
                callbacks.on_epoch_begin(n_iter, {})
            new_lr = handle.optimizer.learning_rate
            return bool(handle.stop_training), (None if new_lr == lr else float(new_lr))

        return on_epoch

    # ------------------------------------------------------------------
    # prediction

    def _forward_pass_fast(self, X, check_input=True):
        """Output-layer activations for X, computed in C++.

        A plain 2-d float ndarray of the fitted width, for an estimator fitted
        without feature names, goes straight to the core (which rejects NaN
        and infinity itself); anything else is validated by scikit-learn.
        """
        if self.device != "cpu":
            require_device(self.device, type(self).__name__)
        net = self._network()
        Xc = _engine.fast_rows(self, X, net.dtype, net.n_in) if check_input else None
        fast = Xc is not None
        if not fast:
            if check_input:
                X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False,
                                  dtype=net.dtype, order="C")
            Xc = self._prepare_X(X)
        return net.predict_rows(Xc, _resolve_n_jobs(self.n_jobs), check_finite=fast)

    def _check_fitted(self):
        if "_params" not in self.__dict__:
            check_is_fitted(self)

    def _score_with_function(self, X, y, sample_weight, score_function):
        y_pred = self._predict(X, check_input=False)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return score_function(y, y_pred, sample_weight=sample_weight)

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic"
                " optimizers. %s is not stochastic." % self.solver
            )
        return True

    @exclusive_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels in classification, real numbers in
            regression).

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Returns a trained MLP model.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


