import atexit
import os
import shutil
import tempfile

# The course notebooks run at a small size under the test suite (nbval); people get full size.
os.environ.setdefault("STYLEKIT_FAST", "1")
# Results must not depend on the CPU the suite runs on: precision='auto' means fp32 in the tests, their
# subprocesses and the notebooks' kernels. bf16 has tests of its own (tests/test_precision.py).
os.environ["STYLEKIT_PRECISION"] = "fp32"
# A "predict first" letter is kept once handed in (stylekit.course.predicted): the suite's notebooks keep theirs
# apart from a person's, and from the last run's.
_KEPT = tempfile.mkdtemp(prefix="stylekit-predictions-")
atexit.register(shutil.rmtree, _KEPT, True)
os.environ["STYLEKIT_PREDICTIONS"] = os.path.join(_KEPT, "predictions.json")
