"""The supernet backend: a weight-sharing network trained on real images behind the tables'
query protocol (``query(arch, rng=, noise=) -> Record``), plus the white-box interface of the
one-shot agents.

Modes:

- ``frozen`` (CADAM): the pretrained weights never change. A query recalibrates the child's
  batch-norm statistics on a few fixed training batches, measures accuracy and loss on the
  validation half, and puts every buffer back, so queries are repeatable bit for bit.
- ``train`` (DDAS): each query first trains the child on ``train_batches`` minibatches drawn
  from the caller's RNG (SGD, constant ``train_lr``), then measures it the same way.

Data: the training set is split in half by a seeded permutation; weights train on one half (or
a fixed subset of it, ``n_train``), queries read only a fixed subset of the other (``n_val``);
the test split is read only by :meth:`SupernetBackend.evaluate`. ``cost_s`` is simulated and
deterministic: the child's multiply-accumulates times the images it processed (training counts
three passes) at ``MACS_PER_SECOND``; the wall-clock seconds are in ``Record.extra["wall_s"]``.
"""

from __future__ import annotations

import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..benchmarks.table import NOISES, Record
from ..envs.checks import finite_number, whole_number
from ..spaces.base import ArchLike, Space
from .cells import hooked
from .checkpoint import check_spec, checkpoint_path, load_checkpoint
from .darts_net import DARTS_SIZES, DartsSupernet
from .data import DATASETS, load_images, split_halves
from .forking import one_thread_after_fork
from .heap import keep_freed_memory
from .loops import (
    EVAL_BATCH,
    DeviceData,
    autocast,
    bn_state,
    fresh_statistics,
    recalibrate,
    resolve_device,
    restore_bn_state,
    train_step,
)
from .loops import (
    evaluate as evaluate_net,
)
from .nb201_net import NB201_SIZES, NB201Supernet
from .paths import mixed, single_path
from .pretrain import Recipe, make_optimizer, pretrain
from .threads import on_own_threads, resolve_threads, torch_threads

MODES = ("frozen", "train")
# name -> (network class, size presets)
SupernetNet = NB201Supernet | DartsSupernet  # what ``SupernetBackend.network`` holds
NETWORKS: dict[str, tuple[type[SupernetNet], dict[str, dict[str, int]]]] = {
    "nb201": (NB201Supernet, NB201_SIZES),
    "darts": (DartsSupernet, DARTS_SIZES),
}
# Recalibration batches per frozen query. Chosen by `scripts/rank_supernet.py --recal`: on two
# tiny MNIST supernets, 20 cells each, Kendall tau against the cells trained alone did not move
# with 1 to 32 batches beyond its sampling error, while the estimates stayed 0.18 percentage
# points from 32 batches' on average with 4 (0.13 with 8, 0.26 with 2, 0.65 with 1).
RECAL_BATCHES = 4
STEM_CACHE_BYTES = 256 << 20  # at most this much of stem outputs kept for frozen queries
# Recipe defaults that differ by data set. digits: its weight-training half holds 718 images, 11
# steps per epoch at batch 64; at batch 16 and 30 epochs (1,340 steps, ~10 CPU-s at the tiny
# size) the median child reaches ~90% validation accuracy where 3 epochs at 64 gave 8-23%.
DATASET_RECIPES: dict[str, dict[str, Any]] = {"digits": {"batch_size": 16, "epochs": 30}}
MACS_PER_SECOND = 1e12  # the simulated accelerator: a sustained 1 TMAC/s on small convolutions
TRAIN_PASSES = 3  # a training step costs a forward and a backward of about twice the forward


def simulated_seconds(macs: float, images: int, backward: bool) -> float:
    """Seconds the simulated accelerator spends on ``images`` through ``macs`` per image."""
    return float(macs) * images * (TRAIN_PASSES if backward else 1) / MACS_PER_SECOND


class SupernetBackend:
    """A weight-sharing supernet on real images, queried like a benchmark table.

    ``space``: ``nb201`` or ``darts``; ``dataset``: one of :data:`~.data.DATASETS` (``path``
    its folder where it is read from the user's files); ``size``: a preset of the space's
    network; ``mode``: ``frozen`` or ``train``. The network is pretrained by ``recipe`` (its
    ``sampling`` defaults to ``uniform`` single paths when frozen and to ``all`` ops, DDAS's
    warm-up, when training) or loaded from the cache, or from ``checkpoint`` when given.
    ``threads``: torch CPU threads for the backend's own work (default ``$NAS_GYM_THREADS`` or 1;
    see :mod:`.threads`).
    """

    metric = "accuracy"
    cost_note = f"simulated: child multiply-accumulates x images processed at {MACS_PER_SECOND:.0e} MAC/s"
    has_test = True

    def __init__(
        self,
        space: str = "nb201",
        dataset: str = "mnist",
        mode: str = "frozen",
        size: str = "tiny",
        device: str = "auto",
        path: str | Path | None = None,
        checkpoint: str | Path | None = None,
        recipe: Recipe | dict[str, Any] | None = None,
        epochs: int | None = None,
        seed: int = 0,
        split_seed: int = 0,
        n_val: int | None = 2000,
        n_train: int | None = None,
        recal_batches: int = RECAL_BATCHES,
        train_batches: int = 25,
        train_lr: float = 1e-3,
        cache_size: int = 1 << 16,
        progress: bool | None = None,
        threads: int | None = None,
    ) -> None:
        if space not in NETWORKS:
            raise ValueError(f"unknown supernet space {space!r}; valid: {list(NETWORKS)}")
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; valid: {list(MODES)}")
        net_cls, sizes = NETWORKS[space]
        if size not in sizes:
            raise ValueError(f"unknown size {size!r} for the {space} supernet; valid: {list(sizes)}")
        if dataset not in DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; valid: {list(DATASETS)}")
        seed, split_seed = whole_number("seed", seed, minimum=0), whole_number("split_seed", split_seed, minimum=0)
        n_val = _optional_count("n_val", n_val, "validation images a query measures on")
        n_train = _optional_count("n_train", n_train, "images of the weight-training half")
        self.train_batches = whole_number(
            "train_batches", train_batches, meaning="minibatches a train-mode query trains"
        )
        self.train_lr = finite_number("train_lr", train_lr, above=0.0)
        self.recal_batches = whole_number("recal_batches", recal_batches, meaning="batches that recalibrate batch norm")
        self.cache_size = whole_number("cache_size", cache_size, minimum=0, meaning="measurements kept; 0: none")
        one_thread_after_fork()  # Gymnasium's async vector env forks workers after building one env here
        self.device = resolve_device(device)
        if self.device.type == "cpu":
            keep_freed_memory()  # activations' pages are reused, not faulted in again every batch (see heap.py)
        self.threads = resolve_threads(threads)
        self.mode, self.dataset, self.size = mode, dataset, size
        self.name = f"{space}-supernet"
        self.recipe = _recipe(recipe, epochs, mode, dataset)

        images = load_images(dataset, path)
        weight_idx, val_idx = split_halves(len(images.train_y), split_seed)
        order = np.random.default_rng([split_seed, 1]).permutation(len(val_idx))
        val_idx = val_idx[order[:n_val]]  # n_val None: all of them
        if n_train is not None:  # a fixed subset of the weight half: CPU-sized epochs
            order = np.random.default_rng([split_seed, 3]).permutation(len(weight_idx))
            weight_idx = np.sort(weight_idx[order[:n_train]])

        def put(idx: np.ndarray) -> DeviceData:
            return DeviceData.of(images.train_x[idx], images.train_y[idx], images.mean, images.std, self.device)

        self.train_data, self.val_data = put(weight_idx), put(val_idx)
        self._test = (images.test_x, images.test_y, images.mean, images.std)
        # fixed recalibration batches: the same for every query, so frozen queries repeat exactly
        recal = np.random.default_rng([split_seed, 2]).permutation(len(weight_idx))
        bs = self.recipe.batch_size
        n_recal = min(self.recal_batches, len(recal) // bs or 1)
        self._recal = [self.train_data.batch(recal[k * bs : (k + 1) * bs]) for k in range(n_recal)]

        self.spec = {
            "space": space,
            "size": size,
            "dataset": dataset,
            "data": _fingerprint(images.train_x, images.train_y),
            "split_seed": int(split_seed),
            "recipe": self.recipe.as_dict(),
            "seed": int(seed),
        }
        if n_train is not None:  # only then, so checkpoints of the whole half keep their keys
            self.spec["n_train"] = len(weight_idx)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.network = net_cls(
                **sizes[size],
                in_channels=images.train_x.shape[1],
                num_classes=images.num_classes,
                image_size=images.train_x.shape[-1],
            )
        self.network.to(self.device)
        if self.device.type == "cuda":
            self.network.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # see nb201_net.py
        self.space: Space = self.network.space
        ckpt_file = Path(checkpoint) if checkpoint is not None else checkpoint_path(self.spec)
        if checkpoint is not None:  # a file the user named: a missing or corrupt one is an error, not rebuilt
            try:
                check_spec(load_checkpoint(ckpt_file), ckpt_file, self.spec)
            except FileNotFoundError:
                raise FileNotFoundError(f"no supernet checkpoint at {str(ckpt_file)!r}") from None
        with torch_threads(self.threads):
            ckpt = pretrain(
                self.network,
                self.train_data,
                self.recipe,
                self.spec,
                ckpt_file,
                self._sample_path,
                seed=seed,
                progress=progress,
            )
        self.checkpoint_file = ckpt_file
        self.pretrain_seconds: list[float] = list(ckpt.get("seconds", []))
        self.trained_steps = int(ckpt["trained_steps"])  # steps run by this process (0 on a cached checkpoint)
        self._opt = make_optimizer(self.network, self.recipe, lr=self.train_lr) if mode == "train" else None
        self._measured: OrderedDict[int, tuple[float, float]] = OrderedDict()
        self._pending_s = 0.0
        self._oneshot: tuple[float, float] | None = None
        self._stem: tuple[tuple, Any] | None = None  # (stem weights' identity, stem outputs or None)
        self._after_stem = AfterStem(self.network)
        self.modified = False  # weights changed outside queries (a one-shot search trained them)

    def __repr__(self) -> str:
        return f"SupernetBackend({self.name!r}, dataset={self.dataset!r}, size={self.size!r}, mode={self.mode!r})"

    # ----------------------------------------------------------------- paths
    def _sample_path(self, rng: np.random.Generator) -> Any:
        """A pretraining path: a random alpha discretised by the space's rule, or every op."""
        if self.recipe.sampling == "all":
            return self.uniform_path()
        E, O = self.space.n_decisions, self.space.max_options
        return single_path(self.space.discretise(rng.random((E, O))))

    def uniform_weights(self) -> torch.Tensor:
        """All alphas equal over the ops the network's one-shot model mixes (its ``mixes_none``)."""
        mask = torch.as_tensor(self.space.option_mask, dtype=torch.float32)
        if not self.network.mixes_none:
            mask[:, 0] = 0.0
        return (mask / mask.sum(1, keepdim=True)).to(self.device)

    def uniform_path(self) -> Any:
        return mixed(self.uniform_weights())

    # ----------------------------------------------------------------- query
    @on_own_threads
    def query(self, arch: ArchLike, rng: np.random.Generator | None = None, noise: str = "seed") -> Record:
        """Validation accuracy (%) and loss of one child, as the supernet estimates them.

        ``train`` mode with ``noise="seed"`` first trains the child on minibatches drawn from
        ``rng``; ``noise="mean"`` measures the current weights without training (what a
        final evaluation reads). A frozen supernet has no training noise: both are the same.
        """
        if noise not in NOISES:
            raise ValueError(f"unknown noise {noise!r}; valid: {list(NOISES)}")
        t0 = time.perf_counter()
        index = self.space.parse(arch)
        codes = self.space.codes(index)
        macs = float(self.network.flops(codes))
        trained = 0
        if self.mode == "train" and noise == "seed":
            if rng is None:
                raise ValueError("a train-mode query draws minibatches and needs rng=np.random.Generator")
            path = single_path(codes)
            for _ in range(self.train_batches):
                x, y = self.train_data.sample(rng, self.recipe.batch_size)
                assert self._opt is not None  # made in train mode
                train_step(self.network, path, x, y, self._opt, self.recipe.grad_clip)
            trained = self.train_batches * self.recipe.batch_size
            self._measured.clear()  # the weights moved: earlier measurements are stale
        val, loss = self._measure(index, codes)
        cost = (
            simulated_seconds(macs, trained, backward=True)
            + simulated_seconds(macs, len(self._recal) * self.recipe.batch_size + len(self.val_data), backward=False)
            + self._pending_s
        )
        self._pending_s = 0.0
        return Record(
            index,
            val,
            cost,
            params=float(self.network.param_count(codes)),
            flops=macs,
            extra={"wall_s": time.perf_counter() - t0},
            loss=loss,
        )

    def _measure(self, index: int, codes: np.ndarray) -> tuple[float, float]:
        hit = self._measured.get(index)
        if hit is not None:
            self._measured.move_to_end(index)
            return hit
        out = self.measure(single_path(codes), self.val_data)
        if self.cache_size:
            self._measured[index] = out
            if len(self._measured) > self.cache_size:
                self._measured.popitem(last=False)
        return out

    @on_own_threads
    def measure(self, path: Any, data: DeviceData | None = None) -> tuple[float, float]:
        """(accuracy %, loss) of ``path`` on ``data`` (the validation half) after recalibrating
        its batch norms; every buffer is put back, so the network does not change."""
        saved = bn_state(self.network)
        try:
            stem = self._stem_outputs() if data is None or data is self.val_data else None
            if stem is None:
                recalibrate(self.network, path, self._recal)
                return evaluate_net(self.network, path, self.val_data if data is None else data)
            recalibrate(self._after_stem, path, stem[0])
            return evaluate_net(self._after_stem, path, stem[1])
        finally:
            restore_bn_state(self.network, saved)

    def _stem_outputs(
        self,
    ) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], list[tuple[torch.Tensor, torch.Tensor]]] | None:
        """(recalibration, validation) batches of stem outputs, as a frozen query computes them.

        No path changes the stem, and its batch norm is recalibrated on the same fixed batches
        in every query, so its outputs are the same for every path: computed once per version
        of the stem's weights (a one-shot search that trains them makes them stale) and reused,
        the same numbers as computing them anew. None in train mode (every query trains the
        stem), where they would take more than :data:`STEM_CACHE_BYTES`, and while a forward
        hook watches the network (a pass counter or a data-flow trace sees every forward).
        """
        if self.mode != "frozen" or not self._recal or hooked(self.network, self.network.stem):
            return None
        stem = self.network.stem
        key = tuple((t.data_ptr(), t._version) for t in stem.parameters())
        if self._stem is not None and self._stem[0] == key:
            return self._stem[1]
        images = len(self.val_data) + sum(len(y) for _, y in self._recal)
        saved = bn_state(stem)
        try:
            with torch.inference_mode(), autocast(self.device):
                with fresh_statistics(stem):  # train mode: batch statistics, as in a recalibration
                    recal = [(self.network.stem_output(x), y) for x, y in self._recal]
                per_image = recal[0][0][0].numel() * recal[0][0].element_size()
                if images * per_image > STEM_CACHE_BYTES:
                    out = None
                else:
                    stem.eval()
                    out = (recal, [(self.network.stem_output(x), y) for x, y in self.val_data.in_order(EVAL_BATCH)])
        finally:
            restore_bn_state(stem, saved)
        self._stem = (key, out)
        return out

    def oneshot(self) -> tuple[float, float]:
        """(accuracy %, loss) of the one-shot model, every op mixed with equal alphas: the
        thesis's Acc(OS) of the warmed-up supernet (measured once, at the first call)."""
        if self._oneshot is None:
            self._oneshot = self.measure(self.uniform_path())
        return self._oneshot

    # ------------------------------------------------------------ evaluation
    def test_data(self) -> DeviceData:
        x, y, mean, std = self._test
        return DeviceData.of(x, y, mean, std, self.device)

    @on_own_threads
    def evaluate(self, arch: ArchLike, epochs: int = 0, seed: int = 0) -> float:
        """Test accuracy (%) of ``arch``: under the supernet's weights (``epochs=0``, the
        thesis's preliminary test accuracy), or of the child trained alone from scratch for
        ``epochs`` epochs on the weight-training half with the pretraining recipe. For final
        reports only: searches never see it."""
        codes = self.space.codes(self.space.parse(arch))
        test = self.test_data()
        if epochs <= 0:
            return self.measure(single_path(codes), test)[0]
        return train_alone(self.network, codes, self.train_data, test, self.recipe, epochs, seed)[0]

    # ---------------------------------------------------- white-box interface
    def train_batches_iter(
        self, rng: np.random.Generator, batch_size: int | None = None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Endless minibatches of the weight-training half, drawn from ``rng``."""
        while True:
            yield self.train_data.sample(rng, batch_size or self.recipe.batch_size)

    def val_batches_iter(
        self, rng: np.random.Generator, batch_size: int | None = None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Endless minibatches of the validation half (for architecture updates), drawn from ``rng``."""
        while True:
            yield self.val_data.sample(rng, batch_size or self.recipe.batch_size)

    def charge(self, seconds: float) -> None:
        """Add simulated seconds (weight training outside queries) to the next query's ``cost_s``,
        so the search log's clock counts them."""
        self._pending_s += float(seconds)

    def weights_changed(self) -> None:
        """Forget cached measurements: call after changing ``network``'s weights outside a query.
        A shared frozen backend so marked is no longer handed to new envs."""
        self.modified = True
        self._measured.clear()
        self._oneshot = None

    def snapshot(self) -> dict[str, Any]:
        """A copy of the weights, buffers and (train mode) optimiser state, for :meth:`restore`."""
        snap = {"model": {k: v.detach().clone() for k, v in self.network.state_dict().items()}}
        if self._opt is not None:
            snap["optimizer"] = _clone(self._opt.state_dict())
        return snap

    def restore(self, snap: dict[str, Any]) -> None:
        self.network.load_state_dict(snap["model"])
        if self._opt is not None and "optimizer" in snap:
            self._opt.load_state_dict(snap["optimizer"])
        self._measured.clear()


class AfterStem(nn.Module):
    """A supernet from its stem's output on, ``forward(h, path)``, sharing the supernet's modules:
    what a frozen query runs on cached stem outputs."""

    def __init__(self, net: SupernetNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, h: torch.Tensor, path: Any) -> torch.Tensor:
        return self.net.after_stem(h, path)


def train_alone(
    supernet: SupernetNet,
    codes: np.ndarray,
    train: DeviceData,
    test: DeviceData,
    recipe: Recipe,
    epochs: int,
    seed: int = 0,
) -> tuple[float, float]:
    """(test accuracy %, loss) of the child ``codes`` built as a plain network with fresh weights
    and trained alone for ``epochs`` epochs (SGD, cosine schedule of ``recipe``)."""
    child = fresh_child(supernet, codes, seed, train.x.device)
    train_epochs(child, train, recipe, epochs, seed)
    return evaluate_net(child, None, test)


def fresh_child(supernet: SupernetNet, codes: np.ndarray, seed: int, device: torch.device) -> nn.Module:
    """The child ``codes`` as a plain network with fresh weights drawn from ``seed`` (torch's
    global RNG is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return supernet.child(codes).to(device)


def train_epochs(
    net: nn.Module,
    train: DeviceData,
    recipe: Recipe,
    epochs: int,
    seed: int = 0,
    first_epoch: int = 0,
    after_epoch: Callable[[int], None] | None = None,
) -> int:
    """Train the plain network ``net`` for ``epochs`` epochs from a fresh optimiser (SGD, cosine
    learning rate of ``recipe`` over these epochs); the images it trained on.

    Epoch ``e`` (counted from ``first_epoch``) draws its batch order from ``(seed, e)``, so runs
    split into pieces see different orders; ``after_epoch(e)`` runs after each one.
    """
    opt = make_optimizer(net, recipe)
    steps = max(len(train) // recipe.batch_size, 1) * epochs
    k = 0
    for epoch in range(first_epoch, first_epoch + epochs):
        for x, y in train.epoch(np.random.default_rng([seed, epoch]), recipe.batch_size):
            for g in opt.param_groups:
                g["lr"] = recipe.lr_at(k, steps)
            train_step(net, None, x, y, opt, recipe.grad_clip)
            k += 1
        if after_epoch is not None:
            after_epoch(epoch)
    return k * recipe.batch_size


def _optional_count(name: str, value: Any, meaning: str) -> int | None:
    """None (all of them) or a whole number >= 1; ValueError naming ``name`` otherwise."""
    return None if value is None else whole_number(name, value, meaning=f"{meaning}; or None for all")


def _fingerprint(x: np.ndarray, y: np.ndarray) -> str:
    """Rows and checksums of the training images and labels: other pixels or labels under the
    same data set name are other weights, so they get another checkpoint key (~20 ms for 47 MB)."""

    def crc(a: np.ndarray) -> int:
        return zlib.crc32(np.ascontiguousarray(a).data.cast("B"))

    return f"{len(y)}:{crc(y):08x}:{crc(x):08x}"


def _recipe(recipe: Recipe | dict[str, Any] | None, epochs: int | None, mode: str, dataset: str) -> Recipe:
    """The recipe from a Recipe, or a dict of its fields over the data set's and the mode's
    defaults (:data:`DATASET_RECIPES`); ``epochs`` overrides."""
    if epochs is not None:
        epochs = whole_number("epochs", epochs, minimum=0, meaning="pretraining epochs; or None for the recipe's")
    if isinstance(recipe, Recipe):
        out = recipe
    elif recipe is not None and not isinstance(recipe, dict):
        raise ValueError(
            f"recipe must be a dict of Recipe fields (valid: {sorted(Recipe.__dataclass_fields__)}), "
            f"a Recipe or None, got {recipe!r}"
        )
    else:
        fields = dict(recipe or {})
        unknown = sorted(set(fields) - set(Recipe.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown recipe field(s) {unknown}; valid: {sorted(Recipe.__dataclass_fields__)}")
        fields = {"sampling": "uniform" if mode == "frozen" else "all", **DATASET_RECIPES.get(dataset, {}), **fields}
        out = Recipe(**fields)
    if epochs is not None:
        out = Recipe(**{**out.as_dict(), "epochs": epochs})
    return out


def _clone(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        return {k: _clone(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clone(v) for v in obj]
    return obj
