import os

# The course notebooks run at a small size under the test suite (nbval); people get full size.
os.environ.setdefault("STYLEKIT_FAST", "1")
# Results must not depend on the CPU the suite runs on: precision='auto' means fp32 in the tests, their
# subprocesses and the notebooks' kernels. bf16 has tests of its own (tests/test_precision.py).
os.environ["STYLEKIT_PRECISION"] = "fp32"
