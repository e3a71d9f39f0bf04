"""BernoulliRBM: scikit-learn's restricted Boltzmann machine, trained in C++.

The same parameters, attributes and methods as
``sklearn.neural_network.BernoulliRBM``; persistent contrastive divergence
(stochastic maximum likelihood) runs in the C++ core on the project's GEMM,
drawing from the same MT19937 stream in the same order as scikit-learn, so a
float64 fit reproduces scikit-learn's to rounding.
"""

import time
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _core, _persist
from ._device import require_device
from ._engine import n_threads, to_core
from ._validation import check_random_state

# rows of a sparse X made dense at a time by score_samples
_CHUNK = 4096


def _stream(rng):
    """The C++ view of a RandomState: its 624 keys (a copy the core updates) and position."""
    _, keys, pos, has_gauss, gauss = rng.get_state(legacy=True)
    return np.array(keys, dtype=np.uint32), int(pos), (int(has_gauss), float(gauss))


def _give_back(rng, keys, pos, gauss):
    """rng continues where the core's draws left the stream (its cached normal kept)."""
    rng.set_state(("MT19937", keys, pos, *gauss))


@_persist.register_estimator
class BernoulliRBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _persist.PersistMixin,
                   BaseEstimator):
    """Bernoulli Restricted Boltzmann Machine (RBM), trained in C++.

    A drop-in replacement for :class:`sklearn.neural_network.BernoulliRBM`:
    the same parameters, fitted attributes and methods, trained by persistent
    contrastive divergence (Tieleman, 2008) in neurocore's C++ core. Its
    random draws come from the same stream in the same order as
    scikit-learn's, so in float64 the fitted parameters match scikit-learn's
    to rounding.

    Parameters
    ----------
    n_components : int, default=256
        Number of binary hidden units.
    learning_rate : float, default=0.1
        The learning rate for weight updates; divided by the batch's size
        in each update.
    batch_size : int, default=10
        Number of examples per minibatch (and of chains in the persistent
        negative phase).
    n_iter : int, default=10
        Number of passes over the training set.
    verbose : int, default=0
        When non-zero, the pseudo-likelihood after each pass is printed.
    random_state : int, RandomState instance or None, default=None
        Initialisation of the weights and every Gibbs draw during fit, the
        draws of :meth:`gibbs`, and the corruption of the data in
        :meth:`score_samples`, as in scikit-learn.
    n_jobs : int or None, default=None
        Threads for the products of each step (not in scikit-learn): None
        uses every usable core, -1 every core, -k every core but k - 1.
        Results are the same at any value.

    device : {'cpu', 'cuda', 'cuda:N'}, default='cpu'
        Where the model computes (not in scikit-learn). 'cuda' needs
        neurocore's optional CUDA extension and a usable GPU: when either is
        missing, fit and transform raise ``DeviceUnavailableError`` saying
        which. The RBM has no GPU path in this build yet, so 'cuda' raises
        that error on a GPU machine too.

    Attributes
    ----------
    intercept_hidden_ : ndarray of shape (n_components,)
        Biases of the hidden units.
    intercept_visible_ : ndarray of shape (n_features,)
        Biases of the visible units.
    components_ : ndarray of shape (n_components, n_features)
        Weight matrix.
    h_samples_ : ndarray of shape (batch_size, n_components)
        Hidden activations sampled from the model distribution (the
        persistent chains).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string feature names.

    See Also
    --------
    sklearn.neural_network.BernoulliRBM : The reference implementation.

    Examples
    --------
    >>> import numpy as np
    >>> from neurocore import BernoulliRBM
    >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    >>> model = BernoulliRBM(n_components=2, random_state=0).fit(X)
    >>> model.transform(X).shape
    (4, 2)
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "device": [str, None],
        "n_jobs": [Interval(Integral, None, -1, closed="right"), Interval(Integral, 1, None, closed="left"),
                   None],
    }

    def __init__(self, n_components=256, *, learning_rate=0.1, batch_size=10, n_iter=10, verbose=0,
                 random_state=None, n_jobs=None, device="cpu"):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device

    # -- the core's views ----------------------------------------------------
    def _params(self):
        """components_ and the intercepts as C-ordered arrays of one dtype (the core updates them)."""
        if self.device != "cpu":
            require_device(self.device, type(self).__name__)
        # (a copy only when they are not: set by hand, or loaded read-only)
        W = self.components_ = np.require(self.components_, requirements=["C", "W"])
        self.intercept_hidden_ = np.require(self.intercept_hidden_, W.dtype, ["C", "W"])
        self.intercept_visible_ = np.require(self.intercept_visible_, W.dtype, ["C", "W"])
        return W, self.intercept_hidden_, self.intercept_visible_

    def _dense(self, v):
        """v as a C-ordered 2-d array of the parameters' dtype (and whether it was 1-d)."""
        if sp.issparse(v):
            v = v.toarray()
        v = np.asarray(v)
        flat = v.ndim == 1
        return np.ascontiguousarray(np.atleast_2d(v), dtype=self.components_.dtype), flat

    def _mean_hiddens(self, v):
        """P(h = 1 | v) for the visible rows v (or one 1-d row).

        Parameters
        ----------
        v : {array-like, sparse matrix} of shape (n_samples, n_features) or (n_features,)
            Values of the visible layer.

        Returns
        -------
        h : ndarray of shape (n_samples, n_components) or (n_components,)
            The hidden units' mean-field values.
        """
        d, flat = self._dense(v)
        h = _core.rbm_hidden(*self._params(), d, n_threads(self.n_jobs))
        return h[0] if flat else h

    def _sample_hiddens(self, v, rng):
        """Sample h ~ P(h | v), drawing from ``rng`` as scikit-learn does.

        Parameters
        ----------
        v : ndarray of shape (n_samples, n_features) or (n_features,)
            Values of the visible layer.
        rng : RandomState instance
            The random number generator.

        Returns
        -------
        h : ndarray of bool, shape (n_samples, n_components) or (n_components,)
        """
        p = self._mean_hiddens(v)
        return rng.uniform(size=p.shape) < p

    def _sample_visibles(self, h, rng):
        """Sample v ~ P(v | h), drawing from ``rng`` as scikit-learn does.

        Parameters
        ----------
        h : ndarray of shape (n_samples, n_components)
            Values of the hidden layer.
        rng : RandomState instance
            The random number generator.

        Returns
        -------
        v : ndarray of bool, shape (n_samples, n_features)
        """
        p = np.dot(h, self.components_)
        p += self.intercept_visible_
        expit(p, out=p)
        return rng.uniform(size=p.shape) < p

    def _free_energy(self, v):
        """The free energy F(v) = -log sum_h exp(-E(v, h)) of each visible row.

        Parameters
        ----------
        v : ndarray of shape (n_samples, n_features)

        Returns
        -------
        free_energy : ndarray of shape (n_samples,)
        """
        d, _ = self._dense(v)
        return _core.rbm_free_energy(*self._params(), d, n_threads(self.n_jobs))

    # -- scikit-learn's API ----------------------------------------------------
    def _onnx_export(self):
        """What neurocore.to_onnx exports: transform's hidden means."""
        check_is_fitted(self)
        return {"kind": "rbm", "input_shape": (self.components_.shape[1],),
                "components": np.asarray(self.components_, np.float64),
                "intercept_hidden": np.asarray(self.intercept_hidden_, np.float64)}

    def transform(self, X):
        """Compute the hidden layer activation probabilities, P(h=1|v=X).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data to be transformed.

        Returns
        -------
        h : ndarray of shape (n_samples, n_components)
            Latent representations of the data.
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False, dtype=(np.float64, np.float32))
        if sp.issparse(X):
            return np.vstack([self._mean_hiddens(X[i:i + _CHUNK]) for i in range(0, X.shape[0], _CHUNK)])
        return self._mean_hiddens(X)

    def gibbs(self, v):
        """Perform one Gibbs sampling step.

        Parameters
        ----------
        v : ndarray of shape (n_samples, n_features)
            Values of the visible layer to start from.

        Returns
        -------
        v_new : ndarray of bool, shape (n_samples, n_features)
            Values of the visible layer after one Gibbs step.
        """
        check_is_fitted(self)
        if not hasattr(self, "random_state_"):
            self.random_state_ = check_random_state(self.random_state)
        d, flat = self._dense(v)
        if d.shape[1] != self.components_.shape[1]:
            raise ValueError(f"v has {d.shape[1]} features, but BernoulliRBM is expecting "
                             f"{self.components_.shape[1]} features as input")
        keys, pos, gauss = _stream(self.random_state_)
        out, pos = _core.rbm_gibbs(*self._params(), d, keys, pos, n_threads(self.n_jobs))
        _give_back(self.random_state_, keys, pos, gauss)
        out = out.astype(bool)
        return out[0] if flat else out

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Fit the model to the partial segment of the data X.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Target values (None for unsupervised transformations).

        Returns
        -------
        self : BernoulliRBM
            The fitted model.
        """
        require_device(self.device, type(self).__name__)
        first_pass = not hasattr(self, "components_")
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=first_pass)
        if not hasattr(self, "random_state_"):
            self.random_state_ = check_random_state(self.random_state)
        if not hasattr(self, "components_"):
            self.components_ = self.random_state_.normal(0, 0.01, (self.n_components, X.shape[1]))
            self._n_features_out = self.components_.shape[0]
        if not hasattr(self, "intercept_hidden_"):
            self.intercept_hidden_ = np.zeros(self.n_components)
        if not hasattr(self, "intercept_visible_"):
            self.intercept_visible_ = np.zeros(X.shape[1])
        if not hasattr(self, "h_samples_"):
            self.h_samples_ = np.zeros((self.batch_size, self.n_components))
        self._run(X, self.random_state_, X.shape[0], 1)
        return self

    def _run(self, X, rng, batch_rows, iterations):
        """iterations passes of the core's PCD over X in batches of batch_rows, from rng's stream."""
        W, bh, bv = self._params()
        X = to_core(X, W.dtype)  # dense, or a CSR tuple (duplicate entries add up in the core)
        self.h_samples_ = np.ascontiguousarray(self.h_samples_, dtype=W.dtype)
        keys, pos, gauss = _stream(rng)
        pos = _core.rbm_fit(W, bh, bv, self.h_samples_, X, max(int(batch_rows), 1), int(iterations),
                            float(self.learning_rate), keys, pos, n_threads(self.n_jobs))
        _give_back(rng, keys, pos, gauss)

    def score_samples(self, X):
        """Compute the pseudo-likelihood of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Values of the visible layer. Must be all-boolean (not checked).

        Returns
        -------
        pseudo_likelihood : ndarray of shape (n_samples,)
            Value of the pseudo-likelihood (proxy for likelihood).

        Notes
        -----
        This method is not deterministic: it computes a quantity called the
        free energy on X, then on a randomly corrupted version of X (one
        feature of each sample flipped, drawn from ``random_state``), and
        returns the log of the logistic function of the difference.
        """
        check_is_fitted(self)
        v = validate_data(self, X, accept_sparse="csr", reset=False)
        rng = check_random_state(self.random_state)
        n, nf = v.shape
        cols = rng.randint(0, nf, n)
        out = np.empty(n, dtype=self.components_.dtype)
        step = _CHUNK if sp.issparse(v) else max(n, 1)
        for i in range(0, n, step):
            d, _ = self._dense(v[i:i + step])
            rows = np.arange(d.shape[0])
            flipped = d.copy()
            flipped[rows, cols[i:i + step]] = 1 - flipped[rows, cols[i:i + step]]
            fe = self._free_energy(d)
            fe_ = self._free_energy(flipped)
            out[i:i + step] = -nf * np.logaddexp(0, -(fe_ - fe))
        return out

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model to the data X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Target values (None for unsupervised transformations).

        Returns
        -------
        self : BernoulliRBM
            The fitted model.
        """
        require_device(self.device, type(self).__name__)
        X = validate_data(self, X, accept_sparse="csr", dtype=(np.float64, np.float32))
        rng = check_random_state(self.random_state)
        self.components_ = np.ascontiguousarray(
            rng.normal(0, 0.01, (self.n_components, X.shape[1])), dtype=X.dtype)
        self._n_features_out = self.components_.shape[0]
        self.intercept_hidden_ = np.zeros(self.n_components, dtype=X.dtype)
        self.intercept_visible_ = np.zeros(X.shape[1], dtype=X.dtype)
        self.h_samples_ = np.zeros((self.batch_size, self.n_components), dtype=X.dtype)
        if not self.verbose:
            self._run(X, rng, self.batch_size, self.n_iter)
            return self
        begin = time.time()
        for iteration in range(1, self.n_iter + 1):
            self._run(X, rng, self.batch_size, 1)
            end = time.time()
            print("[%s] Iteration %d, pseudo-likelihood = %.2f, time = %.2fs"
                  % (type(self).__name__, iteration, self.score_samples(X).mean(), end - begin))
            begin = end
        return self

    def _check_restored(self):
        """After loading: the fitted arrays must describe one RBM that transforms."""
        n = self._check_restored_inputs()
        W = self.components_
        if not isinstance(W, np.ndarray) or W.ndim != 2 or W.shape[1] != n or W.dtype.kind != "f":
            raise ValueError("components_ does not match n_features_in_")
        nc = W.shape[0]
        if (self.intercept_hidden_.shape != (nc,) or self.intercept_visible_.shape != (n,)
                or self.h_samples_.ndim != 2 or self.h_samples_.shape[1] != nc):
            raise ValueError("the RBM's fitted arrays do not match")
        if self.transform(np.zeros((2, n))).shape != (2, nc):
            raise ValueError("the restored RBM does not transform")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
