"""Few-shot episodes: shapes, labels, disjoint meta-splits, and the Omniglot reader on a small
directory in the official layout."""

from __future__ import annotations

import numpy as np
import pytest

from nas_gym.fewshot import (
    IMAGE_SET_SPLIT,
    TaskSampler,
    image_set_splits,
    load_fewshot,
    load_omniglot,
    omniglot_split_sizes,
)


@pytest.fixture(scope="module")
def digits():
    return image_set_splits("digits")


def test_image_set_split_is_disjoint_and_pools_train_and_test(digits):
    names = [set(digits.pool(s).names) for s in ("train", "val", "test")]
    assert names[0] == {"0", "1", "2", "3"} and names[1] == {"4", "5", "6"} and names[2] == {"7", "8", "9"}
    assert not (names[0] & names[1]) and not (names[1] & names[2]) and not (names[0] & names[2])
    # scikit-learn's 1,797 digits: every image is in exactly one class of one pool
    assert sum(len(x) for s in ("train", "val", "test") for x in digits.pool(s).images) == 1797
    assert tuple(sorted(sum(IMAGE_SET_SPLIT.values(), ()))) == tuple(range(10))


def test_mnist_pools_training_and_test_images_of_each_class():
    splits = load_fewshot("mnist")
    counts = [len(x) for s in ("train", "val", "test") for x in splits.pool(s).images]
    assert sum(counts) == 70_000  # 60k training + 10k test images
    assert splits.test.names == ("7", "8", "9") and splits.train.image_shape == (1, 28, 28)


def test_episode_shapes_labels_and_no_overlap(digits):
    sampler = TaskSampler(digits.train, ways=3, shots=4, queries=2, seed=0)
    task = sampler.sample()
    assert task.support_x.shape == (12, 1, 8, 8) and task.query_x.shape == (6, 1, 8, 8)
    assert task.support_x.dtype == np.uint8
    assert task.support_y.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert task.query_y.tolist() == [0, 0, 1, 1, 2, 2]
    assert len(set(task.classes)) == 3 and task.split == "train"
    support = {x.tobytes() for x in task.support_x}
    assert not support & {x.tobytes() for x in task.query_x}


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_episodes_never_mix_splits(digits, split):
    pool = digits.pool(split)
    own = {c: {x.tobytes() for x in imgs} for c, imgs in enumerate(pool.images)}
    others = {
        x.tobytes() for s in ("train", "val", "test") if s != split for imgs in digits.pool(s).images for x in imgs
    }
    sampler = TaskSampler(pool, ways=2, shots=3, queries=3, seed=1)
    for _ in range(20):
        task = sampler.sample()
        for xs, ys in ((task.support_x, task.support_y), (task.query_x, task.query_y)):
            for x, y in zip(xs, ys):
                key = x.tobytes()
                assert key in own[task.classes[y]]  # drawn from the class its label names
                assert key not in others  # no image of another meta-split
        assert set(task.classes) <= set(range(pool.n_classes))


def test_sampler_is_seeded_and_rejects_bad_sizes(digits):
    a, b = TaskSampler(digits.val, 3, 1, seed=5).sample(), TaskSampler(digits.val, 3, 1, seed=5).sample()
    assert a.classes == b.classes and np.array_equal(a.support_x, b.support_x)
    with pytest.raises(ValueError, match=r"ways=4 .*'val'.*1\.\.3"):
        TaskSampler(digits.val, ways=4, shots=1)
    with pytest.raises(ValueError, match="shots"):
        TaskSampler(digits.val, ways=2, shots=0)
    with pytest.raises(ValueError, match="valid"):
        load_fewshot("cifar10")
    with pytest.raises(ValueError, match="path="):
        load_fewshot("omniglot")


def _write_png(file, value: int, mark: int) -> None:
    from PIL import Image

    img = np.full((20, 20), value, dtype=np.uint8)
    img[mark % 20, :] = 0  # a stroke whose row tells the drawing apart
    Image.fromarray(img, mode="L").save(file)


def test_omniglot_reader_official_layout(tmp_path):
    layout = {
        "images_background": {"Alpha": 3, "Beta": 3},
        "images_evaluation": {"Gamma": 3},
    }
    value = 10
    for part, alphabets in layout.items():
        for alphabet, n_chars in alphabets.items():
            for k in range(1, n_chars + 1):
                folder = tmp_path / part / alphabet / f"character{k:02d}"
                folder.mkdir(parents=True)
                for d in range(4):
                    _write_png(folder / f"{value:04d}_{d + 1:02d}.png", value, d)
                value += 20
    splits = load_fewshot("omniglot", tmp_path)  # 28x28 by default, as the paper
    assert omniglot_split_sizes(9) == (6, 1, 2) and omniglot_split_sizes(1623) == (1028, 172, 423)
    assert splits.train.n_classes == 6 and splits.val.n_classes == 1 and splits.test.n_classes == 2
    assert splits.train.names[0] == "Alpha/character01" and splits.test.names == (
        "Gamma/character02",
        "Gamma/character03",
    )
    assert splits.train.image_shape == (1, 28, 28) and len(splits.train.images[0]) == 4
    # pixel values survive decoding and resizing: the background of class k is its own grey
    backgrounds = [int(np.median(x)) for s in ("train", "val", "test") for x in splits.pool(s).images]
    assert backgrounds == [10 + 20 * k for k in range(9)]
    task = TaskSampler(splits.train, ways=5, shots=2, queries=1, seed=0).sample()
    assert task.support_x.shape == (10, 1, 28, 28)


def test_omniglot_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="images_background"):
        load_omniglot(tmp_path)
    folder = tmp_path / "images_background" / "A" / "character01"
    folder.mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"no \.png"):
        load_omniglot(tmp_path)
    for name, cut in (("truncated", 0.6), ("header only", 0.1), ("empty", 0.0)):
        png = folder / f"{name}.png"
        _write_png(png, 100, 3)
        png.write_bytes(png.read_bytes()[: int(len(png.read_bytes()) * cut)])
        with pytest.raises(ValueError, match=f"{png}: cannot be read as an Omniglot PNG"):
            load_omniglot(tmp_path)
        png.unlink()
