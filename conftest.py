import os

# The course notebooks run at a small size under the test suite (nbval); people get full size.
os.environ.setdefault("STYLEKIT_FAST", "1")
# Results must not depend on the CPU the suite runs on: precision='auto' means fp32 in the tests, their
# subprocesses and the notebooks' kernels. bf16 has tests of its own (tests/test_precision.py).
os.environ["STYLEKIT_PRECISION"] = "fp32"


def pytest_ignore_collect(collection_path, config):
    """A notebook whose worked solutions exist runs inside them (each solutions notebook %runs its notebook first,
    so an error anywhere in it fails there): running it on its own as well would double the suite's time."""
    solutions = collection_path.parent / "solutions" / collection_path.name
    if collection_path.suffix == ".ipynb" and collection_path.parent.name == "notebooks" and solutions.exists():
        return True
    return None
