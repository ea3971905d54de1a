"""Data readers on real Fashion-MNIST and on generated (also broken) files; device batches."""

import gzip
import io
import pickle
import shutil
import subprocess
import sys
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import cifar_batch_bytes, make_cifar_tarball, make_idx_dataset, write_idx
from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.data.batches import DeviceBatches, balanced_pool
from gankit.data.cifar import read_cifar10
from gankit.data.clusters import cluster_images, principal_components
from gankit.data.folder import read_image_folder, survey_images
from gankit.data.idx import read_idx
from gankit.errors import GankitError
from gankit.modalities.image import conform, to_model_range, to_uint8


def test_real_fashion_mnist(fashion_dir):
    data = load_dataset(DataConfig(name="fashion-mnist"))
    assert data.samples.shape == (60000, 1, 28, 28) and data.samples.dtype == torch.uint8
    assert torch.bincount(data.labels).tolist() == [6000] * 10
    assert data.classes[0] == "T-shirt/top" and len(data.classes) == 10
    test = load_dataset(DataConfig(name="fashion-mnist"), split="test")
    assert test.samples.shape == (10000, 1, 28, 28)


def test_conform_size_and_channels(fashion_dir):
    data = load_dataset(DataConfig(name="fashion-mnist", image_size=32, channels=3))
    assert data.samples.shape == (60000, 3, 32, 32)
    assert torch.equal(data.samples[:, 0], data.samples[:, 2])  # grey -> RGB repeats the channel
    rgb = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    grey = conform(rgb, 1, 8)
    assert grey.shape == (2, 1, 8, 8)
    expected = (0.299 * rgb[:, 0].float() + 0.587 * rgb[:, 1].float() + 0.114 * rgb[:, 2].float()).round()
    assert torch.allclose(grey[:, 0].float(), expected, atol=1)


def _pictures(folder, sizes_and_modes, start=0):
    rng = np.random.default_rng(start)
    folder.mkdir(parents=True, exist_ok=True)
    for i, ((w, h), mode) in enumerate(sizes_and_modes, start):
        grey = rng.integers(0, 256, (h, w), dtype=np.uint8)
        picture = {"L": grey, "grey RGB": np.repeat(grey[..., None], 3, axis=2),
                   "RGB": rng.integers(0, 256, (h, w, 3), dtype=np.uint8)}[mode]
        Image.fromarray(picture).save(folder / f"{i:03d}.png")
    return folder


@pytest.mark.parametrize("pictures,shape", [
    ([((28, 28), "L")] * 6, (28, True)),  # Fashion-MNIST as PNGs: the tutorial's shape
    ([((28, 28), "grey RGB")] * 3 + [((28, 28), "L")] * 3, (28, True)),  # grey saved as RGB is grey
    ([((50, 40), "RGB")] * 4, (32, False)),  # the short side, down to a size the models take
    ([((16, 16), "L")] * 2, (28, True)),  # smaller than any: the smallest
    ([((300, 200), "RGB")] * 2, (64, False)),  # capped
    ([((100, 100), "L")] * 3 + [((28, 28), "RGB")] * 2, (64, False)),  # most common size; one colour image: colour
    ([((28, 28), "L")] * 2 + [((64, 64), "L")] * 2, (64, True)),  # a tie: the larger
])
def test_a_folder_is_read_at_its_images_own_shape(tmp_path, pictures, shape):
    survey = survey_images(str(_pictures(tmp_path / "f", pictures)))
    assert (survey.side, survey.grey) == shape and survey.channels == (1 if shape[1] else 3)


def test_transparent_pixels_are_laid_on_the_chosen_background(tmp_path):
    folder = tmp_path / "sprites"
    folder.mkdir()
    pixels = np.zeros((32, 32, 4), np.uint8)
    pixels[8:24, 8:24] = (200, 30, 30, 255)  # an opaque red square on a transparent field
    for i in range(3):
        Image.fromarray(pixels, "RGBA").save(folder / f"{i}.png")
    survey = survey_images(str(folder))
    assert survey.transparent and "transparent pixels laid on black" in survey.line(str(folder), 32, 3, "black")
    for background, corner in ((None, 255), ("black", 0), ("#808080", 128)):
        data = load_dataset(DataConfig(name=str(folder), image_size=32, channels=3, background=background))
        assert data.samples[0, :, 0, 0].tolist() == [corner] * 3 and data.samples[0, :, 16, 16].tolist() == [200, 30, 30]
    from gankit.resolve import resolve_config

    with pytest.raises(GankitError, match="data.background must be a colour name"):
        resolve_config({"data.name": str(folder), "data.background": "plaid"})
    with pytest.raises(GankitError, match="data.background is for images"):
        resolve_config({"data.name": "words", "data.background": "black"})


def test_unlabelled_images_are_labelled_by_clusters_of_equal_size():
    """Kinds of picture stay together, and a kind with twice the images of the others is split in two."""
    rng = np.random.default_rng(0)
    dark, light = rng.integers(0, 40, (40, 1, 8, 8)), rng.integers(200, 256, (20, 1, 8, 8))
    halves = np.concatenate([rng.integers(0, 40, (20, 1, 4, 8)), rng.integers(200, 256, (20, 1, 4, 8))], axis=2)
    images = torch.from_numpy(np.concatenate([light, dark, halves]).astype(np.uint8))
    labels, names = cluster_images(images, 4)
    assert names == ("cluster 0", "cluster 1", "cluster 2", "cluster 3")
    assert all(15 <= size <= 25 for size in torch.bincount(labels).tolist())  # about 80 / 4 each
    light, dark, halves = (set(part.tolist()) for part in (labels[:20], labels[20:60], labels[60:]))
    assert len(light) == len(halves) == 1 and len(dark) == 2 and len(light | dark | halves) == 4
    assert torch.equal(cluster_images(images, 4)[0], labels)


def test_a_folder_of_identical_pictures_gets_as_many_clusters_as_it_can_fill(tmp_path):
    """200 copies of one picture and 6 of another (k-means++ on copies crashed: every distance 0): a cluster per
    two distinct pictures, said once."""
    picture = np.full((16, 16, 3), 128, np.uint8)
    for i in range(206):
        Image.fromarray(picture if i < 200 else 255 - picture).save(tmp_path / f"{i:03d}.png")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_dataset(DataConfig(name=str(tmp_path), clusters=20))
    assert data.classes == ("cluster 0",) and data.labels.unique().tolist() == [0]
    assert [str(w.message) for w in caught] == [f"the 206 images of {tmp_path} are 2 distinct picture(s): 1 cluster(s) "
                                                "of them, not 20 (--clusters 0 trains without clusters)"]


def test_large_pictures_find_the_same_directions_without_their_covariance():
    """Past EXACT_PIXELS values a picture, PCA goes through the Gram matrix of the images (of a seeded subset when
    there are many): the same projections, up to each direction's sign, as the pixels' covariance gives."""
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(0, 256, (120, 3, 8, 8), dtype=np.uint8))
    images[:60] //= 4  # a direction that clearly leads
    exact = principal_components(images, 10, exact_pixels=10**6)
    gram = principal_components(images, 10, exact_pixels=0)
    assert gram.shape == exact.shape == (120, 10)
    assert torch.allclose(gram.abs(), exact.abs(), atol=1e-4)
    subset = principal_components(images, 3, exact_pixels=0, fit_images=60)
    assert torch.allclose(subset[:, -1].abs(), exact[:, -1].abs(), rtol=0.1, atol=0.3)


CLUSTERING = """
import sys, numpy as np, torch
from gankit.data.clusters import cluster_images
labels, _ = cluster_images(torch.from_numpy(np.load(sys.argv[1])), 10)
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(peak // 1024, *torch.bincount(labels, minlength=10).tolist())
"""


@pytest.mark.slow
def test_clusters_of_large_colour_pictures_take_memory_that_grows_with_the_pictures(tmp_path, fashion_dir):
    """Issue 48: 500 pictures of 64 px RGB took 5 GB and minutes in the covariance of their 12,288 pixels (6.1 GB
    peak measured, 6.6 GB for 5,000); 500 and 5,000 of them now cluster under 1 GiB (411 and 571 MiB alone, 767 in
    the suite: this process's peak, torch included). Fashion-MNIST's 28 px
    clusters are the very clusters of the code before (tests/data/fashion-clusters-6000.npy, recorded with it)."""
    rng = np.random.default_rng(0)
    kinds = rng.integers(0, 256, (10, 3, 1, 1))
    for n in (500, 5000):
        pictures = np.concatenate([(kinds[np.arange(i, i + 500) % 10] + rng.integers(-40, 40, (500, 3, 64, 64)))
                                   .clip(0, 255).astype(np.uint8) for i in range(0, n, 500)])
        np.save(tmp_path / "pictures.npy", pictures)
        child = subprocess.run([sys.executable, "-c", CLUSTERING, str(tmp_path / "pictures.npy")], capture_output=True,
                               text=True, timeout=300)
        assert child.returncode == 0, child.stderr
        peak, *sizes = map(int, child.stdout.split())
        assert peak < 1024 and sizes == [n // 10] * 10, (n, peak, sizes)  # 10 kinds, 10 clusters of equal size
    fashion = load_dataset(DataConfig(name="fashion-mnist")).samples[:6000]
    then = np.load(Path(__file__).parent / "data" / "fashion-clusters-6000.npy")
    assert np.array_equal(cluster_images(fashion, 20)[0].numpy(), then)


@pytest.mark.parametrize("compress", [True, False])
def test_idx_round_trip(tmp_path, compress):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / "x-idx3-ubyte", array, compress)
    assert np.array_equal(read_idx(path), array)


def test_idx_raw_files_are_found(tmp_path):
    folder = make_idx_dataset(tmp_path / "mnist", n_train=12)
    for gz in folder.glob("*.gz"):
        gz.with_suffix("").write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    data = load_dataset(DataConfig(name="mnist", data_dir=str(folder)))
    assert data.samples.shape == (12, 1, 28, 28)


@pytest.mark.parametrize("damage,message", [
    (lambda raw: raw[: len(raw) // 2], "truncated"),
    (lambda raw: b"\x01\x02" + raw[2:], "bad magic number"),
    (lambda raw: raw[:2] + b"\x0d" + raw[3:], "value type 0x0d is not supported"),
    (lambda raw: raw[:6], "header is truncated"),
    (lambda raw: raw + b"\x00", "truncated or padded"),
])
def test_idx_damage(tmp_path, damage, message):
    path = tmp_path / "bad-idx3-ubyte"
    raw = bytes([0, 0, 8, 3]) + (5).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + bytes(5 * 784)
    path.write_bytes(damage(raw))
    with pytest.raises(GankitError, match=message) as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_idx_corrupt_gzip(tmp_path):
    path = write_idx(tmp_path / "a-idx1-ubyte.gz", np.zeros(1000, np.uint8))
    raw = path.read_bytes()
    path.write_bytes(raw[:20])
    with pytest.raises(GankitError, match="truncated or corrupt gzip"):
        read_idx(path)


def test_mismatched_images_and_labels(tmp_path):
    folder = make_idx_dataset(tmp_path / "mnist", n_train=10)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(9, np.uint8))
    with pytest.raises(GankitError, match="do not match"):
        load_dataset(DataConfig(name="mnist", data_dir=str(folder)))


def test_cifar_tarball_and_folder(tmp_path):
    tar_path = make_cifar_tarball(tmp_path / "cifar-10-python.tar.gz", per_batch=7)
    images, labels = read_cifar10(tar_path, "train")
    assert images.shape == (35, 3, 32, 32) and labels.shape == (35,)
    expected = np.frombuffer(pickle.loads(cifar_batch_bytes(7, 0))[b"data"].tobytes(), np.uint8).reshape(7, 3, 32, 32)
    assert np.array_equal(images[:7], expected)
    test_images, _ = read_cifar10(tar_path, "test")
    assert test_images.shape == (7, 3, 32, 32)
    with tarfile.open(tar_path) as tar:
        tar.extractall(tmp_path / "extracted", filter="data")
    data = load_dataset(DataConfig(name="cifar10", data_dir=str(tmp_path / "extracted")))
    assert data.samples.shape == (35, 3, 32, 32)


def test_cifar_refuses_code_in_pickles(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)]:
            data = pickle.dumps({b"data": Exploit(), b"labels": []})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(GankitError, match="refusing to load builtins.print"):
        read_cifar10(path)


def test_cifar_truncated_archive(tmp_path):
    path = make_cifar_tarball(tmp_path / "cifar-10-python.tar.gz")
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(GankitError, match="corrupt"):
        read_cifar10(path)


def _save(img: Image.Image, path, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kw)


def test_image_folder_modes_and_labels(tmp_path):
    root = tmp_path / "imgs"
    _save(Image.new("RGB", (40, 30), (255, 0, 0)), root / "cats" / "a.jpg")
    _save(Image.new("RGBA", (30, 30), (0, 0, 255, 0)), root / "cats" / "b.png")  # transparent -> white
    palette = Image.new("P", (16, 48), 3)
    palette.putpalette([0, 0, 0, 10, 20, 30, 40, 50, 60, 200, 100, 50])
    _save(palette, root / "dogs" / "c.bmp")
    sixteen = Image.fromarray(np.full((20, 20), 65535, dtype=np.uint16))
    _save(sixteen, root / "dogs" / "d.png")
    _save(Image.new("L", (20, 20), 128), root / "dogs" / "deep" / "e.webp")
    images, labels, classes = read_image_folder(root, 16, 3)
    assert images.shape == (5, 3, 16, 16) and images.dtype == np.uint8
    assert classes == ["cats", "dogs"] and labels.tolist() == [0, 0, 1, 1, 1]
    assert images[0, :, 8, 8].tolist() == [254, 0, 0] or images[0, 0, 8, 8] > 240  # red (jpeg may shift a little)
    assert images[1].min() == 255  # fully transparent blue composited on white
    assert images[2, :, 8, 8].tolist() == [200, 100, 50]  # palette index 3 -> its colour
    assert images[3].min() == 255  # 16-bit white stays white, not clipped garbage
    grey, _, _ = read_image_folder(root, 8, 1)
    assert grey.shape == (5, 1, 8, 8)


def test_image_folder_skips_unreadable_with_warning(tmp_path):
    root = tmp_path / "imgs"
    _save(Image.new("RGB", (8, 8)), root / "ok.png")
    (root / "broken.png").write_bytes(b"not an image")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images, labels, _ = read_image_folder(root, 8, 3)
    assert images.shape[0] == 1 and labels is None
    assert [str(w.message) for w in caught] == [f"skipped 1 image(s) in {root}, unreadable, e.g. {root / 'broken.png'}"]


def test_large_valid_images_are_read_one_at_a_time_and_never_called_unreadable(tmp_path, monkeypatch):
    """Eight 12000 x 12000 PNGs took 4.5 GB decoded at once, and the memory errors were reported as 'unreadable'.
    Past LARGE_PIXELS an image is decoded alone (a JPEG at a reduced scale); past Pillow's limit it is refused by
    name as too large."""
    from gankit.data import folder

    root = tmp_path / "imgs"
    for i in range(3):
        _save(Image.new("RGB", (8, 8), (40 * i, 0, 0)), root / f"small{i}.png")
    side = 4200  # past LARGE_PIXELS
    _save(Image.new("RGB", (side, side), (0, 200, 0)), root / "large.png")
    _save(Image.new("RGB", (side, side), (0, 0, 200)), root / "large.jpg")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images, _, _ = read_image_folder(root, 8, 3)
    assert [str(w.message) for w in caught] == [] and images.shape == (5, 3, 8, 8)
    assert np.abs(images[0, :, 4, 4].astype(int) - [0, 0, 200]).max() <= 3  # large.jpg, first, decoded at 1/8
    monkeypatch.setattr(folder.Image, "MAX_IMAGE_PIXELS", side * side // 3)  # now past twice Pillow's limit
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert read_image_folder(root, 8, 3)[0].shape == (3, 3, 8, 8)
    assert [str(w.message) for w in caught] == [f"skipped 2 image(s) in {root}, too large to decode (more than "
                                                f"{2 * (side * side // 3):,} pixels), e.g. {root / 'large.jpg'}"]


@pytest.mark.slow
def test_a_folder_of_huge_valid_pictures_is_read_in_bounded_memory(tmp_path):
    """Issue 49's folder, measured in a child process: 12 small PNGs and 8 copies of a valid 12000 x 12000 PNG
    (4.5 GB decoded at once before) read under 1.5 GB, every picture kept."""
    root = tmp_path / "imgs"
    for i in range(12):
        _save(Image.new("RGB", (64, 64), (20 * i, 0, 0)), root / f"small{i:02d}.png")
    Image.new("RGB", (12_000, 12_000), (0, 90, 200)).save(root / "huge0.png")
    for i in range(1, 8):
        shutil.copy(root / "huge0.png", root / f"huge{i}.png")
    reading = ("import sys; from gankit.data.folder import read_image_folder; images = read_image_folder(sys.argv[1], 64,"
               " 3)[0]; print(len(images), next(int(line.split()[1]) for line in open('/proc/self/status')"
               " if line.startswith('VmHWM:')) // 1024)")
    child = subprocess.run([sys.executable, "-c", reading, str(root)], capture_output=True, text=True, timeout=300)
    assert child.returncode == 0 and "skipped" not in child.stderr, child.stderr  # none called unreadable
    kept, peak = map(int, child.stdout.split())
    assert kept == 20 and peak < 1536, (kept, peak)


def test_image_folder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(GankitError, match="holds no images"):
        read_image_folder(tmp_path / "empty", 8, 3)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.jpg").write_bytes(b"garbage")
    with pytest.raises(GankitError, match="none of its 1 images could be read"):
        read_image_folder(tmp_path / "bad", 8, 3)


def test_range_conversions():
    u8 = torch.tensor([0, 127, 128, 255], dtype=torch.uint8)
    x = to_model_range(u8)
    assert x[0] == -1 and x[-1] == 1
    assert torch.equal(to_uint8(x), u8)


def test_device_batches_are_seeded_and_cover_the_epoch():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1)
    a = DeviceBatches(images, batch_size=3, seed=5, to_model=to_model_range)
    assert a.steps_per_epoch == 3
    first = [b.view(-1).tolist() for _, b, _ in a.epoch(0)]
    again = [b.view(-1).tolist() for _, b, _ in DeviceBatches(images, 3, 5, to_model=to_model_range).epoch(0)]
    assert first == again
    assert len({v for batch in first for v in batch}) == 9  # one batch of 3 x 3, no repeats, one dropped
    assert [b.view(-1).tolist() for _, b, _ in a.epoch(1)] != first  # a new order each epoch
    assert [b.view(-1).tolist() for _, b, _ in a.epoch(0, start=2)] == first[2:]  # resume mid-epoch
    labelled = DeviceBatches(images, 3, 5, labels=torch.arange(10) * 10, to_model=to_model_range)
    for _, batch, labels in labelled.epoch(0):
        assert torch.equal(labels, to_uint8(batch).view(-1).long() * 10)  # labels follow their images


def test_balanced_epochs_draw_each_class_about_equally_often():
    """train.class_balance: a sample of class c comes round((largest / c's size) ** b) times an epoch, its label with
    it; 0, or classes of one size, leave the epoch as it was."""
    classes = torch.tensor([0] * 60 + [1] * 20 + [2] * 7)
    assert balanced_pool(classes, 0.0) is None and balanced_pool(torch.tensor([0, 1] * 5), 1.0) is None
    assert torch.bincount(classes[balanced_pool(classes, 1.0)]).tolist() == [60, 60, 63]  # 1, 3 and 9 each
    assert torch.bincount(classes[balanced_pool(classes, 0.5)]).tolist() == [60, 40, 21]  # 1, 2 and 3 each
    images = classes.to(torch.uint8).view(-1, 1, 1, 1)
    batches = DeviceBatches(images, 10, 3, labels=classes, to_model=to_model_range, pool=balanced_pool(classes, 1.0))
    assert batches.steps_per_epoch == 18
    seen = torch.cat([labels for _, batch, labels in batches.epoch(0)
                      if torch.equal(labels, to_uint8(batch).view(-1).long())])  # labels follow their images
    assert len(seen) == 180 and torch.bincount(seen).min() >= 55
