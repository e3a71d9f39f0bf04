import os

# Keep tests deterministic and light on a shared machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


import pytest


@pytest.fixture
def global_random_seed():
    """scikit-learn's fixture of that name (its default seed), for its test-suite."""
    return 42
