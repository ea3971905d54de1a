"""Text: the line reader, the `words` list and the Tang poems, the vocabulary, the n-gram metrics on hand-made cases,
textgan's and arae's shapes, and a short run through the real command (train in two processes, resume, sample, eval,
the temperature sweep, report in Chromium)."""

import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import assert_clean_error, gankit
from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.data.sources import text_items, vocabulary
from gankit.data.text import read_lines
from gankit.errors import GankitError
from gankit.metrics.text import distinct, js_divergence, ngrams
from gankit.metrics.yardsticks import random_characters
from gankit.modalities.text import PAD, UNKNOWN, UNKNOWN_MARK, TextModality, Vocabulary
from gankit.models.textgan import TextCritic, TextGenerator
from gankit.resolve import resolve_config

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def test_js_divergence_is_zero_for_equal_sets_and_one_bit_for_disjoint_alphabets():
    same = ngrams(["abc", "abd", "bca"], 2)
    assert js_divergence(same, Counter(same)) == 0.0
    # the start and end marks are shared by any two sets of items: compare the bare characters
    assert js_divergence(Counter("abab"), Counter("xyzz")) == 1.0
    # half the mass shared: p = (1/2, 1/2, 0), q = (1/2, 0, 1/2) -> JS = 1/2 bit
    assert math.isclose(js_divergence(Counter("ab"), Counter("ac")), 0.5)
    assert ngrams(["ab"], 2) == Counter({"\x02a": 1, "ab": 1, "b\x03": 1})
    assert distinct(["aaaa"], 1) == 0.25 and distinct(["abcd"], 2) == 1.0


def test_text_scores_by_hand(tmp_path):
    """unique, novelty, validity and memorisation on a tiny corpus whose answers are counted by hand."""
    from gankit.metrics.evaluate import prepare_reference, score

    corpus = tmp_path / "c.txt"
    words = ["cat", "dog", "cow", "hen", "pig", "owl", "elk", "ram", "yak", "emu", "ana"]
    corpus.write_text("".join(f"{w}\n" for w in words))
    data = DataConfig(name=str(corpus), seq_len=8)
    reference = prepare_reference(data)
    assert reference.heldout_items == ["ana"]  # the one its hash holds out: never trained on
    assert load_dataset(data).modality.lines(load_dataset(data).samples) == [w for w in words if w != "ana"]
    samples = ["cat", "cat", "ana", "zzz", "dog", "act", "", "c"]
    ids = torch.from_numpy(vocabulary(data).encode(samples, 8))
    values = score(ids, reference)["metrics"]
    assert values["unique"] == 7 / 8 and values["empty"] == 1 / 8
    # of the samples of 3 characters or more (the empty one and "c" are too short to count as new or copied):
    assert values["novelty"] == 3 / 5  # ana, zzz ('z' is unknown: decoded as the mark) and act are new
    assert values["validity"] == 1 / 3  # of those, only the held-out word is real
    assert values["memorisation_rate"] == 3 / 6
    real = score(torch.from_numpy(vocabulary(data).encode(reference.heldout_items * 3, 8)), reference)["metrics"]
    assert real["js_1"] == 0.0 and real["js_4"] == 0.0
    # the random-characters yardstick: real items' lengths, the training characters in their proportions
    drawn = random_characters(["abcd", "", "xy"] * 100, reference, seed=0)
    assert [len(item) for item in drawn] == [4, 0, 2] * 100 and set("".join(drawn)) == set("".join(words[:-1]))
    assert Counter("".join(drawn)).most_common(1)[0][0] in "aeo"  # the commonest letters of the ten words


def test_reader_skips_and_counts_and_refuses_clearly(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_bytes("hello\n\nw\u00f6rld\r\n".encode() + b"bad \xff byte\n" + b"x" * 40 + b"\n")
    with pytest.warns(UserWarning) as said:
        assert read_lines(path, 32) == ["hello", "w\u00f6rld"]
    assert sorted(str(w.message).split(": ")[-1] for w in said) == ["longer than 32 characters (--seq-len 40 keeps "
                                                                    "them)", "not UTF-8"]
    (tmp_path / "mac.txt").write_bytes(b"moon\rriver\r")  # an old Mac's line ends: two lines, not one to shorten
    assert read_lines(tmp_path / "mac.txt", 32) == ["moon", "river"]
    (tmp_path / "empty.txt").write_bytes(b"\n\n")
    with pytest.raises(GankitError, match="has no line to train on"):
        read_lines(tmp_path / "empty.txt", 32)
    (tmp_path / "long.txt").write_text("a" * 50 + "\n")
    with pytest.raises(GankitError, match=r"1 longer than 32 characters\); raise --seq-len"):
        read_lines(tmp_path / "long.txt", 32)
    with pytest.raises(GankitError, match="different characters, more than a character model handles"):
        Vocabulary.of(["".join(chr(0x4E00 + i) for i in range(5000))])


def test_vocabulary_round_trip_and_modality_info():
    vocab = Vocabulary.of(["ab", "ba c"])
    ids = vocab.encode(["ab", "cab", "q"], 4)
    assert ids.tolist() == [[3, 4, 0, 0], [5, 3, 4, 0], [UNKNOWN, 0, 0, 0]]  # " " 2, a 3, b 4, c 5
    assert vocab.decode(ids) == ["ab", "cab", UNKNOWN_MARK]
    assert vocab.decode(np.array([[3, PAD, 4, 4]])) == ["a"]  # an item ends at its first padding
    modality = TextModality.from_info(TextModality(vocab.characters, 4).info())
    one_hot = modality.to_model(torch.from_numpy(ids))
    assert one_hot.shape == (3, len(vocab), 4) and torch.equal(modality.from_model(one_hot[:2]), torch.from_numpy(ids[:2]))
    assert modality.from_model(one_hot[2:]).tolist() == [[PAD] * 4]  # G's UNKNOWN is never written: the item ends
    with pytest.raises(GankitError, match="valid vocabulary"):
        TextModality.from_info({"characters": 5, "seq_len": 4})


def test_words_is_debians_list_split_by_a_hash():
    data = DataConfig(name="words")
    train, test = text_items(data, "train"), text_items(data, "test")
    assert len(train) > 60_000 and len(test) > 6_000 and not set(train) & set(test)
    assert all(w.isalpha() and w.islower() and w.isascii() and len(w) <= 16 for w in train[::97])
    assert vocabulary(data).characters == "abcdefghijklmnopqrstuvwxyz"


def test_words_missing_says_how_to_install_it(tmp_path):
    result = gankit("train", "--data", "words", "--model", "textgan",
                    env={"GANKIT_SYSTEM_DATASETS": str(tmp_path), "GANKIT_CACHE_DIR": str(tmp_path / "cache")})
    assert_clean_error(result, "apt install wamerican")


def test_textgan_shapes():
    g, d = TextGenerator(128, 30, 16, width=8, blocks=5), TextCritic(30, 16, width=8, blocks=5)
    x = g(torch.randn(3, 128))
    assert x.shape == (3, 30, 16) and torch.allclose(x.sum(dim=1), torch.ones(3, 16))
    assert d(x).shape == (3,)
    d(x).sum().backward()
    assert all(p.grad is not None for p in d.parameters())


def test_tang_poems_are_debians_lines_held_out_by_poem():
    data = DataConfig(name="tang-poems")
    train, test = text_items(data, "train"), text_items(data, "test")
    assert len(train) > 2_500 and len(test) > 100
    assert all(len(line) in (5, 7) and all("\u4e00" <= ch <= "\u9fff" for ch in line) for line in train + test)
    side = train if "床前明月光" in train else test  # a poem's lines stay together: 李白《夜思》
    assert {"床前明月光", "疑是地上霜", "举头望明月", "低头思故乡"} <= set(side)
    assert len(vocabulary(data)) > 2_000 and load_dataset(data).samples.shape[1] == 7
    env = {"GANKIT_SYSTEM_DATASETS": "/nonexistent", "GANKIT_CACHE_DIR": "/nonexistent"}
    assert_clean_error(gankit("data", "tang-poems", env=env), "apt install fortunes-zh")


def test_arae_shapes_codes_and_greedy_writing():
    from gankit.models.arae import ARAEGenerator, ARAEParams, CodeCritic

    p = ARAEParams(width=16, mlp_width=8, embedding=4)
    g, critic = ARAEGenerator(20, 30, 6, p).eval(), CodeCritic(p)
    z = torch.randn(5, 20, generator=torch.Generator().manual_seed(0))
    x = g(z)
    assert x.shape == (5, 30, 6) and torch.equal(x.sum(dim=1), torch.ones(5, 6)) and torch.equal(g(z), x)
    ids = torch.tensor([[5, 6, 7, 0, 0, 0], [5, 0, 0, 0, 0, 0], [9, 9, 9, 9, 9, 9]])
    codes = g.encoder(ids)
    assert torch.allclose(codes.norm(dim=1), torch.ones(3))  # on the unit sphere
    assert not torch.equal(codes[0], g.encoder(torch.tensor([[5, 6, 8, 0, 0, 0]]))[0])  # read to the item's end
    assert torch.allclose(g.encoder(torch.tensor([[5, 6, 7, 0, 0, 1]]))[0], codes[0], atol=1e-6)  # and no further
    assert g.decoder.nll(codes, ids).item() > 0 and critic(codes).shape == (3,)
    g.temperature = 1.0
    assert not torch.equal(g(z), x)  # drawn, not greedy


@pytest.mark.slow
def test_text_gans_train_resume_in_two_processes_sample_score_and_report(tmp_path, browser):
    """arae (a game on codes, in gankit's trainer) through the real command: two processes, resumed exactly from a
    checkpoint the run wrote midway (two launches of two processes, not three)."""
    corpus = tmp_path / "poem.txt"
    poem = "".join(f"the {w} of night\n" for w in ["edge", "end", "song", "hush", "rim", "moon"] * 6)
    corpus.write_text(poem)  # "the moon of night" is held out
    runs = tmp_path / "runs"
    common = ["--data", str(corpus), "--model", "arae", "--batch-size", "8", "--n-critic", "2", "--set",
              "model.width=8", "--set", "model.mlp_width=8", "--set", "model.embedding=4", "--ema", "0.9",
              "--out", str(runs), "--no-progress", "--no-report", "--nproc", "2"]
    whole = gankit("train", *common, "--max-steps", "4", "--checkpoint-every", "2", "--name", "whole")
    assert whole.returncode == 0, whole.stderr
    half = runs / "half"  # the run as it was at step 2
    shutil.copytree(runs / "whole", half)
    for name in ("final", "step_00000004"):
        shutil.rmtree(half / "checkpoints" / name)
    resumed = gankit("train", "--resume", str(half), "--max-steps", "4", "--no-progress", "--no-report", "--nproc", "2")
    assert resumed.returncode == 0, resumed.stderr
    rows = [[{k: v for k, v in json.loads(line).items() if k.endswith("_loss")}
             for line in (runs / name / "metrics.jsonl").read_text().splitlines() if '"g_loss"' in line]
            for name in ("whole", "half")]
    assert rows[0] == rows[1] and len(rows[0]) == 4

    run = runs / "whole"
    meta = json.loads((run / "checkpoints" / "final" / "meta.json").read_text())
    # items as long as the file's longest line ("the edge of night"): a text file sets its own length
    assert meta["modality"] == {"name": "text", "characters": vocab_of(corpus), "seq_len": 17}
    last = sorted((run / "samples").glob("*.txt"))[-1]  # the end of training's lines
    assert len(last.read_text(encoding="utf-8").splitlines()) == 32
    corpus.unlink()  # sampling needs the checkpoint only
    sampled = gankit("sample", str(run), "--n", "5", "--out", str(tmp_path / "lines.txt"))
    assert sampled.returncode == 0, sampled.stderr
    assert len((tmp_path / "lines.txt").read_text(encoding="utf-8").splitlines()) == 5
    assert_clean_error(gankit("sample", str(run), "--out", str(tmp_path / "x.png")), "must end in .txt")

    corpus.write_text(poem)
    scored = gankit("eval", str(run), "--n", "50")
    assert scored.returncode == 0, scored.stderr
    assert "character n-gram statistics" in scored.stdout and "real data (30)" in scored.stdout  # all 30 training lines
    result = json.loads((run / "eval" / "final.json").read_text())
    assert 0 <= result["metrics"]["js_4"] <= 1 and result["extractor"]["name"] == "ngram"
    # the quality-diversity sweep: arae greedy and at each temperature, with the floor, in a table and a picture
    shutil.rmtree(runs / "half")
    sweep = subprocess.run([sys.executable, str(BENCHMARKS / "text_sweep.py"), str(runs), "--n", "50",
                            "--temperatures", "1.5", "--picture", str(tmp_path / "sweep.png")], capture_output=True,
                           text=True, env={**os.environ, "GANKIT": f"{sys.executable} -m gankit"})
    assert sweep.returncode == 0, sweep.stderr
    rows = [line.split(" | ")[0] for line in sweep.stdout.splitlines()[2:]]
    assert rows == ["| real training items (floor)", "| whole greedy", "| whole T=1.5"], sweep.stdout
    assert {p.name for p in (run / "eval").glob("*.json")} == {"final.json", "final-T0.json", "final-T1.5.json"}
    assert (tmp_path / "sweep.png").stat().st_size > 10_000
    shutil.copytree(run, runs / "again")  # gankit compare: a row per temperature of each run
    compared = gankit("compare", str(run), str(runs / "again"), "--out", str(tmp_path / "cmp.html"))
    assert compared.returncode == 0, compared.stderr
    page = (tmp_path / "cmp.html").read_text()
    assert all(f"<td>{name} ({label})</td>" in page for name in ("whole", "again")
               for label in ("final", "final-T0", "final-T1.5")) and "js 4" in page

    report = gankit("report", str(run), "--out", str(tmp_path / "r.html"))
    assert report.returncode == 0, report.stderr
    browser.get((tmp_path / "r.html").as_uri())
    assert [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")] == []
    shown = browser.execute_script("return document.getElementById('lines').textContent;")
    assert shown == "\n".join(last.read_text(encoding="utf-8").splitlines())


def vocab_of(path) -> str:
    return "".join(sorted(set(path.read_text().replace("\n", ""))))


def test_ngram_counts_and_samples_by_hand():
    from gankit.models.baselines import Ngram

    vocab = Vocabulary.of(["ab"])
    model = Ngram(len(vocab), 4, order=2, temperature=1.0)
    model.fit(torch.from_numpy(vocab.encode(["ab"] * 3, 4)))
    assert model.table(1)[PAD].tolist() == [0, 0, 3, 0]  # after the start, always 'a' (id 2)
    assert float(model.nll(torch.from_numpy(vocab.encode(["ab"], 4)))) == 0.0  # nothing else is possible
    drawn = model(torch.randn(20, 8))
    assert vocab.decode(drawn.argmax(dim=1)) == ["ab"] * 20
    unigram = Ngram(len(vocab), 4, order=1, temperature=1.0)
    unigram.fit(torch.from_numpy(vocab.encode(["ab"], 4)))
    # a, b and the end counted once each: -log(1/3) per predicted position
    assert math.isclose(float(unigram.nll(torch.from_numpy(vocab.encode(["ab"], 4)))), math.log(3), rel_tol=1e-6)


def test_charlm_learns_and_its_temperature_sharpens():
    from gankit.models.baselines import CharLM

    torch.manual_seed(0)
    vocab = Vocabulary.of(["cab", "cob"])
    ids = torch.from_numpy(vocab.encode(["cab", "cab", "cob"] * 20, 6))
    model = CharLM(len(vocab), 6, width=32, layers=1, temperature=1.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = model.nll(ids).item()
    for _ in range(150):
        optimizer.zero_grad()
        model.nll(ids).backward()
        optimizer.step()
    assert model.nll(ids).item() < 0.5 < first  # the floor: H(2/3, 1/3) / 4 = 0.16 nats per character
    z = torch.randn(300, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        words = vocab.decode(model(z).argmax(dim=1))
        assert torch.equal(model(z), model(z))  # z picks the sample
        model.temperature = 0.05
        cold = vocab.decode(model(z).argmax(dim=1))
    assert set(words) >= {"cab", "cob"} and sum(w in ("cab", "cob") for w in words) >= 0.9 * len(words)
    assert set(cold) == {"cab"}  # the likelier vowel, every time


def test_baselines_through_the_command(tmp_path):
    corpus = tmp_path / "names.txt"
    corpus.write_text("".join(f"{n}\n" for n in ["anna", "anne", "hanna", "hannah", "ann", "nan", "nina"] * 10))
    runs = tmp_path / "runs"
    fit = gankit("train", "--data", str(corpus), "--model", "charlm", "--max-steps", "3", "--batch-size", "8",
                 "--set", "model.width=16", "--out", str(runs), "--name", "lm", "--no-progress", "--no-report")
    assert fit.returncode == 0, fit.stderr
    assert "negative log-likelihood" in fit.stdout and (runs / "lm" / "checkpoints" / "final").is_dir()
    scored = gankit("eval", str(runs / "lm"), "--n", "30", "--temperature", "0.5")
    assert scored.returncode == 0, scored.stderr
    result = json.loads((runs / "lm" / "eval" / "final-T0.5.json").read_text())
    assert result["samples"]["temperature"] == 0.5 and "js_4" in result["metrics"]
    # beside the scores, what real items and random characters score: the floor and the ceiling of each
    assert re.search(r"this +real data \(30\) +random characters \(30\)", scored.stdout), scored.stdout
    real, noise = (result["yardsticks"][k]["metrics"] for k in ("real data", "random characters"))
    assert real["js_4"] == result["metrics"]["js_4_floor"] and real["memorisation_rate"] == 1
    assert real["distinct_4"] == result["metrics"]["distinct_4_real"] < noise["distinct_4"] and noise["novelty"] > 0.5
    assert gankit("train", "--data", str(corpus), "--model", "ngram", "--out", str(runs), "--no-progress",
                  "--no-report").returncode == 0  # named after the file's stem
    sampled = gankit("sample", str(runs / "0001-ngram-names"), "--n", "7", "--out", str(tmp_path / "ng.txt"))
    assert sampled.returncode == 0 and len((tmp_path / "ng.txt").read_text().splitlines()) == 7
    # its report claims only what an n-gram model has: one count, no curve, no latent space
    assert gankit("report", str(runs / "0001-ngram-names"), "--out", str(tmp_path / "ng.html")).returncode == 0
    page = (tmp_path / "ng.html").read_text()
    assert "fitted in one pass over 60 training items" in page and "no latent vector to walk along" in page
    assert "steps logged" not in page and "Negative log-likelihood of the training batches" not in page
    assert "<code>loss</code>, <code>lr_d</code>, <code>n_critic</code> and the like below are the defaults, unused" in page
    with pytest.raises(GankitError, match="train.n_critic is for GANs, and charlm is trained by maximum likelihood"):
        resolve_config(overrides={"data.name": str(corpus), "model.name": "charlm", "train.n_critic": 5})
    assert_clean_error(gankit("train", "--resume", str(runs / "lm")), "fitted in one go")
    assert_clean_error(gankit("train", "--data", str(corpus), "--model", "charlm", "--out", str(runs)),
                       "60 training items, fewer than --batch-size 64")
    assert sorted(p.name for p in runs.iterdir()) == ["0001-ngram-names", "lm"]  # refused starts leave nothing


def test_a_text_file_sets_its_own_item_length_and_names_the_flag_for_the_rest(tmp_path):
    """Without --seq-len, items are as long as 99% of the file's lines; the start-up line and the warning about
    the rest say how to keep them, and the run is named after the file's stem."""
    short = [f"phrase number {i} " + "x" * (i % 20) for i in range(198)]
    (tmp_path / "phrases.txt").write_text("\n".join([*short, "y" * 90, "z" * 70]) + "\n")
    runs = tmp_path / "runs"
    fit = gankit("train", "--data", str(tmp_path / "phrases.txt"), "--model", "charlm", "--max-steps", "2",
                 "--batch-size", "8", "--set", "model.width=16", "--out", str(runs), "--no-progress", "--no-report")
    assert fit.returncode == 0, fit.stderr
    longest = max(map(len, short))
    assert (f"198 of its 200 lines have at most {longest} characters: items of up to {longest} (90 for the rest: "
            "--seq-len 90 keeps them)") in fit.stderr
    assert f"skipped 2 of the 200 lines of {tmp_path / 'phrases.txt'}: longer than {longest} characters (--seq-len 90 " \
           "keeps them)" in fit.stderr
    assert f"seq_len = {longest}" in (runs / "0001-charlm-phrases" / "config.toml").read_text()
    # a barely trained model ends some samples at once: sample says how many of its lines are empty
    sampled = gankit("sample", str(runs / "0001-charlm-phrases"), "--n", "60", "--out", str(tmp_path / "s.txt"))
    empty = sum(not line for line in (tmp_path / "s.txt").read_text(encoding="utf-8").split("\n")[:-1])
    assert empty > 0 and f"{empty} of the 60 samples are empty" in sampled.stdout


def test_samples_are_written_in_the_training_texts_characters():
    """G's mass on the id no training character has (textgan put it there on a user's file, which then held U+FFFD)
    is never decoded: the likeliest of the others is."""
    modality = TextModality("ab", 3)
    scores = torch.tensor([[[0.0, 0.1, 0.0], [0.9, 0.6, 0.1], [0.1, 0.3, 0.0], [0.0, 0.0, 0.2]]])  # (1, V=4, L=3)
    assert modality.from_model(scores).tolist() == [[2, 2, 3]] and UNKNOWN == 1
    assert modality.lines(modality.from_model(scores)) == ["aab"]
