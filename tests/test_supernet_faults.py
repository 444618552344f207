"""Supernet faults and bad input: corrupt, foreign and unshareable checkpoints, read-only caches,
pretraining that cannot train or diverges, and every keyword checked before any work starts."""

from __future__ import annotations

import math
import os
import struct
import warnings
import zipfile
from pathlib import Path

import pytest
import torch

from nas_gym.benchmarks.cache import store_arrays
from nas_gym.supernets.backend import SupernetBackend
from nas_gym.supernets.checkpoint import write_checkpoint

TINY = dict(
    space="nb201",
    dataset="digits",
    size="tiny",
    device="cpu",
    epochs=1,
    n_val=None,
    cache_size=0,
    recipe={"batch_size": 64, "lr": 0.02},
)


def make(**kw) -> SupernetBackend:
    return SupernetBackend(**{**TINY, **kw})


@pytest.fixture
def cache(tmp_path, monkeypatch, one_torch_thread) -> Path:
    """A private, empty cache folder for the test."""
    monkeypatch.setenv("NAS_GYM_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def weights(sn: SupernetBackend) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in sn.network.state_dict().items()}


def member_offsets(path: Path) -> dict[str, int]:
    """Offsets of bytes to flip: inside the pickle, at the first, middle and last byte of the
    largest tensor, and in that tensor's CRC field of the central directory."""
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()

    def data_start(info: zipfile.ZipInfo) -> int:
        name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26 : info.header_offset + 30])
        return info.header_offset + 30 + name_len + extra_len

    pkl = next(i for i in infos if i.filename.endswith("data.pkl"))
    big = max(infos, key=lambda i: i.file_size)
    cd_entry = raw.rindex(big.filename.encode()) - 46  # the name's last copy is in the central directory
    assert raw[cd_entry : cd_entry + 4] == b"PK\x01\x02"
    return {
        "pickle": data_start(pkl) + pkl.file_size // 2,
        "tensor first byte": data_start(big),
        "tensor middle": data_start(big) + big.file_size // 2,
        "tensor last byte": data_start(big) + big.file_size - 1,
        "tensor CRC": cd_entry + 16,
    }


def test_a_single_flipped_bit_anywhere_in_a_checkpoint_is_reported_and_rebuilt(cache):
    first = make()
    original, clean = weights(first), first.checkpoint_file.read_bytes()
    for where, offset in member_offsets(first.checkpoint_file).items():
        for bit in (0, 7):
            raw = bytearray(clean)
            raw[offset] ^= 1 << bit
            first.checkpoint_file.write_bytes(bytes(raw))
            with pytest.warns(UserWarning, match=rf"{first.checkpoint_file.name}.*training it again") as w:
                rebuilt = make()
            assert "CRC" in str(w[0].message) or "cannot be read" in str(w[0].message), (where, str(w[0].message))
            assert rebuilt.trained_steps == first.trained_steps, where  # trained again, never loaded
            assert all(torch.equal(original[k], v) for k, v in weights(rebuilt).items()), where
    assert make().trained_steps == 0  # the rebuilt file is sound


def test_checkpoints_are_readable_by_other_users_like_the_table_cache(cache):
    old = os.umask(0o022)
    try:
        sn = make(epochs=0)
        store_arrays("toy-entry", "src", {"a": torch.arange(3).numpy()})
    finally:
        os.umask(old)
    assert oct(sn.checkpoint_file.stat().st_mode & 0o777) == "0o644"
    assert oct((cache / "toy-entry").stat().st_mode & 0o777) == "0o755"
    assert oct((cache / "toy-entry" / "a.npy").stat().st_mode & 0o777) == "0o644"


def test_a_checkpoint_of_the_right_spec_with_tensors_of_another_size_names_the_file(cache):
    sn = make(epochs=0)
    ckpt = torch.load(sn.checkpoint_file, weights_only=True)
    name = next(k for k, v in ckpt["model"].items() if v.ndim == 4)
    ckpt["model"][name] = torch.zeros(*ckpt["model"][name].shape[:-1], 5)
    write_checkpoint(sn.checkpoint_file, ckpt)
    with pytest.raises(ValueError, match="does not fit this network") as e:
        make(epochs=0)
    assert str(sn.checkpoint_file) in str(e.value) and "delete it" in str(e.value)


def test_a_named_checkpoint_that_is_corrupt_or_missing_is_an_error_not_rebuilt(cache, tmp_path):
    sn = make(epochs=0)
    bad = tmp_path / "given.pt"
    bad.write_bytes(sn.checkpoint_file.read_bytes()[:100])
    with pytest.raises(ValueError, match="given.pt"):
        make(epochs=0, checkpoint=bad)
    with pytest.raises(FileNotFoundError, match="nowhere.pt"):
        make(epochs=0, checkpoint=tmp_path / "nowhere.pt")
    assert bad.read_bytes() == sn.checkpoint_file.read_bytes()[:100]  # left as it was


def test_non_finite_weights_in_a_cached_checkpoint_are_rebuilt(cache):
    sn = make()
    ckpt = torch.load(sn.checkpoint_file, weights_only=True)
    name = next(k for k, v in ckpt["model"].items() if v.is_floating_point())
    ckpt["model"][name] = torch.full_like(ckpt["model"][name], math.nan)
    write_checkpoint(sn.checkpoint_file, ckpt)
    with pytest.warns(UserWarning, match="non-finite weights"):
        again = make()
    assert again.trained_steps == sn.trained_steps
    assert all(torch.equal(a, b) for a, b in zip(weights(sn).values(), weights(again).values()))


def test_pretraining_that_cannot_train_or_diverges_is_an_error_and_caches_nothing(cache, raises_naming):
    folder = cache / "supernets"
    raises_naming(lambda: make(recipe={"batch_size": 10**6}), "batch_size", "1000000", "no step", "<=")
    raises_naming(lambda: make(n_train=40), "batch_size 64", "40 weight-training images")
    raises_naming(lambda: make(recipe={"batch_size": 64, "lr": 1e12}), "diverged", "lr=1e+12", "lower the learning")
    assert not list(folder.glob("*.pt")) if folder.exists() else True
    assert make(recipe={"batch_size": 64, "lr": 1e12}, epochs=0).trained_steps == 0  # nothing to train: fine


def test_a_read_only_cache_loads_its_checkpoints_without_a_lock_and_trains_in_memory_when_empty(
    cache, tmp_path, monkeypatch, read_only
):
    first = make()
    lock = Path(str(first.checkpoint_file) + ".lock")
    lock.unlink()
    with read_only(cache / "supernets"), warnings.catch_warnings():
        warnings.simplefilter("error")  # a valid checkpoint: no warning
        again = make()
    assert again.trained_steps == 0 and not lock.exists()
    assert all(torch.equal(a, b) for a, b in zip(weights(first).values(), weights(again).values()))

    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("NAS_GYM_CACHE", str(empty))
    with read_only(empty):
        with pytest.warns(UserWarning, match="cannot be written.*training in memory"):
            fresh = make()
        assert fresh.trained_steps == first.trained_steps and not list(empty.iterdir())
    assert all(torch.equal(a, b) for a, b in zip(weights(first).values(), weights(fresh).values()))


NAN = float("nan")
BAD_KEYWORDS = [
    ({"n_val": 0}, ["n_val", "0", ">= 1", "None"]),
    ({"n_val": -1}, ["n_val", "-1"]),
    ({"n_val": -700}, ["n_val", "-700"]),
    ({"n_val": 2.5}, ["n_val", "2.5"]),
    ({"n_val": "abc"}, ["n_val", "'abc'"]),
    ({"n_train": 2.5}, ["n_train", "2.5", "None"]),
    ({"epochs": 2.7}, ["epochs", "2.7", ">= 0"]),
    ({"epochs": "abc"}, ["epochs", "'abc'"]),
    ({"epochs": NAN}, ["epochs", "nan"]),
    ({"recipe": "abc"}, ["recipe", "'abc'", "batch_size", "momentum"]),
    ({"recipe": [1, 2]}, ["recipe", "[1, 2]", "lr_min"]),
    ({"recipe": {"lr": "abc"}}, ["recipe lr", "'abc'", "> 0"]),
    ({"recipe": {"lr": NAN}}, ["recipe lr", "nan"]),
    ({"recipe": {"batch_size": 2.5}}, ["recipe batch_size", "2.5", ">= 1"]),
    ({"recipe": {"momentum": 1.5}}, ["recipe momentum", "1.5", "< 1"]),
    ({"recipe": {"sampling": ["all"]}}, ["sampling", "uniform"]),
    ({"seed": -1}, ["seed", "-1", ">= 0"]),
    ({"split_seed": -3}, ["split_seed", "-3", ">= 0"]),
    ({"recal_batches": 0}, ["recal_batches", "0", ">= 1"]),
    ({"recal_batches": -1}, ["recal_batches", "-1"]),
    ({"cache_size": -1}, ["cache_size", "-1", ">= 0"]),
    ({"mode": "train", "train_lr": NAN}, ["train_lr", "nan", "> 0"]),
    ({"mode": "train", "train_batches": -1}, ["train_batches", "-1", ">= 1"]),
]


@pytest.mark.parametrize("kwargs, words", BAD_KEYWORDS, ids=[str(k) for k, _ in BAD_KEYWORDS])
def test_bad_keywords_are_named_with_the_valid_values_before_any_work(kwargs, words, raises_naming, monkeypatch):
    import nas_gym.supernets.backend as backend

    def no_data(*args, **kw):
        raise AssertionError("the images were loaded before the keywords were checked")

    monkeypatch.setattr(backend, "load_images", no_data)
    raises_naming(lambda: make(**kwargs), *words)
