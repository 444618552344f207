"""Train MaskablePPO to build NAS-Bench-201 cells one edge at a time; print the best cell found."""
import nas_gym  # noqa: F401  (registers the NasGym/... ids with Gymnasium)
from sb3_contrib import MaskablePPO
from stable_baselines3.common.env_util import make_vec_env

env = make_vec_env("NasGym/NB201-Seq-v0", n_envs=4, seed=0, env_kwargs={"dataset": "cifar10"})
model = MaskablePPO("MlpPolicy", env, n_steps=64, batch_size=64, learning_rate=3e-3, seed=0)
model.learn(total_timesteps=4096)
log = max(env.get_attr("log"), key=lambda log: log.best_val)  # each env's SearchLog
print(f"best cell: {env.get_attr('space')[0].to_string(log.best_index)}, val {log.best_val:.2f}%")
