"""Honest clocks: the simulated seconds a one-shot search charges are the passes its network ran.

Hooks on the supernet itself count every forward (multiply-accumulates of the path x images) and
every backward through its outputs; the search log's clock must equal their sum exactly, for
every agent, the queries' own recalibration and validation passes included. An agent that runs
the network past the view, or a backward the view does not see, breaks the equality."""

from __future__ import annotations

import pytest

from nas_gym.agents import Budget, make
from nas_gym.supernets.backend import MACS_PER_SECOND, TRAIN_PASSES

AGENTS = [
    ("darts", {}),
    ("darts", {"order": 2}),
    ("snas", {}),
    ("gdas", {}),
    ("enas", {}),
    ("rsps", {}),
    ("proxyless", {}),
    ("parsec", {}),
    ("advantagenas-supernet", {"warmup": 0.0}),
    ("reinforce-supernet", {"warmup": 0.0}),
    ("lnas", {"n_prunes": 1}),
    ("lnas", {"variant": 3, "order": 2, "retrain_epochs": 2, "n_prunes": 1}),
]


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


@pytest.fixture(scope="module")
def env(tiny_supernet_env):
    return tiny_supernet_env()


class PassCounter:
    """Forward hook on the network: each call adds its MACs x images; a backward through its
    outputs adds ``TRAIN_PASSES - 1`` times that (the clock's price of a backward pass)."""

    def __init__(self, net) -> None:
        self.net, self.macs, self.forwards, self.backwards = net, 0.0, 0, 0
        net.flops(net.space.codes(0))  # builds the MAC tables (a traced forward) before the hook counts
        self.handle = net.register_forward_hook(self.hook)

    def hook(self, module, args, out) -> None:
        x, path = args
        macs = float(self.net.flops(path)) * len(x)
        self.macs += macs
        self.forwards += 1
        if out.requires_grad:
            out.register_hook(lambda _: self.backward(macs))

    def backward(self, macs: float) -> None:
        self.macs += (TRAIN_PASSES - 1) * macs
        self.backwards += 1

    @property
    def seconds(self) -> float:
        return self.macs / MACS_PER_SECOND


@pytest.mark.parametrize(
    "name,kw", AGENTS, ids=[f"{n}-{'-'.join(f'{k}{v}' for k, v in kw.items())}" for n, kw in AGENTS]
)
def test_the_clock_counts_every_pass_the_network_ran(env, name, kw):
    backend = env.unwrapped.backend
    counter = PassCounter(backend.network)
    cache, backend.cache_size = backend.cache_size, 0  # a cached repeat query prices passes it did not run
    try:
        result = make(name, steps_per_query=3, **kw).search(env, Budget(queries=3), seed=0)
    finally:
        counter.handle.remove()
        backend.cache_size = cache
    assert counter.backwards > 0 or name == "rsps" and counter.forwards > 0
    # LNAS's retraining runs a fresh child (not the supernet) and charges its passes on its own
    charged = result.sim_time_s - result.meta.get("retrain_sim_s", 0.0)
    assert charged == pytest.approx(counter.seconds, rel=1e-9), (charged, counter.seconds)
    assert backend._pending_s == 0.0  # nothing charged after the last query is lost from the log
