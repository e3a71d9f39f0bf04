"""scikit-learn's own BernoulliRBM test-suite, run against neurocore.

The test module that ships with the installed scikit-learn
(``sklearn/neural_network/tests/test_rbm.py``) is loaded with its import of
BernoulliRBM pointed at neurocore, so every one of its tests (exact
components after a seeded fit, Gibbs sampling, sparse input, pseudo-likelihood,
dtypes, verbose output, feature names) exercises our estimator.
"""

import re
from pathlib import Path

import pytest

from neurocore import BernoulliRBM  # noqa: F401 - the module below imports it from here

sk_tests = pytest.importorskip("sklearn.neural_network.tests.test_rbm")

_source = Path(sk_tests.__file__).read_text()
_source, _n = re.subn(
    r"^from sklearn\.neural_network import BernoulliRBM$",
    "from neurocore import BernoulliRBM",
    _source,
    flags=re.MULTILINE,
)
assert _n == 1, "scikit-learn's test module no longer imports BernoulliRBM the way we expect"
exec(compile(_source, sk_tests.__file__, "exec"), globals())
