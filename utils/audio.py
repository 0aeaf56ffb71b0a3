"""Speech for the vocal-analysis notebook (12): features, splits, digit strings and their errors.

A recording becomes a sequence of feature frames with :func:`log_mel_spectrogram` (computed in
TensorFlow by ``tf.signal``, so the same code runs inside a ``tf.data`` pipeline and on a
learner's own file read by :func:`read_wav_file`). :func:`official_split` and
:func:`speaker_split` make the Free Spoken Digit Dataset's two evaluation protocols;
:func:`compose_digit_strings` glues single-digit recordings into the spoken digit strings that
the CTC model transcribes, and :func:`digit_error_rate` scores its transcriptions
(:func:`edit_operations` splits the errors into substitutions, deletions and insertions).
Notebook 12 explains each step.
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import tensorflow as tf

SAMPLE_RATE = 8_000  # Hz, the Free Spoken Digit Dataset's rate
FRAME_SECONDS = 0.025  # a 25 ms analysis window: a few pitch periods, short enough to be steady
STEP_SECONDS = 0.010  # one frame every 10 ms: 100 frames per second
MEL_BANDS = 40
LOG_OFFSET = 1e-6  # keeps the log finite in digital silence


def frame_count(samples: int, sample_rate: int = SAMPLE_RATE) -> int:
    """How many frames :func:`log_mel_spectrogram` makes of ``samples`` samples (0 if too short)."""
    frame_length, frame_step = _frame_sizes(sample_rate)
    return 0 if samples < frame_length else 1 + (samples - frame_length) // frame_step


def _frame_sizes(sample_rate: int) -> tuple[int, int]:
    return round(FRAME_SECONDS * sample_rate), round(STEP_SECONDS * sample_rate)


def log_mel_spectrogram(
    waveform: np.ndarray | tf.Tensor,
    sample_rate: int = SAMPLE_RATE,
    mel_bands: int = MEL_BANDS,
    lower_hz: float = 20.0,
) -> tf.Tensor:
    """Log-mel energies of a mono waveform: a float32 tensor of shape (frames, ``mel_bands``).

    25 ms Hann windows every 10 ms (:data:`FRAME_SECONDS`, :data:`STEP_SECONDS`), the power
    spectrum of each, pooled into ``mel_bands`` triangular bands spaced evenly on the mel scale
    (fine at low frequencies, coarse at high ones, as the ear resolves them) from ``lower_hz``
    to the Nyquist frequency, then ``log(energy + 1e-6)``. Frames never run past the end of the
    recording (``frame_count`` gives their number), so nothing is invented at the edges.
    """
    waveform = tf.convert_to_tensor(waveform, dtype=tf.float32)
    if waveform.shape.rank != 1:
        raise ValueError(
            f"log_mel_spectrogram expects one mono waveform (rank 1), got shape {waveform.shape}; "
            "mix stereo to mono first (read_wav_file does)."
        )
    frame_length, frame_step = _frame_sizes(sample_rate)
    if waveform.shape[0] is not None and waveform.shape[0] < frame_length:
        raise ValueError(
            f"The waveform has {waveform.shape[0]} samples, fewer than one "
            f"{FRAME_SECONDS * 1000:g} ms frame ({frame_length} samples at {sample_rate} Hz)."
        )
    fft_length = 1 << (frame_length - 1).bit_length()  # the next power of two
    spectrum = tf.signal.stft(waveform, frame_length, frame_step, fft_length, pad_end=False)
    power = tf.math.square(tf.abs(spectrum))
    to_mel = tf.signal.linear_to_mel_weight_matrix(
        mel_bands, fft_length // 2 + 1, sample_rate, lower_hz, sample_rate / 2
    )
    return tf.math.log(tf.matmul(power, to_mel) + LOG_OFFSET)


def mfcc(log_mel: tf.Tensor, coefficients: int = 13) -> tf.Tensor:
    """The first ``coefficients`` mel-frequency cepstral coefficients of log-mel frames.

    A discrete cosine transform of each frame's log-mel energies: the first few coefficients
    describe the spectrum's overall shape (the vocal tract), the later ones its fine detail
    (mostly pitch), which is why classic recognisers keep about 13.
    """
    if not 1 <= coefficients <= log_mel.shape[-1]:
        raise ValueError(f"coefficients must be 1 to {log_mel.shape[-1]}, got {coefficients}.")
    return tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., :coefficients]


class FeatureScaler(NamedTuple):
    """Per-band mean and standard deviation, measured on training frames only."""

    mean: np.ndarray  # (bands,)
    std: np.ndarray  # (bands,)

    @classmethod
    def fit(cls, features: Sequence[np.ndarray]) -> FeatureScaler:
        """Statistics over every frame of every training recording (recordings of any length)."""
        if not features:
            raise ValueError("FeatureScaler.fit needs at least one training recording.")
        frames = np.concatenate([np.asarray(f, dtype=np.float64) for f in features])
        return cls(frames.mean(axis=0).astype(np.float32), frames.std(axis=0).astype(np.float32))

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """``features`` with each band shifted and scaled by the training statistics."""
        return ((np.asarray(features) - self.mean) / np.maximum(self.std, 1e-6)).astype(np.float32)


class Split(NamedTuple):
    """Boolean masks over the recordings, disjoint and together covering them all."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def official_split(indices: np.ndarray, validation: range = range(5, 10)) -> Split:
    """The dataset's own split: repetitions 0-4 of every speaker and digit are the test set.

    The rest is training, less the repetitions in ``validation`` (5-9 by default), which are
    held out of training to make choices on. Every speaker and digit is in every part.
    """
    indices = np.asarray(indices)
    if set(validation) & set(range(5)):
        raise ValueError(f"validation must not take test repetitions 0-4, got {validation}.")
    test = indices < 5
    val = np.isin(indices, list(validation))
    return Split(~test & ~val, val, test)


def speaker_split(
    speakers: np.ndarray, indices: np.ndarray, held_out: str, validation: range = range(5, 10)
) -> Split:
    """Every recording of ``held_out`` is the test set; the other speakers train and validate.

    The validation set takes repetitions ``validation`` of the training speakers, so choices
    are made on voices the model has heard; the test then asks about a voice it has not.
    """
    speakers, indices = np.asarray(speakers), np.asarray(indices)
    if held_out not in set(speakers.tolist()):
        raise ValueError(
            f"No recordings of speaker {held_out!r}; the speakers are {sorted(set(speakers))}."
        )
    test = speakers == held_out
    val = ~test & np.isin(indices, list(validation))
    return Split(~test & ~val, val, test)


class DigitStrings(NamedTuple):
    """Spoken digit strings made by gluing recordings together."""

    waveforms: list[np.ndarray]  # float32, one per string
    labels: list[np.ndarray]  # int64 digits, in spoken order
    sources: list[np.ndarray]  # the recordings each string is made of, in order


def compose_digit_strings(
    waveforms: Sequence[np.ndarray],
    digits: np.ndarray,
    speakers: np.ndarray,
    count: int | None,
    seed: int,
    lengths: tuple[int, int] = (2, 7),
    gap_seconds: tuple[float, float] = (0.05, 0.25),
    sample_rate: int = SAMPLE_RATE,
    reuse: bool = True,
) -> DigitStrings:
    """``count`` strings of ``lengths[0]``-``lengths[1]`` digits, each spoken by one speaker.

    For each string: a speaker, a length, then that many of the speaker's recordings drawn at
    random (with replacement, so a digit may repeat, as in "0 0 7"), joined by silences of a
    random length in ``gap_seconds``. Pass only one split's recordings, and the strings use
    only those. A ``numpy`` generator made from ``seed`` makes every draw, so the same
    arguments give the same strings.

    ``reuse=False`` uses every recording at most once over all the strings (digits still
    repeat, spoken in different recordings), so that errors on different strings are
    independent and an interval over strings means what it says; it stops early when the
    recordings run out, and ``count=None`` makes strings until they do (a speaker's last string
    may then be shorter than ``lengths[0]``). Use it for test strings.
    """
    digits, speakers = np.asarray(digits), np.asarray(speakers)
    if not len(waveforms) == len(digits) == len(speakers):
        raise ValueError(
            f"waveforms, digits and speakers must have one entry per recording, got "
            f"{len(waveforms)}, {len(digits)} and {len(speakers)}."
        )
    shortest, longest = lengths
    if not 1 <= shortest <= longest:
        raise ValueError(f"lengths must satisfy 1 <= shortest <= longest, got {lengths}.")
    if not 0 <= gap_seconds[0] <= gap_seconds[1]:
        raise ValueError(f"gap_seconds must satisfy 0 <= shortest <= longest, got {gap_seconds}.")
    if count is None and reuse:
        raise ValueError("count=None (until the recordings run out) needs reuse=False.")
    if (count is not None and count < 1) or len(waveforms) == 0:
        raise ValueError(f"Need count >= 1 and some recordings, got {count} and {len(waveforms)}.")
    rng = np.random.default_rng(seed)
    by_speaker = {name: np.flatnonzero(speakers == name) for name in sorted(set(speakers))}
    strings, labels, sources = [], [], []
    while count is None or len(strings) < count:
        names = [name for name, pool in by_speaker.items() if len(pool)]
        if not names:
            break  # reuse=False and every recording is used
        name = names[rng.integers(len(names))]
        size = rng.integers(shortest, longest + 1)
        if reuse:
            chosen = rng.choice(by_speaker[name], size=size)
        else:
            chosen = rng.choice(
                by_speaker[name], size=min(size, len(by_speaker[name])), replace=False
            )
            by_speaker[name] = np.setdiff1d(by_speaker[name], chosen)
        pieces = []
        for position, recording in enumerate(chosen):
            if position:
                gap = rng.uniform(*gap_seconds)
                pieces.append(np.zeros(round(gap * sample_rate), dtype=np.float32))
            pieces.append(np.asarray(waveforms[recording], dtype=np.float32))
        strings.append(np.concatenate(pieces))
        labels.append(digits[chosen].astype(np.int64))
        sources.append(chosen)
    return DigitStrings(strings, labels, sources)


def digit_error_rate_interval(
    references: Sequence[Sequence[int]],
    hypotheses: Sequence[Sequence[int]],
    resamples: int,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """The 95% bootstrap interval of :func:`digit_error_rate` over strings.

    Resample the strings with replacement ``resamples`` times, pool each resample's edits over
    its digits, and take the 2.5th and 97.5th percentiles. It assumes the strings err
    independently: build them with ``compose_digit_strings(..., reuse=False)``, since a
    recording used in several strings makes their errors move together.
    """
    if len(references) != len(hypotheses) or not len(references) or resamples < 1:
        raise ValueError(
            f"Need as many hypotheses as references (got {len(hypotheses)} and "
            f"{len(references)}), at least one, and resamples >= 1 (got {resamples})."
        )
    edits = np.array([edit_distance(r, h) for r, h in zip(references, hypotheses, strict=True)])
    digits = np.array([len(reference) for reference in references])
    samples = rng.integers(0, len(edits), (resamples, len(edits)))
    rates = edits[samples].sum(axis=1) / np.maximum(digits[samples].sum(axis=1), 1)
    low, high = np.percentile(rates, [2.5, 97.5])
    return float(low), float(high)


def edit_distance(reference: Sequence[int], hypothesis: Sequence[int]) -> int:
    """The fewest substitutions, insertions and deletions that turn ``hypothesis`` into
    ``reference`` (Levenshtein's distance): the edits of :func:`edit_operations`, summed."""
    return sum(edit_operations(reference, hypothesis))


class EditCounts(NamedTuple):
    """The edits of one alignment: digits said wrong, left out, or added."""

    substitutions: int
    deletions: int  # reference digits with nothing in the hypothesis
    insertions: int  # hypothesis digits that were not said


def edit_operations(reference: Sequence[int], hypothesis: Sequence[int]) -> EditCounts:
    """How a fewest-edits alignment of ``hypothesis`` to ``reference`` splits into kinds.

    Dynamic programming over prefixes, then a walk back through the table; the counts add up to
    the edit distance. Where several alignments are equally short,
    substitutions are preferred, then deletions: the choice is arbitrary but fixed, so counts
    from two models can be compared.
    """
    rows, columns = len(reference) + 1, len(hypothesis) + 1
    cost = np.zeros((rows, columns), dtype=int)
    cost[:, 0], cost[0, :] = np.arange(rows), np.arange(columns)
    for i in range(1, rows):
        for j in range(1, columns):
            cost[i, j] = min(
                cost[i - 1, j - 1] + (reference[i - 1] != hypothesis[j - 1]),
                cost[i - 1, j] + 1,
                cost[i, j - 1] + 1,
            )
    substitutions = deletions = insertions = 0
    i, j = rows - 1, columns - 1
    while i or j:
        if i and j and cost[i, j] == cost[i - 1, j - 1] + (reference[i - 1] != hypothesis[j - 1]):
            substitutions += int(reference[i - 1] != hypothesis[j - 1])
            i, j = i - 1, j - 1
        elif i and cost[i, j] == cost[i - 1, j] + 1:
            deletions, i = deletions + 1, i - 1
        else:
            insertions, j = insertions + 1, j - 1
    return EditCounts(substitutions, deletions, insertions)


def digit_error_rate(
    references: Sequence[Sequence[int]], hypotheses: Sequence[Sequence[int]]
) -> float:
    """Edits over all strings divided by the reference digits: the speech field's error rate.

    Like the word error rate it is pooled (long strings weigh more) and can exceed 1 when a
    model inserts digits that were not said.
    """
    if len(references) != len(hypotheses):
        raise ValueError(
            f"One hypothesis per reference: got {len(hypotheses)} for {len(references)}."
        )
    total = sum(len(reference) for reference in references)
    if total == 0:
        raise ValueError("The references hold no digits.")
    edits = sum(edit_distance(r, h) for r, h in zip(references, hypotheses, strict=True))
    return edits / total


def resample(waveform: np.ndarray, from_rate: int, to_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``waveform`` at ``to_rate`` Hz, by cutting or zero-extending its spectrum.

    Cutting the spectrum at the new Nyquist frequency is an ideal low-pass filter, so a
    48 kHz phone recording brought down to 8 kHz does not fold high frequencies into the
    speech band (aliasing), which plain sample-dropping would.
    """
    waveform = np.asarray(waveform, dtype=np.float64)
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"Sample rates must be positive, got {from_rate} and {to_rate}.")
    if from_rate == to_rate:
        return waveform.astype(np.float32)
    out_length = round(len(waveform) * to_rate / from_rate)
    spectrum = np.fft.rfft(waveform)
    kept = np.zeros(out_length // 2 + 1, dtype=complex)
    shared = min(len(kept), len(spectrum))
    kept[:shared] = spectrum[:shared]
    return (np.fft.irfft(kept, n=out_length) * out_length / len(waveform)).astype(np.float32)


def read_wav_file(path: str | Path) -> np.ndarray:
    """Any PCM WAV file (8-, 16- or 32-bit, mono or stereo, any rate) as 8 kHz mono in [-1, 1].

    For the notebook's "your own recording" cell: channels are averaged, then the sound is
    resampled to the dataset's 8 kHz with :func:`resample`.
    """
    try:
        with wave.open(str(path)) as recording:
            rate, channels = recording.getframerate(), recording.getnchannels()
            width = recording.getsampwidth()
            frames = recording.readframes(recording.getnframes())
    except (wave.Error, EOFError) as error:
        raise ValueError(
            f"{path} is not a PCM WAV file ({error}). Convert it first, for example with "
            f"`ffmpeg -i {Path(path).name} -ac 1 -ar 8000 recording.wav`."
        ) from error
    if width == 1:  # 8-bit WAV is unsigned, centred on 128
        samples = (np.frombuffer(frames, dtype=np.uint8).astype(np.float32) - 128) / 128
    elif width in (2, 4):
        dtype = "<i2" if width == 2 else "<i4"
        samples = np.frombuffer(frames, dtype=dtype).astype(np.float32) / 2 ** (8 * width - 1)
    else:
        raise ValueError(f"{path} has {8 * width}-bit samples; 8-, 16- or 32-bit PCM is supported.")
    if samples.size == 0:
        raise ValueError(f"{path} holds no samples.")
    mono = samples.reshape(-1, channels).mean(axis=1)
    return resample(mono, rate, SAMPLE_RATE)


def write_wav_file(path: str | Path, waveform: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Save a mono waveform in [-1, 1] as a 16-bit PCM WAV file (clipping what lies outside)."""
    samples = np.clip(np.asarray(waveform, dtype=np.float64), -1.0, 1.0 - 1 / 32768)
    path = Path(path)
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(sample_rate)
        file.writeframes(np.round(samples * 32768).astype("<i2").tobytes())
    return path
