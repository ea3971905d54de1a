"""Sound: the folder reader, spoken-digits made by the real espeak-ng, the log-mel spectrogram, WaveGAN's
shapes and phase shuffle, and a short run through the real command."""

import json
import re
import shutil
import struct
import subprocess
import sys
import wave

import numpy as np
import pytest
import torch

from conftest import assert_clean_error, assert_resume_is_exact, gankit, peak_mib
from gankit.data.audio import read_audio_folder
from gankit.errors import GankitError
from gankit.modalities.audio import AudioModality, log_mel, mel_filterbank, write_wav
from gankit.models.wavegan import PhaseShuffle, WaveGANDiscriminator, WaveGANGenerator, phase_shuffle

soundfile = pytest.importorskip("soundfile")


def sine(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(clip: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(clip))
    return float(np.fft.rfftfreq(len(clip), 1 / rate)[spectrum.argmax()])


def test_reader_mixes_resamples_cuts_pads_and_labels(tmp_path):
    (tmp_path / "low").mkdir()
    (tmp_path / "high").mkdir()
    soundfile.write(tmp_path / "low" / "a.wav", sine(440, 8000, 0.5), 8000)  # short: padded with silence
    stereo = np.stack([sine(3000, 44100, 2.0), sine(3000, 44100, 2.0, 0.25)], axis=1)
    soundfile.write(tmp_path / "high" / "b.flac", stereo, 44100)  # long: cut
    soundfile.write(tmp_path / "high" / "c.ogg", sine(3000, 22050, 1.0), 22050)
    clips, labels, classes = read_audio_folder(tmp_path, 16000, 16384)
    assert clips.shape == (3, 1, 16384) and clips.dtype == np.float32
    assert classes == ["high", "low"] and labels.tolist() == [0, 0, 1]
    assert np.abs(clips).max(axis=(1, 2)) == pytest.approx([1, 1, 1], abs=1e-6)  # peak-normalised
    assert peak_hz(clips[0, 0], 16000) == pytest.approx(3000, abs=2)  # resampled, not re-pitched
    assert peak_hz(clips[2, 0, :4000], 16000) == pytest.approx(440, abs=5)
    assert np.all(clips[2, 0, 8100:] == 0)  # 0.5 s at 16 kHz, then silence


def test_reader_skips_bad_files_and_refuses_when_none_is_left(tmp_path):
    soundfile.write(tmp_path / "good.wav", sine(440, 16000, 1.0), 16000)
    (tmp_path / "garbage.wav").write_bytes(b"RIFF not really a wave file")
    soundfile.write(tmp_path / "silent.wav", np.zeros(16000, np.float32), 16000)
    soundfile.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    with pytest.warns(UserWarning) as caught:
        clips, labels, _ = read_audio_folder(tmp_path, 16000, 4096)
    assert len(clips) == 1 and labels is None
    said = " ".join(str(w.message) for w in caught)
    assert "skipped 1 unreadable" in said and "skipped 2 empty or silent" in said
    (tmp_path / "good.wav").unlink()
    with pytest.raises(GankitError, match="none of its 3 files could be used"):
        read_audio_folder(tmp_path, 16000, 4096)


def wav_header(rate: int, channels: int, frames: int) -> bytes:
    """A 16-bit PCM WAV header declaring what it likes (soundfile refuses to write absurd rates)."""
    data = frames * channels * 2
    return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate,
            rate * channels * 2, channels * 2, 16) + b"data" + struct.pack("<I", data))


def test_a_sound_files_header_cannot_size_the_work(tmp_path):
    """Rates and channel counts are checked before anything is read or resampled (a 4 KB file claiming 10 MHz took
    9 GiB); loud float channels mix without overflowing to inf. Peak memory is measured in a child process."""
    soundfile.write(tmp_path / "good.wav", sine(440, 16000, 1.0), 16000)
    for name, rate, channels in (("fast.wav", 9_999_991, 1), ("fastest.wav", 2**31 - 1, 1), ("wide.wav", 16000, 1000)):
        (tmp_path / name).write_bytes(wav_header(rate, channels, 2000) + bytes(4000))
    loud = np.full((16000, 2), np.finfo(np.float32).max, np.float32) * np.sign(sine(5, 16000, 1.0))[:, None]
    soundfile.write(tmp_path / "loud.wav", loud, 16000, subtype="FLOAT")
    child = subprocess.run([sys.executable, "-c", f"""
import warnings
from gankit.data.audio import read_audio_folder
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    clips, _, _ = read_audio_folder({str(tmp_path)!r}, 16000, 16384)
# the peak of this process's own memory: getrusage's would count the test process's at the time it started this one
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(len(clips), float(abs(clips).max()), peak // 1024)
print(*[str(w.message) for w in caught], sep="\\n")
"""], capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr
    kept, peak, megabytes = child.stdout.split("\n")[0].split()
    assert (kept, float(peak)) == ("2", 1.0)  # the good clip and the loud one, normalised
    assert "skipped 3 sound file(s) declaring a sample rate outside 1,000..384,000 Hz or over 32 channels" in child.stdout
    assert int(megabytes) < 1024, f"reading took {megabytes} MiB"


def test_mel_filterbank_is_librosas():
    librosa = pytest.importorskip("librosa")
    reference = librosa.filters.mel(sr=16000, n_fft=512, n_mels=64)
    assert np.abs(mel_filterbank(16000, 512, 64).numpy() - reference).max() < 1e-7


def test_log_bands_keep_a_tones_pitch():
    """Notes' view (128 log-frequency bands, gankit.auto.PITCHED_VIEW): no band is empty, the filterbank can be
    undone (a rank-deficient one blew up what G drew at the bottom), and a tone taken to the picture and back by
    Griffin-Lim is heard at its own pitch."""
    from gankit.modalities.spectrogram import SpectrogramView, log_filterbank

    filters = log_filterbank(16000, 1024, 128)
    assert filters.shape == (128, 513) and (filters.sum(1) > 0).all()
    assert (filters.argmax(1).diff() > 0).all()  # the bands climb in frequency, one bin or more at a time
    singular = torch.linalg.svdvals(filters.double())
    assert singular[0] / singular[-1] < 10  # 6.1; mel's 64 bands of 512: 4.4
    freqs = (55.0, 110.0, 440.0, 1760.0)
    tones = torch.from_numpy(np.stack([sine(f, 16000, 1.1)[:16384] for f in freqs])).float()[:, None]
    noise = torch.rand(8, 1, 16384, generator=torch.Generator().manual_seed(0)) - 0.5
    view = SpectrogramView(1024, 256, 128, 16000, 16384, 32, scale="log").fitted(torch.cat([tones, noise]))
    waves = view.decode(view.encode(tones))[:, 0]
    heard = np.fft.rfftfreq(16384, 1 / 16000)[np.abs(np.fft.rfft(waves.numpy(), axis=1)).argmax(1)]
    assert np.abs(np.log2(heard / freqs)).max() < 1 / 24  # within a quarter tone


@pytest.mark.parametrize("scale, mels, n_fft", [("mel", 64, 512), ("log", 128, 1024)])
def test_the_model_cards_numpy_decodes_as_gankit_does(scale, mels, n_fft):
    """The inversion a bundle's card gives to programs without torch (NUMPY_INVERSION) makes the sound
    gankit makes from the same pictures, on either frequency scale."""
    from gankit.modalities.spectrogram import NUMPY_INVERSION, SpectrogramView

    clips = torch.rand(6, 1, 16384, generator=torch.Generator().manual_seed(0)) - 0.5
    # 8 iterations: float64 and float32 Griffin-Lim drift apart with each one (on these pictures 0.02 % and 0.2 % of
    # the magnitude after 8 on the mel and log scales, 0.2 % and 1.9 % after 32)
    view = SpectrogramView(n_fft, 256, mels, 16000, 16384, 8, scale=scale).fitted(clips)
    pictures = view.encode(clips[:2])
    scope = {"np": np, "x": pictures.numpy(), "info": {"modality": {"spectrogram": view.info()}}}
    exec(NUMPY_INVERSION, scope)

    def magnitude(waves):
        return torch.stft(torch.as_tensor(waves, dtype=torch.float32), n_fft, 256, window=torch.hann_window(n_fft),
                          return_complex=True).abs()
    got, want = magnitude(scope["waves"]), magnitude(view.decode(pictures)[:, 0])
    assert (got - want).norm() < 0.01 * want.norm()


def test_log_mel_puts_a_tone_in_its_band():
    clips = torch.from_numpy(np.stack([sine(f, 16000, 1.1)[:16384] for f in (300, 3000)]))[:, None]
    db = log_mel(clips, 16000)
    assert db.shape == (2, 64, 129)
    low, high = db.mean(-1).argmax(-1).tolist()
    assert low < high
    # amplitude 0.5: 6 dB below a full-scale sine's -17.6 dB (unit-area mel filters)
    assert db[0].max().item() == pytest.approx(-23.6, abs=0.3)


def test_wavegan_shapes_and_parameter_count():
    for length in (4096, 8192, 16384, 65536):
        g, d = WaveGANGenerator(100, length, 16), WaveGANDiscriminator(length, 16, 2)
        x = g(torch.randn(3, 100))
        assert x.shape == (3, 1, length) and x.abs().max() <= 1 and d(x).shape == (3,)
    paper = WaveGANGenerator(100, 16384, 64)  # the paper's d = 64: about 19M parameters
    assert 18e6 < sum(p.numel() for p in paper.parameters()) < 20e6
    g, d = WaveGANGenerator(100, 16384, 8, (10,)), WaveGANDiscriminator(16384, 8, 2, (10,))
    y = torch.tensor([[0], [9]])
    assert d(g(torch.randn(2, 100), y), y).shape == (2,)


def test_phase_shuffle_is_the_reference_loop_and_reproducible():
    x = torch.randn(6, 3, 40)
    shifts = torch.tensor([-2, -1, 0, 1, 2, 0])
    expected = []
    for clip, k in zip(x, shifts.tolist()):  # as a per-sample loop would: reflect-pad by 2, crop at 2 - k
        expected.append(torch.nn.functional.pad(clip[None], (2, 2), mode="reflect")[0, :, 2 - k : 2 - k + 40])
    assert torch.equal(phase_shuffle(x, shifts, 2), torch.stack(expected))
    assert torch.equal(phase_shuffle(x, shifts, 2)[3, :, 1:], x[3, :, :-1])  # shift 1: one sample later

    layer = PhaseShuffle(2)
    outs = []
    for _ in range(2):
        layer.generator = torch.Generator().manual_seed(7)
        outs.append(layer(x))
    assert torch.equal(outs[0], outs[1]) and not torch.equal(outs[0], x)
    assert torch.equal(layer.eval()(x), x)  # only while training


def test_spoken_digits_split_by_voice(spoken_digits):
    train_voices = {p.name.rsplit("_", 1)[0] for p in (spoken_digits / "train").rglob("*.flac")}
    test_voices = {p.name.rsplit("_", 1)[0] for p in (spoken_digits / "test").rglob("*.flac")}
    assert sorted(p.name for p in (spoken_digits / "train").iterdir())[:3] == ["eight", "five", "four"]
    assert len(list((spoken_digits / "train").rglob("*.flac"))) == 70 and not train_voices & test_voices
    again = gankit("data", "spoken-digits", "--out", str(spoken_digits))  # there already: found, not made again
    assert again.returncode == 0 and "made" not in again.stdout and "70 training samples" in again.stdout


@pytest.mark.slow
def test_spoken_digits_scored_with_the_shipped_classifier(spoken_digits, tmp_path):
    """Sanity rows: real held-out clips score like real speech; one clip repeated does not; beside the scores the
    yardsticks (real training clips, silence, white noise) are scored the same way."""
    from gankit.config import DataConfig
    from gankit.data import load_dataset

    real = load_dataset(DataConfig(name="spoken-digits", data_dir=str(spoken_digits)), split="test").samples
    scores = {}
    for name, clips in {"real": real[:, 0], "repeated": real[:1, 0].expand(len(real), -1)}.items():
        np.save(tmp_path / f"{name}.npy", clips.numpy())
        result = gankit("eval", "--samples", str(tmp_path / f"{name}.npy"), "--data", "spoken-digits", "--data-dir",
                        str(spoken_digits), "--metrics", "fid,is,class_coverage", *(["--json"] if name == "real" else []))
        assert result.returncode == 0, result.stderr
        scores[name] = json.loads(result.stdout) if name == "real" else result.stdout
    assert "32x64 log-mel spectrograms" in scores["real"]["extractor"]["description"]
    metrics = {name: s["metrics"] for name, s in scores["real"]["yardsticks"].items()} | {
        "real": scores["real"]["metrics"]}
    assert metrics["real"]["fid"] < 1e-3 and metrics["real"]["is"] > 5 and metrics["real"]["class_coverage"] == 1
    # 10 training clips against 10 of unseen voices: FID 19 (biased upwards at small N), silence 51, noise 283
    assert 2 * metrics["real data"]["fid"] < metrics["silence"]["fid"] and metrics["real data"]["is"] > 4
    assert metrics["white noise"]["fid"] > 10 * metrics["real data"]["fid"] and metrics["white noise"]["is"] < 2
    assert metrics["silence"]["is"] < 1.5 and metrics["silence"]["class_coverage"] <= 0.1
    rows = {line.split()[0]: line.split()[2:] for line in scores["repeated"].splitlines() if line.startswith(("fid", "is "))}
    assert re.search(r"this +real data \(10\) +silence \(10\) +white noise \(10\)", scores["repeated"])
    assert float(rows["is"][0]) < 1.5 and float(rows["is"][1]) > 4  # one clip repeated, beside real clips


@pytest.mark.slow
def test_wavegan_trains_resumes_exactly_and_samples(spoken_digits, tmp_path):
    """wavegan through the CLI: resumes exactly (phase shuffle draws the same shifts), writes WAV previews and
    spectrograms, samples WAVs and their array."""
    runs = tmp_path / "runs"
    common = ["--data", "spoken-digits", "--data-dir", str(spoken_digits), "--model", "wavegan", "--batch-size", "7",
              "--n-critic", "2", "--set", "model.width=4", "--out", str(runs), "--no-progress", "--no-report"]
    assert_resume_is_exact(runs, common)

    run = runs / "whole"
    with wave.open(str(run / "samples" / "step_00000004" / "000.wav")) as w:  # 4 of an epoch's 5 G steps
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (16000, 1, 16384)
    assert (run / "samples" / "step_00000004.png").is_file()
    meta = json.loads((run / "checkpoints" / "final" / "meta.json").read_text())
    assert meta["modality"] == {"name": "audio", "sample_rate": 16000} and meta["sample_shape"] == [1, 16384]

    out = tmp_path / "clips"
    sampled = gankit("sample", str(run), "--n", "5", "--out", str(out), "--npy", str(tmp_path / "c.npy"))
    assert sampled.returncode == 0, sampled.stderr
    assert len(list(out.glob("*.wav"))) == 5 and (out / "spectrograms.png").is_file()
    array = np.load(tmp_path / "c.npy")
    assert array.shape == (5, 16384) and array.dtype == np.float32 and np.abs(array).max() <= 1


@pytest.mark.slow
def test_sound_auto_trains_spectrograms_and_its_bundle_plays_anywhere(spoken_digits, tmp_path, browser):
    """--model auto on labelled sound is cspecgan: trains and resumes exactly, keeps the spectrogram statistics in
    its checkpoints, and its clips are walked, scored, played in the report (Chromium) and sampled from an exported
    bundle copied where the data is not. (Two processes: test_distributed's families and arae's in test_text.)"""
    runs = tmp_path / "runs"
    common = ["--data", "spoken-digits", "--data-dir", str(spoken_digits), "--model", "auto", "--batch-size", "8",
              "--set", "model.width=8", "--set", "model.griffin_lim=4", "--out", str(runs), "--no-progress",
              "--no-report"]
    assert_resume_is_exact(runs, common)
    run = runs / "whole"
    meta = json.loads((run / "checkpoints" / "final" / "meta.json").read_text())
    assert meta["config"]["model"]["name"] == "cspecgan" and meta["sample_shape"] == [1, 64, 64]
    view = meta["modality"]["spectrogram"]
    assert (view["n_fft"], view["hop"], view["mels"], len(view["mean"]), len(view["std"])) == (512, 256, 64, 64, 64)
    with wave.open(str(run / "samples" / "step_00000004" / "000.wav")) as w:  # previews are clips, as wavegan's
        assert (w.getframerate(), w.getnframes()) == (16000, 16384)

    # a resume keeps the statistics it trained with, though half the training clips went away between the stops
    moved = tmp_path / "moved"
    shutil.copytree(spoken_digits, moved)
    other = [*common, "--data-dir", str(moved), "--max-steps", "1", "--name", "moved"]
    assert gankit("train", *other).returncode == 0

    def statistics():
        meta = json.loads((runs / "moved" / "checkpoints" / "final" / "meta.json").read_text())
        return meta["step"], meta["modality"]["spectrogram"]["mean"], meta["modality"]["spectrogram"]["std"]

    before = statistics()
    for clip in sorted((moved / "train").rglob("*.flac"))[::2]:
        clip.unlink()
    resumed = gankit("train", "--resume", str(runs / "moved"), "--max-steps", "2", "--no-progress", "--no-report")
    assert resumed.returncode == 0, resumed.stderr
    assert statistics() == (2, *before[1:]) and before[0] == 1

    walk = gankit("interpolate", str(run), "--steps", "3", "--out", str(tmp_path / "walk.wav"))
    assert walk.returncode == 0, walk.stderr
    frames = int(re.search(r"\((\d+) frames", walk.stdout).group(1))
    with wave.open(str(tmp_path / "walk.wav")) as w:  # the clips one after another, 0.15 s of silence between
        assert w.getnframes() == frames * 16384 + (frames - 1) * 2400

    # ten million clips would be 1.3 TB: refused up front, holding little memory
    refused, mib = peak_mib("sample", str(run), "--n", "10000000", "--npy", str(tmp_path / "all.npy"))
    assert_clean_error(refused, "10,000,000 samples of this model take", "make at most")
    assert mib < 1024 and not (tmp_path / "all.npy").exists()
    scored = gankit("eval", str(run), "--n", "40", "--metrics", "fid,is,memorisation")
    assert scored.returncode == 0, scored.stderr
    assert "log-mel spectrograms" in scored.stdout and (run / "eval" / "final-closest.png").is_file()
    report = gankit("report", str(run), "--out", str(tmp_path / "r.html"))
    assert report.returncode == 0, report.stderr
    browser.get((tmp_path / "r.html").as_uri())
    assert [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")] == []
    players = browser.execute_script("return Array.from(document.querySelectorAll('#clips audio'))"
                                     ".map(a => a.src.slice(0, 22));")
    assert players == ["data:audio/wav;base64,"] * 4  # the last epoch's first clips, inline
    page = (tmp_path / "r.html").read_text()
    assert "<h2>Latent walk</h2>" in page and "Scores (gankit eval)" in page

    exported = gankit("export", str(run), "--out", str(tmp_path / "bundle"))
    assert exported.returncode == 0, exported.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copytree(tmp_path / "bundle", elsewhere / "b")
    sampled = gankit("sample", "b", "--n", "3", "--class", "seven", "--out", "clips", cwd=elsewhere)
    assert sampled.returncode == 0, sampled.stderr
    with wave.open(str(elsewhere / "clips" / "002.wav")) as w:
        assert (w.getframerate(), w.getnframes()) == (16000, 16384)


def test_spectrogram_view_round_trip_and_fast_griffin_lim(spoken_digits):
    """Real clips -> the specgan view -> back to sound: the clips' own spectrogram is found again (spectral
    convergence under a bound measured on spoken-digits), and momentum converges faster than plain Griffin-Lim."""
    from gankit.config import DataConfig
    from gankit.data import load_dataset
    from gankit.modalities.spectrogram import griffin_lim, spectral_convergence
    from gankit.models.specgan import view as specgan_view
    from gankit.resolve import resolve_config

    clips = load_dataset(DataConfig(name="spoken-digits", data_dir=str(spoken_digits))).samples
    config = resolve_config(overrides={"model.name": "specgan", "data.name": "spoken-digits"})
    view = specgan_view(config).fitted(clips)  # the family's defaults
    pictures = view.encode(clips)
    assert pictures.shape == (70, 1, 64, 64) and pictures.min() >= -1 and pictures.max() <= 1
    waves = view.decode(pictures)
    assert waves.shape == (70, 1, 16384) and waves.abs().max() <= 1
    target = view.decode_magnitude(pictures)
    # 0.08 on the 480 test clips of the full set at 32 iterations
    assert spectral_convergence(waves[:, 0], target, 512, 256) < 0.1
    again = view.encode(waves)
    assert (again - pictures).abs().mean() < 0.05  # the clips' view is the view they came from
    fast, plain = (spectral_convergence(griffin_lim(target, 512, 256, 16384, 16, momentum), target, 512, 256)
                   for momentum in (0.99, 0.0))
    assert fast < 0.8 * plain  # 0.107 against 0.156 on the test clips


@pytest.mark.slow
def test_conditional_wavegan_trains_and_samples_each_digit(spoken_digits, tmp_path):
    from gankit.pipeline import Pipeline
    from gankit.resolve import resolve_config
    from gankit.runs import create_run
    from gankit.train import train

    config = resolve_config(overrides={"model.name": "cwavegan", "data.name": "spoken-digits", "model.width": 4,
                                       "data.data_dir": str(spoken_digits), "train.batch_size": 7,
                                       "train.n_critic": 1, "train.max_steps": 2, "train.device": "cpu"})
    result = train(config, create_run(tmp_path, "c", config), progress=False)
    assert result.steps == 2
    pipe = Pipeline.from_run(tmp_path / "c", device="cpu")
    assert pipe.spec.classes[:2] == ("zero", "one")
    clips = pipe.sample(3, labels="seven")
    assert clips.shape == (3, 1, 16384) and clips.dtype == torch.float32


@pytest.mark.parametrize("array,fragment", [
    (np.zeros((3, 16384), np.int16), "clips must be float N x L or N x 1 x L"),
    (np.zeros((3, 2, 16384), np.float32), "clips must be float N x L or N x 1 x L"),
    (np.zeros((3, 1000), np.float32), "holds clips of 1000 samples; spoken-digits is scored with clips of 16384: cut or pad"),
    (np.zeros((0, 16384), np.float32), "holds 0 clips"),
    (np.full((3, 16384), 2.0, np.float32), "clips must be finite and within [-1, 1]"),
    (np.full((3, 16384), np.nan, np.float32), "clips must be finite and within [-1, 1]"),
])
def test_clips_to_score_are_checked(tmp_path, array, fragment):
    from gankit.config import DataConfig
    from gankit.data.kinds import load_samples

    np.save(tmp_path / "c.npy", array)
    with pytest.raises(GankitError, match=re.escape(fragment)):
        load_samples(tmp_path / "c.npy", DataConfig(name="spoken-digits"))


def test_sound_settings_are_refused_where_they_mean_nothing(tmp_path):
    write_wav(torch.zeros(1, 10), 16000, tmp_path / "x.wav")
    assert_clean_error(gankit("train", "--data", str(tmp_path), "--model", "wavegan", "--image-size", "32"),
                       "--image-size (data.image_size) is for images", "holds sound")
    assert_clean_error(gankit("train", "--sample-rate", "8000"), "--sample-rate (data.sample_rate) is for sound", "holds images")
    assert_clean_error(gankit("train", "--data", str(tmp_path), "--model", "dcgan"), "model dcgan makes images",
                       "holds sound; pick a model for sound: wavegan, cwavegan, specgan, cspecgan or auto")
    assert_clean_error(gankit("train", "--model", "wavegan", "--max-steps", "1"),
                       "model wavegan makes sound, and fashion-mnist holds images; pick a model for images: classic,")
    assert_clean_error(gankit("train", "--data", str(tmp_path), "--model", "wavegan", "--clip-samples", "1000"),
                       "makes mono clips of a multiple of 1024 samples up to 65536")


@pytest.mark.parametrize("damage,fragment", [
    (lambda m: m["modality"]["spectrogram"].update(mean=[0.0] * 3), "without valid statistics"),
    (lambda m: m["modality"]["spectrogram"].update(std=[0.0] * 64), "without valid statistics"),
    (lambda m: m["modality"]["spectrogram"].update(n_fft=1 << 30), "invalid n_fft"),
    (lambda m: m["modality"]["spectrogram"].update(log_eps="1e-4"), "invalid log_eps"),
    (lambda m: m["modality"]["spectrogram"].update(scale="bark"), "invalid scale 'bark'"),
    (lambda m: m.update(sample_shape=[1, 32, 32]), "is not its spectrogram's [1, 64, 64]"),
])
def test_a_damaged_spectrogram_in_meta_json_is_refused(damage, fragment):
    """A checkpoint's or bundle's spectrogram settings size what decoding allocates: they are checked on reading."""
    from gankit.modalities import SampleSpec
    from gankit.modalities.spectrogram import SpectrogramView

    view = SpectrogramView(n_fft=512, hop=256, mels=64, sample_rate=16000, clip_samples=16384, iterations=2)
    view = view.fitted(torch.rand(3, 1, 16384, generator=torch.Generator().manual_seed(0)) - 0.5)
    meta = json.loads(json.dumps(SampleSpec(view.shape, AudioModality(16000, view)).as_meta()))
    assert SampleSpec.from_meta(meta, "x").modality.spectrogram == view  # intact, it reads back the same
    damage(meta)
    with pytest.raises(GankitError, match=re.escape(fragment)):
        SampleSpec.from_meta(meta, "x")
