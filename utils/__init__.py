"""Shared, tested helpers for the RNN course notebooks.

Each module keeps its dependencies narrow so that it can be read on its own:

- ``config``: quick/full mode, seeding, the environment report and the closing summary line.
- ``environment``: what a notebook runs on: the versions checked against the tested range, a TPU
  runtime recognised, Colab's Drive as the data folder; the set-up cell's ``start_notebook``.
- ``data``: the IMDB, tiny-Shakespeare, English-Spanish and spoken-digit loaders (offline copies,
  downloads, integrity checks).
- ``text``: the IMDB text pipeline (``TextVectorization`` and ``tf.data``) shared by the
  sentiment notebooks.
- ``numpy_rnn``: NumPy references of SimpleRNN, LSTM and GRU, and the Elman network with
  backpropagation through time written out by hand (NumPy only).
- ``cells``: the peephole and coupled LSTM cells as Keras layers (``keras.ops`` only).
- ``tasks``: synthetic tasks with known answers: the adding problem, recall, long-range memory,
  bracket matching, dates.
- ``memory``: the long-memory benchmark (train on the adding problem, climb the lengths).
- ``decoding``: temperature sampling and a model-agnostic beam search (NumPy only).
- ``cudnn``: whether a recurrent layer, or a mask, can use the cuDNN kernel.
- ``training``: the epoch timer behind every seconds-per-epoch column.
- ``plots``: training curves from Keras ``History`` objects.
- ``diagrams``: the LSTM and GRU cells drawn as diagrams, in the lecture's symbols.
- ``results``: the results tables that notebooks print and the README collects.
- ``translation``: the sentence pipeline of the translation notebook (standardising, vectorizing,
  teacher-forcing batches, detokenizing).
- ``audio``: speech features (log-mel, MFCC), the spoken-digit splits, digit strings for CTC and
  their error rate, reading a learner's own WAV file.
"""

import os

# Quiet TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notices) in notebook outputs.
# This runs before the notebooks import TensorFlow; set TF_CPP_MIN_LOG_LEVEL=0 to see it all.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
