"""A run needs nothing but its folder: sampling, walks, reports and the Python API after the training data
has gone, from any working directory; meta.json says what G makes."""

import dataclasses
import json
import os
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from conftest import assert_clean_error
from conftest import gankit as run_gankit
from gankit.conditions import from_classes


@pytest.fixture(scope="module")
def moved_run(tmp_path_factory):
    """A cgan trained on a relative folder of two classes, whose folder was then deleted."""
    work = tmp_path_factory.mktemp("work")
    rng = np.random.default_rng(0)
    for label in ("cats", "dogs"):
        (work / "shapes" / label).mkdir(parents=True)
        for i in range(20):
            Image.fromarray(rng.integers(0, 256, (30, 30), dtype=np.uint8)).save(work / "shapes" / label / f"{i}.png")
    result = run_gankit("train", "--data", "shapes", "--model", "cgan", "--image-size", "28", "--channels", "1",
                        "--set", "model.width=8", "--batch-size", "10", "--max-steps", "3", "--no-report",
                        "--no-progress", "--device", "cpu", "--name", "r", cwd=work,
                        env={"GANKIT_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))})
    assert result.returncode == 0, result.stderr
    shutil.rmtree(work / "shapes")
    return work / "runs" / "r"


def test_meta_records_what_g_makes(moved_run):
    meta = json.loads((moved_run / "checkpoints" / "final" / "meta.json").read_text())
    assert meta["modality"] == {"name": "image"}
    assert meta["classes"] == ["cats", "dogs"] and meta["num_classes"] == 2
    assert meta["sample_shape"] == [1, 28, 28]
    assert meta["config"]["data"]["name"] == str(moved_run.parent.parent / "shapes")  # absolute, not "shapes"
    kinds = [json.loads(line)["kind"] for line in (moved_run / "metrics.jsonl").read_text().splitlines()]
    assert kinds.count("step") == 3 and set(kinds) <= {"step", "diagnosis"}  # 3 steps: a grey grid, and it says so


def test_a_run_samples_after_its_data_is_gone_from_another_directory(moved_run, tmp_path):
    run = os.path.relpath(moved_run, tmp_path)
    sampled = run_gankit("sample", run, "--n", "4", "--class", "dogs", "--npy", "dogs.npy", "--device", "cpu",
                         cwd=tmp_path)
    assert sampled.returncode == 0, sampled.stderr
    assert np.load(tmp_path / "dogs.npy").shape == (4, 28, 28)
    for args in (("interpolate", run, "--steps", "3", "--out", "walk.gif"), ("report", run), ("info", run)):
        result = run_gankit(*args, cwd=tmp_path)
        assert result.returncode == 0, (args, result.stderr)
    assert (tmp_path / "walk.gif").is_file() and (moved_run / "report.html").is_file()
    # scoring needs the data to score against: one clear line
    assert_clean_error(run_gankit("eval", run, "--n", "10", cwd=tmp_path), "does not exist", "shapes")
    assert_clean_error(run_gankit("train", "--resume", run, cwd=tmp_path), "shapes", "neither a dataset")


def test_python_api(moved_run, tmp_path):
    pipe = gankit.Pipeline.from_run(moved_run, device="cpu")
    assert pipe.conditional and pipe.spec.classes == ("cats", "dogs") and pipe.checkpoint.name == "final"
    cats = pipe.sample(5, seed=1, labels="cats")
    assert cats.shape == (5, 1, 28, 28) and cats.dtype == torch.uint8
    assert torch.equal(cats, pipe.sample(5, seed=1, labels=0))  # a class by name or by index
    # or as named conditions, or as label rows (a column per condition)
    assert torch.equal(cats, pipe.sample(5, seed=1, conditions={"class": "cats"}))
    assert torch.equal(cats, pipe.sample(5, seed=1, labels=torch.zeros(5, 1, dtype=torch.long)))
    with pytest.raises(gankit.GankitError, match="this model has no condition 'pitch'; its conditions: class"):
        pipe.sample(2, conditions={"class": "cats", "pitch": 60})
    mixed = pipe.sample(4, seed=1)  # classes in turn, one per row of two
    alone = pipe.sample(2, seed=1, labels="cats")  # another batch size may round a level differently
    assert (mixed[:2].int() - alone.int()).abs().max() <= 1
    path = pipe.preview(mixed, tmp_path / "grid.png", nrow=2)
    with Image.open(path) as img:
        assert img.size == (2 * 30 + 2, 2 * 30 + 2)
    with pytest.raises(gankit.GankitError, match="is not one of 0..1 or cats, dogs"):
        pipe.sample(2, labels="birds")
    # what Python callers pass wrongly is named as the argument it came in, not as a torch error
    for call, why in ((lambda: pipe.sample(-1), "n= must be a whole number in 1..10,000,000, got -1"),
                      (lambda: pipe.sample(2.5), "n= must be a whole number"),
                      (lambda: pipe.sample(2, seed=2**70), "seed= must be a whole number in 0..4,294,967,295"),
                      (lambda: pipe.sample(2, labels=torch.tensor([0, 5])), r"labels= must be class indices in 0..1"),
                      (lambda: pipe.sample(2, labels=torch.tensor([0.5, 1.0])), r"labels= must be 2 whole class"),
                      (lambda: pipe.generate(pipe.latents(2), torch.tensor([1])), r"labels= must be 2 whole class"),
                      (lambda: pipe.walk([0, 1], steps=0), "steps= must be a whole number"),
                      (lambda: pipe.walk([0, -1], steps=2), "seeds= must be a whole number")):
        with pytest.raises(gankit.GankitError, match=why):
            call()
    # a class named by a number is that class: of folders named 1 and 0, "1" is the first; an int is an index
    pipe.spec = dataclasses.replace(pipe.spec, conditions=from_classes(("1", "0")))
    assert (pipe.class_index("1"), pipe.class_index("0"), pipe.class_index(1)) == (0, 1, 1)


@pytest.mark.parametrize("classes,per_class,columns", [
    (10, 7, 7),  # Fashion-MNIST's 64 samples: a row per class, as before
    (2, 32, 8),  # two classes: each fills four rows of an 8 x 8 grid, not a 2 x 32 strip
    (20, 3, 9),  # twenty clusters: three share a row
    (1, 64, 8),
])
def test_class_grids_stay_near_square_with_classes_on_rows_of_their_own(classes, per_class, columns):
    from gankit.pipeline import class_grid_columns

    assert class_grid_columns(classes, per_class) == columns


def test_a_run_folder_that_is_not_there_is_named_as_missing(tmp_path):
    with pytest.raises(gankit.GankitError, match=r"run folder .*nowhere does not exist"):
        gankit.Pipeline.from_run(tmp_path / "nowhere")


def test_conditions_are_named_in_meta_and_checkpoints_from_before_read_as_one_class():
    from gankit.conditions import Condition
    from gankit.modalities import SampleSpec
    from gankit.modalities.image import ImageModality

    two = (Condition("class", ("brass", "flute")), Condition("pitch", ("60", "61", "62")))
    meta = json.loads(json.dumps(SampleSpec((1, 28, 28), ImageModality(), two).as_meta()))
    back = SampleSpec.from_meta(meta, "x")
    assert back.conditions == two and back.classes == ("brass", "flute") and back.label_sizes == (2, 3)
    before = {key: value for key, value in meta.items() if key != "conditions"}  # num_classes and classes only
    assert SampleSpec.from_meta(before, "x").conditions == from_classes(("brass", "flute"))
    assert SampleSpec.from_meta({**before, "num_classes": 0, "classes": []}, "x").conditions == ()
    for bad in ("class", [{"name": "class"}], [{"name": "class", "values": ["one"]}], [meta["conditions"][0]] * 2,
                [{"name": "class", "values": [1, 2]}], [meta["conditions"][0]] * 9):
        with pytest.raises(gankit.GankitError, match="checkpoint x: meta.json's conditions are invalid"):
            SampleSpec.from_meta({**meta, "conditions": bad}, "x")


def test_a_model_of_two_conditions_draws_the_ones_not_asked_from_the_datas_joint_proportions():
    """brass plays 60 and 61, flute 62 only: asking for flute draws 62; a grid by family draws each row's pitch among
    that family's; a pitch no flute has is refused; the table travels in meta.json, and a damaged one is refused."""
    from gankit.conditions import Condition, table
    from gankit.modalities import SampleSpec
    from gankit.modalities.image import ImageModality
    from gankit.models import build_models
    from gankit.resolve import resolve_config

    two = (Condition("class", ("brass", "flute")), Condition("pitch", ("60", "61", "62")))
    rows = torch.tensor([[0, 0]] * 30 + [[0, 1]] * 10 + [[1, 2]] * 20)
    spec = SampleSpec((1, 28, 28), ImageModality(), two, table(rows))
    assert spec.label_table == (((0, 0), 30), ((0, 1), 10), ((1, 2), 20))
    config = resolve_config(overrides={"model.name": "cgan", "model.width": 8})
    g, _ = build_models(config, spec.shape, spec.label_sizes)
    pipe = gankit.Pipeline(g.eval(), config.model.latent_dim, spec, "cpu", config)
    flutes = pipe.labels(8, asked={"class": "flute"})
    assert flutes.tolist() == [[1, 2]] * 8
    brass = pipe.labels(400, asked={"class": "brass"}, seed=3)
    assert set(brass[:, 1].tolist()) == {0, 1} and 0.65 < (brass[:, 1] == 0).float().mean() < 0.85  # 30:10
    assert torch.equal(brass, pipe.labels(400, asked={"class": "brass"}, seed=3))  # seeded
    assert pipe.labels(4, asked={"pitch": "62"}).tolist() == [[1, 2]] * 4
    grid = pipe.labels(6)  # a row of three per family, each pitch one that family plays
    assert grid[:, 0].tolist() == [0, 0, 0, 1, 1, 1] and set(grid[:3, 1].tolist()) <= {0, 1} and grid[3:, 1].eq(2).all()
    assert pipe.sample(6, seed=1).shape == (6, 1, 28, 28)
    assert pipe.labels(2, asked={"class": "flute", "pitch": "60"}).tolist() == [[1, 0]] * 2  # asked is asked
    pipe.spec = dataclasses.replace(spec, conditions=(two[0], Condition("pitch", ("60", "61", "62", "63"))))
    with pytest.raises(gankit.GankitError, match="no training sample has pitch 63: nothing to draw the other"):
        pipe.labels(2, asked={"pitch": "63"})
    meta = json.loads(json.dumps(spec.as_meta()))
    assert SampleSpec.from_meta(meta, "x").label_table == spec.label_table
    for bad in ([[[0, 5], 3]], [[[0], 3]], [[[0, 0], 0]], "rows"):
        with pytest.raises(gankit.GankitError, match="meta.json's label_table is invalid"):
            SampleSpec.from_meta({**meta, "label_table": bad}, "x")
