"""Test-session defaults: the test suite runs the notebooks in quick mode unless told otherwise."""

import os

# Set before any notebook kernel starts, so every kernel nbval launches inherits it.
# Run `RNN_QUICK=0 pytest notebooks` to execute the notebooks in full mode instead.
os.environ.setdefault("RNN_QUICK", "1")
