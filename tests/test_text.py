"""Text: the line reader and the `words` list, the vocabulary, the n-gram metrics on hand-made cases, textgan's
shapes, and a short run through the real command (train, resume, sample, eval, report in Chromium)."""

import json
import math
from collections import Counter

import numpy as np
import pytest
import torch

from conftest import assert_clean_error, gankit
from gankit.config import DataConfig
from gankit.data.sources import text_items, vocabulary
from gankit.data.text import read_lines
from gankit.errors import GankitError
from gankit.metrics.text import distinct, js_divergence, ngrams
from gankit.modalities.text import PAD, UNKNOWN, UNKNOWN_MARK, TextModality, Vocabulary
from gankit.models.textgan import TextCritic, TextGenerator

WORDS = "/usr/share/dict/words"


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
    corpus.write_text("".join(f"{w}\n" for w in ["cat", "dog", "cow", "hen", "pig", "owl", "elk", "ram", "yak", "emu"]))
    data = DataConfig(name=str(corpus), seq_len=8)
    reference = prepare_reference(data)
    held = reference.heldout_items[0]  # one of the ten, carved out as held-out
    samples = ["cat", "cat", held, "zzz", "dog", "act"]
    ids = torch.from_numpy(vocabulary(data).encode(samples, 8))
    values = score(ids, reference)["metrics"]
    assert values["unique"] == 5 / 6
    assert values["novelty"] == 3 / 5  # held, zzz ('z' is unknown: decoded as the mark) and act are new
    assert values["validity"] == 1 / 3  # of those, only the held-out word is real
    assert values["memorisation_rate"] == 3 / 6
    real = score(torch.from_numpy(vocabulary(data).encode(reference.heldout_items * 3, 8)), reference)["metrics"]
    assert real["js_1"] == 0.0 and real["js_4"] == 0.0


def test_reader_skips_and_counts_and_refuses_clearly(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_bytes("hello\n\nw\u00f6rld\r\n".encode() + b"bad \xff byte\n" + b"x" * 40 + b"\n")
    with pytest.warns(UserWarning) as said:
        assert read_lines(path, 32) == ["hello", "w\u00f6rld"]
    assert sorted(str(w.message).split(": ")[-1] for w in said) == ["longer than 32 characters", "not UTF-8"]
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
    assert one_hot.shape == (3, len(vocab), 4) and torch.equal(modality.from_model(one_hot), torch.from_numpy(ids))
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


def test_textgan_trains_resumes_samples_scores_and_reports(tmp_path, browser):
    corpus = tmp_path / "poem.txt"
    corpus.write_text("".join(f"the {w} of night\n" for w in ["edge", "end", "song", "hush", "rim", "ash"] * 5))
    runs = tmp_path / "runs"
    common = ["--data", str(corpus), "--model", "textgan", "--batch-size", "7", "--n-critic", "2", "--set",
              "model.width=8", "--set", "model.blocks=1", "--out", str(runs), "--no-progress", "--no-report"]
    assert gankit("train", *common, "--max-steps", "4", "--name", "whole").returncode == 0
    assert gankit("train", *common, "--max-steps", "2", "--name", "half").returncode == 0
    resumed = gankit("train", "--resume", str(runs / "half"), "--max-steps", "4", "--no-progress", "--no-report")
    assert resumed.returncode == 0, resumed.stderr
    rows = [[json.loads(line)["g_loss"] for line in (runs / name / "metrics.jsonl").read_text().splitlines()
             if '"g_loss"' in line] for name in ("whole", "half")]
    assert rows[0] == rows[1]

    run = runs / "whole"
    meta = json.loads((run / "checkpoints" / "final" / "meta.json").read_text())
    assert meta["modality"] == {"name": "text", "characters": vocab_of(corpus), "seq_len": 32}
    last = sorted((run / "samples").glob("*.txt"))[-1]  # the end of training's lines
    assert len(last.read_text(encoding="utf-8").splitlines()) == 32
    corpus.unlink()  # sampling needs the checkpoint only
    sampled = gankit("sample", str(run), "--n", "5", "--out", str(tmp_path / "lines.txt"))
    assert sampled.returncode == 0, sampled.stderr
    assert len((tmp_path / "lines.txt").read_text(encoding="utf-8").splitlines()) == 5
    assert_clean_error(gankit("sample", str(run), "--out", str(tmp_path / "x.png")), "must end in .txt")

    corpus.write_text("".join(f"the {w} of night\n" for w in ["edge", "end", "song", "hush", "rim", "ash"] * 5))
    scored = gankit("eval", str(run), "--n", "50")
    assert scored.returncode == 0, scored.stderr
    assert "character n-gram statistics" in scored.stdout and "js_4_floor" in scored.stdout
    result = json.loads((run / "eval" / "final.json").read_text())
    assert 0 <= result["metrics"]["js_4"] <= 1 and result["extractor"]["name"] == "ngram"

    report = gankit("report", str(run), "--out", str(tmp_path / "r.html"))
    assert report.returncode == 0, report.stderr
    browser.get((tmp_path / "r.html").as_uri())
    assert [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")] == []
    shown = browser.execute_script("return document.getElementById('lines').textContent;")
    assert shown == "\n".join(last.read_text(encoding="utf-8").splitlines())


def vocab_of(path) -> str:
    return "".join(sorted(set(path.read_text().replace("\n", ""))))
