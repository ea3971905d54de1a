"""Pitch of musical notes, scored as GANSynth scores it (Engel et al. 2019): by a classifier over MIDI pitch.

The classifier reads a clip's spectrum on a log-frequency axis (BINS_PER_SEMITONE bins a semitone from MIDI 24 up to
the Nyquist frequency), averaged over the clip, with a small MLP: unlike a CNN that pools over the axis, it keeps
where on the axis the peaks are, which is what pitch is. It has one class more than pitches, "none", learnt from
noise, silence and two notes at once, so that "a clear single pitch" is something it was taught to tell.

From its verdicts on generated clips and on the held-out real ones:
  clear_pitch      share of clips it gives a pitch (not "none") with probability at least CLEAR
  pitch_distance   earth mover's distance in semitones between the pitches of the clips with one and the real ones'
  pitch_accuracy   of clips generated for a pitch (a model conditioned on it), the share it hears at that pitch
                   (GANSynth's pitch accuracy); pitch_within_semitone: at most a semitone from it
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from gankit.atomic import atomic_path, write_atomically
from gankit.cache import cache_dir
from gankit.config import DataConfig
from gankit.data import Dataset, load_dataset
from gankit.data.audio import DEFAULT_CLIP
from gankit.data.download import locate
from gankit.data.sources import NAMED_DATASETS, has_pitches
from gankit.errors import GankitError, one_line
from gankit.metrics.classifier import SHIPPED, file_digest, majority_share
from gankit.metrics.reference import images_digest

LOWEST_MIDI = 24
BINS_PER_SEMITONE = 3
# 0.5 s windows resolve 2 Hz: two semitones at MIDI 28 (41 Hz) are 2.4 Hz apart
N_FFT, HOP = 8192, 2048
FLOOR_DB = 80.0
HIDDEN = 256
NONE = "none"
# a pitch this likely, or more, is a clear one
CLEAR = 0.5
# the clips taught as "none", as a share of the training notes, and the noise mixed into half of the notes
NONE_SHARE = 0.3
NOISY_SNR_DB = (10.0, 40.0)
# a tune's note is heard from this long after its onset (heard_in_tune)
SETTLE = 0.1


def midi_to_hz(midi: np.ndarray | float) -> np.ndarray | float:
    return 440.0 * 2.0 ** ((np.asarray(midi) - 69) / 12)


def log_frequency_filters(sample_rate: int) -> torch.Tensor:
    """(bins, N_FFT // 2 + 1) triangular filters centred BINS_PER_SEMITONE to a semitone from LOWEST_MIDI to just
    under the Nyquist frequency, each at least two FFT bins wide (the lowest are narrower than one), of unit sum."""
    top = 12 * math.log2(sample_rate / 2 / 440.0) + 69 - 1
    centres = midi_to_hz(np.arange(LOWEST_MIDI, top, 1 / BINS_PER_SEMITONE))
    step = 2.0 ** (1 / (12 * BINS_PER_SEMITONE))
    resolution = sample_rate / N_FFT
    half = np.maximum(centres * (step - 1), 2 * resolution)
    freqs = np.arange(N_FFT // 2 + 1) * resolution
    weights = np.maximum(0.0, 1 - np.abs(freqs[None, :] - centres[:, None]) / half[:, None])
    return torch.from_numpy((weights / weights.sum(1, keepdims=True)).astype(np.float32))


@torch.no_grad()
def pitch_spectra(clips: torch.Tensor, sample_rate: int, filters: torch.Tensor | None = None) -> torch.Tensor:
    """float clips (N, 1, L) -> (N, bins) in 0..1: mean power per log-frequency bin in dB under the clip's loudest
    bin, FLOOR_DB down mapped to 0. Its level does not matter (a quiet note reads as a loud one)."""
    filters = log_frequency_filters(sample_rate) if filters is None else filters
    window = torch.hann_window(N_FFT)
    out = []
    for chunk in clips.reshape(len(clips), -1).float().split(256):
        spec = torch.stft(chunk, N_FFT, HOP, window=window, center=True, pad_mode="constant", return_complex=True)
        power = spec.abs().square().mean(dim=2)  # (n, freqs)
        db = 10 * torch.log10((power @ filters.T).clamp_min(1e-12))
        out.append(((db - db.amax(dim=1, keepdim=True)) / FLOOR_DB + 1).clamp_min(0))
    return torch.cat(out)


class PitchNet(nn.Module):
    def __init__(self, bins: int, classes: int):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(bins, HIDDEN), nn.ReLU(), nn.Dropout(0.2), nn.Linear(HIDDEN, HIDDEN),
                                    nn.ReLU(), nn.Linear(HIDDEN, classes))

    def forward(self, spectra: torch.Tensor) -> torch.Tensor:
        return self.layers(spectra)


@dataclass
class PitchClassifier:
    net: PitchNet
    pitches: tuple[int, ...]  # MIDI pitch of each class but the last, which is "none"
    sample_rate: int
    info: dict
    digest: str

    @torch.no_grad()
    def probabilities(self, clips: torch.Tensor) -> torch.Tensor:
        """float clips (N, 1, L) -> (N, pitches + 1) probabilities, the last of no clear single pitch."""
        filters = log_frequency_filters(self.sample_rate)
        return torch.cat([self.net(pitch_spectra(chunk.cpu(), self.sample_rate, filters)).softmax(dim=1)
                          for chunk in clips.split(1000)])


def load_pitch_classifier(weights: Path) -> PitchClassifier:
    try:
        info = json.loads(weights.with_suffix(".json").read_text())
        net = PitchNet(int(info["bins"]), len(info["pitches"]) + 1)
        net.load_state_dict({k: v.float() for k, v in load_file(str(weights)).items()})
        pitches, rate = tuple(int(p) for p in info["pitches"]), int(info["sample_rate"])
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise GankitError(f"pitch classifier {weights} is unreadable ({one_line(exc)}); delete it to have it trained "
                          "again") from None
    return PitchClassifier(net.eval(), pitches, rate, info, file_digest(weights))


def pitch_classifier_for(data: DataConfig, train: Dataset) -> PitchClassifier | None:
    """The pitch classifier of a dataset of notes: the shipped one, or at another sample rate than its own one
    trained on first use and cached; None for data without pitches (all but `notes`)."""
    if not has_pitches(data.name):
        return None
    rate = train.modality.info().get("sample_rate")
    shipped = SHIPPED / f"{data.name}-pitch.safetensors"
    classifier = load_pitch_classifier(shipped) if shipped.is_file() else None
    if classifier is None or classifier.sample_rate != rate:
        path = cached_pitch_classifier_path(data, train)
        if not path.is_file():
            train_pitch_classifier_for(data, train, path)
        classifier = load_pitch_classifier(path)
    return classifier


def cached_pitch_classifier_path(data: DataConfig, train: Dataset) -> Path:
    """Where a pitch classifier trained on first use is kept, keyed by the notes' content and sample rate."""
    rate = train.modality.info().get("sample_rate")
    return cache_dir() / "evaluators" / f"{data.name}-pitch-{rate}-{images_digest(train.samples)}.safetensors"


def train_pitch_classifier_for(data: DataConfig, train: Dataset, out: Path) -> PitchClassifier:
    """Train on the dataset's training notes, tested on its held-out ones (its pitches are in their files)."""
    spec = NAMED_DATASETS[data.name]
    pitches = [torch.from_numpy(spec.pitches(locate(spec, split, data.data_dir)[split]))
               for split in ("train", spec.test_split)]
    test = load_dataset(data, split=spec.test_split)
    return train_pitch_classifier(train.samples, pitches[0], test.samples, pitches[1],
                                  int(train.modality.info()["sample_rate"]), out, dataset=data.name,
                                  command=f"gankit evaluator train --data {data.name}")


def none_examples(clips: torch.Tensor, pitches: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """n clips with no single pitch, like the notes in length: a third noise of random colour (white to brown) and
    level, a sixth silence or nearly, and half two notes of different pitch classes at once."""
    length = clips.shape[-1]
    noises, quiet = n // 3, n // 6
    pairs = n - noises - quiet
    spectrum = torch.fft.rfft(torch.randn(noises, length, generator=generator))
    slope = torch.rand(noises, 1, generator=generator) * 2  # power falls as 1/f^slope: 0 white, 2 brown
    freqs = torch.arange(spectrum.shape[1]).clamp_min(1).float()
    noise = torch.fft.irfft(spectrum / freqs ** (slope / 2), n=length)
    noise = noise / noise.abs().amax(dim=1, keepdim=True) * torch.rand(noises, 1, generator=generator)
    silence = torch.randn(quiet, length, generator=generator) * 1e-6 * (torch.rand(quiet, 1, generator=generator) < 0.5)
    first = torch.randint(len(clips), (pairs,), generator=generator)
    second = torch.randint(len(clips), (pairs,), generator=generator)
    apart = (pitches[first] - pitches[second]) % 12 != 0  # an octave apart is still one pitch class
    first, second = first[apart], second[apart]
    both = (clips[first] + clips[second]).reshape(len(first), length) / 2
    return torch.cat([noise, silence, both]).reshape(-1, 1, length)


def with_noise(clips: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Half of the clips with white noise mixed in at NOISY_SNR_DB: a generated note is rarely clean."""
    noisy = clips.clone()
    pick = torch.rand(len(clips), generator=generator) < 0.5
    low, high = NOISY_SNR_DB
    snr = low + (high - low) * torch.rand(int(pick.sum()), 1, 1, generator=generator)
    power = noisy[pick].square().mean(dim=(1, 2), keepdim=True)
    noise = torch.randn(noisy[pick].shape, generator=generator) * (power / 10 ** (snr / 10)).sqrt()
    noisy[pick] = (noisy[pick] + noise).clamp(-1, 1)
    return noisy


def train_pitch_classifier(train_clips: torch.Tensor, train_pitches: torch.Tensor, test_clips: torch.Tensor,
                           test_pitches: torch.Tensor, sample_rate: int, out: Path, *, epochs: int = 60,
                           seed: int = 0, command: str = "", dataset: str = "") -> PitchClassifier:
    """Train on notes of known MIDI pitch (plus made-up "none" clips) and save safetensors (fp16) and a JSON of its
    held-out accuracy, within a semitone, and on "none" clips made from the held-out notes."""
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(seed)
    pitches = tuple(range(int(min(train_pitches.min(), test_pitches.min())),
                          int(max(train_pitches.max(), test_pitches.max())) + 1))
    none_class = len(pitches)

    def examples(clips: torch.Tensor, midi: torch.Tensor, noisy: bool) -> tuple[torch.Tensor, torch.Tensor]:
        made = none_examples(clips, midi, round(len(clips) * NONE_SHARE), generator)
        notes = with_noise(clips, generator) if noisy else clips
        x = pitch_spectra(torch.cat([notes, made]), sample_rate)
        y = torch.cat([midi - pitches[0], torch.full((len(made),), none_class)])
        return x, y

    x, y = examples(train_clips, train_pitches, noisy=True)
    test_x, test_y = examples(test_clips, test_pitches, noisy=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = PitchNet(x.shape[1], none_class + 1)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)
    batch = 128
    steps = epochs * math.ceil(len(x) / batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=steps)
    net.train()
    for _ in range(epochs):
        for take in torch.randperm(len(x), generator=generator).split(batch):
            loss = F.cross_entropy(net(x[take]), y[take])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    net.eval()
    with torch.no_grad():
        guess = net(test_x).argmax(1)
    pitched = test_y != none_class
    info = {"dataset": dataset, "pitches": list(pitches), "sample_rate": sample_rate, "bins": x.shape[1],
            "test_accuracy": round(float((guess[pitched] == test_y[pitched]).float().mean()), 5),
            "within_a_semitone": round(float(((guess[pitched] - test_y[pitched]).abs() <= 1).float().mean()), 5),
            "none_accuracy": round(float((guess[~pitched] == none_class).float().mean()), 5),
            "test_images": int(pitched.sum()), "test_none": int((~pitched).sum()), "train_notes": len(train_clips),
            "train_none": int((y == none_class).sum()), "chance": round(majority_share(test_y[pitched]), 5),
            "epochs": epochs, "seed": seed, "train_seconds": round(time.perf_counter() - started, 1),
            "command": command, "torch": torch.__version__}
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        save_file({k: v.half().contiguous() for k, v in net.state_dict().items()}, str(tmp))
        write_atomically(out.with_suffix(".json"), json.dumps(info, indent=1) + "\n")
    return load_pitch_classifier(out)


def pitch_scores(fake_probs: torch.Tensor, real_probs: torch.Tensor, asked: torch.Tensor | None = None) -> dict:
    """clear_pitch and pitch_distance (see the module's docstring) of samples against the real held-out notes; for
    samples asked for a pitch (`asked`: its class, -1 for one the classifier lacks), pitch_accuracy and
    pitch_within_semitone too."""
    clear = _clear(fake_probs)
    scores = {"clear_pitch": float(clear.float().mean()),
              "pitch_distance": pitch_distance(fake_probs[clear].argmax(1), real_probs[_clear(real_probs)].argmax(1),
                                               fake_probs.shape[1] - 1)}
    if asked is not None:
        heard, asked = fake_probs.argmax(1).cpu(), asked.cpu()
        pitched = (heard != fake_probs.shape[1] - 1) & (asked >= 0)  # "none" is no pitch, near or far
        scores["pitch_accuracy"] = float((pitched & (heard == asked)).double().mean())
        scores["pitch_within_semitone"] = float((pitched & ((heard - asked).abs() <= 1)).double().mean())
    return scores


def classes_of(classifier: PitchClassifier, midi: torch.Tensor) -> torch.Tensor:
    """MIDI pitches (B,) as the classifier's classes, -1 for a pitch it does not know."""
    known = {p: i for i, p in enumerate(classifier.pitches)}
    return torch.tensor([known.get(int(m), -1) for m in midi.tolist()], dtype=torch.long)


def _clear(probs: torch.Tensor) -> torch.Tensor:
    best, which = probs.max(dim=1)
    return (which != probs.shape[1] - 1) & (best >= CLEAR)


def pitch_distance(fake: torch.Tensor, real: torch.Tensor, classes: int) -> float:
    """Earth mover's distance in semitones between two sets of pitch classes (the area between their cumulative
    distributions); the width of the whole range when either set is empty (no clip with a clear pitch)."""
    if len(fake) == 0 or len(real) == 0:
        return float(classes - 1)
    cdf = [torch.bincount(p, minlength=classes).double().cumsum(0) / len(p) for p in (fake, real)]
    return float((cdf[0] - cdf[1]).abs().sum())


def heard_in_tune(wave: torch.Tensor, spans: list[tuple[float, float]], sample_rate: int,
                  classifier: PitchClassifier) -> list[int]:
    """The MIDI pitch the classifier rates likeliest in each (start, end) seconds of a monophonic tune's waveform (L,),
    cut there (less its first SETTLE seconds, where the last note still rings and this one begins) and padded with
    silence to a clip's length: how `gankit play` is checked against the MIDI file it played. Every note is asked
    for a pitch, so "none" is passed over. On FluidSynth's own rendering of the report's melody it hears every note
    of 10 of the 11 families at its pitch (its choir 0.65: slow to speak in notes of 0.2 s)."""
    cuts = torch.zeros(len(spans), 1, DEFAULT_CLIP)
    for i, (start, end) in enumerate(spans):
        start += min(SETTLE, (end - start) / 2)
        part = wave[round(start * sample_rate) : round(end * sample_rate)][:DEFAULT_CLIP]
        cuts[i, 0, : len(part)] = part
    likeliest = classifier.probabilities(cuts)[:, :-1].argmax(1)
    return [classifier.pitches[k] for k in likeliest.tolist()]
