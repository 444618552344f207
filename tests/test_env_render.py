"""``ansi`` describes the current architecture; ``rgb_array`` draws a cell's DAG or a decision grid."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from toy_tables import toy_benchmark, toy_space

from nas_gym.envs import SeqEnv
from nas_gym.envs.render import cell_edges, describe, draw_architecture
from nas_gym.spaces.nb201 import NB201_EDGES


def test_ansi_shows_the_architecture_and_its_validation():
    env = gym.make("NasGym/NB201-Seq-v0", render_mode="ansi", noise="mean")
    env.reset(seed=0)
    env.step(3)
    text = env.render()
    assert text.startswith("1/6 decided: 1<-0=nor_conv_3x3, 2<-0=?")
    for a in (3, 3, 1, 1, 1):
        *_, info = env.step(a)
    assert env.render() == f"{info['arch']}  val={info['val']:.2f}\n"


def test_cell_spaces_are_recognised_by_their_edge_names():
    env = gym.make("NasGym/NB201-Edit-v0")
    assert cell_edges(env.unwrapped.space) == list(NB201_EDGES)
    assert cell_edges(toy_space()) is None


def test_rgb_array_draws_distinct_architectures():
    env = gym.make("NasGym/NB201-Edit-v0", render_mode="rgb_array")
    env.reset(seed=0, options={"arch": [3, 3, 3, 3, 3, 3]})
    a = env.render()
    env.step(0)  # edge 1<-0 becomes none
    b = env.render()
    assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3 and a.shape == b.shape
    assert (a != b).any() and a.std() > 0


def test_grid_for_generic_spaces_and_pending_decisions():
    space = toy_space()
    full = draw_architecture(space, np.array([1, 2, 0]))
    partial = draw_architecture(space, np.array([1, 2, 0]), decided=1)
    assert full.shape == partial.shape and (full != partial).any()
    assert describe(space, np.array([1, 2, 0]), 1) == "1/3 decided: a=y, b=?, c=?"
    env = SeqEnv(benchmark=toy_benchmark(), render_mode="rgb_array")
    env.reset(seed=0)
    assert env.render().ndim == 3
