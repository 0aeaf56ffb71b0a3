"""Tests for utils.audio: features, splits, digit strings, error rates and WAV reading."""

import re
import wave

import numpy as np
import pytest

from utils import audio

RATE = audio.SAMPLE_RATE


def tone(frequency: float, seconds: float, rate: int = RATE) -> np.ndarray:
    times = np.arange(round(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * frequency * times)).astype(np.float32)


# --------------------------------------------------------------------------- features


def test_log_mel_has_one_frame_per_10_ms_and_never_runs_past_the_end():
    features = audio.log_mel_spectrogram(tone(440, 0.5)).numpy()
    # 4,000 samples, 200-sample windows every 80: 1 + (4000 - 200) // 80 = 48 frames.
    assert features.shape == (48, audio.MEL_BANDS) == (audio.frame_count(4_000), 40)
    assert (
        audio.frame_count(199) == 0 and audio.frame_count(200) == 1 and audio.frame_count(279) == 1
    )


def test_log_mel_puts_a_tone_in_the_band_of_its_frequency():
    low = audio.log_mel_spectrogram(tone(300, 0.3)).numpy().mean(axis=0)
    high = audio.log_mel_spectrogram(tone(3_000, 0.3)).numpy().mean(axis=0)
    assert np.argmax(low) < 12 < 28 < np.argmax(high)


def test_log_mel_of_silence_is_the_log_floor():
    features = audio.log_mel_spectrogram(np.zeros(1_000, np.float32)).numpy()
    np.testing.assert_allclose(features, np.log(audio.LOG_OFFSET), rtol=1e-6)


def test_log_mel_rejects_stereo_and_too_short_input_with_the_fix():
    with pytest.raises(ValueError, match="mix stereo to mono"):
        audio.log_mel_spectrogram(np.zeros((2, 800), np.float32))
    with pytest.raises(ValueError, match="fewer than one 25 ms frame"):
        audio.log_mel_spectrogram(np.zeros(150, np.float32))


def test_mfcc_keeps_the_first_coefficients_of_the_dct():
    log_mel = audio.log_mel_spectrogram(tone(500, 0.2))
    full = audio.mfcc(log_mel, coefficients=audio.MEL_BANDS).numpy()
    assert audio.mfcc(log_mel).shape == (log_mel.shape[0], 13)
    np.testing.assert_allclose(audio.mfcc(log_mel, 5).numpy(), full[:, :5])
    with pytest.raises(ValueError, match="coefficients must be 1 to 40"):
        audio.mfcc(log_mel, 41)


def test_feature_scaler_standardises_training_frames_of_any_length():
    rng = np.random.default_rng(0)
    train = [rng.normal(3.0, 2.0, size=(n, 4)) for n in (10, 37, 5)]
    scale = audio.FeatureScaler.fit(train)
    scaled = np.concatenate([scale(f) for f in train])
    np.testing.assert_allclose(scaled.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(scaled.std(axis=0), 1, atol=1e-5)
    assert scale(train[0]).dtype == np.float32
    constant = audio.FeatureScaler.fit([np.ones((3, 2))])
    assert np.isfinite(constant(np.ones((1, 2)))).all()
    with pytest.raises(ValueError, match="at least one training recording"):
        audio.FeatureScaler.fit([])


# --------------------------------------------------------------------------- splits

SPEAKERS = np.repeat(["george", "jackson", "lucas"], 500)
INDICES = np.tile(np.arange(50), 30)


def test_official_split_tests_on_repetitions_0_to_4_and_validates_on_5_to_9():
    split = audio.official_split(INDICES)
    assert (split.train.sum(), split.val.sum(), split.test.sum()) == (1_200, 150, 150)
    assert set(INDICES[split.test]) == set(range(5)) and set(INDICES[split.val]) == set(
        range(5, 10)
    )
    assert (split.train.astype(int) + split.val + split.test == 1).all()
    with pytest.raises(ValueError, match="must not take test repetitions"):
        audio.official_split(INDICES, validation=range(3, 8))


def test_speaker_split_holds_out_every_recording_of_one_voice():
    split = audio.speaker_split(SPEAKERS, INDICES, "lucas")
    assert set(SPEAKERS[split.test]) == {"lucas"} and split.test.sum() == 500
    assert "lucas" not in set(SPEAKERS[split.train]) | set(SPEAKERS[split.val])
    assert (
        split.val.sum() == 2 * 10 * 5
        and (split.train.astype(int) + split.val + split.test == 1).all()
    )
    with pytest.raises(ValueError, match="No recordings of speaker 'theo'"):
        audio.speaker_split(SPEAKERS, INDICES, "theo")


# --------------------------------------------------------------------------- digit strings


def recordings():
    """Six recordings of two speakers; each is constant at a value that names it."""
    waveforms = [np.full(100 + 10 * i, i + 1, np.float32) for i in range(6)]
    return waveforms, np.array([0, 1, 2, 3, 4, 5]), np.array(["a", "a", "a", "b", "b", "b"])


def test_digit_strings_join_one_speakers_recordings_with_silent_gaps():
    waveforms, digits, speakers = recordings()
    strings = audio.compose_digit_strings(
        waveforms, digits, speakers, count=50, seed=3, lengths=(2, 4), gap_seconds=(0.01, 0.02)
    )
    assert len(strings.waveforms) == len(strings.labels) == 50
    for waveform, labels, sources in zip(*strings, strict=True):
        assert 2 <= len(labels) <= 4
        assert len(set(speakers[sources])) == 1
        np.testing.assert_array_equal(labels, digits[sources])
        # The non-silent runs are the recordings, in order; gaps are 80-160 samples of zeros.
        pieces = np.split(waveform, np.flatnonzero(np.diff(waveform != 0)) + 1)
        sounds = [p for p in pieces if p[0] != 0]
        gaps = [len(p) for p in pieces if p[0] == 0]
        assert [int(p[0]) - 1 for p in sounds] == list(sources)
        assert [len(p) for p in sounds] == [len(waveforms[s]) for s in sources]
        assert all(80 <= gap <= 160 for gap in gaps) and len(gaps) == len(sources) - 1


def test_digit_strings_are_the_same_for_the_same_seed():
    args = (*recordings(), 20)
    first = audio.compose_digit_strings(*args, seed=7)
    again = audio.compose_digit_strings(*args, seed=7)
    other = audio.compose_digit_strings(*args, seed=8)
    assert all(np.array_equal(a, b) for a, b in zip(first.waveforms, again.waveforms, strict=True))
    assert any(not np.array_equal(a, b) for a, b in zip(first.labels, other.labels, strict=False))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(lengths=(0, 3)), "lengths must satisfy"),
        (dict(lengths=(4, 2)), "lengths must satisfy"),
        (dict(gap_seconds=(0.3, 0.1)), "gap_seconds must satisfy"),
        (dict(count=0), "Need count >= 1"),
    ],
)
def test_digit_strings_reject_bad_arguments(kwargs, message):
    arguments = dict(count=5, seed=0) | kwargs
    with pytest.raises(ValueError, match=message):
        audio.compose_digit_strings(*recordings(), **arguments)


def test_digit_strings_without_reuse_use_each_recording_once_until_they_run_out():
    waveforms, digits, speakers = recordings()
    strings = audio.compose_digit_strings(
        waveforms, digits, speakers, count=None, seed=5, lengths=(2, 2), reuse=False
    )
    used = np.concatenate(strings.sources)
    assert sorted(used.tolist()) == [0, 1, 2, 3, 4, 5]  # every recording, once
    # Three recordings per speaker in strings of two: each speaker gives a string of 2 and one of
    # the last recording; every string keeps to one speaker.
    assert sorted(len(labels) for labels in strings.labels) == [1, 1, 2, 2]
    assert all(len(set(speakers[sources])) == 1 for sources in strings.sources)
    fewer = audio.compose_digit_strings(
        waveforms, digits, speakers, count=1, seed=5, lengths=(2, 2), reuse=False
    )
    assert len(fewer.labels) == 1
    with pytest.raises(ValueError, match="count=None"):
        audio.compose_digit_strings(waveforms, digits, speakers, count=None, seed=5)


def test_digit_strings_with_reuse_keep_their_draws():
    """reuse=True (the default) makes the same strings as before reuse=False existed: the
    training strings of notebook 12 and its solutions stay the ones their outputs describe."""
    waveforms, digits, speakers = recordings()
    rng = np.random.default_rng(11)
    expected = []
    for _ in range(8):  # the original loop, written out
        pool = np.flatnonzero(speakers == ["a", "b"][rng.integers(2)])
        chosen = rng.choice(pool, size=rng.integers(2, 8))
        rng.uniform(0.05, 0.25, size=len(chosen) - 1)  # the gaps
        expected.append(chosen)
    strings = audio.compose_digit_strings(waveforms, digits, speakers, count=8, seed=11)
    assert all(np.array_equal(a, b) for a, b in zip(strings.sources, expected, strict=True))


def test_digit_error_rate_interval_pools_resampled_strings():
    references = [[1, 2, 3], [4, 5], [6], [7, 8, 9, 0]]
    hypotheses = [[1, 2, 3], [4], [6], [7, 1, 9]]  # 0, 1, 0 and 2 edits
    low, high = audio.digit_error_rate_interval(
        references, hypotheses, 2000, np.random.default_rng(0)
    )
    # By hand: the same resamples, each pooled as edits over digits.
    samples = np.random.default_rng(0).integers(0, 4, (2000, 4))
    edits, digits = np.array([0, 1, 0, 2]), np.array([3, 2, 1, 4])
    rates = edits[samples].sum(axis=1) / digits[samples].sum(axis=1)
    assert (low, high) == tuple(np.percentile(rates, [2.5, 97.5]))
    assert low < audio.digit_error_rate(references, hypotheses) == 0.3 < high
    exact = audio.digit_error_rate_interval(
        [[1, 2]] * 3, [[1, 3]] * 3, 50, np.random.default_rng(1)
    )
    assert exact == (0.5, 0.5)  # identical strings: no spread
    with pytest.raises(ValueError, match="as many hypotheses"):
        audio.digit_error_rate_interval([[1]], [], 10, np.random.default_rng(0))


def test_digit_strings_need_one_label_and_speaker_per_recording():
    waveforms, digits, speakers = recordings()
    with pytest.raises(ValueError, match="one entry per recording, got 6, 5 and 6"):
        audio.compose_digit_strings(waveforms, digits[:5], speakers, count=1, seed=0)


# --------------------------------------------------------------------------- error rates


@pytest.mark.parametrize(
    ("reference", "hypothesis", "distance"),
    [
        ([1, 2, 3], [1, 2, 3], 0),
        ([1, 2, 3], [1, 3], 1),  # a deletion
        ([1, 2, 3], [1, 2, 2, 3], 1),  # an insertion
        ([1, 2, 3], [1, 5, 3], 1),  # a substitution
        ([1, 2, 3], [], 3),
        ([], [4, 4], 2),
        ([7, 0, 0, 7], [0, 7, 7, 0], 3),
    ],
)
def test_edit_distance(reference, hypothesis, distance):
    assert audio.edit_distance(reference, hypothesis) == distance


@pytest.mark.parametrize(
    ("reference", "hypothesis", "counts"),
    [
        ([1, 2, 3], [1, 2, 3], (0, 0, 0)),
        ([4, 0, 0, 7], [4, 0, 7], (0, 1, 0)),  # a repeat merged into one digit
        ([1, 2, 3], [1, 2, 2, 3], (0, 0, 1)),
        ([1, 2, 3], [1, 5, 3], (1, 0, 0)),
        ([1, 2, 3], [], (0, 3, 0)),
        ([], [4, 4], (0, 0, 2)),
        ([5, 6, 7, 8], [6, 7, 8, 9, 9], (0, 1, 2)),
    ],
)
def test_edit_operations_split_the_edit_distance_into_kinds(reference, hypothesis, counts):
    found = audio.edit_operations(reference, hypothesis)
    assert tuple(found) == counts
    assert sum(found) == audio.edit_distance(reference, hypothesis)


def levenshtein(reference: list[int], hypothesis: list[int]) -> int:
    """An independent reference: the distance by the two-row recurrence."""
    previous = list(range(len(hypothesis) + 1))
    for i, wanted in enumerate(reference, start=1):
        current = [i]
        for j, got in enumerate(hypothesis, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (wanted != got))
            )
        previous = current
    return previous[-1]


def test_edit_operations_add_up_to_the_distance_on_random_strings():
    rng = np.random.default_rng(0)
    for _ in range(200):
        reference, hypothesis = (rng.integers(0, 3, rng.integers(0, 7)).tolist() for _ in "ab")
        found = audio.edit_operations(reference, hypothesis)
        assert sum(found) == audio.edit_distance(reference, hypothesis)
        assert sum(found) == levenshtein(reference, hypothesis)
        assert found.deletions - found.insertions == len(reference) - len(hypothesis)


def test_digit_error_rate_pools_edits_over_reference_digits():
    references = [[1, 2, 3, 4], [5, 6]]
    assert audio.digit_error_rate(references, [[1, 2, 3, 4], [5, 6]]) == 0
    assert audio.digit_error_rate(references, [[1, 2, 4], [6, 6]]) == pytest.approx(2 / 6)
    assert audio.digit_error_rate([[1]], [[2, 2, 2]]) == 3  # insertions can push it above 1
    with pytest.raises(ValueError, match="One hypothesis per reference: got 1 for 2"):
        audio.digit_error_rate(references, [[1]])
    with pytest.raises(ValueError, match="hold no digits"):
        audio.digit_error_rate([[]], [[]])


# --------------------------------------------------------------------------- reading files


def dominant_frequency(waveform: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(waveform))
    return float(np.fft.rfftfreq(len(waveform), 1 / rate)[np.argmax(spectrum)])


def test_resample_keeps_a_tone_and_removes_what_the_new_rate_cannot_hold():
    rate = 48_000
    times = np.arange(rate) / rate
    speech_band = np.sin(2 * np.pi * 1_000 * times)
    too_high = np.sin(2 * np.pi * 6_000 * times)  # above 8 kHz's Nyquist frequency of 4 kHz
    down = audio.resample(speech_band + too_high, rate)
    assert len(down) == RATE and down.dtype == np.float32
    assert dominant_frequency(down, RATE) == pytest.approx(1_000)
    np.testing.assert_allclose(down, audio.resample(speech_band, rate), atol=1e-4)
    np.testing.assert_allclose(np.abs(down).max(), 1, atol=0.01)  # amplitude kept
    np.testing.assert_array_equal(audio.resample(down, RATE), down)
    with pytest.raises(ValueError, match="Sample rates must be positive"):
        audio.resample(down, 0)


def write_wav(path, samples: np.ndarray, rate: int, width: int) -> None:
    with wave.open(str(path), "wb") as file:
        file.setnchannels(samples.shape[1] if samples.ndim == 2 else 1)
        file.setsampwidth(width)
        file.setframerate(rate)
        file.writeframes(samples.tobytes())


def test_read_wav_file_mixes_to_mono_and_resamples_to_8_khz(tmp_path):
    left = (tone(500, 1.0, 16_000) * 32767).astype("<i2")
    stereo = np.stack([left, left], axis=1)
    write_wav(tmp_path / "stereo.wav", stereo, 16_000, 2)
    waveform = audio.read_wav_file(tmp_path / "stereo.wav")
    assert waveform.shape == (RATE,) and dominant_frequency(waveform, RATE) == pytest.approx(500)
    np.testing.assert_allclose(np.abs(waveform).max(), 0.5, atol=0.01)


def test_read_wav_file_reads_8_bit_unsigned_samples(tmp_path):
    write_wav(tmp_path / "quiet.wav", np.full(800, 128, np.uint8), RATE, 1)
    np.testing.assert_array_equal(audio.read_wav_file(tmp_path / "quiet.wav"), np.zeros(800))


def test_read_wav_file_says_how_to_convert_what_it_cannot_read(tmp_path):
    (tmp_path / "voice.m4a").write_bytes(b"not a wave file")
    with pytest.raises(ValueError, match=re.escape("ffmpeg -i voice.m4a -ac 1 -ar 8000")):
        audio.read_wav_file(tmp_path / "voice.m4a")
    write_wav(tmp_path / "empty.wav", np.zeros(0, "<i2"), RATE, 2)
    with pytest.raises(ValueError, match="holds no samples"):
        audio.read_wav_file(tmp_path / "empty.wav")


def test_write_then_read_returns_the_waveform_to_16_bit_precision(tmp_path):
    waveform = tone(700, 0.3) * 1.5  # peaks at 0.75; a louder copy clips
    path = audio.write_wav_file(tmp_path / "tone.wav", waveform)
    np.testing.assert_allclose(audio.read_wav_file(path), waveform, atol=1 / 32768)
    loud = audio.read_wav_file(audio.write_wav_file(tmp_path / "loud.wav", 4 * waveform))
    assert loud.max() == pytest.approx(1 - 1 / 32768) and loud.min() == -1


def numpy_log_mel(waveform: np.ndarray, rate: int, bands: int, lower_hz: float) -> np.ndarray:
    """Log-mel energies written from the definitions, in NumPy: 25 ms periodic-Hann frames every
    10 ms, |FFT|^2 on 256 points, triangular bands evenly spaced on the HTK mel scale
    m = 1127 ln(1 + f / 700) from ``lower_hz`` to Nyquist (no weight on the DC bin), log(E + 1e-6).
    """
    length, step, fft = round(0.025 * rate), round(0.010 * rate), 256
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)
    starts = range(0, len(waveform) - length + 1, step)
    frames = np.stack([waveform[s : s + length] * window for s in starts])
    power = np.abs(np.fft.rfft(frames, fft)) ** 2  # (frames, 129)

    def mel(hz):
        return 1127.0 * np.log1p(np.asarray(hz) / 700.0)

    bin_mel = mel(np.linspace(0, rate / 2, fft // 2 + 1))
    edges = np.linspace(mel(lower_hz), mel(rate / 2), bands + 2)
    rising = (bin_mel[:, None] - edges[None, :-2]) / (edges[1:-1] - edges[:-2])
    falling = (edges[None, 2:] - bin_mel[:, None]) / (edges[2:] - edges[1:-1])
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0] = 0.0  # the DC bin carries no band
    return np.log(power @ weights + audio.LOG_OFFSET)


def test_log_mel_is_its_definition_in_numpy():
    rng = np.random.default_rng(3)
    waveform = (tone(440, 0.3) + 0.1 * rng.normal(size=2_400)).astype(np.float32)
    expected = numpy_log_mel(waveform.astype(np.float64), RATE, audio.MEL_BANDS, 20.0)
    np.testing.assert_allclose(audio.log_mel_spectrogram(waveform).numpy(), expected, atol=2e-3)


def test_mfcc_is_the_scaled_dct_of_the_log_mel_energies_in_numpy():
    # c_k = 2 / sqrt(2N) * sum_n x_n cos(pi k (2n + 1) / 2N) for k = 0 .. 12: the DCT-II scaled by
    # 1 / sqrt(2N), as tf.signal.mfccs_from_log_mel_spectrograms defines it.
    log_mel = np.random.default_rng(4).normal(size=(6, audio.MEL_BANDS)).astype(np.float32)
    bands = audio.MEL_BANDS
    n, k = np.arange(bands), np.arange(13)[:, None]
    basis = 2 * np.cos(np.pi * k * (2 * n + 1) / (2 * bands)) / np.sqrt(2 * bands)
    np.testing.assert_allclose(audio.mfcc(log_mel).numpy(), log_mel @ basis.T, atol=1e-4)
