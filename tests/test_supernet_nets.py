"""The weight-sharing networks: the three kinds of path agree where they should, unused and
dead-end ops take no compute and no gradient, gate gradients match finite differences, and the
NB201 skeleton's child parameter counts match the benchmark's table."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nas_gym.supernets.cells import trace_macs
from nas_gym.supernets.darts_net import DARTS_SIZES, DartsSupernet
from nas_gym.supernets.nb201_net import NB201_SIZES, NB201Supernet
from nas_gym.supernets.paths import gated, mixed, single_path

# node 1 (a conv) feeds nothing: edge 0 is a dead end
DEAD_A = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|skip_connect~2|"
DEAD_B = "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|skip_connect~2|"
CUT = "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|"  # nothing reaches node 3
FULL = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def nb201(seed: int = 0, **kw) -> NB201Supernet:
    torch.manual_seed(seed)
    return NB201Supernet(**{**NB201_SIZES["tiny"], "in_channels": 2, "num_classes": 5, "image_size": 8, **kw})


def darts(seed: int = 0) -> DartsSupernet:
    torch.manual_seed(seed)
    return DartsSupernet(**DARTS_SIZES["tiny"], in_channels=2, num_classes=5, image_size=8)


def images(n: int = 6, hw: int = 8, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 2, hw, hw, generator=torch.Generator().manual_seed(seed))


def one_hot(codes: np.ndarray, n_options: int) -> torch.Tensor:
    w = torch.zeros(len(codes), n_options)
    w[torch.arange(len(codes)), torch.as_tensor(codes)] = 1.0
    return w


def nets_and_codes():
    rng = np.random.default_rng(3)
    a, d = nb201(), darts()
    return [(a, a.space.from_string(FULL)), (a, a.space.sample(rng)), (d, d.space.sample(rng))]


def settle(net, x) -> None:
    """Move every batch norm's statistics off their initial values (all ops, train mode)."""
    net.train()
    with torch.no_grad():
        net(x, mixed(torch.full((net.space.n_decisions, net.n_options), 0.3)))
    net.eval()


@pytest.mark.parametrize("case", range(3))
def test_one_hot_mixed_and_gated_equal_single_path(case):
    net, codes = nets_and_codes()[case]
    x = images()
    settle(net, x)
    with torch.no_grad():
        ref = net(x, single_path(codes))
        w = one_hot(codes, net.n_options)
        assert torch.allclose(net(x, mixed(w)), ref, atol=1e-5)
        assert torch.allclose(net(x, gated(w)), ref, atol=1e-6)
        assert torch.equal(net(x, single_path(codes, n_options=net.n_options)), ref)


@pytest.mark.parametrize("space", ["nb201", "darts"])
def test_gate_gradients_match_finite_differences(space):
    net = (nb201() if space == "nb201" else darts()).double()
    codes = net.space.from_string(FULL) if space == "nb201" else net.space.sample(np.random.default_rng(0))
    x = images().double()
    settle(net, x)
    r = torch.randn(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    gates = one_hot(codes, net.n_options).double()
    e = int(np.flatnonzero(codes)[0])
    other = next(o for o in range(1, net.n_options) if o != codes[e])
    active = gates != 0
    active[e, other] = True  # runs with gate 0: adds nothing but gets its gradient (eq. 7)

    def loss(g: torch.Tensor) -> torch.Tensor:
        return (net(x, gated(g, active)) * r).sum()

    g = gates.clone().requires_grad_(True)
    out = loss(g)
    out.backward()
    with torch.no_grad():
        assert torch.allclose(net(x, gated(gates, active)), net(x, single_path(codes)))
    assert g.grad is not None and torch.count_nonzero(g.grad[~active]) == 0
    eps = 1e-5
    for o in (int(codes[e]), other):
        with torch.no_grad():
            hi, lo = gates.clone(), gates.clone()
            hi[e, o] += eps
            lo[e, o] -= eps
            fd = (loss(hi) - loss(lo)) / (2 * eps)
        assert float(g.grad[e, o]) == pytest.approx(float(fd), rel=1e-5, abs=1e-8)
    assert float(g.grad[e, other]) != 0.0


def test_mixed_weights_get_gradients():
    net = nb201()
    alpha = torch.zeros(6, 5, requires_grad=True)
    F.cross_entropy(net(images(), mixed(alpha.softmax(1))), torch.arange(6) % 5).backward()
    assert alpha.grad is not None and torch.count_nonzero(alpha.grad) > 0


def grads(net) -> tuple[set[str], set[str]]:
    names = {k for k, p in net.named_parameters() if p.grad is not None}
    return names, {k for k, _ in net.named_parameters()} - names


def test_unused_and_dead_end_ops_get_no_gradient_nb201():
    net = nb201()
    codes = net.space.from_string(DEAD_A)
    net.train()
    F.cross_entropy(net(images(), single_path(codes)), torch.arange(6) % 5).backward()
    used, unused = grads(net)
    assert any(".edges.3.nor_conv_1x1." in k for k in used)
    assert any(k.startswith("stem.") for k in used) and "classifier.weight" in used
    assert not any(".edges.0." in k for k in used)  # the dead-end conv
    assert not any(".nor_conv_3x3." in k for k in used)
    live = net.live(codes)
    assert live.shape == (6, 5) and not live[0].any() and live[3, 2] and live[5, 1]
    # an op that runs with every weight: one the path did not use still got nothing
    assert all(p.grad is None for k, p in net.named_parameters() if ".edges.1." in k)


def test_unused_ops_get_no_gradient_darts():
    net = darts()
    codes = net.space.sample(np.random.default_rng(5))
    F.cross_entropy(net(images(), single_path(codes)), torch.arange(6) % 5).backward()
    used, unused = grads(net)
    names = net.space.op_names(codes)
    for cell, module in enumerate(net.cells):
        half = 14 * int(module.reduction)
        for e in range(14):
            for o, name in enumerate(net.space.options[0]):
                got = {k for k in used if k.startswith(f"cells.{cell}.edges.{e}.{name}.")}
                params = [k for k, _ in module.edges[e][name].named_parameters()] if o else []
                if params:
                    assert bool(got) == (names[half + e] == name), (cell, e, name)


def test_dead_edges_change_nothing_and_a_cut_off_cell_outputs_zeros():
    net = nb201()
    a, b = net.space.from_string(DEAD_A), net.space.from_string(DEAD_B)
    x = images()
    net.train()
    assert torch.equal(net(x, single_path(a)), net(x, single_path(b)))
    assert net.flops(a) == net.flops(b)
    assert net.param_count(a) != net.param_count(b)  # NAS-Bench-201 counts dead-edge ops
    cut = net.space.from_string(CUT)
    assert not net.live(cut).any()
    net.eval()
    with torch.no_grad():
        y1, y2 = net(x, single_path(cut)), net(-3 * x + 1, single_path(cut))
    assert torch.equal(y1[0], y1[-1]) and torch.equal(y1, y2)
    zeros = np.zeros(6, dtype=np.int64)
    assert net.flops(cut) == net.flops(zeros) == child_macs(net.child(zeros), 8)
    assert net.flops(net.space.from_string(FULL)) > net.flops(cut)


def child_macs(child, hw: int) -> int:
    """Multiply-accumulates of one image through a plain child, traced independently of the tables."""
    return sum(trace_macs(child, child, (2, hw, hw)).values())


def test_flops_are_the_childs_traced_macs():
    rng = np.random.default_rng(7)
    for net in (nb201(), darts()):
        for codes in [*net.space.sample(rng, 3), np.zeros(net.space.n_decisions, dtype=np.int64)]:
            child = net.child(codes)
            assert net.flops(codes) == child_macs(child, 8)
            assert net.flops(codes, image_size=16) == child_macs(child, 16)
        # a path runs the sum of its ops: every op mixed costs more than any child
        assert net.flops(mixed(torch.ones(net.space.n_decisions, net.n_options))) > net.flops(codes)


@pytest.mark.parametrize("case", range(3))
def test_child_with_copied_weights_matches_single_path(case):
    net, codes = nets_and_codes()[case]
    x = images()
    settle(net, x)
    child = net.child(codes, copy_weights=True)
    fresh = net.child(codes)
    names = set(child.state_dict())
    assert names == set(fresh.state_dict()) and names <= set(net.state_dict())
    with torch.no_grad():
        net.eval(), child.eval()
        assert torch.equal(child(x), net(x, single_path(codes)))
        assert not torch.allclose(fresh.eval()(x), child(x))
    net.train(), child.train()
    assert torch.allclose(child(x), net(x, single_path(codes)), atol=1e-6)
    if not (net.live(codes)[:, 1:].any(1) != (np.asarray(codes) != 0)).any():  # no dead edge
        assert sum(p.numel() for p in child.parameters()) == net.param_count(codes)


def test_bad_paths_are_rejected():
    net = nb201()
    with pytest.raises(ValueError):
        net(images(), mixed(torch.ones(5, 5)))
    with pytest.raises(ValueError):
        net(images(), single_path(np.zeros(28, dtype=np.int64)))
    with pytest.raises(ValueError):
        net.param_count([0, 1, 2, 3, 4, 5])


def test_param_count_matches_the_nb201_table():
    """At the benchmark's size, the child's count is NAS-Bench-201's model size: exactly the table's
    mean for every cell whose training runs agree on it (98.7%), and one of the runs' values for
    all 15,625 cells (204 cells list two different sizes across seeds in the published table)."""
    nas_gym = pytest.importorskip("nas_gym")
    try:
        b = nas_gym.load_benchmark("nb201", dataset="cifar10")
        from nas_gym.benchmarks import nb201, unpickle

        with open(nb201.source_file("cifar10"), "rb") as f:
            raw = unpickle.load(f)
    except (ImportError, FileNotFoundError, OSError) as err:  # the table's package is not installed
        pytest.skip(f"NAS-Bench-201 table unavailable: {err}")
    net = NB201Supernet(C=16, N=5, in_channels=3, num_classes=10)
    codes = b.space.codes_batch(np.arange(len(b.params)))
    counts = np.array([net.param_count(c) for c in codes])
    exact = np.mean(counts == np.round(b.params))
    assert exact >= 0.985
    radix = 5 ** np.arange(5, -1, -1)
    agree = 0
    for key, v in raw.items():
        sizes = {round(m * 1e6) for m in v["model_size"]}
        i = int(np.dot([int(c) for c in key], radix))
        assert counts[i] in sizes, key
        if len(sizes) == 1:
            agree += 1
            assert counts[i] == round(b.params[i])
    assert agree / len(raw) >= 0.985
