import gymnasium as gym
import numpy as np
import torch

from nas_gym.agents import Budget, make
from nas_gym.agents.oneshot.loop import Supernet, search_mask

TINY = dict(data="digits", size="tiny", device="cpu", epochs=1, n_val=200, recal_batches=2,
            recipe={"batch_size": 32}, progress=False)


def test_lnas_prunes_alpha_to_target_and_pruned_ops_stop_running(one_torch_thread):
    env = gym.make("NasGym/NB201Supernet-Cont-v0", **TINY, budget=50)
    backend = env.unwrapped.backend
    agent = make("lnas", steps_per_query=10, sparsity=0.5, n_prunes=2)
    result = agent.search(env, Budget(queries=3), seed=0)
    sn = Supernet(backend, search_mask(backend, include_none=False), 32)
    # the target sparsity is reached and every edge keeps an op
    assert abs(agent.pruned_fraction(sn) - 0.5) < 0.05
    assert agent.keep.any(dim=1).all()
    # the returned cells were queried through the env and use only surviving ops
    assert result.n_queries == 3 and result.best_index in set(result.arch_index.tolist())
    codes = backend.space.codes(int(result.arch_index[-1]))
    assert all(bool(agent.keep[e, c]) for e, c in enumerate(codes))
    # pruned ops no longer run: a weight step leaves no gradient on their parameters
    net = backend.network.train()
    net.zero_grad(set_to_none=True)
    x, y = backend.train_data.sample(np.random.default_rng(1), 32)
    sn.loss(agent.weight_path(sn, np.random.default_rng(0), 1.0), x, y).backward()
    pruned = [(e, o) for e in range(agent.keep.shape[0]) for o in range(1, agent.keep.shape[1])
              if sn.mask[e, o] and not agent.keep[e, o]]
    assert pruned
    grads = {n: p.grad for n, p in net.named_parameters()}
    touched = [n for n, g in grads.items() if g is not None and torch.count_nonzero(g) > 0]
    assert touched  # the surviving ops did train
    assert len(touched) < sum(1 for p in net.parameters() if p.requires_grad)
