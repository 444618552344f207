"""Which images each part of the supernet backend reads, seen from the network's own forward passes.

The backend loads a Fashion-MNIST set written here in its IDX format, each image carrying its row
and split (:mod:`marked_images`), so every batch the network sees names its rows. With the
backend's seeded halves, every forward pass is either the weight-training half (W), the
validation half (V) or the test split (T). Frozen and train-mode queries, batch-norm
recalibration, ``evaluate()``, the white-box batch iterators and real one-shot searches are
checked against the split each must read; a frozen query's score and recalibrated statistics
are recomputed on the child built as a plain module; checkpoint keys are checked through
backends built with each field changed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from marked_images import TEST_MARK, TRAIN_MARK, MarkedImages, decode, marked_images

import nas_gym  # noqa: F401  (registers the env ids)
from nas_gym.agents import Budget, agent_names, make
from nas_gym.agents.base import agent_factory
from nas_gym.agents.oneshot.loop import OneShotAgent
from nas_gym.supernets.backend import SupernetBackend
from nas_gym.supernets.data import split_halves
from nas_gym.supernets.loops import batch_norms
from nas_gym.supernets.nb201_net import NB201Child, NB201Supernet
from nas_gym.supernets.paths import single_path

CONV = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
BS = 32
ONESHOT = [
    n for n in agent_names() if isinstance(agent_factory(n), type) and issubclass(agent_factory(n), OneShotAgent)
]


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


@pytest.fixture(scope="module")
def images() -> MarkedImages:
    return marked_images()


@pytest.fixture(scope="module")
def folder(images, tmp_path_factory):
    return images.write(tmp_path_factory.mktemp("marked-fashion"))


@pytest.fixture(scope="module")
def halves(images) -> tuple[set[int], set[int]]:
    w, v = split_halves(len(images.train_y), 0)
    assert not set(w) & set(v) and len(w) + len(v) == len(images.train_y)
    return set(w.tolist()), set(v.tolist())


def build(folder, **kw) -> SupernetBackend:
    args = dict(
        space="nb201",
        dataset="fashion-mnist",
        path=folder,
        size="tiny",
        device="cpu",
        epochs=1,
        n_val=None,
        recal_batches=2,
        cache_size=0,
        recipe={"batch_size": BS},
        progress=False,
    )
    return SupernetBackend(**{**args, **kw})


@pytest.fixture(scope="module")
def frozen(folder) -> SupernetBackend:
    return build(folder)


# ------------------------------------------------------------------ tracing
@dataclass
class Forward:
    """One forward pass of a supernet or a plain child: what it read and how it ran."""

    module: str  # "supernet" or "child"
    split: str  # "W", "V", "T", or "mixed" / "unknown"
    rows: np.ndarray  # rows of the official split (train rows for W and V)
    training: bool
    grad: bool
    phase: str


class Tracer:
    """Records every forward of an NB201 supernet or child while active; ``phase`` labels them."""

    def __init__(self, backend: SupernetBackend, halves: tuple[set[int], set[int]]) -> None:
        self.mean = float(backend.train_data.mean.flatten()[0])
        self.std = float(backend.train_data.std.flatten()[0])
        self.halves = halves
        self.forwards: list[Forward] = []
        self.phase = "outside"

    def hook(self, module: torch.nn.Module, args: tuple[Any, ...]) -> None:
        if not isinstance(module, (NB201Supernet, NB201Child)) or not args[0].any():
            return  # an all-zero image is the multiply-accumulate count's probe, not data
        marks, rows = decode(args[0], self.mean, self.std)
        weight, val = self.halves
        if (marks == TEST_MARK).all():
            split = "T"
        elif (marks == TRAIN_MARK).all():
            split = "W" if all(int(r) in weight for r in rows) else "V" if all(int(r) in val for r in rows) else "mixed"
        else:
            split = "unknown"
        kind = "supernet" if isinstance(module, NB201Supernet) else "child"
        self.forwards.append(Forward(kind, split, rows, module.training, torch.is_grad_enabled(), self.phase))

    def rows(self, **match: Any) -> np.ndarray:
        picked = [f.rows for f in self.select(**match)]
        return np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)

    def select(self, **match: Any) -> list[Forward]:
        return [f for f in self.forwards if all(getattr(f, k) == v for k, v in match.items())]

    def splits(self, **match: Any) -> set[str]:
        return {f.split for f in self.select(**match)}


@contextmanager
def trace(backend: SupernetBackend, halves) -> Iterator[Tracer]:
    tracer = Tracer(backend, halves)
    handle = torch.nn.modules.module.register_module_forward_pre_hook(tracer.hook)
    try:
        yield tracer
    finally:
        handle.remove()


def rows_of(data) -> np.ndarray:
    """The rows a backend split (its uint8 DeviceData) holds, read from its images' first pixels."""
    head = data.x[:, 0, 0, :2].to(torch.int64).cpu().numpy()
    return head[:, 0] + 256 * head[:, 1]


def labels_match(data, labels: np.ndarray) -> bool:
    return bool(np.array_equal(data.y.cpu().numpy(), labels[rows_of(data)]))


# ----------------------------------------------------------- the halves
def test_the_backend_holds_the_seeded_halves_and_the_test_split_apart(frozen, images, halves):
    weight, val = halves
    assert set(rows_of(frozen.train_data).tolist()) == weight
    assert set(rows_of(frozen.val_data).tolist()) == val
    for data in (frozen.train_data, frozen.val_data):  # every label stays with its image
        assert labels_match(data, images.train_y)
    test = frozen.test_data()
    assert labels_match(test, images.test_y)
    assert rows_of(test).tolist() == list(range(len(images.test_y)))
    assert (test.x[:, 0, 0, 2] == TEST_MARK).all() and (frozen.train_data.x[:, 0, 0, 2] == TRAIN_MARK).all()


def test_batch_iterators_draw_from_their_own_half(folder, halves):
    backend = build(folder, n_val=40, n_train=64, epochs=0)
    mean, std = float(backend.train_data.mean.flatten()[0]), float(backend.train_data.std.flatten()[0])
    train_rows = set(rows_of(backend.train_data).tolist())
    val_rows = set(rows_of(backend.val_data).tolist())
    assert len(train_rows) == 64 and train_rows <= halves[0]
    assert len(val_rows) == 40 and val_rows <= halves[1]
    rng = np.random.default_rng(0)
    seen_train, seen_val = set(), set()
    pairs = zip(backend.train_batches_iter(rng), backend.val_batches_iter(rng))
    for (xt, _), (xv, _) in itertools.islice(pairs, 60):  # 60 batches of 32 cover every row (a miss is below 1e-16)
        for x, seen in ((xt, seen_train), (xv, seen_val)):
            marks, rows = decode(x, mean, std)
            assert (marks == TRAIN_MARK).all()
            seen.update(rows.tolist())
    assert seen_train == train_rows and seen_val == val_rows


# ------------------------------------------------------------- queries
def test_frozen_query_recalibrates_on_the_weight_half_and_scores_every_validation_image(frozen, halves):
    with trace(frozen, halves) as t:
        frozen.query(CONV)
    recal, scored = t.select(training=True), t.select(training=False)
    assert recal and scored and len(recal) + len(scored) == len(t.forwards)
    assert t.splits(training=True) == {"W"} and not any(f.grad for f in recal)
    assert len(t.rows(training=True)) == frozen.recal_batches * BS
    assert t.splits(training=False) == {"V"}
    assert sorted(t.rows(training=False).tolist()) == sorted(halves[1])  # each validation image once


def test_a_validation_subset_is_the_same_for_every_query(folder, halves):
    backend = build(folder, n_val=50)
    with trace(backend, halves) as t:
        backend.query(CONV)
        first = t.rows(training=False)
        backend.query(CONV)
    assert len(first) == 50 and set(first.tolist()) <= halves[1]
    assert np.array_equal(np.sort(t.rows(training=False)), np.sort(np.concatenate([first, first])))


def own_statistics(child: torch.nn.Module, batches: list[torch.Tensor]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per batch-norm layer of ``child``: the mean over ``batches`` of the batch means and of the
    unbiased batch variances of its input (what a cumulative running average over them holds)."""
    seen: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
    names = {m: n for n, m in child.named_modules()}

    def grab(m, args):
        x = args[0].detach().double()
        seen.setdefault(names[m], []).append((x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=True)))

    handles = [m.register_forward_pre_hook(grab) for m in batch_norms(child)]
    child.train()
    with torch.no_grad():
        for x in batches:
            child(x)
    for h in handles:
        h.remove()
    return {
        n: (torch.stack([m for m, _ in s]).mean(0), torch.stack([v for _, v in s]).mean(0)) for n, s in seen.items()
    }


def scored_statistics(backend: SupernetBackend) -> tuple[dict[str, tuple[torch.Tensor, torch.Tensor]], Any]:
    """Hooks that copy each supernet batch norm's running statistics when it normalises in eval mode."""
    got: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    names = {m: n for n, m in backend.network.named_modules()}

    def grab(m, args):
        if not m.training and names[m] not in got:
            got[names[m]] = (m.running_mean.detach().double().clone(), m.running_var.detach().double().clone())

    return got, [m.register_forward_pre_hook(grab) for m in batch_norms(backend.network)]


def check_against_the_plain_child(backend, images, halves, arch, split: str, score) -> None:
    """``score()`` (a query's or evaluate's) recalibrates on weight-half batches to the child's own
    statistics, and equals the plain child's accuracy with those statistics on ``split``."""
    codes = backend.space.codes(backend.space.parse(arch))
    got, handles = scored_statistics(backend)
    try:
        with trace(backend, halves) as t:
            result = score()
    finally:
        for h in handles:
            h.remove()
    recal = t.select(module="supernet", training=True)
    assert {f.split for f in recal} == {"W"}
    child = backend.network.child(codes, copy_weights=True)  # parameter and buffer names are the supernet's
    own = own_statistics(child, [images.normalised("train", f.rows) for f in recal])
    assert own and set(own) <= set(got)
    for name, (mean, var) in own.items():
        torch.testing.assert_close(got[name][0], mean, rtol=1e-4, atol=1e-5, msg=f"running_mean of {name}")
        torch.testing.assert_close(got[name][1], var, rtol=1e-4, atol=1e-5, msg=f"running_var of {name}")
    # the plain child, normalising with its own statistics, on every image of the split
    with torch.no_grad():
        for name, m in child.named_modules():
            if name in own:
                m.running_mean.copy_(own[name][0].float())
                m.running_var.copy_(own[name][1].float())
        child.eval()
        if split == "V":
            rows = np.array(sorted(halves[1]))
            x, y = images.normalised("train", rows), images.train_y[rows]
        else:
            x, y = images.normalised("test", np.arange(len(images.test_y))), images.test_y
        logits = child(x)
        y = torch.as_tensor(y, dtype=torch.int64)
        acc, loss = 100.0 * int((logits.argmax(1) == y).sum()) / len(y), float(F.cross_entropy(logits, y))
    if isinstance(result, tuple):
        assert result[0] == pytest.approx(acc, abs=1e-9) and result[1] == pytest.approx(loss, rel=1e-4)
    else:
        assert result == pytest.approx(acc, abs=1e-9)


def test_frozen_query_equals_the_plain_child_with_its_own_statistics(frozen, images, halves):
    before = {k: v.clone() for k, v in frozen.network.state_dict().items()}
    check_against_the_plain_child(
        frozen, images, halves, CONV, "V", lambda: (lambda r: (r.val, r.loss))(frozen.query(CONV))
    )
    after = frozen.network.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # the shared statistics are put back


def test_recalibration_does_not_keep_the_shared_statistics(frozen, halves):
    """The shared statistics of the pretrained supernet differ from the child's own: a recalibration
    that averaged its batches into them (no reset) would not reach the child's statistics."""
    shared = {n: m.running_mean.clone() for n, m in frozen.network.named_modules() if m in batch_norms(frozen.network)}
    got, handles = scored_statistics(frozen)
    try:
        frozen.query(CONV)
    finally:
        for h in handles:
            h.remove()
    assert all(n in shared for n in got)
    assert all(not torch.allclose(got[n][0].float(), shared[n], atol=1e-3) for n in got)


def test_train_mode_query_trains_on_the_weight_half_only(folder, halves):
    backend = build(folder, mode="train", train_batches=3, n_train=96)
    subset = set(rows_of(backend.train_data).tolist())
    with trace(backend, halves) as t:
        backend.query(CONV, rng=np.random.default_rng(0))
    trained = t.select(training=True, grad=True)
    assert len(trained) == 3 and {f.split for f in trained} == {"W"}
    assert set(t.rows(training=True, grad=True).tolist()) <= subset  # the fixed subset of the weight half
    assert t.splits(training=True, grad=False) == {"W"}  # recalibration
    assert t.splits(training=False) == {"V"} and sorted(t.rows(training=False).tolist()) == sorted(halves[1])


# ------------------------------------------------------------ evaluation
def test_evaluate_reads_the_test_split_and_equals_the_plain_child(frozen, images, halves):
    with trace(frozen, halves) as t:
        frozen.evaluate(CONV)
    assert t.splits(training=False) == {"T"}
    assert sorted(t.rows(training=False).tolist()) == list(range(len(images.test_y)))
    assert t.splits(training=True) == {"W"}
    check_against_the_plain_child(frozen, images, halves, CONV, "T", lambda: frozen.evaluate(CONV))


def test_a_child_trained_alone_trains_on_the_weight_half_and_is_tested_on_the_test_split(frozen, images, halves):
    with trace(frozen, halves) as t:
        frozen.evaluate(CONV, epochs=1)
    assert not t.select(module="supernet")
    trained = t.rows(module="child", training=True, grad=True)
    assert t.splits(module="child", training=True) == {"W"}
    assert len(trained) == len(set(trained.tolist())) == (len(halves[0]) // BS) * BS  # one epoch, each image once
    assert t.splits(module="child", training=False) == {"T"}
    assert sorted(t.rows(module="child", training=False).tolist()) == list(range(len(images.test_y)))


# --------------------------------------------------------- one-shot agents
@pytest.mark.parametrize("name", ONESHOT)
def test_one_shot_search_trains_weights_on_the_weight_half_and_architectures_on_the_validation_half(
    folder, halves, name
):
    """A real search on the marked images: every forward of a weight step reads the weight half,
    every architecture step reads validation batches (and, single-level SNAS aside, at least one
    per step), queries score the validation half under the weights trained so far, and nothing
    reads the test split."""
    env = gym.make(
        "NasGym/NB201Supernet-Cont-v0",
        dataset="fashion-mnist",
        path=str(folder),
        size="tiny",
        device="cpu",
        epochs=1,
        n_val=None,
        recal_batches=2,
        recipe={"batch_size": BS},
        progress=False,
        budget=50,
    )
    backend = env.unwrapped.backend
    agent = make(name, steps_per_query=3)
    with trace(backend, halves) as t:

        def in_phase(phase, fn):
            def run(*args, **kwargs):
                outer, t.phase = t.phase, phase
                try:
                    return fn(*args, **kwargs)
                finally:
                    t.phase = outer

            return run

        real_query, scores = backend.query, []

        def query(arch, *args, **kwargs):  # each score against a fresh measurement of the weights as they are
            rec = real_query(arch, *args, **kwargs)
            scores.append(((rec.val, rec.loss), backend.measure(single_path(backend.space.codes(rec.arch_index)))))
            return rec

        agent.train_step = in_phase("weight", agent.train_step)
        agent.arch_step = in_phase("arch", agent.arch_step)
        backend.query = in_phase("query", query)
        agent.search(env, Budget(queries=3), seed=0)
    assert len(scores) == 3 and all(got == fresh for got, fresh in scores), scores  # no score from older weights
    steps = 9
    assert t.splits(phase="weight") == {"W"} and len(t.select(phase="weight")) >= steps
    if type(agent).arch_on_val and agent.warmup < 1.0 and name != "rsps":
        assert t.splits(phase="arch") == {"V"}
        assert len(t.select(phase="arch")) >= steps * (1.0 - agent.warmup) - 1
    else:
        assert not t.select(phase="arch")
    assert t.splits(phase="query", training=True) == {"W"} and t.splits(phase="query", training=False) == {"V"}
    assert not t.select(phase="outside")
    assert "T" not in {f.split for f in t.forwards}


# ------------------------------------------------------------ checkpoints
def test_checkpoint_keys_differ_for_every_field_that_changes_the_weights(folder, images, tmp_path):
    base = dict(epochs=0)
    relabelled = images.train_y.copy()
    relabelled[7] = (relabelled[7] + 1) % 10
    repixelled = images.train_x.copy()
    repixelled[11, 14, 14] ^= 1
    other_labels = MarkedImages(images.train_x, relabelled, images.test_x, images.test_y).write(tmp_path / "labels")
    other_pixels = MarkedImages(repixelled, images.train_y, images.test_x, images.test_y).write(tmp_path / "pixels")
    changes = {
        "seed": dict(seed=1),
        "split_seed": dict(split_seed=1),
        "size": dict(size="small"),
        "space": dict(space="darts", recipe={"batch_size": BS, "sampling": "uniform"}),
        "n_train": dict(n_train=100),
        "labels": dict(path=other_labels),
        "pixels": dict(path=other_pixels),
        "dataset": dict(dataset="digits", path=None),
        **{
            f"recipe.{k}": dict(recipe={"batch_size": BS, k: v})
            for k, v in (
                ("lr", 0.05),
                ("lr_min", 0.002),
                ("momentum", 0.8),
                ("weight_decay", 1e-4),
                ("grad_clip", 1.0),
                ("sampling", "all"),
            )
        },
        "recipe.batch_size": dict(recipe={"batch_size": 16}),
        "recipe.epochs": dict(epochs=1),
    }
    ref = build(folder, **base)
    keys = {"reference": ref.checkpoint_file.name}
    for field, change in changes.items():
        keys[field] = build(folder, **{**base, **change}).checkpoint_file.name
    same = [f for f in keys if f != "reference" and keys[f] == keys["reference"]]
    assert not same, f"fields that change the weights but not the checkpoint key: {same}"
    assert len(set(keys.values())) == len(keys)
    # the seed does change the weights: another initialisation, not the cached one
    seeded = build(folder, **base, seed=1)
    assert any(not torch.equal(a, b) for a, b in zip(ref.network.parameters(), seeded.network.parameters()))
    # what does not change the weights shares the key (and so the pretrained supernet)
    for change in (
        dict(n_val=40),
        dict(recal_batches=1),
        dict(train_batches=2),
        dict(train_lr=0.1),
        dict(cache_size=8),
        dict(mode="train", recipe={"batch_size": BS, "sampling": "uniform"}),
    ):
        assert build(folder, **{**base, **change}).checkpoint_file == ref.checkpoint_file, change


def test_another_seed_pretrains_its_own_supernet(folder, halves):
    first = build(folder, seed=3)
    second = build(folder, seed=4)
    assert second.trained_steps > 0 and second.checkpoint_file != first.checkpoint_file
    assert any(not torch.equal(a, b) for a, b in zip(first.network.parameters(), second.network.parameters()))
    assert build(folder, seed=3).trained_steps == 0  # its own checkpoint is reused
