"""Each one-shot agent learns toward a known answer.

On AdvantageNAS's toy teacher task (section 5.1 of its paper: fixed shared weights; the teacher's
architecture is the only one of zero loss) every relaxed or gate-gradient agent's own
``arch_step`` runs for 150 iterations from its initial distribution; REINFORCE and ENAS, whose
scalar reward needs thousands of toy iterations to tell ten ops apart on ten edges (the paper's
Figure 1), run on a planted task instead (six edges, four ops, a reward linear in the gates with
one op per edge clearly best). The share of edges on the known answer's op under the agent's
distribution must rise from uniform past a threshold set from its spread over seeds, which a
flipped sign (the share falls below uniform), a zero advantage or a missing update (it stays
uniform) cannot reach. Every agent uses the toy protocol's optimiser (Adam, betas (0.9, 0.999),
no weight decay) at learning rate 0.05, so that a few hundred steps decide.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from planted import LinearTask

from nas_gym.agents import Budget, make
from nas_gym.agents.oneshot.loop import Supernet, search_mask
from nas_gym.supernets.toy import ToyTask

ITERS = 150
A_LR = 0.05
# agent -> (make() keywords, its task, the share it must reach). Shares after 150 iterations over
# seeds 0-7 (min / median / max; uniform is 0.1 on the toy, 0.25 on the planted task): darts,
# darts-2, lnas-1 0.92 / 0.93 / 0.93; snas 0.96 / 0.96 / 0.97; lnas-2, lnas-3 0.97 / 0.97 / 0.97;
# gdas 0.61 / 0.65 / 0.77; advantagenas-supernet 0.80 / 0.83 / 0.91; proxyless 0.30 / 0.35 / 0.38;
# parsec 0.38 / 0.48 / 0.61; planted: reinforce-supernet 0.76 / 0.84 / 0.92; enas 0.39 / 0.42 / 0.44
# (its logits are bounded by 0.44 tanh: at most 0.56).
AGENTS: dict[str, tuple[dict, str, float]] = {
    "darts": ({}, "toy", 0.6),
    "darts-2": ({"order": 2}, "toy", 0.6),
    "snas": ({}, "toy", 0.6),
    "gdas": ({}, "toy", 0.35),
    "proxyless": ({}, "toy", 0.2),
    "parsec": ({}, "toy", 0.25),
    "advantagenas-supernet": ({}, "toy", 0.5),
    "lnas-1": ({"variant": 1}, "toy", 0.6),
    "lnas-2": ({"variant": 2, "n_prunes": 2}, "toy", 0.6),
    "lnas-3": ({"variant": 3, "n_prunes": 2}, "toy", 0.6),
    "reinforce-supernet": ({}, "planted", 0.5),
    "enas": ({"a_lr": 0.02}, "planted", 0.35),  # faster, its tanh-bounded logits saturate on two ops
}


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


def make_agent(name: str):
    """The agent with the toy protocol's optimiser (section 5.1: Adam, betas (0.9, 0.999), no weight decay)."""
    agent = make(name.rsplit("-", 1)[0] if name[-1].isdigit() else name, **{"a_lr": A_LR, **AGENTS[name][0]})
    for field, value in (("a_betas", (0.9, 0.999)), ("a_weight_decay", 0.0)):
        if hasattr(agent, field):
            setattr(agent, field, value)
    return agent


def answer_share(agent, task, rng: np.random.Generator) -> float:
    """The expected share of edges on the known answer's op under the agent's distribution (ENAS:
    over 200 children its controller samples)."""
    answer = task.teacher if isinstance(task, ToyTask) else task.best
    if hasattr(agent, "controller"):
        with torch.no_grad():
            codes = np.stack([agent.controller(rng)[0] for _ in range(200)])
        return float((codes == answer).mean())
    if hasattr(agent, "keep"):  # LNAS: its distribution over the ops not pruned
        probs = agent.weights(task)
    else:
        logits = next(getattr(agent, a) for a in ("alpha", "theta", "pi") if hasattr(agent, a))
        probs = torch.softmax(torch.where(task.mask, logits, torch.tensor(-torch.inf)), -1)
    return float(probs.detach()[np.arange(len(answer)), answer].mean())


def trained(name: str, seed: int, iters: int = ITERS):
    """Agent ``name`` after ``iters`` architecture steps on its task of ``seed``; the task; the RNG."""
    task = ToyTask(seed) if AGENTS[name][1] == "toy" else LinearTask(6, 5, seed, planted=True)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    agent = make_agent(name)
    agent.setup(task)
    kw = {}
    if getattr(agent, "order", 1) == 2:  # the unrolled step needs weights that could move, and their SGD
        for p in task.net.parameters():
            p.requires_grad_(True)
        kw["w_opt"] = torch.optim.SGD(task.net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    for it in range(iters):
        x, y = task.batch(rng) if isinstance(task, ToyTask) else (task.x, task.y)
        if kw:
            kw["train"] = task.batch(rng)
        agent.arch_step(task, x, y, rng, it / (iters - 1), **kw)
    return agent, task, rng


def run(name: str, seed: int, iters: int = ITERS) -> float:
    """The answer's share after ``iters`` architecture steps of agent ``name`` on its task of ``seed``."""
    return answer_share(*trained(name, seed, iters))


@pytest.mark.parametrize("name", list(AGENTS))
def test_agent_moves_its_distribution_to_the_known_answer(name):
    agent, task, rng = trained(name, seed=0)
    assert answer_share(agent, task, rng) > AGENTS[name][2]
    if getattr(agent, "prunes_alpha", False):  # LNAS 2, 3: pruned to its sparsity, never the teacher's op
        assert agent.pruned_fraction() == pytest.approx(agent.sparsity, abs=0.05)
        assert agent.keep[np.arange(len(task.teacher)), task.teacher].all()


def test_rsps_trains_and_queries_uniform_children_and_returns_the_best_it_queried(tiny_supernet_env):
    """RSPS learns no distribution: what it must get right is sampling every searched op of every
    edge equally (none never) for the weights and for its queries, and returning the best child
    it queried (its paper's result)."""
    env = tiny_supernet_env()
    backend = env.unwrapped.backend
    sn = Supernet(backend, search_mask(backend, include_none=False), 32)
    agent, rng = make("rsps"), np.random.default_rng(0)
    trained = np.mean([agent.weight_path(sn, rng, 0.0).active.numpy() for _ in range(4000)], 0)
    queried = np.mean([np.eye(5)[agent.propose(sn, rng, None)] for _ in range(4000)], 0)
    for freq in (trained, queried):  # 4000 draws: a frequency's standard deviation is 0.007
        assert (freq[:, 0] == 0).all() and np.abs(freq[:, 1:] - 0.25).max() < 0.035
    result = agent.search(env, Budget(queries=6), seed=0)
    assert len(set(result.arch_index.tolist())) == 6 and result.recommended_index is None
    assert result.best_index == int(result.arch_index[np.argmax(result.val)])
