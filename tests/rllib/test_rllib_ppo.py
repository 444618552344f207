"""RLlib's PPO trains on the envs by their Gymnasium ids (examples/rllib_ppo.py), with local and
remote env runners and with either of Gymnasium's vectorisations.

RLlib pins gymnasium 1.2.2, so these tests run in their own venv (``make test-rllib``); the main
``make test`` does not collect this folder.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
import ray

from nas_gym.benchmarks import load_benchmark
from nas_gym.envs import SeqVectorEnv

EXAMPLE = runpy.run_path(str(Path(__file__).resolve().parents[2] / "examples" / "rllib_ppo.py"))
BATCH, NUM_ENVS, CELL = 240, 4, 6  # steps per iteration, envs per runner, decisions per NB201 cell

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def local_ray(tmp_path_factory: pytest.TempPathFactory):
    """A local Ray whose session files, and RLlib's per-run folder (else ~/ray_results), stay in pytest's tmp dir."""
    patch = pytest.MonkeyPatch()
    patch.setattr("ray.tune.trainable.trainable.DEFAULT_STORAGE_PATH", str(tmp_path_factory.mktemp("ray_results")))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=str(tmp_path_factory.mktemp("ray")))
    yield
    ray.shutdown()
    patch.undo()


def test_ppo_trains_and_every_step_builds_a_queried_cell():
    out = EXAMPLE["train"](iterations=3)
    for result in out["results"]:
        runners, learner = result["env_runners"], result["learners"]["default_policy"]
        assert runners["episode_len_min"] == runners["episode_len_max"] == CELL  # no step lost at resets
        assert runners["num_episodes"] == BATCH // CELL and 0.0 < runners["episode_return_mean"] <= 1.0
        assert learner["num_module_steps_trained"] > 0 and learner["mean_kl_loss"] > 0  # the policy moved
    assert [log["queries"] for log in out["logs"]] == [3 * BATCH // NUM_ENVS // CELL] * NUM_ENVS
    table = load_benchmark("nb201", dataset="cifar10")
    assert out["best_val"] in table.val[table.row(out["best_arch"])]


def test_remote_env_runners_import_nas_gym_through_the_id():
    out = EXAMPLE["train"](iterations=1, num_env_runners=1, num_envs=2)
    assert [log["queries"] for log in out["logs"]] == [BATCH // 2 // CELL] * 2  # from the remote runner


def test_nas_gym_vector_env_gives_rllib_whole_episodes():
    """RLlib reads the step after an episode's end as the next episode's reset: the batched env's
    default (next-step) autoreset gives it every step."""
    algo = EXAMPLE["ppo_config"]().env_runners(gym_env_vectorize_mode="vector_entry_point").build_algo()
    try:
        assert isinstance(algo.env_runner.env.unwrapped, SeqVectorEnv)
        runners = algo.train()["env_runners"]
    finally:
        algo.stop()
    assert runners["episode_len_min"] == runners["episode_len_max"] == CELL
    assert runners["num_episodes"] == BATCH // CELL
