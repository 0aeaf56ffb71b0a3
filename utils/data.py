"""Data loaders: the IMDB Large Movie Review Dataset and the tiny-Shakespeare corpus.

Where a data set is looked for, in order:

1. the folder named by the ``RNN_DATA_DIR`` environment variable (holding the official archive
   ``aclImdb_v1.tar.gz`` or ``shakespeare.txt``, as downloaded);
2. the project's ``data/`` folder, which is also where extractions go;
3. a download from the official source, with a progress bar, into ``RNN_DATA_DIR`` if that is a
   writable folder (so a Google Drive folder keeps it for later Colab sessions), else ``data/``.

Integrity rules: a download is written to a temporary name and renamed only once it is complete;
the IMDB archive is extracted into a temporary folder, checked by content (exactly 12,500 reviews
per split and class) and only then renamed into place, so a half-extracted or corrupt copy is
never used. A second call reuses the extracted reviews without reading the archive again.

This module only loads: it never plots or trains.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import wave
import zipfile
import zlib
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

DATA_DIR_ENV_VAR = "RNN_DATA_DIR"
PROJECT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_ARCHIVE_NAME = "aclImdb_v1.tar.gz"
IMDB_FOLDER_NAME = "aclImdb"
IMDB_SPLITS = ("train", "test")
IMDB_CLASSES = ("neg", "pos")  # label 0 and label 1
IMDB_REVIEWS_PER_CLASS = 12_500
_IMDB_COMPLETE_MARKER = ".complete"

SHAKESPEARE_URL = "https://storage.googleapis.com/download.tensorflow.org/data/shakespeare.txt"
SHAKESPEARE_FILE_NAME = "shakespeare.txt"
SHAKESPEARE_CHARACTERS = 1_115_394
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"

SPA_ENG_URL = "http://storage.googleapis.com/download.tensorflow.org/data/spa-eng.zip"
SPA_ENG_ARCHIVE_NAME = "spa-eng.zip"
SPA_ENG_MEMBER = "spa-eng/spa.txt"
SPA_ENG_PAIRS = 118_964

FSDD_URL = (
    "https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v1.0.10.tar.gz"
)
FSDD_ARCHIVE_NAME = "free-spoken-digit-dataset-1.0.10.tar.gz"
FSDD_RECORDINGS = 3_000
FSDD_SAMPLE_RATE = 8_000
_FSDD_NAME = re.compile(r"^[^/]+/recordings/(\d)_([a-z]+)_(\d+)\.wav$")


class DataUnavailableError(RuntimeError):
    """No local copy of a data set was found and it could not be downloaded."""


class DataIntegrityError(RuntimeError):
    """A local copy or a download of a data set is truncated, corrupt or incomplete."""


def download_dir() -> Path:
    """Where downloads go: ``RNN_DATA_DIR`` when it names a folder this process may write to
    (as the set-up cell's Google Drive folder is), otherwise ``data/``."""
    configured = os.environ.get(DATA_DIR_ENV_VAR, "").strip()
    if configured:
        folder = Path(configured).expanduser()
        if folder.is_dir() and os.access(folder, os.W_OK):
            return folder
    return PROJECT_DATA_DIR


def data_dirs() -> list[Path]:
    """Folders searched for local copies, in order: ``RNN_DATA_DIR`` (if set), then ``data/``."""
    dirs = []
    configured = os.environ.get(DATA_DIR_ENV_VAR, "").strip()
    if configured:
        dirs.append(Path(configured).expanduser())
    dirs.append(PROJECT_DATA_DIR)
    return dirs


# --------------------------------------------------------------------------- downloads


def download(url: str, destination: Path, show_progress: bool = True) -> Path:
    """Download ``url`` to ``destination`` atomically.

    The bytes go to a temporary file beside ``destination``, which is renamed only when the
    transfer is complete (and, where the server announced a size, has exactly that size).
    On any failure the temporary file is removed and nothing appears at ``destination``.

    Raises:
        DataUnavailableError: the URL could not be reached (for example, no internet).
        DataIntegrityError: the transfer ended early.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary_name = tempfile.mkstemp(
        prefix=destination.name + ".", suffix=".part", dir=destination.parent
    )
    temporary = Path(temporary_name)
    try:
        try:
            response = urllib.request.urlopen(url, timeout=60)
        except (urllib.error.URLError, OSError) as error:
            raise DataUnavailableError(
                f"Could not download {url} ({error}). If this machine is offline, download the "
                f"file elsewhere and either put it in {PROJECT_DATA_DIR} or point the "
                f"{DATA_DIR_ENV_VAR} environment variable at the folder that holds it."
            ) from error
        with response, os.fdopen(handle, "wb") as out:
            handle = None
            expected = int(response.headers.get("Content-Length") or 0) or None
            received = 0
            while chunk := response.read(1 << 20):
                out.write(chunk)
                received += len(chunk)
                if show_progress:
                    _print_progress(destination.name, received, expected)
        if show_progress:
            print(file=sys.stderr)
        if expected is not None and received != expected:
            raise DataIntegrityError(
                f"The download of {url} stopped after {received:,} of {expected:,} bytes; "
                "nothing was saved. Run the cell again to retry."
            )
        temporary.replace(destination)
        return destination
    finally:
        if handle is not None:
            os.close(handle)
        temporary.unlink(missing_ok=True)


def _print_progress(name: str, received: int, expected: int | None) -> None:
    """Draw a one-line progress bar on stderr."""
    if expected:
        done = received / expected
        bar = "#" * int(30 * done)
        print(
            f"\r{name}: [{bar:<30}] {done:6.1%} of {expected / 1e6:.1f} MB", end="", file=sys.stderr
        )
    else:
        print(f"\r{name}: {received / 1e6:.1f} MB", end="", file=sys.stderr)


def _find_or_download(file_name: str, url: str) -> Path:
    """The first local copy of ``file_name`` in :func:`data_dirs`, else a fresh download."""
    for folder in data_dirs():
        candidate = folder / file_name
        if candidate.is_file():
            return candidate
    return download(url, download_dir() / file_name)


# --------------------------------------------------------------------------- IMDB


def load_imdb(split: str) -> tuple[list[str], np.ndarray]:
    """Load one split of the Large Movie Review Dataset (Maas et al., ACL 2011).

    Args:
        split: ``"train"`` or ``"test"`` (25,000 labelled reviews each).

    Returns:
        ``(texts, labels)``: the raw review texts (HTML line breaks included, as in the archive)
        and an ``int64`` array of labels, 0 for negative and 1 for positive. Reviews come in a
        fixed order (all negatives, then all positives, each sorted by file name); shuffle
        before training.
    """
    if split not in IMDB_SPLITS:
        raise ValueError(f"split must be one of {IMDB_SPLITS}, got {split!r}.")
    root = imdb_folder()
    texts: list[str] = []
    labels: list[int] = []
    for label, class_name in enumerate(IMDB_CLASSES):
        files = sorted((root / split / class_name).glob("*.txt"), key=_review_sort_key)
        texts.extend(path.read_text(encoding="utf-8") for path in files)
        labels.extend([label] * len(files))
    return texts, np.asarray(labels, dtype=np.int64)


class ImdbSplit(NamedTuple):
    """Reviews and labels for training, validation and test (see :func:`imdb_split`)."""

    x_train: list[str]
    y_train: np.ndarray
    x_val: list[str]
    y_val: np.ndarray
    x_test: list[str]
    y_test: np.ndarray


def imdb_split(
    num_train: int = 20_000, num_val: int = 5_000, num_test: int = 25_000, seed: int = 0
) -> ImdbSplit:
    """The course's one IMDB split: validation carved out of the official training half.

    The training and validation reviews are disjoint draws from one seeded permutation of the
    25,000 training reviews (which the archive lists sorted by label, hence the shuffle); the
    test reviews are the first ``num_test`` of a permutation of the test half, drawn from the
    same generator. Every notebook that trains on IMDB calls this, so the same seed gives the
    same reviews everywhere, and the test half is never used for a choice.

    Args:
        num_train: training reviews (at most 25,000 minus ``num_val``).
        num_val: validation reviews, taken from the official training half.
        num_test: test reviews (at most 25,000; all of them by default).
        seed: seed of the permutations.
    """
    if num_train < 1 or num_val < 1 or num_test < 1:
        raise ValueError(
            f"num_train, num_val and num_test must be positive; got {num_train}, {num_val}, "
            f"{num_test}."
        )
    train_texts, train_labels = load_imdb("train")
    test_texts, test_labels = load_imdb("test")
    if num_train + num_val > len(train_texts) or num_test > len(test_texts):
        raise ValueError(
            f"The training half has {len(train_texts):,} reviews and the test half "
            f"{len(test_texts):,}; num_train + num_val = {num_train + num_val:,} and num_test = "
            f"{num_test:,} do not fit. Ask for fewer reviews."
        )
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(train_texts))
    train_index, val_index = order[:num_train], order[num_train : num_train + num_val]
    test_index = rng.permutation(len(test_texts))[:num_test]
    return ImdbSplit(
        [train_texts[i] for i in train_index],
        train_labels[train_index],
        [train_texts[i] for i in val_index],
        train_labels[val_index],
        [test_texts[i] for i in test_index],
        test_labels[test_index],
    )


def _review_sort_key(path: Path) -> tuple[int, str]:
    """Sort ``123_7.txt`` by its review id (123), so that the order is natural and stable."""
    review_id, _, _ = path.stem.partition("_")
    return (int(review_id) if review_id.isdigit() else -1, path.name)


def imdb_folder() -> Path:
    """Path of a complete, verified ``aclImdb`` folder, extracting or downloading it if needed.

    A folder counts as complete only once it carries the marker written after verification,
    so an extraction that was interrupted is never mistaken for a good one.
    """
    for folder in data_dirs():
        candidate = folder / IMDB_FOLDER_NAME
        if (candidate / _IMDB_COMPLETE_MARKER).is_file():
            return candidate
    for folder in data_dirs():  # a copy extracted by hand: accept it once its counts check out
        candidate = folder / IMDB_FOLDER_NAME
        if candidate.is_dir() and not _imdb_count_problems(candidate):
            return candidate
    archive = _find_or_download(IMDB_ARCHIVE_NAME, IMDB_URL)
    return extract_imdb(archive, PROJECT_DATA_DIR)


def extract_imdb(archive: Path, destination_dir: Path) -> Path:
    """Extract the IMDB archive into ``destination_dir/aclImdb`` and verify it by content.

    Extraction happens in a temporary folder that is renamed into place only after the review
    counts check out; a corrupt or truncated archive raises :class:`DataIntegrityError` and
    leaves nothing behind.
    """
    destination_dir.mkdir(parents=True, exist_ok=True)
    target = destination_dir / IMDB_FOLDER_NAME
    staging = Path(tempfile.mkdtemp(prefix=".aclImdb-extracting-", dir=destination_dir))
    try:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                members = [m for m in tar.getmembers() if _wanted_imdb_member(m)]
                tar.extractall(staging, members=members, filter="data")
        except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
            raise DataIntegrityError(
                f"{archive} is not a readable IMDB archive ({type(error).__name__}: {error}). "
                "It is probably truncated or corrupt: delete it and run again to download a "
                f"fresh copy from {IMDB_URL}."
            ) from error
        _verify_imdb_counts(staging / IMDB_FOLDER_NAME, archive)
        (staging / IMDB_FOLDER_NAME / _IMDB_COMPLETE_MARKER).write_text("verified\n")
        if _finished_elsewhere(target):
            return target
        if target.exists():  # an older, unverified extraction: never reuse it
            shutil.rmtree(target)
        try:
            (staging / IMDB_FOLDER_NAME).rename(target)
        except OSError:
            if _finished_elsewhere(target):
                return target
            raise
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _finished_elsewhere(target: Path) -> bool:
    """Whether another process (a second notebook started at the same time, a parallel test
    worker) has put a verified extraction at ``target`` while this one was extracting. That copy
    is kept, since its owner may be reading it; the caller's own copy is discarded."""
    return (target / _IMDB_COMPLETE_MARKER).is_file()


def _wanted_imdb_member(member: tarfile.TarInfo) -> bool:
    """Keep the labelled reviews and the dataset's own documentation; skip the rest."""
    parts = Path(member.name).parts
    if len(parts) == 2 and parts[0] == IMDB_FOLDER_NAME:  # README, imdb.vocab, imdbEr.txt
        return member.isfile()
    return (
        len(parts) == 4
        and parts[0] == IMDB_FOLDER_NAME
        and parts[1] in IMDB_SPLITS
        and parts[2] in IMDB_CLASSES
        and member.isfile()
    )


def _imdb_count_problems(root: Path) -> list[str]:
    """One message per split and class whose review count is not the expected one."""
    problems = []
    for split in IMDB_SPLITS:
        for class_name in IMDB_CLASSES:
            folder = root / split / class_name
            count = sum(1 for _ in folder.glob("*.txt")) if folder.is_dir() else 0
            if count != IMDB_REVIEWS_PER_CLASS:
                problems.append(f"{split}/{class_name} has {count:,} reviews")
    return problems


def _verify_imdb_counts(root: Path, archive: Path) -> None:
    """Raise :class:`DataIntegrityError` unless every split and class has its full count."""
    problems = _imdb_count_problems(root)
    if problems:
        raise DataIntegrityError(
            f"{archive} is incomplete: {'; '.join(problems)} "
            f"(expected {IMDB_REVIEWS_PER_CLASS:,} each). Delete it and run again to download "
            f"a fresh copy from {IMDB_URL}."
        )


# --------------------------------------------------------------------------- Shakespeare


def load_shakespeare() -> str:
    """The tiny-Shakespeare corpus (1,115,394 characters) as one string.

    The text is checked against the official file's length and SHA-256, so a truncated or
    altered copy raises :class:`DataIntegrityError` instead of training on the wrong data.
    """
    path = _find_or_download(SHAKESPEARE_FILE_NAME, SHAKESPEARE_URL)
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHAKESPEARE_SHA256:
        text = raw.decode("utf-8", errors="replace")
        raise DataIntegrityError(
            f"{path} is not the tiny-Shakespeare corpus: it has {len(text):,} characters "
            f"(expected {SHAKESPEARE_CHARACTERS:,}) and SHA-256 {digest[:12]}... Delete it and "
            f"run again to download a fresh copy from {SHAKESPEARE_URL}."
        )
    return raw.decode("utf-8")


# --------------------------------------------------------------------------- English-Spanish


def load_spa_eng() -> list[tuple[str, str]]:
    """The Tatoeba English-Spanish sentence pairs as TensorFlow packages them (``spa-eng.zip``).

    Returns:
        118,964 ``(english, spanish)`` pairs in the file's order (by English sentence length,
        then alphabetically). One English sentence often has several Spanish translations,
        each its own pair.

    The archive is read in place (no extraction). Its content is checked: every line must hold
    exactly two non-empty tab-separated sentences, and the pairs must number 118,964; a
    truncated, corrupt or different file raises :class:`DataIntegrityError` naming it.
    """
    path = _find_or_download(SPA_ENG_ARCHIVE_NAME, SPA_ENG_URL)
    fix = f"Delete {path} and run again to download a fresh copy from {SPA_ENG_URL}."
    try:
        with zipfile.ZipFile(path) as archive:
            raw = archive.read(SPA_ENG_MEMBER)
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise DataIntegrityError(
            f"{path} is not a readable zip archive ({error}). {fix}"
        ) from error
    except KeyError as error:
        raise DataIntegrityError(f"{path} has no {SPA_ENG_MEMBER}. {fix}") from error
    pairs = []
    for number, line in enumerate(raw.decode("utf-8").splitlines(), 1):
        fields = line.split("\t")
        if len(fields) != 2 or not all(field.strip() for field in fields):
            raise DataIntegrityError(
                f"Line {number} of {SPA_ENG_MEMBER} in {path} is not 'English<TAB>Spanish': "
                f"{line[:80]!r}. {fix}"
            )
        pairs.append((fields[0], fields[1]))
    if len(pairs) != SPA_ENG_PAIRS:
        raise DataIntegrityError(
            f"{path} holds {len(pairs):,} sentence pairs, not {SPA_ENG_PAIRS:,}. {fix}"
        )
    return pairs


class TranslationSplit(NamedTuple):
    """Sentence pairs for training, validation and test (see :func:`split_by_source`)."""

    train: list[tuple[str, str]]
    val: list[tuple[str, str]]
    test: list[tuple[str, str]]


def split_by_source(
    pairs: list[tuple[str, str]], val_fraction: float, test_fraction: float, seed: int = 0
) -> TranslationSplit:
    """Split pairs so that every translation of one source sentence lands in the same split.

    A source sentence seen in training with one translation must not be tested with another:
    the test would then measure recall, not translation. The distinct source sentences are
    shuffled with ``seed`` and cut by the fractions; each split keeps every pair of its sources,
    in the order of ``pairs``. :func:`references_by_source` then gathers a split's translations
    into multi-reference form for BLEU.
    """
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(
            "val_fraction and test_fraction must lie in (0, 1) and leave some data for "
            f"training; got {val_fraction} and {test_fraction}."
        )
    sources = list(dict.fromkeys(source for source, _ in pairs))
    order = np.random.default_rng(seed).permutation(len(sources))
    n_val, n_test = round(val_fraction * len(sources)), round(test_fraction * len(sources))
    split_of = {}
    for rank, index in enumerate(order):
        split_of[sources[index]] = 0 if rank < n_val else 1 if rank < n_val + n_test else 2
    parts: tuple[list, list, list] = ([], [], [])
    for pair in pairs:
        parts[split_of[pair[0]]].append(pair)
    val, test, train = parts
    return TranslationSplit(train, val, test)


def references_by_source(pairs: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """Each distinct source sentence with all of its translations, in first-seen order."""
    grouped: dict[str, list[str]] = {}
    for source, target in pairs:
        grouped.setdefault(source, []).append(target)
    return list(grouped.items())


# --------------------------------------------------------------------------- spoken digits


class SpokenDigits(NamedTuple):
    """The Free Spoken Digit Dataset: one entry per recording, sorted by speaker, digit, index."""

    waveforms: list[np.ndarray]  # float32 in [-1, 1], 8 kHz, lengths differ
    digits: np.ndarray  # int64, 0-9: the spoken digit
    speakers: np.ndarray  # str: the speaker's name
    indices: np.ndarray  # int64, 0-49: the repetition; 0-4 are the official test set

    def first_repetitions(self, count: int) -> SpokenDigits:
        """Only repetitions ``0 .. count - 1`` of every speaker and digit, in the same order.

        A smaller dataset with the same structure (every speaker, every digit, the official
        test repetitions 0-4 included), for quick runs; ``count=50`` keeps every recording.
        """
        if not 5 < count <= 50:
            raise ValueError(
                f"count must be between 6 and 50, to keep the test repetitions 0-4 and some"
                f" to train on; got {count}."
            )
        keep = self.indices < count
        return SpokenDigits(
            [waveform for waveform, kept in zip(self.waveforms, keep, strict=True) if kept],
            self.digits[keep],
            self.speakers[keep],
            self.indices[keep],
        )


def load_fsdd() -> SpokenDigits:
    """The Free Spoken Digit Dataset v1.0.10 (Jackson et al.): 3,000 recordings of spoken digits.

    Six speakers say each digit 50 times; 8 kHz mono 16-bit WAV files named
    ``recordings/{digit}_{speaker}_{index}.wav``. The recordings are read straight from the
    tag archive (no extraction). Every one is checked: the name, the format (8 kHz, mono,
    16-bit) and that it decodes; so are the count and that no recording appears twice. A
    truncated, corrupt or different archive raises :class:`DataIntegrityError` naming it.
    """
    path = _find_or_download(FSDD_ARCHIVE_NAME, FSDD_URL)
    fix = f"Delete {path} and run again to download a fresh copy from {FSDD_URL}."
    recordings = []
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                match = _FSDD_NAME.match(member.name)
                if not (member.isfile() and match):
                    continue
                digit, speaker, index = int(match[1]), match[2], int(match[3])
                audio = archive.extractfile(member)
                recordings.append((speaker, digit, index, _read_wav(audio, member.name, fix)))
    except (tarfile.TarError, zlib.error, EOFError, OSError) as error:
        raise DataIntegrityError(
            f"{path} is not a readable tar.gz archive ({error}). {fix}"
        ) from error
    keys = {recording[:3] for recording in recordings}
    if len(recordings) != FSDD_RECORDINGS or len(keys) != len(recordings):
        raise DataIntegrityError(
            f"{path} holds {len(recordings):,} recordings ({len(keys):,} distinct), not "
            f"{FSDD_RECORDINGS:,}. {fix}"
        )
    recordings.sort(key=lambda recording: recording[:3])
    speakers, digits, indices, waveforms = zip(*recordings, strict=True)
    return SpokenDigits(
        list(waveforms),
        np.array(digits, dtype=np.int64),
        np.array(speakers),
        np.array(indices, dtype=np.int64),
    )


def _read_wav(audio: Any, name: str, fix: str) -> np.ndarray:
    """One 8 kHz mono 16-bit WAV as float32 samples in [-1, 1]."""
    try:
        with wave.open(audio) as recording:
            layout = (recording.getframerate(), recording.getnchannels(), recording.getsampwidth())
            frames = recording.readframes(recording.getnframes())
    except (wave.Error, EOFError) as error:
        raise DataIntegrityError(f"{name} is not a readable WAV file ({error}). {fix}") from error
    if layout != (FSDD_SAMPLE_RATE, 1, 2):
        raise DataIntegrityError(
            f"{name} is {layout[0]} Hz, {layout[1]} channel(s), {8 * layout[2]}-bit; expected "
            f"{FSDD_SAMPLE_RATE} Hz mono 16-bit. {fix}"
        )
    if not frames:
        raise DataIntegrityError(f"{name} holds no samples. {fix}")
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
