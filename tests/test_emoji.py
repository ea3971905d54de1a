"""`emoji`: drawn from the real Noto Color Emoji font, split with skin tones together, read as a named dataset."""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import assert_clean_error, gankit
from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.data.emoji import GROUPS, SKIN_TONES, Emoji, emoji_font, make_emoji, read_emoji_list
from gankit.errors import GankitError
from gankit.metrics.classifier import SHIPPED, load_evaluator, train_evaluator, untrusted_reason


def test_every_emoji_is_listed_and_its_skin_tones_share_its_split():
    listed = read_emoji_list()
    assert len(listed) == 3655 and {e.group for e in listed} == set(GROUPS)
    splits = defaultdict(set)
    for one in listed:
        splits[tuple(c for c in one.codepoints if c not in SKIN_TONES)].add(one.split)
    assert all(len(s) == 1 for s in splits.values())
    held_out = sum(e.split == "test" for e in listed)
    assert 0.07 < held_out / len(listed) < 0.13


def test_sequences_are_drawn_as_one_glyph():
    """raqm joins a ZWJ family and a skin-toned hand into one emoji, as wide as a single one."""
    font = emoji_font()
    single = font.getlength("\U0001F600")
    for sequence in ("\U0001F468\u200D\U0001F469\u200D\U0001F467", "\U0001F44B\U0001F3FD", "\U0001F1EB\U0001F1F7"):
        assert font.getlength(sequence) == single


def test_the_set_is_a_labelled_folder_of_rgba_pictures(emoji):
    pictures = sorted(emoji.rglob("*.png"))
    assert {p.parent.name for p in pictures} <= set(GROUPS) and {p.parts[-3] for p in pictures} == {"train", "test"}
    with Image.open(pictures[0]) as first:
        assert first.size == (64, 64) and first.mode == "RGBA"
        alpha = np.asarray(first)[..., 3]
    assert alpha[0, 0] == 0 and alpha.max() == 255  # transparent around the glyph
    data = load_dataset(DataConfig(name="emoji", data_dir=str(emoji)))
    assert data.samples.shape[1:] == (3, 64, 64) and data.classes == GROUPS
    assert data.samples[:, :, 0, 0].float().median() >= 250  # composited on white (square glyphs fill the corner)
    flags = data.labels == GROUPS.index("Flags")
    assert flags.any() and (data.labels == GROUPS.index("People & Body")).sum() > flags.sum()


def test_the_shipped_classifier_learnt_subgroups_and_scores_by_group():
    """Its features come from Unicode's 99 subgroups (a 9-group classifier's features rated a G that drew one
    picture per group as well as a varied one); IS, coverage and asked_class read its group probabilities."""
    evaluator = load_evaluator(SHIPPED / "emoji.safetensors")
    info = evaluator.info
    assert evaluator.classes == GROUPS and len(info["classes"]) == len(info["coarse_of"]) >= 90
    assert evaluator.pooling.shape == (len(info["classes"]), 9) and untrusted_reason(info) is None
    assert info["fine_accuracy"] > 3 * info["fine_chance"] and info["test_images"] == 347
    probs = evaluator.probabilities(torch.randn(5, len(info["classes"])))
    assert probs.shape == (5, 9) and torch.allclose(probs.sum(1), torch.ones(5))


def test_subgroups_are_read_in_the_order_the_pictures_are(emoji):
    """`gankit evaluator train --data emoji` learns the subgroups in the files' names, each tied to its group."""
    from gankit.data.sources import emoji_subgroups
    from gankit.metrics.features import finer_labels

    cfg = DataConfig(name="emoji", data_dir=str(emoji))
    train, test = load_dataset(cfg), load_dataset(cfg, "test")
    fine_train, fine_test, names, coarse_of = finer_labels(cfg, emoji_subgroups, train.labels, test.labels)
    assert len(fine_train) == len(train) and len(fine_test) == len(test) and len(names) == len(coarse_of) > 9
    assert torch.equal(torch.tensor(coarse_of)[fine_train], train.labels)  # every picture's subgroup is in its group
    assert coarse_of == sorted(coarse_of) and "country-flag" in names
    assert GROUPS[coarse_of[names.index("country-flag")]] == "Flags"


def test_a_classifier_of_finer_classes_is_judged_and_used_by_the_coarse_ones(tmp_path):
    """Four fine classes in two coarse ones: accuracy and chance are the coarse ones' (what the trust check reads)."""
    generator = torch.Generator().manual_seed(0)
    fine = torch.arange(4).repeat_interleave(40)
    images = (torch.rand(160, 1, 8, 8, generator=generator) * 60 + (fine * 60)[:, None, None, None]).to(torch.uint8)
    trained = train_evaluator(images, fine, images[::4], fine[::4], ("a1", "a2", "b1", "b2"), tmp_path / "c.safetensors",
                              epochs=1, min_steps=30, progress=False, coarse=(("a", "b"), [0, 0, 1, 1]))
    info = trained.info
    assert trained.classes == ("a", "b") and info["classes"] == ["a1", "a2", "b1", "b2"]
    assert info["chance"] == 0.5 and info["fine_chance"] == 0.25 and info["test_accuracy"] >= info["fine_accuracy"]


def test_missing_packages_are_named(tmp_path):
    with pytest.raises(GankitError, match="apt install unicode-data"):
        make_emoji(tmp_path / "a", emoji_test=tmp_path / "none.txt")
    with pytest.raises(GankitError, match="apt install fonts-noto-color-emoji"):
        make_emoji(tmp_path / "b", font_path=tmp_path / "none.ttf")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    with pytest.raises(GankitError, match="draws nothing"):
        from gankit.data.emoji import render
        render(Emoji((0x20,), "Symbols", "space"), emoji_font())


@pytest.mark.slow
def test_train_sample_and_eval_by_group(emoji, tmp_path):
    """The named set trains a conditional G told each picture's group and subgroup (two conditions), samples one
    group by name (its subgroups drawn among the group's), or one subgroup, and is scored with the shipped
    classifier."""
    runs = tmp_path / "runs"
    common = ("--data", "emoji", "--data-dir", str(emoji), "--out", str(runs), "--no-progress", "--no-report")
    trained = gankit("train", *common, "--model", "cgan", "--set", "model.width=8", "--batch-size", "20",
                     "--max-steps", "2", "--name", "e", "--set", "data.conditions=class,subgroup")
    assert trained.returncode == 0, trained.stderr
    meta = json.loads((runs / "e" / "checkpoints" / "final" / "meta.json").read_text())
    assert [c["name"] for c in meta["conditions"]] == ["class", "subgroup"] and len(meta["label_table"]) > 30
    sampled = gankit("sample", str(runs / "e"), "--n", "4", "--class", "Flags", "--out", str(tmp_path / "flags.png"))
    assert sampled.returncode == 0, sampled.stderr
    assert Image.open(tmp_path / "flags.png").size[0] >= 64
    one = gankit("sample", str(runs / "e"), "--n", "2", "--subgroup", "country-flag", "--out", str(tmp_path / "c.png"))
    assert one.returncode == 0, one.stderr
    assert_clean_error(gankit("train", *common, "--model", "cgan", "--set", "data.conditions=class,pitch"),
                       "data.conditions 'class,pitch' is not what emoji offers: class, then any of subgroup")
    unknown = gankit("sample", str(runs / "e"), "--class", "Plants", "--out", str(tmp_path / "x.png"))
    assert unknown.returncode == 2 and "Flags" in unknown.stderr and "Traceback" not in unknown.stderr
    scored = gankit("eval", str(runs / "e"), "--n", "200", "--metrics", "fid,pr,asked_class", "--json")
    assert scored.returncode == 0, scored.stderr
    result = json.loads(scored.stdout)
    assert result["extractor"]["name"] == "classifier" and "99 finer classes" in result["extractor"]["description"]
    assert result["metrics"]["fid"] > 0 and 0 <= result["metrics"]["asked_class"] <= 1
