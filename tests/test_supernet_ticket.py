"""Lottery-ticket retraining (LNAS variant 1) on a tiny NB201 child and real digits: the requested
sparsity after n rounds, pruned weights staying zero, rewinding to the initial values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nas_gym.supernets.backend import SupernetBackend, fresh_child, train_epochs
from nas_gym.supernets.ticket import kept_fraction, prunable, prune_to, rewind, train_ticket, weight_of, zero_fraction

CODES = np.array([3, 2, 1, 3, 4, 3])  # conv3x3, conv1x1, skip, conv3x3, avg pool, conv3x3


@pytest.fixture(scope="module")
def backend():
    torch.set_num_threads(1)
    return SupernetBackend(
        space="nb201",
        dataset="digits",
        size="tiny",
        device="cpu",
        epochs=0,
        n_val=300,
        recipe={"batch_size": 32},
        cache_size=0,
    )


def child_of(backend, seed=0):
    return fresh_child(backend.network, CODES, seed, backend.device)


def test_geometric_schedule_reaches_the_sparsity_in_n_rounds():
    for p, n in ((0.5, 4), (0.95, 3), (0.125, 1)):
        kept = [kept_fraction(p, n, k) for k in range(n + 1)]
        assert kept[0] == 1.0 and kept[-1] == pytest.approx(1 - p)
        assert np.allclose(np.diff(np.log(kept)), np.log(1 - p) / n)  # each round keeps the same share
    # the literal "prune p^(1/n) of the survivors each round" would overshoot: p=0.5, n=4 keeps 0.06%
    assert (1 - 0.5**0.25) ** 4 < 0.001


def test_retraining_reaches_the_sparsity_and_pruned_weights_stay_zero(backend):
    child = child_of(backend)
    pairs = prunable(child)
    assert pairs and all(isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) for m, _ in pairs)
    bn = [m for m in child.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    ticket = train_ticket(
        child, backend.train_data, backend.val_data, backend.recipe, epochs=3, sparsity=0.6, rounds=2, seed=0
    )
    total = sum(m.weight.numel() for m, _ in pairs)
    survivors = sum(int(m.weight_mask.sum()) for m, _ in pairs)
    assert survivors == round(0.4 * total) and ticket.prunable == total
    assert ticket.sparsity == pytest.approx(0.6, abs=1.5 / total) == zero_fraction(pairs)
    assert ticket.prune_epochs == [1, 2] and len(ticket.val) == 3 and all(0 <= v <= 100 for v in ticket.val)
    for m, _ in pairs:  # after the last segment's training: zero exactly where pruned, trained elsewhere
        assert torch.all(m.weight[m.weight_mask == 0] == 0)
        assert torch.count_nonzero(m.weight[m.weight_mask == 1]) == int(m.weight_mask.sum())
        assert m.weight_orig.grad is None or torch.all(m.weight_orig.grad[m.weight_mask == 0] == 0)
    assert all(not hasattr(m, "weight_mask") for m in bn)  # batch norm is never pruned
    assert ticket.train_images == 3 * (len(backend.train_data) // 32) * 32 and ticket.eval_images == 3 * 300


def test_rewind_restores_the_survivors_to_their_initial_values(backend):
    child = child_of(backend)
    params = list(child.parameters())
    init = [p.detach().clone() for p in params]
    pairs = prunable(child)
    before = {id(m): m.weight.detach().clone() for m, _ in pairs}
    train_epochs(child, backend.train_data, backend.recipe, 1, seed=0)
    trained = {id(m): m.weight.detach().clone() for m, _ in pairs}
    assert any(not torch.equal(before[k], trained[k]) for k in before)
    total = sum(w.numel() for w in trained.values())
    prune_to(pairs, total // 2)
    rewind(params, init)
    kept, gone = [], []
    for m, _ in pairs:
        mask, w = m.weight_mask.bool(), weight_of(m, "weight")
        assert torch.equal(w[mask], before[id(m)][mask])  # survivors back at theta_0
        assert torch.all(w[~mask] == 0)
        kept.append(trained[id(m)][mask].abs()), gone.append(trained[id(m)][~mask].abs())
    # the pruned ones were the smallest by trained magnitude, ranked over all layers at once
    assert torch.cat(gone).max() <= torch.cat(kept).min() and sum(len(g) for g in gone) == total - total // 2
    assert all(torch.equal(p, p0) for p, p0 in zip(params, init))
    child(backend.train_data.sample(np.random.default_rng(0), 8)[0])  # the forward refreshes .weight
    assert all(torch.equal(m.weight, weight_of(m, "weight")) for m, _ in pairs)


def test_bad_settings_name_the_value(backend, raises_naming):
    def run(**kw):
        return train_ticket(
            child_of(backend),
            backend.train_data,
            backend.val_data,
            backend.recipe,
            **{"epochs": 2, "sparsity": 0.5, "rounds": 1, **kw},
        )

    raises_naming(lambda: run(sparsity=1.0), "1.0", "[0, 1)")
    raises_naming(lambda: run(sparsity=-0.1), "-0.1", "[0, 1)")
    raises_naming(lambda: run(rounds=-1), "-1", ">= 0")
    raises_naming(lambda: run(epochs=2, rounds=2), "2", ">= rounds + 1 = 3")


def test_each_round_retrains_the_survivors_from_their_initial_values(backend, monkeypatch):
    """train_ticket's second segment starts from theta_0 (masked) and the initial batch-norm
    statistics, not from the weights the first segment trained."""
    import nas_gym.supernets.ticket as ticket_module

    child = child_of(backend)
    init = {n: p.detach().clone() for n, p in child.named_parameters()}
    init_bn = {n: b.detach().clone() for n, b in child.named_buffers() if "running" in n}
    starts = []
    real = ticket_module.train_epochs

    def recording(net, *args, **kwargs):
        starts.append(
            (
                {n: weight_of(m, "weight").clone() for n, m in net.named_modules() if (m, "weight") in prunable(net)},
                {n: b.detach().clone() for n, b in net.named_buffers() if "running" in n},
            )
        )
        return real(net, *args, **kwargs)

    monkeypatch.setattr(ticket_module, "train_epochs", recording)
    train_ticket(child, backend.train_data, backend.val_data, backend.recipe, epochs=2, sparsity=0.5, rounds=1, seed=0)
    assert len(starts) == 2
    weights, bn = starts[1]
    for name, w in weights.items():
        mask = dict(child.named_modules())[name].weight_mask.bool()
        assert torch.equal(w[mask], init[f"{name}.weight"][mask]) and torch.all(w[~mask] == 0), name
    assert all(torch.equal(bn[n], init_bn[n]) for n in init_bn)
