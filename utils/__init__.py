"""Shared, tested helpers for the RNN course notebooks.

Each module keeps its dependencies narrow so that it can be read on its own:

- ``config``: quick/full mode, seeding and the environment report.
- ``data``: the IMDB and tiny-Shakespeare loaders (offline copies, downloads, integrity checks).
- ``text``: the IMDB text pipeline (``TextVectorization`` and ``tf.data``) shared by the
  sentiment notebooks.
- ``plots``: training curves from Keras ``History`` objects.
- ``results``: the results tables that notebooks print and the README collects.
"""

import os

# Quiet TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notices) in notebook outputs.
# This runs before the notebooks import TensorFlow; set TF_CPP_MIN_LOG_LEVEL=0 to see it all.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
