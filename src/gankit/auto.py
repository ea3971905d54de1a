"""`--model auto`: the recipe that reached the best FID in the time-to-quality benchmark, for this data, device and
budget.

The recipe is fixed at start-up and saved in the run's config like any other settings; the user's own settings
still win. Measured on Fashion-MNIST on 2 CPU cores (benchmarks/time_to_quality.py, docs/benchmarks.md):
  - the family by the data: images with class labels train class-conditionally (cgan), which beat the
    unconditional recipe at every budget; a folder of images without labels trains cgan on k-means clusters of its
    pixels (self-conditioning), which beat dcgan on an unlabelled copy of Fashion-MNIST, and dcgan when it is too
    small for two clusters (or --clusters 0 says so); sound trains the same nets and
    recipe on spectrogram pictures (cspecgan with labels, specgan without), which beat WaveGAN on a CPU, and
    sound labelled with its pitch (notes) on a picture that keeps the pitch (128 log-frequency rows); text
    trains arae, the text GAN that scored best (benchmarks/text_models.sh), with its own defaults;
  - precision by what was measured faster: bf16 on CPUs with bf16 arithmetic units, fp32 on GPUs and elsewhere;
  - width by the time limit: unconditionally, one under 5 minutes trains the half-width nets, whose twice as many
    G steps beat the full width at 2 minutes; otherwise (and always for cgan, measured at these widths only) G
    keeps the full width and D alone is narrowed to half, which gives 1.5x the G steps and beat the full-width D
    at 5 and 10 minutes. Only CPUs run the narrow nets faster: GPUs keep the full width for both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from gankit.conditions import CLASS, PITCH
from gankit.config import Config, DataConfig
from gankit.data.kinds import sample_shape
from gankit.data.sources import has_pitches, offered_conditions
from gankit.device import fast_bf16, resolve_device
from gankit.registry import Registry

# dcgan at learning rate 1e-3 for G and D; EMA of G with a ramp-up and its own BatchNorm statistics
# (gankit.train.ema)
RECIPE: dict[str, Any] = {"model.name": "dcgan", "model.width": 64, "train.lr_g": 1e-3, "train.lr_d": 1e-3,
                          "train.ema_decay": 0.999, "train.ema_rampup": 0.05, "train.ema_batchnorm": "measure"}
# the same recipe on images with class labels: G sees the label, D projects it (gankit.models.cgan)
CONDITIONAL = "cgan"
# images without class labels: cgan on this many k-means clusters of their pixels (gankit.data.clusters), fewer
# for a small folder: each cluster gets at least IMAGES_PER_CLUSTER images (a guard, not measured), and a folder too
# small for two clusters trains without them
CLUSTERS = 20
IMAGES_PER_CLUSTER = 100
# on sound, the same nets and recipe make spectrograms (gankit.models.specgan): (without labels, with labels)
SOUND = ("specgan", "cspecgan")
# sound labelled with its pitch (notes): 128 log-frequency bands x 64 frames of a 1024-sample STFT. Real held-out
# notes taken to this picture and back keep a clear pitch in 99.2 % (99.6 % as they were), against 74 % through 64 mel bands
# (benchmarks/spectrogram_views.py --data notes, docs/benchmarks.md)
PITCHED_VIEW = {"model.mels": 128, "model.scale": "log", "model.n_fft": 1024, "model.hop": 256}
PITCHED_CONDITIONS = "class,pitch"
# ... and D names the family and the pitch as well as judging them (AC-GAN's auxiliary classifier, as GANSynth's D
# names the pitch): after 100 G steps (one core, 10 minutes) the notes were at the asked pitch 0.30 of the time
# against 0.02 (chance 0.013) with the projection alone; naming the family too moved the family asked for from 0.51
# to 0.60 at 30 minutes
NAMED_BY_D = "class,pitch"
# on a CPU, notes train at width 32 (D too) and batch 50: 3.5x the G steps of width 64 / D width 32 at batch 100 in
# 30 minutes on one core, and the family asked for 0.84 against 0.56, FID 9.8 against 23.7 (seed 0, side by side)
NOTES_CPU = {"model.width": 32, "model.d_width": 0, "train.batch_size": 50}
# unconditionally, a --time-limit under this many minutes takes width 32 for G and D: better at 2 minutes, worse at 10
SHORT_BUDGET = 5.0
SHORT_WIDTH = 32
# otherwise, on a CPU, D's width: about 1.5x the G steps per minute of the full-width D
CPU_D_WIDTH = 32
WHY = ("of the configurations tried on 2 CPU cores, the lowest mean FID over 3 seeds at 2 minutes (width 32), "
       "5 and 10 (width 64, D width 32) (docs/benchmarks.md)")
WHY_SOUND = ("on spoken-digits on 2 CPU cores, after 30 minutes cspecgan's clips scored a mean FID of 0.59 and IS "
             "of 8.09 over 3 seeds (real training clips: IS 8.68), WaveGAN's FID 85 and IS 1.31 (docs/benchmarks.md)")
WHY_NOTES = ("on notes on one core of a 2-core CPU, after 30 minutes (means of 3 seeds, 10,000 clips) the notes were "
             "of the family asked for 0.84 of the time, at the pitch asked 0.97 and clear in 0.98 (real notes 0.999, "
             "0.998, 0.998), FID 9.3 (docs/benchmarks.md)")
# on text, the GAN that scored best at 30 CPU minutes (benchmarks/text_models.sh), with its own defaults; the
# start-up line names the maximum-likelihood baseline that scored better still
TEXT = "arae"
WHY_TEXT = ("of the text GANs, the closest to held-out words after 30 minutes on one CPU core (JS-4 0.354 against "
            "textgan's 0.949; floor 0.188); the char LM baseline, not a GAN, reached 0.236 (--model charlm) "
            "(docs/benchmarks.md)")
WHY_POEMS = ("of the text GANs, the closest to held-out lines of tang-poems after 30 minutes on one CPU core in single "
             "characters and pairs (JS-2 0.843 against textgan's 0.974; floor 0.835), though greedy it mostly repeats "
             "training lines (memorisation 0.93; 0.30 at --temperature 1.5) (docs/benchmarks.md)")
WHY_CONDITIONAL = ("on labelled Fashion-MNIST on 2 CPU cores, mean FID over 3 seeds 0.60 at 2 minutes, 0.30 at 5 "
                   "and 0.21 at 10, against 3.4, 2.2 and 1.6 unconditionally (docs/benchmarks.md)")


WHY_CLUSTERS = ("on an unlabelled folder of Fashion-MNIST's training images on 2 CPU cores, FID 0.58 after 10 minutes "
                "against 2.38 without clusters (mean of 3 seeds; docs/benchmarks.md)")


# colour pictures of 64 px and more (measured on emoji's 3,308 training pictures at 64 px): G and D at width 32 and
# batch 50 make 3x the G steps of width 64 / D width 32 at batch 100, and DiffAugment's translation keeps D from
# learning the few thousand pictures by heart (without it every group collapsed to one picture); its colour changes
# are left out: without them FID 12.0 against 22.3 at 10 minutes on one core, 9.3 against 9.8 at 30 on two, where
# only the run without them drew people and flags one could name (one seed each). G doubling by resize and a 3x3
# convolution draws no checkerboard and scored FID 22 where transposed convolutions scored 28
LARGE_COLOUR = {"model.width": 32, "model.d_width": 0, "train.batch_size": 50, "train.augment": "translation",
                "model.upsample": "resize"}
LARGE_SIDE = 64
# labelled colour pictures: every class drawn as often as the others (train.class_balance), real and fake. On emoji,
# whose People & Body is 59 % of the pictures, with its subgroups as a second condition, one core, 30 minutes, seed 0:
# the animals asked for were classed as animals 0.64 of the time against 0.31, food 0.43 against 0.24, places 0.59
# against 0.12, at FID 8.3 against 7.9; the balance alone, without the subgroups, 0.56 / 0.34 at FID 11.4
COLOUR_BALANCE = 1.0
# the pictures the recipes below were measured on (Fashion-MNIST's)
GREY_28 = (1, 28, 28)
WHY_COLOUR = ("on emoji (3,308 colour pictures, 64 px, People & Body 59 %), 30 minutes on one CPU core, 3 seeds: "
              "FID 8.2, the animals asked for classed as animals 0.66 of the time and food as food 0.48 (0.31 and 0.24 "
              "with the data's own proportions, one seed); without its groups, on 20 clusters of the pictures, 7.6; "
              "real pictures 4.7; the recipe of grey 28-px clothes 236.5 (docs/benchmarks.md)")


def large_colour(shape: tuple[int, ...] | None) -> bool:
    """Pictures `--model auto` trains with the colour recipe: RGB, LARGE_SIDE px or more."""
    return shape is not None and len(shape) == 3 and shape[0] == 3 and shape[-1] >= LARGE_SIDE


def auto_clusters(images: int) -> int:
    """How many clusters `--model auto` labels a folder of this many unlabelled images with (0: none)."""
    clusters = min(CLUSTERS, images // IMAGES_PER_CLUSTER)
    return clusters if clusters >= 2 else 0


@dataclass(frozen=True)
class Recipe:
    """What --model auto trains on one kind of data."""

    # (device, time limit, classes, clusters, offers, shape) -> (settings, why each was chosen)
    settings: Callable[..., tuple[dict[str, Any], dict[str, str]]]
    # (config, shape) -> what the choice rests on, for the start-up line
    evidence: Callable[[Config, tuple[int, ...] | None], str]
    # its choice depends on one sample's shape (pictures: large colour ones train otherwise)
    shaped: bool = False


RECIPES: Registry[Recipe] = Registry("kind of data for --model auto")


def auto_settings(device: str = "auto", time_limit: float | None = None, classes: int = 0,
                  kind: str = "image", clusters: int = 0, offers: tuple[str, ...] = (),
                  shape: tuple[int, ...] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """(the settings `--model auto` stands for on `device` with this --time-limit in minutes, for data of this kind
    (a gankit.modalities name) labelled with this many classes, why it picked its family, precision and width:
    {"model": ..., "precision": ..., "width": ...}). Images without labels are labelled by this many clusters (0:
    trained unconditionally); `offers` are the conditions the named data offers beyond the class (notes: pitch;
    emoji: subgroup); `shape` is one sample's (C, H, W) as the models see it, when known."""
    return RECIPES.get(kind).settings(device, time_limit, classes, clusters, offers, shape)


def _gan_recipe(device: str, time_limit: float | None, conditional: bool, classes: int,
                large: bool = False) -> tuple[dict[str, Any], dict[str, str]]:
    """The recipe of pictures (images, and sound as spectrogram pictures): family, precision and widths."""
    resolved = resolve_device(device)
    on_gpu = resolved.type == "cuda"
    bf16 = fast_bf16(resolved)
    settings = {**RECIPE, "train.precision": "bf16" if bf16 else "fp32"}
    why = {"model": "the data has no class labels",
           "precision": bf16 or ("bf16 was slower on a GPU at batch 100, where the step is bound by kernel launches"
                                 if on_gpu else "no fast bf16 arithmetic is known on this device")}
    if conditional:
        settings["model.name"] = CONDITIONAL
        why["model"] = f"class-conditional: the data has {classes} classes"
    if on_gpu:
        why["width"] = "the narrower nets are only measured faster on CPUs"
    elif large:
        settings.update(LARGE_COLOUR)
        why["width"] = ("on 64-px colour, width 32 at batch 50 with DiffAugment's translation gave 3x the G steps "
                        "and kept variety; G doubles by resizing, without a checkerboard")
    elif conditional:
        settings["model.d_width"] = CPU_D_WIDTH
        why["width"] = "a narrower D alone gives 1.5x the G steps"
    elif time_limit is not None and time_limit < SHORT_BUDGET:
        settings["model.width"] = SHORT_WIDTH
        why["width"] = f"a time limit under {SHORT_BUDGET:g} minutes, where twice the G steps beat the full width"
    else:
        settings["model.d_width"] = CPU_D_WIDTH
        budget = "no time limit" if time_limit is None else f"a time limit of {SHORT_BUDGET:g} minutes or more"
        why["width"] = f"{budget}, where a narrower D alone gives 1.5x the G steps"
    return settings, why


def _image_settings(device, time_limit, classes, clusters, offers, shape):
    self_conditioned = classes == 0 and clusters >= 2
    settings, why = _gan_recipe(device, time_limit, classes >= 2 or self_conditioned, classes, large_colour(shape))
    if large_colour(shape) and classes >= 2:
        settings["train.class_balance"] = COLOUR_BALANCE
        why["model"] += ", each drawn as often as the others"
        if offers:  # emoji's subgroups: a mammal, a bird or a fruit is asked for, not only an animal or a food
            settings["data.conditions"] = ",".join((CLASS, *offers))
            why["model"] += f", told each picture's {' and '.join(offers)} as well"
    if self_conditioned:
        settings["data.clusters"] = clusters
        why["model"] = (f"class-conditional on {clusters} equal clusters of the images' pixels, as the data has no "
                        "class labels (self-conditioning)")
    return settings, why


def _image_evidence(config: Config, shape: tuple[int, ...] | None) -> str:
    if large_colour(shape):
        return WHY_COLOUR
    why = WHY_CLUSTERS if config.data.clusters else WHY_CONDITIONAL if config.model.name == CONDITIONAL else WHY
    unlike = shape is not None and tuple(shape) != GREY_28
    return f"measured on 28-px grey clothes, not on pictures like these ({shape[0]} x {shape[-1]} px): {why}" if unlike else why


def _sound_settings(device, time_limit, classes, clusters, offers, shape):
    conditional = classes >= 2
    settings, why = _gan_recipe(device, time_limit, conditional, classes)
    settings["model.name"] = SOUND[conditional]
    why["model"] = "sound as spectrogram pictures" + (f", class-conditional: the data has {classes} classes"
                                                      if conditional else ", unconditional: the data has no labels")
    if PITCH in offers:
        settings.update(PITCHED_VIEW)
        why["view"] = "128 log-frequency rows that keep the notes' pitch"
        if conditional:  # a note is asked for by family and pitch (gankit sample --class brass --pitch C4)
            settings["data.conditions"] = PITCHED_CONDITIONS
            settings["train.aux_conditions"] = NAMED_BY_D
            why["model"] += (", and on each note's pitch; D also names both (AC-GAN's auxiliary classifier)")
            if resolve_device(device).type != "cuda":
                settings.update(NOTES_CPU)
                why["width"] = ("on notes, width 32 at batch 50 gave 3.5x the G steps of width 64 and notes of the "
                                "family asked for 0.84 of the time against 0.56")
    return settings, why


RECIPES.add("image", Recipe(_image_settings, _image_evidence, shaped=True))
RECIPES.add("audio", Recipe(_sound_settings, lambda config, shape: WHY_NOTES if has_pitches(config.data.name)
                            else WHY_SOUND))
def _text_evidence(config: Config, shape: tuple[int, ...] | None) -> str:
    """The named text sets' own measurements; another text is told they come from English words."""
    measured = {"words": WHY_TEXT, "tang-poems": WHY_POEMS}
    return measured.get(config.data.name, f"measured on English words, not on this text: {WHY_TEXT}")


RECIPES.add("text", Recipe(lambda *args: ({"model.name": TEXT}, {"model": "text"}), _text_evidence))


def auto_line(config: Config, kind: str, classes: int) -> str:
    """What `--model auto` trains, as resolved (the user's own settings included), and why, in one line, for the
    loaded data: its kind (a gankit.modalities name) and how many classes label it."""
    t, recipe = config.train, RECIPES.get(kind)
    clusters = config.data.clusters  # the classes are clusters of an unlabelled folder's images
    shape = sample_shape(config.data) if recipe.shaped else None
    settings, why = auto_settings(t.device, t.time_limit, 0 if clusters else classes, kind, clusters,
                                  offered_conditions(config.data.name), shape)
    if "width" not in why:  # a family with its own defaults (text's): no width, precision or EMA chosen for it
        mine = why["model"] if config.model.name == settings["model.name"] else "as you set it"
        return f"--model auto is {config.model.name} ({mine}): {recipe.evidence(config, shape)}"
    p = config.model.params
    widths = f"width {p.width}" + (f", D width {p.d_width}" if p.d_width else "")
    chosen = p.width == settings["model.width"] and p.d_width == settings.get("model.d_width", 0)
    mine = "as you set it"
    ema = (f"EMA {t.ema_decay:g} (ramp-up {t.ema_rampup:g}, BatchNorm statistics: {t.ema_batchnorm})"
           if t.ema_decay else "no EMA")
    chosen_model = (config.model.name == settings["model.name"]
                    and config.data.conditions == settings.get("data.conditions", DataConfig.conditions)
                    and config.train.aux_conditions == settings.get("train.aux_conditions", "")
                    and config.train.class_balance == settings.get("train.class_balance", 0.0))
    model = f"{config.model.name} ({why['model'] if chosen_model else mine})"
    if "view" in why:
        view = {f"model.{k}": v for k, v in asdict(p).items()}
        model += f" on {why['view'] if all(view.get(k) == v for k, v in PITCHED_VIEW.items()) else 'your spectrogram'},"
    augment = f", DiffAugment {t.augment}" if t.augment else ""
    return (f"--model auto is {model} {widths} ({why['width'] if chosen else mine}), lr {t.lr_g:g}/{t.lr_d:g}, {ema}, "
            f"batch {t.batch_size}{augment}, {t.precision} "
            f"({why['precision'] if t.precision == settings['train.precision'] else mine}): "
            f"{recipe.evidence(config, shape)}")
