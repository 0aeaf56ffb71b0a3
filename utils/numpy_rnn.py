"""NumPy reference implementations of recurrent layers, written out step by step.

They take weights in exactly the layout that the matching Keras layer's ``get_weights()``
returns, so a notebook can load the same numbers into both and assert the outputs are equal.
This module depends on NumPy only.
"""

from __future__ import annotations
