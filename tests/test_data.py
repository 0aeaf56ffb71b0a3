"""Tests for utils.data, on tiny archives built here (never the real data sets)."""

import hashlib
import io
import shutil
import tarfile
import threading
import wave
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from utils import data

PER_CLASS = 2


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """A private project data folder, no RNN_DATA_DIR, and two reviews per split and class."""
    project = tmp_path / "project_data"
    monkeypatch.setattr(data, "PROJECT_DATA_DIR", project)
    monkeypatch.delenv(data.DATA_DIR_ENV_VAR, raising=False)
    monkeypatch.setattr(data, "IMDB_REVIEWS_PER_CLASS", PER_CLASS)
    monkeypatch.setattr(data, "IMDB_URL", "http://127.0.0.1:9/aclImdb_v1.tar.gz")
    monkeypatch.setattr(data, "SHAKESPEARE_URL", "http://127.0.0.1:9/shakespeare.txt")
    monkeypatch.setattr(data, "SPA_ENG_URL", "http://127.0.0.1:9/spa-eng.zip")
    monkeypatch.setattr(data, "SPA_ENG_PAIRS", len(SPA_ENG_LINES))
    monkeypatch.setattr(data, "FSDD_URL", "http://127.0.0.1:9/v1.0.10.tar.gz")
    monkeypatch.setattr(data, "FSDD_RECORDINGS", len(FSDD_NAMES))
    return project


def add_to_tar(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
    """Write ``payload`` into ``tar`` as the file ``name``."""
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    tar.addfile(info, io.BytesIO(payload))


def make_imdb_archive(path: Path, per_class: int = PER_CLASS, skip: str | None = None) -> Path:
    """An archive in the official layout; ``skip`` ("train/pos") leaves one folder short."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:

        def add(name: str, text: str) -> None:
            add_to_tar(tar, name, text.encode())

        add("aclImdb/README", "Large Movie Review Dataset v1.0")
        add("aclImdb/imdb.vocab", "the\nmovie\n")
        add("aclImdb/train/unsupBow.feat", "ignored")
        for split in ("train", "test"):
            for class_name in ("neg", "pos"):
                count = per_class - 1 if skip == f"{split}/{class_name}" else per_class
                # ids 10 and 9 check the natural (numeric) order: 9 comes before 10
                for review_id in range(9, 9 + count):
                    rating = 8 if class_name == "pos" else 2
                    add(
                        f"aclImdb/{split}/{class_name}/{review_id}_{rating}.txt",
                        f"{split} {class_name} review {review_id}<br /><br />Café.",
                    )
    return path


def test_load_imdb_extracts_verifies_and_labels(isolated, tmp_path, monkeypatch):
    local = tmp_path / "offline"
    make_imdb_archive(local / data.IMDB_ARCHIVE_NAME)
    monkeypatch.setenv(data.DATA_DIR_ENV_VAR, str(local))

    texts, labels = data.load_imdb("train")

    assert texts == [
        "train neg review 9<br /><br />Café.",
        "train neg review 10<br /><br />Café.",
        "train pos review 9<br /><br />Café.",
        "train pos review 10<br /><br />Café.",
    ]
    assert labels.dtype == np.int64 and labels.tolist() == [0, 0, 1, 1]
    extracted = isolated / "aclImdb"
    assert (extracted / ".complete").is_file()
    assert not (extracted / "train" / "unsupBow.feat").exists()
    assert not list(isolated.glob(".aclImdb-extracting-*")), "staging folder left behind"


def test_second_call_reuses_extraction_without_reading_the_archive(isolated, tmp_path, monkeypatch):
    archive = make_imdb_archive(tmp_path / "offline" / data.IMDB_ARCHIVE_NAME)
    monkeypatch.setenv(data.DATA_DIR_ENV_VAR, str(archive.parent))
    first = data.load_imdb("test")
    archive.unlink()  # proves the archive is not needed any more

    def fail(*args, **kwargs):
        raise AssertionError("the archive was opened again")

    monkeypatch.setattr(data.tarfile, "open", fail)
    second = data.load_imdb("test")
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1], second[1])


def test_an_extraction_finished_by_another_process_is_kept_not_replaced(
    isolated, tmp_path, monkeypatch
):
    archive = make_imdb_archive(tmp_path / "offline" / data.IMDB_ARCHIVE_NAME)
    target = isolated / "aclImdb"
    verify = data._verify_imdb_counts

    def verify_while_another_process_finishes(root, archive_path):
        verify(root, archive_path)
        # Meanwhile a second notebook finished its own extraction and is reading from it.
        shutil.copytree(root, target)
        (target / ".complete").write_text("verified\n")
        (target / "being-read").write_text("")

    monkeypatch.setattr(data, "_verify_imdb_counts", verify_while_another_process_finishes)
    assert data.extract_imdb(archive, isolated) == target
    assert (target / "being-read").is_file(), "the other process's copy was removed"
    assert not list(isolated.glob(".aclImdb-extracting-*")), "staging folder left behind"


def test_wrong_split_name_is_rejected(isolated):
    with pytest.raises(ValueError, match=r"split must be one of \('train', 'test'\), got 'tset'"):
        data.load_imdb("tset")


def test_truncated_archive_is_named_and_never_used(isolated, tmp_path, monkeypatch):
    good = make_imdb_archive(tmp_path / "good.tar.gz")
    local = tmp_path / "offline"
    local.mkdir()
    broken = local / data.IMDB_ARCHIVE_NAME
    broken.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    monkeypatch.setenv(data.DATA_DIR_ENV_VAR, str(local))

    with pytest.raises(data.DataIntegrityError, match=r"aclImdb_v1\.tar\.gz.*truncated or corrupt"):
        data.load_imdb("train")
    assert not (isolated / "aclImdb").exists()
    assert not list(isolated.glob(".aclImdb-extracting-*"))


def test_archive_missing_reviews_is_rejected_with_the_counts(isolated, tmp_path, monkeypatch):
    local = tmp_path / "offline"
    make_imdb_archive(local / data.IMDB_ARCHIVE_NAME, skip="test/pos")
    monkeypatch.setenv(data.DATA_DIR_ENV_VAR, str(local))
    with pytest.raises(data.DataIntegrityError, match=r"incomplete: test/pos has 1 reviews"):
        data.load_imdb("train")
    assert not (isolated / "aclImdb").exists()


def test_half_extracted_folder_is_never_used(isolated, tmp_path, monkeypatch):
    stale = isolated / "aclImdb" / "train" / "pos"
    stale.mkdir(parents=True)
    (stale / "0_9.txt").write_text("left over from an interrupted extraction")
    local = tmp_path / "offline"
    make_imdb_archive(local / data.IMDB_ARCHIVE_NAME)
    monkeypatch.setenv(data.DATA_DIR_ENV_VAR, str(local))

    texts, _ = data.load_imdb("train")
    assert "left over from an interrupted extraction" not in texts
    assert len(texts) == 2 * PER_CLASS


def test_offline_without_local_copy_names_url_and_env_var(isolated):
    with pytest.raises(data.DataUnavailableError) as caught:
        data.load_imdb("train")
    message = str(caught.value)
    assert data.IMDB_URL in message and "RNN_DATA_DIR" in message
    assert not any(isolated.iterdir()), "a failed download left a file behind"


class _Server:
    """A loopback HTTP server that serves ``body`` and may claim a larger ``Content-Length``."""

    def __init__(self, body: bytes, claimed_length: int | None = None) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(claimed_length or len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/file"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_download_goes_to_data_folder_and_is_then_reused(isolated, tmp_path, monkeypatch, capsys):
    body = make_imdb_archive(tmp_path / "served.tar.gz").read_bytes()
    server = _Server(body)
    monkeypatch.setattr(data, "IMDB_URL", server.url)
    try:
        texts, _ = data.load_imdb("test")
    finally:
        server.close()
    assert len(texts) == 2 * PER_CLASS
    assert (isolated / data.IMDB_ARCHIVE_NAME).read_bytes() == body
    assert "100.0%" in capsys.readouterr().err  # the progress bar reached the end
    assert not list(isolated.glob("*.part"))


def test_interrupted_download_leaves_nothing_behind(isolated, monkeypatch):
    server = _Server(b"only part of the file", claimed_length=1000)
    try:
        with pytest.raises(data.DataIntegrityError, match=r"stopped after 21 of 1,000 bytes"):
            data.download(server.url, isolated / "file.bin", show_progress=False)
    finally:
        server.close()
    assert not any(isolated.iterdir())


SHAKESPEARE_SAMPLE = "First Citizen:\nBefore we proceed any further, hear me speak.\n"


def test_load_shakespeare_reads_a_local_copy_and_checks_it(isolated, tmp_path, monkeypatch):
    local = tmp_path / "offline"
    local.mkdir()
    (local / "shakespeare.txt").write_text(SHAKESPEARE_SAMPLE)
    monkeypatch.setenv(data.DATA_DIR_ENV_VAR, str(local))
    digest = hashlib.sha256(SHAKESPEARE_SAMPLE.encode()).hexdigest()
    monkeypatch.setattr(data, "SHAKESPEARE_SHA256", digest)
    assert data.load_shakespeare() == SHAKESPEARE_SAMPLE


def test_altered_shakespeare_copy_is_rejected(isolated, tmp_path, monkeypatch):
    local = tmp_path / "offline"
    local.mkdir()
    (local / "shakespeare.txt").write_text(SHAKESPEARE_SAMPLE[:20])
    monkeypatch.setenv(data.DATA_DIR_ENV_VAR, str(local))
    with pytest.raises(data.DataIntegrityError, match=r"shakespeare\.txt is not the tiny-Shake"):
        data.load_shakespeare()


def test_shakespeare_offline_error_names_url_and_env_var(isolated):
    with pytest.raises(data.DataUnavailableError, match=r"shakespeare\.txt.*RNN_DATA_DIR"):
        data.load_shakespeare()


def test_rnn_data_dir_is_searched_before_the_project_folder(isolated, tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV_VAR, str(tmp_path / "mine"))
    assert data.data_dirs() == [tmp_path / "mine", isolated]


def test_downloads_go_to_rnn_data_dir_when_it_is_a_folder_and_to_data_otherwise(
    isolated, tmp_path, monkeypatch
):
    assert data.download_dir() == isolated
    monkeypatch.setenv(data.DATA_DIR_ENV_VAR, str(tmp_path / "not yet made"))
    assert data.download_dir() == isolated
    drive = tmp_path / "drive"
    drive.mkdir()
    monkeypatch.setenv(data.DATA_DIR_ENV_VAR, str(drive))
    assert data.download_dir() == drive
    body = SHAKESPEARE_SAMPLE.encode()
    server = _Server(body)
    monkeypatch.setattr(data, "SHAKESPEARE_URL", server.url)
    monkeypatch.setattr(data, "SHAKESPEARE_CHARACTERS", len(SHAKESPEARE_SAMPLE))
    monkeypatch.setattr(data, "SHAKESPEARE_SHA256", hashlib.sha256(body).hexdigest())
    try:
        assert data.load_shakespeare() == SHAKESPEARE_SAMPLE
    finally:
        server.close()
    assert (drive / data.SHAKESPEARE_FILE_NAME).read_bytes() == body
    assert not isolated.exists()  # nothing went to data/


def fake_imdb(monkeypatch, per_half: int = 100) -> None:
    """Replace load_imdb with two labelled halves whose texts name their split and position."""

    def load(split: str) -> tuple[list[str], np.ndarray]:
        labels = np.arange(per_half, dtype=np.int64) * 2 // per_half  # sorted: 0s then 1s
        return [f"{split} {i} label {label}" for i, label in enumerate(labels)], labels

    monkeypatch.setattr(data, "load_imdb", load)


def test_imdb_split_is_disjoint_seeded_and_keeps_texts_with_their_labels(monkeypatch):
    fake_imdb(monkeypatch)
    split = data.imdb_split(num_train=60, num_val=30, num_test=40, seed=3)

    assert [len(split.x_train), len(split.x_val), len(split.x_test)] == [60, 30, 40]
    assert not set(split.x_train) & set(split.x_val)
    assert all(text.startswith("train") for text in split.x_train + split.x_val)
    assert all(text.startswith("test") for text in split.x_test)
    for texts, labels in [(split.x_train, split.y_train), (split.x_test, split.y_test)]:
        assert [int(text.split()[-1]) for text in texts] == labels.tolist()
    assert 0 < split.y_train.mean() < 1, "the label-sorted archive must be shuffled"

    again = data.imdb_split(num_train=60, num_val=30, num_test=40, seed=3)
    other = data.imdb_split(num_train=60, num_val=30, num_test=40, seed=4)
    assert again.x_train == split.x_train and again.x_test == split.x_test
    assert other.x_train != split.x_train


def test_imdb_split_rejects_sizes_that_do_not_fit(monkeypatch):
    fake_imdb(monkeypatch)
    with pytest.raises(ValueError, match=r"do not fit\. Ask for fewer reviews"):
        data.imdb_split(num_train=80, num_val=30, num_test=10)
    with pytest.raises(ValueError, match="do not fit"):
        data.imdb_split(num_train=10, num_val=10, num_test=101)
    with pytest.raises(ValueError, match="must be positive"):
        data.imdb_split(num_train=0, num_val=10, num_test=10)


SPA_ENG_LINES = ["Go.\tVe.", "Go.\tVete.", "Hi.\tHola.", "Why?\t¿Por qué?", "Run!\t¡Corre!"]


def make_spa_eng_archive(folder: Path, lines: list[str] = SPA_ENG_LINES) -> Path:
    """A zip in TensorFlow's layout: spa-eng/spa.txt and spa-eng/_about.txt."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / data.SPA_ENG_ARCHIVE_NAME
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("spa-eng/spa.txt", "\n".join(lines) + "\n")
        archive.writestr(
            "spa-eng/_about.txt", "Attribution: www.manythings.org/anki and tatoeba.org"
        )
    return path


def test_load_spa_eng_reads_the_pairs_in_order_with_accents(isolated, tmp_path, monkeypatch):
    make_spa_eng_archive(tmp_path / "offline")
    monkeypatch.setenv(data.DATA_DIR_ENV_VAR, str(tmp_path / "offline"))
    pairs = data.load_spa_eng()
    assert pairs == [tuple(line.split("\t")) for line in SPA_ENG_LINES]
    assert pairs[3] == ("Why?", "¿Por qué?")


def test_spa_eng_with_missing_pairs_is_rejected_with_the_count(isolated, monkeypatch):
    make_spa_eng_archive(isolated, SPA_ENG_LINES[:-1])
    with pytest.raises(data.DataIntegrityError, match=r"holds 4 sentence pairs, not 5\. Delete"):
        data.load_spa_eng()


def test_spa_eng_with_a_malformed_line_names_the_line(isolated):
    make_spa_eng_archive(isolated, [*SPA_ENG_LINES[:2], "Hi. Hola.", *SPA_ENG_LINES[3:]])
    with pytest.raises(data.DataIntegrityError, match=r"Line 3 of spa-eng/spa\.txt"):
        data.load_spa_eng()


def test_truncated_spa_eng_archive_is_named_and_never_used(isolated):
    path = make_spa_eng_archive(isolated)
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(data.DataIntegrityError, match=r"spa-eng\.zip is not a readable zip"):
        data.load_spa_eng()


def test_spa_eng_offline_error_names_url_and_env_var(isolated):
    with pytest.raises(data.DataUnavailableError, match=r"spa-eng\.zip.*RNN_DATA_DIR"):
        data.load_spa_eng()


def test_split_by_source_keeps_every_translation_of_a_sentence_together():
    pairs = [(f"source {i // 3}", f"translation {i}") for i in range(300)]  # 3 per source
    split = data.split_by_source(pairs, val_fraction=0.1, test_fraction=0.2, seed=1)
    sources = [{source for source, _ in part} for part in split]
    assert not (sources[0] & sources[1] or sources[0] & sources[2] or sources[1] & sources[2])
    assert [len(s) for s in sources] == [70, 10, 20]
    assert sorted(split.train + split.val + split.test) == sorted(pairs)
    assert split.test == sorted(split.test, key=pairs.index), "the file's order is kept"
    assert data.split_by_source(pairs, 0.1, 0.2, seed=1) == split
    assert data.split_by_source(pairs, 0.1, 0.2, seed=2) != split


def test_references_by_source_gathers_translations_in_first_seen_order():
    pairs = [("Go.", "Ve."), ("Hi.", "Hola."), ("Go.", "Vete.")]
    assert data.references_by_source(pairs) == [("Go.", ["Ve.", "Vete."]), ("Hi.", ["Hola."])]


def test_split_by_source_rejects_fractions_that_leave_no_training_data():
    with pytest.raises(ValueError, match="leave some data for training"):
        data.split_by_source([("a", "b")], val_fraction=0.5, test_fraction=0.5)


FSDD_NAMES = ["3_theo_7", "0_george_0", "3_george_12", "9_lucas_49"]


def wav_bytes(samples: np.ndarray, rate: int = 8_000, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


def make_fsdd_archive(folder: Path, files: dict[str, bytes] | None = None) -> Path:
    """A tag archive in the repository's layout; by default one short recording per name."""
    if files is None:
        files = {
            name: wav_bytes(np.array([0, 16384, -32768, i], dtype=np.int16))
            for i, name in enumerate(FSDD_NAMES)
        }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / data.FSDD_ARCHIVE_NAME
    top = "free-spoken-digit-dataset-1.0.10"
    with tarfile.open(path, "w:gz") as tar:
        add_to_tar(tar, f"{top}/README.md", b"# Free Spoken Digit Dataset (FSDD)")
        for name, payload in files.items():
            add_to_tar(tar, f"{top}/recordings/{name}.wav", payload)
    return path


def test_load_fsdd_reads_labels_from_names_and_scales_samples(isolated, tmp_path, monkeypatch):
    make_fsdd_archive(tmp_path / "offline")
    monkeypatch.setenv(data.DATA_DIR_ENV_VAR, str(tmp_path / "offline"))
    digits = data.load_fsdd()
    assert digits.speakers.tolist() == ["george", "george", "lucas", "theo"]  # sorted
    assert digits.digits.tolist() == [0, 3, 9, 3]
    assert digits.indices.tolist() == [0, 12, 49, 7]
    np.testing.assert_array_equal(digits.waveforms[0], [0.0, 0.5, -1.0, 1 / 32768])
    assert all(w.dtype == np.float32 for w in digits.waveforms)


def test_first_repetitions_keeps_every_speaker_and_digit_in_order():
    indices = np.tile(np.arange(50), 4)
    recordings = data.SpokenDigits(
        [np.full(3, i, np.float32) for i in range(200)],
        np.repeat([1, 2], 100),
        np.repeat(["jackson", "theo", "jackson", "theo"], 50),
        indices,
    )
    fewer = recordings.first_repetitions(20)
    assert fewer.indices.tolist() == list(range(20)) * 4
    assert fewer.digits.tolist() == [1] * 40 + [2] * 40
    assert fewer.speakers.tolist() == (["jackson"] * 20 + ["theo"] * 20) * 2
    assert [int(w[0]) for w in fewer.waveforms] == [i for i in range(200) if i % 50 < 20]
    assert len(recordings.first_repetitions(50).waveforms) == 200
    with pytest.raises(ValueError, match="keep the test repetitions 0-4"):
        recordings.first_repetitions(5)


def test_fsdd_with_a_missing_recording_is_rejected_with_the_count(isolated):
    files = {name: wav_bytes(np.ones(4, np.int16)) for name in FSDD_NAMES[:-1]}
    make_fsdd_archive(isolated, files)
    with pytest.raises(data.DataIntegrityError, match=r"holds 3 recordings \(3 distinct\), not 4"):
        data.load_fsdd()


def test_fsdd_recording_in_the_wrong_format_is_named(isolated):
    files = {name: wav_bytes(np.ones(4, np.int16)) for name in FSDD_NAMES}
    files["3_george_12"] = wav_bytes(np.ones(4, np.int16), rate=16_000)
    make_fsdd_archive(isolated, files)
    with pytest.raises(data.DataIntegrityError, match=r"3_george_12\.wav is 16000 Hz"):
        data.load_fsdd()


def test_fsdd_recording_that_does_not_decode_is_named(isolated):
    files = {name: wav_bytes(np.ones(4, np.int16)) for name in FSDD_NAMES}
    files["9_lucas_49"] = b"RIFF not really"
    make_fsdd_archive(isolated, files)
    with pytest.raises(data.DataIntegrityError, match=r"9_lucas_49\.wav is not a readable WAV"):
        data.load_fsdd()


def test_truncated_fsdd_archive_is_named_and_never_used(isolated):
    path = make_fsdd_archive(isolated)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(data.DataIntegrityError, match=r"1\.0\.10\.tar\.gz is not a readable"):
        data.load_fsdd()


def test_fsdd_offline_error_names_url_and_env_var(isolated):
    with pytest.raises(data.DataUnavailableError, match=r"v1\.0\.10\.tar\.gz.*RNN_DATA_DIR"):
        data.load_fsdd()
