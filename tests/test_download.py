"""Downloads over real HTTP on loopback: good file, checksum mismatch, server down."""

import pytest

from conftest import assert_clean_error, gankit, make_idx_dataset, sha256
from gankit.config import DataConfig
from gankit.data import load_dataset, sources
from gankit.data.download import download
from gankit.errors import GankitError


def test_download_good_file(http_server, tmp_path):
    url, root = http_server
    (root / "f.bin").write_bytes(b"x" * 300_000)
    dest = tmp_path / "out" / "f.bin"
    assert download(url + "f.bin", dest, sha256(root / "f.bin")) == dest
    assert dest.read_bytes() == b"x" * 300_000
    assert not dest.with_name("f.bin.part").exists()


def test_download_checksum_mismatch_keeps_nothing(http_server, tmp_path):
    url, root = http_server
    (root / "f.bin").write_bytes(b"tampered")
    dest = tmp_path / "f.bin"
    with pytest.raises(GankitError, match="failed its checksum"):
        download(url + "f.bin", dest, "0" * 64)
    assert list(tmp_path.glob("f.bin*")) == []


def test_named_dataset_from_mirror(http_server, monkeypatch, isolated_cache):
    """The whole path: not found locally -> downloaded from the mirror -> verified -> cached -> read."""
    url, root = http_server
    make_idx_dataset(root, n_train=30, n_test=10)
    spec = sources.NAMED_DATASETS["mnist"]
    # the generated files are not the official ones, so this test trusts their hashes instead
    monkeypatch.setitem(spec.sha256, "train-images-idx3-ubyte.gz", sha256(root / "train-images-idx3-ubyte.gz"))
    monkeypatch.setitem(spec.sha256, "train-labels-idx1-ubyte.gz", sha256(root / "train-labels-idx1-ubyte.gz"))
    monkeypatch.setenv("GANKIT_SYSTEM_DATASETS", "")
    monkeypatch.setenv("GANKIT_DOWNLOAD_URL", url)
    data = load_dataset(DataConfig(name="mnist"))
    assert data.samples.shape == (30, 1, 28, 28)
    assert (isolated_cache / "datasets" / "mnist" / "train-images-idx3-ubyte.gz").is_file()
    # second time: from the cache, with the server gone
    monkeypatch.setenv("GANKIT_DOWNLOAD_URL", "http://127.0.0.1:9/")
    assert load_dataset(DataConfig(name="mnist")).samples.shape == (30, 1, 28, 28)


def test_cli_checksum_mismatch_from_mirror(http_server, tmp_path):
    url, root = http_server
    make_idx_dataset(root)  # random files: their hashes are not MNIST's
    result = gankit("data", "mnist", "--download-url", url, env={"GANKIT_SYSTEM_DATASETS": "",
                                                                  "GANKIT_CACHE_DIR": str(tmp_path / "c")})
    assert_clean_error(result, "train-images-idx3-ubyte.gz", "failed its checksum", "nothing was kept")
    assert not any((tmp_path / "c").rglob("*.gz*"))


def test_cli_server_down_lists_three_ways(closed_port_url, tmp_path):
    result = gankit("train", "--data", "mnist", "--max-steps", "1", "--out", str(tmp_path / "runs"),
                    env={"GANKIT_SYSTEM_DATASETS": "", "GANKIT_DOWNLOAD_URL": closed_port_url,
                         "GANKIT_CACHE_DIR": str(tmp_path / "c")})
    assert_clean_error(result, "cannot download mnist", "--data-dir", str(tmp_path / "c" / "datasets" / "mnist"),
                       "GANKIT_DOWNLOAD_URL")


def test_data_dir_missing_files(tmp_path):
    with pytest.raises(GankitError, match="lacks train-images-idx3-ubyte.gz"):
        load_dataset(DataConfig(name="mnist", data_dir=str(tmp_path)))


def test_cli_data_finds_system_copy(fashion_dir):
    result = gankit("data", "fashion-mnist", "--no-download")
    assert result.returncode == 0, result.stderr
    assert "60000 training samples of shape (1, 28, 28)" in result.stdout and str(fashion_dir) in result.stdout
    missing = gankit("data", "mnist", "--no-download", env={"GANKIT_SYSTEM_DATASETS": ""})
    assert missing.returncode == 1 and "no local copy" in missing.stdout
