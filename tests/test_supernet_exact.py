"""The frozen query's fast paths are exact: pooling as a depthwise convolution, batch norms folded
into convolutions under inference mode, and the cached stem give the numbers that torch's own
modules give (values and gradients to float rounding), in queries and in training."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nas_gym.supernets import backend as B
from nas_gym.supernets import cells
from nas_gym.supernets.backend import SupernetBackend
from nas_gym.supernets.cells import CountAvgPool2d, FoldedSequential, relu_conv_bn
from nas_gym.supernets.darts_net import DARTS_SIZES, DartsSupernet
from nas_gym.supernets.loops import batch_norms, train_step
from nas_gym.supernets.nb201_net import NB201_SIZES, NB201Supernet
from nas_gym.supernets.paths import mixed, single_path

POOLS = "|avg_pool_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|nor_conv_1x1~1|avg_pool_3x3~2|"


@pytest.fixture(autouse=True)
def one_thread(one_torch_thread):
    yield


def plain_copy(net: nn.Module) -> nn.Module:
    """A deep copy of ``net`` built from torch's own modules where the supernets have fast paths:
    ``nn.AvgPool2d`` for :class:`CountAvgPool2d`, ``nn.Sequential`` for :class:`FoldedSequential`."""
    ref = copy.deepcopy(net)
    for m in list(ref.modules()):
        for name, child in list(m.named_children()):
            if isinstance(child, CountAvgPool2d):
                setattr(m, name, nn.AvgPool2d(child.kernel, child.stride, child.padding, count_include_pad=False))
            elif isinstance(child, FoldedSequential):
                setattr(m, name, nn.Sequential(*child))
    assert not any(isinstance(m, (CountAvgPool2d, FoldedSequential)) for m in ref.modules())
    return ref


@torch.no_grad()
def reference_measure(sn: SupernetBackend, codes) -> tuple[float, float]:
    """A frozen query spelled out on the plain copy: reset the batch norms, average their statistics
    over the fixed recalibration batches in train mode, then score the validation half in eval mode."""
    ref, path = plain_copy(sn.network), single_path(codes)
    for m in batch_norms(ref):
        m.reset_running_stats()
        m.momentum = None
    ref.train()
    for x, _ in sn._recal:
        ref(x, path)
    ref.eval()
    logits = torch.cat([ref(x, path) for x, _ in sn.val_data.in_order(97)])  # other batches than the backend's
    y = sn.val_data.y
    return 100.0 * float((logits.argmax(1) == y).float().mean()), float(F.cross_entropy(logits, y))


@pytest.mark.parametrize(
    "kernel,stride,padding,hw",
    [
        (k, s, p, hw)
        for k, s, p in [(3, 1, 1), (3, 2, 1), (2, 2, 0)]
        for hw in [(28, 28), (7, 7), (8, 5), (1, 1)]
        if (min(hw) + 2 * p - k) // s + 1 >= 1  # sizes with an output
    ],
)
def test_count_pool_matches_avg_pool_in_values_and_gradients(kernel, stride, padding, hw):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, *hw, generator=gen, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    ours, theirs = (
        CountAvgPool2d(kernel, stride, padding),
        nn.AvgPool2d(kernel, stride, padding, count_include_pad=False),
    )
    want = theirs(x)
    got = ours(x)
    with torch.inference_mode():  # inference rescales only the border rows and columns
        got_inference = ours(x.detach())
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got_inference, want.detach(), rtol=1e-12, atol=1e-12)
    ours_first_in_inference = CountAvgPool2d(kernel, stride, padding)
    with torch.inference_mode():
        ours_first_in_inference(x.detach())
    torch.testing.assert_close(ours_first_in_inference(x), want)  # its constants serve autograd afterwards too
    g = torch.randn(want.shape, generator=gen, dtype=torch.float64)
    (grad_want,) = torch.autograd.grad(want, x, g)
    (grad_got,) = torch.autograd.grad(got, x, g)
    torch.testing.assert_close(grad_got, grad_want, rtol=1e-12, atol=1e-12)


def eval_unit(seed: int) -> tuple[nn.Sequential, nn.Sequential, torch.Tensor]:
    """A ReLU-Conv-BN unit in eval mode with statistics and affine parameters away from their
    initial 0 / 1, the same modules as a plain ``nn.Sequential``, and an input."""
    torch.manual_seed(seed)
    unit = relu_conv_bn(4, 6, 3, 2, 1)
    unit.train()
    with torch.no_grad():
        unit(torch.randn(32, 4, 9, 9) * 3 + 1)
        unit[2].weight.uniform_(0.5, 2.0)
        unit[2].bias.uniform_(-1.0, 1.0)
    unit.eval()
    return unit, nn.Sequential(*unit), torch.randn(5, 4, 9, 9).contiguous(memory_format=torch.channels_last)


def count_calls(monkeypatch, name: str) -> list[int]:
    """Calls of ``cells.<name>`` from now on (one entry each)."""
    calls: list[int] = []
    real = getattr(cells, name)
    monkeypatch.setattr(cells, name, lambda *a: calls.append(1) or real(*a))
    return calls


def test_folded_conv_bn_matches_the_modules_and_only_under_inference(monkeypatch):
    unit, plain, x = eval_unit(0)
    folds = count_calls(monkeypatch, "folded_conv_bn")
    with torch.inference_mode():
        folded = unit(x)
    assert folds == [1]
    torch.testing.assert_close(folded, plain(x), rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        unit(x)
    xg = x.clone().requires_grad_(True)
    (g1,) = torch.autograd.grad(unit(xg).sum(), xg)
    (g2,) = torch.autograd.grad(plain(xg).sum(), xg)
    torch.testing.assert_close(g1, g2)
    assert folds == [1]  # outside inference mode the modules run one by one
    calls = []
    handle = unit[2].register_forward_pre_hook(lambda m, a: calls.append(1))
    with torch.inference_mode():
        unit(x)
    assert folds == [1] and calls == [1]  # a hooked batch norm runs as itself
    handle.remove()
    seen = []
    handle = torch.nn.modules.module.register_module_forward_hook(lambda m, a, o: seen.append(type(m).__name__))
    with torch.inference_mode():
        unit(x)
    handle.remove()
    assert folds == [1] and "BatchNorm2d" in seen  # so does every module under a global hook


def test_darts_folded_sep_conv_matches_the_modules():
    torch.manual_seed(1)
    net = DartsSupernet(**DARTS_SIZES["tiny"], in_channels=1, num_classes=10, image_size=8)
    ref = plain_copy(net)
    x = torch.randn(16, 1, 8, 8)
    path = mixed(torch.full((28, 8), 0.2))
    net.train()
    ref.train()
    with torch.no_grad():  # same statistics in both copies
        net(x, path)
        ref(x, path)
    net.eval()
    ref.eval()
    with torch.inference_mode():
        torch.testing.assert_close(net(x, path), ref(x, path), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("space", ["nb201", "darts"])
def test_training_gradients_are_unchanged(space):
    """A one-shot (all ops mixed) and a single-path step: same loss and gradients as the plain modules."""
    torch.manual_seed(2)
    if space == "nb201":
        net = NB201Supernet(**NB201_SIZES["tiny"], in_channels=1, num_classes=10, image_size=12)
        codes = net.space.from_string(POOLS)
    else:
        net = DartsSupernet(**DARTS_SIZES["tiny"], in_channels=1, num_classes=10, image_size=12)
        codes = net.space.sample(np.random.default_rng(0))
    net = net.double()
    ref = plain_copy(net)
    x = torch.randn(8, 1, 12, 12, dtype=torch.float64)
    y = torch.arange(8) % 10
    alphas = torch.full((net.space.n_decisions, net.n_options), 0.25, dtype=torch.float64, requires_grad=True)
    for path in (single_path(codes), mixed(alphas)):
        grads = []
        for m in (net, ref):
            m.train()
            m.zero_grad(set_to_none=True)
            alphas.grad = None
            loss = F.cross_entropy(m(x, path), y)
            loss.backward()
            grads.append([p.grad for p in m.parameters()] + [alphas.grad])
        for a, b in zip(*grads):
            assert (a is None) == (b is None)
            if a is not None:
                torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)


@pytest.fixture(scope="module")
def digits_sn():
    return SupernetBackend(
        space="nb201",
        dataset="digits",
        size="tiny",
        device="cpu",
        epochs=8,
        n_val=None,
        recal_batches=4,
        cache_size=0,
        progress=False,
    )


def test_frozen_queries_give_the_plain_modules_numbers(digits_sn):
    sn = digits_sn
    cells = [sn.space.from_string(POOLS), *sn.space.sample(np.random.default_rng(5), 5)]
    accuracies = []
    for codes in cells:
        rec = sn.query(codes)
        acc, loss = reference_measure(sn, codes)
        assert rec.val == pytest.approx(acc, abs=100.0 / len(sn.val_data) + 1e-9)  # at most one image flips
        assert rec.loss == pytest.approx(loss, rel=1e-5)
        accuracies.append(rec.val)
    assert max(accuracies) > 40  # trained children, not chance: the comparison means something


def test_cached_stem_gives_the_uncached_numbers_and_follows_the_weights(digits_sn, monkeypatch):
    sn = copy.deepcopy(digits_sn)
    cells = sn.space.sample(np.random.default_rng(6), 4)
    cached = [sn.query(c) for c in cells]
    assert sn._stem is not None and sn._stem[1] is not None  # the queries ran on cached stem outputs
    monkeypatch.setattr(B, "STEM_CACHE_BYTES", 0)
    fresh = copy.deepcopy(digits_sn)
    uncached = [fresh.query(c) for c in cells]
    assert fresh._stem[1] is None  # over the limit: nothing kept
    assert [(r.val, r.loss) for r in cached] == [(r.val, r.loss) for r in uncached]
    monkeypatch.undo()

    # a white-box step that moves the stem (no weights_changed() call): the next query must see it
    opt = torch.optim.SGD(sn.network.parameters(), lr=0.5)
    x, y = sn.train_data.sample(np.random.default_rng(0), 64)
    train_step(sn.network, single_path(cells[0]), x, y, opt)
    sn._measured.clear()
    after = sn.query(cells[1])
    assert (after.val, after.loss) != (cached[1].val, cached[1].loss)
    assert (after.val, after.loss) == pytest.approx(
        reference_measure(sn, cells[1]), rel=1e-5, abs=100.0 / len(sn.val_data)
    )


def test_a_hooked_network_runs_every_forward(digits_sn):
    """A forward hook on the supernet (a pass counter, a data-flow trace) sees every image of a
    query: the cached stem steps aside, and the numbers stay the same."""
    sn = copy.deepcopy(digits_sn)
    codes = sn.space.sample(np.random.default_rng(7))
    cached = sn.query(codes)
    images = []
    handle = sn.network.register_forward_pre_hook(lambda m, a: images.append(len(a[0])))
    sn._measured.clear()
    hooked = sn.query(codes)
    handle.remove()
    assert sum(images) == len(sn._recal) * sn.recipe.batch_size + len(sn.val_data)
    assert (hooked.val, hooked.loss) == pytest.approx((cached.val, cached.loss), rel=1e-6)


def test_train_mode_queries_do_not_cache_the_stem():
    sn = SupernetBackend(
        space="nb201",
        dataset="digits",
        size="tiny",
        device="cpu",
        mode="train",
        epochs=1,
        n_val=100,
        recal_batches=2,
        train_batches=2,
        cache_size=0,
        progress=False,
    )
    sn.query(sn.space.sample(np.random.default_rng(0)), rng=np.random.default_rng(0))
    assert sn._stem is None


def test_folds_are_reused_until_a_weight_or_statistic_changes(monkeypatch):
    """An evaluation folds each batch norm once and reuses it for every batch; a recalibration, an
    optimiser step or loaded weights change a version, and the next forward folds anew."""
    unit, plain, x = eval_unit(3)
    folds = count_calls(monkeypatch, "fold_conv_bn")

    def check(n_folds):
        with torch.inference_mode():
            got = unit(x)
        torch.testing.assert_close(got, plain(x), rtol=1e-5, atol=1e-5)
        assert len(folds) == n_folds

    check(1)
    check(1)  # same weights and statistics: the fold is reused
    with torch.no_grad():
        unit[2].running_var.mul_(4.0)  # what a recalibration does: in place
    check(2)
    opt = torch.optim.SGD(unit.parameters(), lr=0.5)
    unit.train()
    F.cross_entropy(unit(x).flatten(1)[:, :6], torch.arange(5)).backward()
    opt.step()
    unit.eval()
    check(3)
    unit.load_state_dict(nn.Sequential(*relu_conv_bn(4, 6, 3, 2, 1)).state_dict())
    check(4)
    with torch.inference_mode():  # a forward in training mode folds nothing
        unit.train()
        unit(x)
        unit.eval()
    check(5)  # the statistics moved


ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|nor_conv_3x3~0|skip_connect~1|nor_conv_1x1~2|"
SKIPS = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|nor_conv_3x3~0|skip_connect~1|skip_connect~2|"


@pytest.mark.parametrize("space", ["nb201", "darts"])
def test_shared_relus_and_in_place_sums_give_the_plain_numbers(space, monkeypatch):
    """Without autograd, ops reading one node share its ReLU, node sums accumulate in place and the
    reduction block's ReLU and sum run in place: bit for bit the numbers of the modules run one by
    one (a global forward hook makes every fast path step aside), in train mode (a recalibration:
    outputs and the statistics it accumulates) and eval mode, and the input (a cached stem output)
    is left as it was."""
    torch.manual_seed(4)
    if space == "nb201":
        net = NB201Supernet(**NB201_SIZES["tiny"], in_channels=1, num_classes=10, image_size=12)
        codes = [net.space.from_string(s) for s in (ALL_CONV, SKIPS, POOLS)]
    else:
        net = DartsSupernet(**DARTS_SIZES["tiny"], in_channels=1, num_classes=10, image_size=12)
        codes = list(net.space.sample(np.random.default_rng(1), 3))
    codes += list(net.space.sample(np.random.default_rng(2), 3))
    alphas = torch.softmax(torch.randn(net.space.n_decisions, net.n_options), 1)
    relus = []
    real_relu = F.relu
    monkeypatch.setattr(F, "relu", lambda x, inplace=False: relus.append(1) or real_relu(x, inplace))
    x = torch.randn(16, 1, 12, 12)
    counted = {"fast": 0, "plain": 0}
    for path in [single_path(c) for c in codes] + [mixed(alphas)]:
        for training in (True, False):
            outs, stats = {}, {}
            for how in ("fast", "plain"):
                m = copy.deepcopy(net).train(training)
                with torch.no_grad():
                    h = m.stem_output(x)
                before = h.clone()
                relus.clear()
                watch = (
                    torch.nn.modules.module.register_module_forward_hook(lambda *a: None) if how == "plain" else None
                )
                with torch.no_grad():
                    outs[how] = m.after_stem(h, path)
                if watch is not None:
                    watch.remove()
                counted[how] += len(relus)
                assert torch.equal(h, before)  # the input is not written to
                stats[how] = [b.clone() for bn in batch_norms(m) for b in (bn.running_mean, bn.running_var)]
            assert torch.equal(outs["fast"], outs["plain"])
            assert all(torch.equal(a, b) for a, b in zip(stats["fast"], stats["plain"]))
    assert counted["fast"] < counted["plain"]  # ReLUs were shared
