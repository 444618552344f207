"""The action mask inside the observation, where RL libraries other than SB3 look for it.

``gym.make(id, dict_obs=True)`` (Seq and Edit) returns observations
``{"observation": <the env's observation>, "action_mask": <bool mask of the valid actions>}``,
the layout of PettingZoo's and TorchRL's masking (TorchRL's ``ActionMask`` transform reads
``"action_mask"``). Libraries that name the two entries otherwise get them as
``dict_obs=(observation_key, mask_key)``: ``("observations", "action_mask")`` for RLlib's
action-masking RLModule example, ``("obs", "mask")`` for Tianshou's DQN family, which masks
with ``batch.obs.mask``. The mask is the env's ``action_masks()``, also in ``info["action_mask"]``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

DEFAULT_KEYS = ("observation", "action_mask")


def dict_obs_keys(dict_obs: Any) -> tuple[str, str] | None:
    """The (observation, mask) keys ``dict_obs`` asks for (None: a plain observation); ValueError otherwise."""
    if dict_obs is False or dict_obs is None:
        return None
    if dict_obs is True:
        return DEFAULT_KEYS
    if (
        isinstance(dict_obs, (tuple, list))
        and len(dict_obs) == 2
        and all(isinstance(k, str) and k for k in dict_obs)
        and dict_obs[0] != dict_obs[1]
    ):
        return (dict_obs[0], dict_obs[1])
    raise ValueError(
        f"dict_obs must be False, True (keys {DEFAULT_KEYS}) or two different key names "
        f"(observation key, mask key), got {dict_obs!r}"
    )


def mask_space(n_actions: int) -> spaces.Box:
    return spaces.Box(0, 1, (n_actions,), dtype=np.bool_)  # type: ignore[arg-type]  # Box takes bool; its hint omits it


class MaskInObservation(gym.Wrapper):
    """Observations ``{obs_key: obs, mask_key: info["action_mask"]}`` (see the module doc)."""

    def __init__(self, env: gym.Env, keys: tuple[str, str] = DEFAULT_KEYS) -> None:
        super().__init__(env)
        if not isinstance(env.action_space, spaces.Discrete):
            raise ValueError(f"dict_obs needs a Discrete action space with masks (Seq, Edit), got {env.action_space}")
        self._keys = keys
        self.observation_space = spaces.Dict(
            {keys[0]: env.observation_space, keys[1]: mask_space(int(env.action_space.n))}
        )

    def _observe(self, obs: np.ndarray, info: dict[str, Any]) -> dict[str, np.ndarray]:
        return {self._keys[0]: obs, self._keys[1]: info["action_mask"].copy()}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        return self._observe(obs, info), info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._observe(obs, info), reward, terminated, truncated, info
