"""The supernet backend on real images (scikit-learn's digits, tiny networks): repeatable frozen
queries, train-mode isolation of unsampled weights, checkpoints, the ddas reward, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nas_gym.benchmarks.table import Record
from nas_gym.envs.rewards import make_reward
from nas_gym.supernets.backend import SupernetBackend, simulated_seconds
from nas_gym.supernets.checkpoint import checkpoint_path
from nas_gym.supernets.loops import train_step
from nas_gym.supernets.paths import single_path
from nas_gym.supernets.pretrain import Recipe, make_optimizer

SKIP = "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|"
CONV = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
CUT = "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|"  # nothing reaches node 3


def make(**kw) -> SupernetBackend:
    args = dict(space="nb201", dataset="digits", size="tiny", device="cpu", epochs=1, n_val=None, cache_size=0)
    return SupernetBackend(**{**args, **kw})


@pytest.fixture(scope="module")
def frozen(tmp_path_factory):
    torch.set_num_threads(1)
    return make(recipe={"batch_size": 32}, epochs=2)


def state(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def test_frozen_queries_repeat_bit_for_bit_and_change_nothing(frozen):
    before = state(frozen.network)
    a1 = frozen.query(CONV)
    b = frozen.query(SKIP)
    a2 = frozen.query(CONV)
    assert (a1.val, a1.loss, a1.cost_s) == (a2.val, a2.loss, a2.cost_s)
    assert (a1.val, a1.loss) != (b.val, b.loss)
    after = frozen.network.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_record_fields(frozen):
    rec = frozen.query(CONV)
    assert 0.0 <= rec.val <= 100.0 and rec.loss > 0
    assert rec.params == frozen.network.param_count(frozen.space.from_string(CONV))
    assert rec.flops == frozen.network.flops(frozen.space.from_string(CONV)) > 0
    n_images = len(frozen._recal) * frozen.recipe.batch_size + len(frozen.val_data)
    assert rec.cost_s == pytest.approx(simulated_seconds(rec.flops, n_images, backward=False))
    assert rec.extra["wall_s"] > 0


def test_cut_off_cell_scores_chance_without_cell_compute(frozen):
    rec = frozen.query(CUT)
    y = frozen.val_data.y.numpy()
    shares = {round(100.0 * float(np.mean(y == c)), 6) for c in range(10)}
    assert round(rec.val, 6) in shares  # one constant prediction
    none = frozen.query(np.zeros(6, dtype=np.int64))
    assert rec.flops == none.flops  # the cell's convolutions never run
    assert frozen.query(CONV).flops > rec.flops


def test_cells_differing_only_on_dead_edges_score_the_same(frozen):
    a = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|skip_connect~2|"
    b = "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|skip_connect~2|"  # node 1 feeds nothing
    ra, rb = frozen.query(a), frozen.query(b)
    assert (ra.val, ra.loss, ra.flops) == (rb.val, rb.loss, rb.flops)
    assert ra.params != rb.params  # counted as NAS-Bench-201 counts them: every op of the genotype


def test_train_mode_leaves_unsampled_weights_and_optimiser_state_alone():
    torch.set_num_threads(1)
    sn = make(mode="train", train_batches=3, recipe={"batch_size": 32})
    rng = np.random.default_rng(0)
    sn.query(CONV, rng=rng)  # gives the conv ops momentum
    params = dict(sn.network.named_parameters())
    before = {k: p.detach().clone() for k, p in params.items()}
    momentum = {k: sn._opt.state[p]["momentum_buffer"].clone() for k, p in params.items() if p in sn._opt.state}
    sn.query(SKIP, rng=rng)  # no cell op on this path has parameters
    unused = [k for k, p in params.items() if p.grad is None]
    used = [k for k, p in params.items() if p.grad is not None]
    assert used and any(k in momentum for k in unused)  # conv ops trained before, idle now
    for k in unused:
        assert torch.equal(params[k], before[k]), k
        if k in momentum:
            assert torch.equal(sn._opt.state[params[k]]["momentum_buffer"], momentum[k]), k
    assert any(not torch.equal(params[k], before[k]) for k in used)


def test_train_mode_trains_and_needs_rng():
    torch.set_num_threads(1)
    sn = make(mode="train", train_batches=2, recipe={"batch_size": 32})
    w0 = state(sn.network)
    rec = sn.query(CONV, rng=np.random.default_rng(1))
    assert any(not torch.equal(w0[k], v) for k, v in sn.network.state_dict().items())
    measured = sn.query(CONV, noise="mean").cost_s  # recalibration and validation images, forward only
    assert measured == pytest.approx(
        simulated_seconds(rec.flops, len(sn._recal) * 32 + len(sn.val_data), backward=False)
    )
    # training is charged as forward and backward passes of its 2 x 32 images
    assert rec.cost_s == pytest.approx(measured + simulated_seconds(rec.flops, 2 * 32, backward=True))
    with pytest.raises(ValueError, match="rng"):
        sn.query(CONV)


def test_ddas_reward_follows_eq_3_3():
    r = make_reward("ddas", oneshot=(40.0, 1.5))
    recs = [Record(0, 50.0, 1.0, loss=1.2), Record(1, 45.0, 1.0, loss=1.4), Record(2, 70.0, 1.0, loss=0.9)]
    got = [r(recs[0], None), r(recs[1], recs[0]), r(recs[2], recs[1])]
    want = [
        0.5 * (0.50 - 0.40) + 0.5 * (1.5 - 1.2),
        0.5 * (0.45 - 0.40) + 0.5 * (1.2 - 1.4),
        0.5 * (0.70 - 0.40) + 0.5 * (1.4 - 0.9),
    ]
    assert got == pytest.approx(want)


def test_checkpoint_cached_resumed_rebuilt_and_recipe_checked(tmp_path):
    torch.set_num_threads(1)
    first = make(recipe={"batch_size": 64}, epochs=1)
    assert first.trained_steps > 0
    again = make(recipe={"batch_size": 64}, epochs=1)
    assert again.trained_steps == 0  # cached: no training step
    assert all(
        torch.equal(a, b) for a, b in zip(first.network.state_dict().values(), again.network.state_dict().values())
    )
    other = make(recipe={"batch_size": 64, "lr": 0.05}, epochs=1)
    assert other.checkpoint_file != first.checkpoint_file and other.trained_steps > 0
    # a truncated file is reported and rebuilt
    data = first.checkpoint_file.read_bytes()
    first.checkpoint_file.write_bytes(data[: len(data) // 3])
    with pytest.warns(UserWarning, match="not a readable archive"):
        rebuilt = make(recipe={"batch_size": 64}, epochs=1)
    assert rebuilt.trained_steps == first.trained_steps
    # a checkpoint of another recipe is refused by name
    with pytest.raises(ValueError, match="another recipe"):
        make(recipe={"batch_size": 64}, epochs=1, checkpoint=other.checkpoint_file)


def test_killed_pretraining_resumes_at_its_last_epoch(monkeypatch):
    torch.set_num_threads(1)
    import nas_gym.supernets.backend as backend

    full = make(recipe={"batch_size": 64, "lr": 0.03}, epochs=2)
    full.checkpoint_file.unlink()
    calls = {"n": 0}
    real = SupernetBackend._sample_path

    def dies_in_epoch_two(self, rng):
        calls["n"] += 1
        if calls["n"] > full.trained_steps // 2:
            raise KeyboardInterrupt
        return real(self, rng)

    monkeypatch.setattr(backend.SupernetBackend, "_sample_path", dies_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        make(recipe={"batch_size": 64, "lr": 0.03}, epochs=2)
    monkeypatch.setattr(backend.SupernetBackend, "_sample_path", real)
    resumed = make(recipe={"batch_size": 64, "lr": 0.03}, epochs=2)
    assert resumed.trained_steps == full.trained_steps // 2  # only the second epoch ran again
    assert all(
        torch.equal(a, b) for a, b in zip(full.network.state_dict().values(), resumed.network.state_dict().values())
    )


def test_evaluate_reads_the_test_split(frozen):
    acc = frozen.evaluate(CONV)
    assert 0.0 <= acc <= 100.0
    assert frozen.evaluate(CONV) == acc  # the supernet does not change
    alone = frozen.evaluate(CONV, epochs=1)
    assert 0.0 <= alone <= 100.0


def test_white_box_interface(frozen):
    rng = np.random.default_rng(0)
    x, y = next(frozen.train_batches_iter(rng))
    assert x.shape[0] == y.shape[0] == frozen.recipe.batch_size and x.dtype == torch.float32
    snap = frozen.snapshot()
    with torch.no_grad():
        next(frozen.network.parameters()).add_(1.0)
    frozen.restore(snap)
    assert all(torch.equal(snap["model"][k], v) for k, v in frozen.network.state_dict().items())
    frozen.charge(5.0)
    rec = frozen.query(SKIP)
    assert rec.cost_s == pytest.approx(5.0 + frozen.query(SKIP).cost_s)  # charged once, to the next query


def test_bad_input_names_the_value(tmp_path, raises_naming):
    raises_naming(lambda: make(dataset="svhn"), "svhn", "mnist")
    raises_naming(lambda: make(size="huge"), "huge", "tiny")
    raises_naming(lambda: make(mode="warm"), "warm", "frozen")
    raises_naming(lambda: make(space="nasnet"), "nasnet", "darts")
    raises_naming(lambda: make(device="tpu"), "tpu", "cuda")
    if not torch.cuda.is_available():
        raises_naming(lambda: make(device="cuda"), "cuda", "cpu")
    raises_naming(lambda: make(recipe={"lr": 0.1, "momentun": 0.8}), "momentun", "momentum")
    with pytest.raises(FileNotFoundError, match="fashion"):
        make(dataset="fashion-mnist", path=tmp_path / "nowhere")


def test_checkpoint_key_covers_the_recipe():
    base = {
        "space": "nb201",
        "size": "tiny",
        "dataset": "digits",
        "data": "x",
        "split_seed": 0,
        "seed": 0,
        "recipe": Recipe().as_dict(),
    }
    keys = {checkpoint_path(base)}
    for change in ({"seed": 1}, {"split_seed": 1}, {"size": "small"}, {"recipe": Recipe(epochs=3).as_dict()}):
        keys.add(checkpoint_path({**base, **change}))
    assert len(keys) == 5


def test_n_train_keeps_a_fixed_subset_of_the_weight_half(raises_naming):
    whole, part = make(epochs=0), make(epochs=0, n_train=100)
    assert len(part.train_data) == 100 < len(whole.train_data)
    rows = {tuple(r) for r in whole.train_data.x.flatten(1).tolist()}
    assert all(tuple(r) in rows for r in part.train_data.x.flatten(1).tolist())  # never a validation image
    assert torch.equal(make(epochs=0, n_train=100).train_data.y, part.train_data.y)  # the same subset again
    assert part.spec["n_train"] == 100 and "n_train" not in whole.spec  # its own checkpoint key
    raises_naming(lambda: make(n_train=0), "n_train", "0", "None")


def test_a_train_mode_query_measures_the_weights_it_trained():
    torch.set_num_threads(1)
    sn = make(mode="train", train_batches=2, recipe={"batch_size": 32}, cache_size=8)
    before = sn.query(CONV, noise="mean")
    trained = sn.query(CONV, rng=np.random.default_rng(1))
    assert trained.loss != before.loss  # not the score cached before the training
    assert sn.query(CONV, noise="mean").loss == trained.loss  # cached while the weights stay


def test_weights_changed_outside_queries_forgets_the_cached_scores(tmp_path):
    torch.set_num_threads(1)
    sn = make(recipe={"batch_size": 32}, cache_size=8)
    first = sn.query(CONV)
    with torch.no_grad():
        for p in sn.network.parameters():
            p.mul_(1.5)
    assert sn.query(CONV).loss == first.loss  # cached: the backend was not told
    sn.weights_changed()
    assert sn.query(CONV).loss != first.loss


def test_training_steps_descend_the_loss(frozen):
    """Eight SGD steps of the shared training step on one batch lower its loss clearly (a step
    up the gradient, or no step, would not)."""
    torch.set_num_threads(1)
    net = make(recipe={"batch_size": 32}, epochs=0).network
    opt = make_optimizer(net, Recipe(), lr=0.05)
    x, y = frozen.train_data.sample(np.random.default_rng(0), 64)
    path = single_path(frozen.space.from_string(CONV))
    losses = [train_step(net, path, x, y, opt) for _ in range(8)]
    assert losses[-1] < 0.8 * losses[0], losses


def test_the_cosine_learning_rate_is_pinned_at_its_ends():
    r = Recipe(lr=0.1, lr_min=0.002)
    assert r.lr_at(0, 100) == pytest.approx(0.1) and r.lr_at(100, 100) == pytest.approx(0.002)
    assert r.lr_at(50, 100) == pytest.approx(0.051)
    assert r.lr_at(25, 100) > r.lr_at(50, 100) > r.lr_at(75, 100)
