import os

# Keep tests deterministic and light on a shared machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
