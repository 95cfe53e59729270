import os

# The course notebooks run at a small size under the test suite (nbval); people get full size.
os.environ.setdefault("STYLEKIT_FAST", "1")
