"""Action masks where RL libraries look for them: ``info["action_mask"]`` on every Seq and Edit
step and reset, and, with ``dict_obs``, inside a Dict observation; TorchRL's PPO trains on it
and never takes a masked action."""

from __future__ import annotations

import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import nas_gym  # noqa: F401
from nas_gym.envs.core import UnknownKeywordError


@pytest.mark.parametrize(
    "env_id", ["NasGym/NB201-Seq-v0", "NasGym/Graph-Seq-v0", "NasGym/NB201-Edit-v0", "NasGym/Graph-Edit-v0"]
)
def test_every_info_carries_the_mask_of_the_state_it_comes_with(env_id):
    env = gym.make(env_id, **({"budget": 8} if "Edit" in env_id else {}))
    _, info = env.reset(seed=0)
    rng = np.random.default_rng(0)
    partial = 0
    for _ in range(40):
        mask = env.unwrapped.action_masks()
        np.testing.assert_array_equal(info["action_mask"], mask)
        assert info["action_mask"].dtype == bool and info["action_mask"].shape == (env.action_space.n,)
        partial += not mask.all()
        _, _, terminated, truncated, info = env.step(int(rng.integers(env.action_space.n)))  # masks ignored
        if terminated or truncated:
            np.testing.assert_array_equal(info["action_mask"], env.unwrapped.action_masks())
            _, info = env.reset()
    # NAS-Bench-201 cells take every op on every edge; Graph's decisions have fewer options than
    # the largest, and an edit to the current option is a no-op
    assert (partial > 10) == (env_id != "NasGym/NB201-Seq-v0")


def test_cont_has_no_mask():
    env = gym.make("NasGym/NB201-Cont-v0", budget=3)
    assert "action_mask" not in env.reset(seed=0)[1]
    with pytest.raises(UnknownKeywordError, match="dict_obs"):
        gym.make("NasGym/NB201-Cont-v0", dict_obs=True)


@pytest.mark.parametrize("family", ["Seq", "Edit"])
@pytest.mark.parametrize("keys", [True, ("obs", "mask"), ("observations", "action_mask")])
def test_dict_obs_puts_the_mask_in_the_observation(family, keys):
    env = gym.make(f"NasGym/Graph-{family}-v0", dict_obs=keys, **({"budget": 6} if family == "Edit" else {}))
    obs_key, mask_key = ("observation", "action_mask") if keys is True else keys
    plain = gym.make(f"NasGym/Graph-{family}-v0", **({"budget": 6} if family == "Edit" else {}))
    assert env.observation_space == gym.spaces.Dict(
        {obs_key: plain.observation_space, mask_key: gym.spaces.Box(0, 1, (plain.action_space.n,), dtype=bool)}
    )
    (obs, info), (plain_obs, _) = env.reset(seed=1), plain.reset(seed=1)
    for a in [3, 0, 5, 2, 7, 1]:
        assert obs in env.observation_space
        np.testing.assert_array_equal(obs[obs_key], plain_obs)
        np.testing.assert_array_equal(obs[mask_key], env.unwrapped.action_masks())
        np.testing.assert_array_equal(obs[mask_key], info["action_mask"])
        (obs, *_, info), (plain_obs, *_) = env.step(a), plain.step(a)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        check_env(env)
        sb3_check_env(env)
    assert not [w for w in record if "different from the unwrapped" not in str(w.message)]
    copy = pickle.loads(pickle.dumps(env))
    assert copy.observation_space == env.observation_space


@pytest.mark.parametrize("bad", ["yes", 1, ("obs",), ("obs", "obs"), ("obs", 3)])
def test_bad_dict_obs_names_the_choices(bad, raises_naming):
    raises_naming(lambda: gym.make("NasGym/NB201-Seq-v0", dict_obs=bad), "dict_obs", repr(bad), "observation key")


@pytest.mark.filterwarnings("ignore:The env passed to Collector is missing transforms")
def test_torchrl_ppo_trains_with_masks_and_never_takes_a_masked_action(one_torch_thread):
    """TorchRL's ActionMask transform reads ``"action_mask"`` from the Dict observation and its
    MaskedCategorical policy samples only valid actions: on Edit, 6 of 30 actions (the current
    options, no-op edits) are masked at every step, and every step the policy took changed the
    architecture. The same network sampled without the mask would pick them."""
    pytest.importorskip("torchrl")  # in the main set-up; the RLlib venv runs the env tests without it
    import torch
    from tensordict.nn import TensorDictModule
    from torchrl.collectors import Collector
    from torchrl.envs import ActionMask, GymEnv, TransformedEnv
    from torchrl.modules import MLP, MaskedCategorical, ProbabilisticActor, ValueOperator
    from torchrl.objectives import ClipPPOLoss
    from torchrl.objectives.value import GAE

    torch.manual_seed(0)
    base = GymEnv("NasGym/NB201-Edit-v0", dict_obs=True, budget=10, categorical_action_encoding=True)
    env = TransformedEnv(base, ActionMask())
    env.set_seed(0)
    n_obs, n_act = env.observation_spec["observation"].shape[-1], env.action_spec.space.n
    logits = TensorDictModule(MLP(in_features=n_obs, out_features=n_act, num_cells=[64]), ["observation"], ["logits"])
    actor = ProbabilisticActor(
        logits,
        in_keys={"logits": "logits", "mask": "action_mask"},
        distribution_class=MaskedCategorical,
        return_log_prob=True,
        spec=env.action_spec,
    )
    critic = ValueOperator(MLP(in_features=n_obs, out_features=1, num_cells=[64]), in_keys=["observation"])
    loss, gae = ClipPPOLoss(actor, critic, entropy_coeff=0.01), GAE(gamma=1.0, lmbda=0.95, value_network=critic)
    opt = torch.optim.Adam(loss.parameters(), lr=3e-3)
    before = [p.detach().clone() for p in actor.parameters()]
    batches = []
    for data in Collector(env, actor, frames_per_batch=100, total_frames=400):
        gae(data)
        for _ in range(3):
            out = loss(data)
            opt.zero_grad()
            (out["loss_objective"] + out["loss_critic"] + out["loss_entropy"]).backward()
            opt.step()
        batches.append(data.detach())
    assert any(not torch.equal(b, p.detach()) for b, p in zip(before, actor.parameters()))  # it trained
    data = torch.cat(batches)
    mask, action = data["action_mask"], data["action"]
    assert len(data) == 400 and (mask.sum(-1) == 24).all()  # 6 of 30 masked at every step
    assert mask.gather(-1, action.unsqueeze(-1)).all()  # never a masked action
    one_hot = slice(0, 30)  # the architecture part of Edit's observation
    assert (data["next", "observation"][:, one_hot] != data["observation"][:, one_hot]).any(-1).all()  # real edits
    with torch.no_grad():  # the same policy without its mask
        unmasked = torch.distributions.Categorical(logits=logits(data.clone())["logits"]).sample()
    assert (~mask.gather(-1, unmasked.unsqueeze(-1))).float().mean() > 0.05
    log = base._env.unwrapped.search_log
    assert len(log) >= 400 and max(log.val) <= 91.61 + 1.0
