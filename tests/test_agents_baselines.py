"""The non-RL baselines: protocol, budgets, seeding, and what each algorithm promises."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from scipy.linalg import cho_solve, solve_triangular
from toy_tables import toy_benchmark

import nas_gym  # noqa: F401  (registers the envs)
from nas_gym.agents import Budget, SearchResult, agent_names, make
from nas_gym.agents.bo import GP, Archive, expected_improvement, hamming

BASELINES = ["rs", "re", "ls", "bo", "tpe"]


def cont(**kwargs) -> gym.Env:
    return gym.make("NasGym/NB201-Cont-v0", **kwargs)


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, int], SearchResult]:
    """60-query searches of every baseline with seeds 0 and 1, and seed 0 again on a fresh env."""
    out = {}
    for name in BASELINES:
        for seed in (0, 1):
            out[name, seed] = make(name).search(cont(), Budget(60), seed)
        out[name, "again"] = make(name).search(cont(), Budget(60), 0)
    return out


def test_registry_lists_the_baselines_and_rejects_unknown_names():
    assert set(BASELINES) <= set(agent_names())
    with pytest.raises(ValueError, match="unknown agent"):
        make("nope")
    for name in BASELINES:
        assert make(name).families == ("Cont",)


@pytest.mark.parametrize("name", BASELINES)
def test_search_spends_the_budget_and_returns_the_best_observed_mean(runs, name):
    r = runs[name, 0]
    assert r.agent == name and r.n_queries == 60
    assert r.best_index in r.arch_index
    means = {i: r.val[r.arch_index == i].mean() for i in set(r.arch_index.tolist())}
    assert r.best_observed == pytest.approx(max(means.values()))


@pytest.mark.parametrize("name", BASELINES)
def test_one_seed_gives_one_search(runs, name):
    assert np.array_equal(runs[name, 0].arch_index, runs[name, "again"].arch_index)
    assert np.array_equal(runs[name, 0].val, runs[name, "again"].val)
    assert not np.array_equal(runs[name, 0].arch_index, runs[name, 1].arch_index)


@pytest.mark.parametrize("name", BASELINES)
def test_an_env_reused_for_a_second_search_starts_an_empty_log(runs, name):
    env = cont()
    make(name).search(env, Budget(30), 5)
    again = make(name).search(env, Budget(60), 0)
    assert np.array_equal(again.arch_index, runs[name, 0].arch_index)


@pytest.mark.parametrize("name", BASELINES)
def test_short_cont_episodes_are_reset_and_the_search_goes_on(name):
    r = make(name).search(cont(budget=7), Budget(25), 0)
    assert r.n_queries == 25


@pytest.mark.parametrize("name", BASELINES)
def test_a_seconds_budget_stops_at_the_query_that_spends_it(name):
    budget = Budget.parse("36000s")
    r = make(name).search(cont(), budget, 0)
    assert r.sim_time_s >= 36000 > r.sim_time_s - r.cost_s[-1]


@pytest.mark.parametrize("name", BASELINES)
def test_baselines_refuse_envs_they_cannot_drive(name):
    with pytest.raises(ValueError, match="drives"):
        make(name).search(gym.make("NasGym/NB201-Seq-v0"), Budget(5), 0)


@pytest.mark.parametrize("name", ["ls", "bo"])
def test_local_search_and_bo_never_query_an_architecture_twice(runs, name):
    r = runs[name, 0]
    assert len(np.unique(r.arch_index)) == r.n_queries


@pytest.mark.parametrize("name", BASELINES)
def test_a_space_smaller_than_the_budget_is_searched_to_the_end(name):
    env = gym.make("NasGym/NB201-Cont-v0", benchmark=toy_benchmark(), budget=40)
    r = make(name).search(env, Budget(40), 0)
    assert r.n_queries == 40
    if name in ("ls", "bo"):  # all 18 architectures before any repeat
        assert len(np.unique(r.arch_index[:18])) == 18


def _one_decision_apart(space, a: int, b: int) -> bool:
    return int(np.sum(space.codes(a) != space.codes(b))) == 1


def test_evolution_children_are_one_decision_mutations_of_the_living_population(runs):
    space = cont().unwrapped.space
    r = make("re", population=10, sample=3).search(cont(), Budget(80), 3)
    idx = r.arch_index.tolist()
    for t in range(10, len(idx)):
        alive = idx[t - 10 : t]  # the oldest member left when the previous child arrived
        assert any(_one_decision_apart(space, idx[t], p) for p in alive), t


def _children_of_the_fittest(population: int, sample: int, n: int = 300) -> float:
    """Share of children that mutate the fittest living member, driving ``propose`` with a fitness
    that differs for every architecture."""
    space = cont().unwrapped.space
    fitness = lambda codes: (int(space.index(codes)) * 7919 % 15625) / 15625  # noqa: E731 (distinct values)
    agent = make("re", population=population, sample=sample)
    proposals = agent.propose(space, np.random.default_rng(0))
    living: list[tuple[np.ndarray, float]] = []
    codes, hits = next(proposals), 0
    for t in range(population - 1 + n):  # the last send of the first population yields the first child
        value = fitness(codes)
        living.append((codes, value))
        living = living[-population:]  # aging: the oldest dies when a child is born
        fittest = max(living, key=lambda m: m[1])[0]
        codes = proposals.send(value)
        if t >= population - 1:
            hits += int(np.sum(codes != fittest)) == 1
    return hits / n


def test_evolution_parents_win_a_tournament_of_sample_members():
    # a tournament as large as the population (drawn with replacement, so 40 draws of 5
    # see every member with near certainty) always picks the fittest living member
    assert _children_of_the_fittest(population=5, sample=40) == 1.0
    # a tournament of one is a uniform draw: most children come from other members
    assert _children_of_the_fittest(population=5, sample=1) < 0.35
    # three draws of five see the fittest with probability 1 - (4/5)^3 = 0.49
    assert 0.38 < _children_of_the_fittest(population=5, sample=3) < 0.62


def test_evolution_rejects_bad_settings():
    with pytest.raises(ValueError, match="population"):
        make("re", population=0)
    with pytest.raises(ValueError, match="sample"):
        make("re", sample=0)


def test_local_search_moves_one_decision_at_a_time_and_restarts_rarely():
    space = cont().unwrapped.space
    idx = make("ls").search(cont(), Budget(120), 0).arch_index.tolist()
    # A query that is no neighbour of any earlier one is a random (re)start; a climb queries
    # up to 24 neighbours per step, so there are few of them (random search: nearly all).
    starts = [t for t in range(1, len(idx)) if not any(_one_decision_apart(space, idx[t], idx[s]) for s in range(t))]
    assert len(starts) < 8


def test_gp_grown_one_point_at_a_time_equals_a_fresh_fit():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 5, (40, 6))
    h = hamming(codes, codes)
    grown = GP.fit(codes[:20], h[:20, :20], 2.0, 0.01)
    for n in range(20, 40):  # past the first buffer's 16 rows spare: the buffers are reallocated
        grown = grown.extend(codes[n], h[n, : n + 1])
    fresh = GP.fit(codes, h, 2.0, 0.01)
    np.testing.assert_allclose(grown.factor(), fresh.factor(), atol=1e-10)
    y = rng.normal(size=40)
    g, f = grown.posterior(y), fresh.posterior(y)
    np.testing.assert_allclose(g.alpha, f.alpha, rtol=1e-8)
    assert g.log_likelihood == pytest.approx(f.log_likelihood, rel=1e-10)
    cand = rng.integers(0, 5, (30, 6))
    (mu_g, sd_g), (mu_f, sd_f) = g.predict(cand), f.predict(cand)
    np.testing.assert_allclose(mu_g, mu_f, rtol=1e-8)
    np.testing.assert_allclose(sd_g, sd_f, rtol=1e-8)
    assert np.all(sd_f > 0)


def test_gp_solves_give_the_floats_of_scipy_on_a_plain_factor():
    # BO's numbers are those of scipy's solves on a freshly allocated factor (Fortran order
    # straight from the Cholesky, C order once grown): the buffers change the memory, not the floats
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 5, (90, 6))
    h = hamming(codes, codes)
    gp = GP.fit(codes[:60], h[:60, :60], 1.5, 0.1)
    cand = rng.integers(0, 5, (50, 6))
    y = rng.normal(size=90)

    def plain(factor: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ks = gp.lut[hamming(cand, codes[:n])]
        return (
            solve_triangular(factor, gp.lut[h[n, :n]], lower=True, check_finite=False),
            solve_triangular(factor, ks.T, lower=True, check_finite=False),
            cho_solve((factor, True), (y[:n] - y[:n].mean()) / y[:n].std(), check_finite=False),
        )

    for n in range(60, 90):
        row, v, alpha = plain(gp.factor().copy(order="C" if gp.grown else "F"), n)
        assert np.array_equal(gp.posterior(y[:n]).alpha, alpha)
        ks = gp.lut[hamming(cand, gp.codes)]
        assert np.array_equal(gp.solve(ks.T), v)
        gp = gp.extend(codes[n], h[n, : n + 1])
        assert np.array_equal(gp.factor()[n, :n], row)


def test_archive_keeps_the_differing_decisions_of_every_pair():
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 5, (70, 6))
    archive = Archive(6)
    for c in codes:
        archive.add(c)
    assert np.array_equal(archive.codes, codes) and np.array_equal(archive.h, hamming(codes, codes))


def test_bo_search_is_the_one_plain_scipy_solves_gave():
    # 150 queries on CIFAR-100, seed 4: refits at 10, 35, ...; recorded before the GP kept its buffers
    res = make("bo").search(cont(dataset="cifar100"), Budget(150), 4)
    assert res.arch_index.tolist()[-40:] == [
        11363, 11788, 8538, 8288, 11538, 11548, 6663, 11417, 11422, 8413, 11792, 10792, 11044, 11040, 11528, 11027,
        9668, 11593, 11536, 11041, 12293, 10668, 10297, 7913, 14792, 11664, 11168, 8537, 7293, 8548, 11672, 8533,
        14668, 5412, 11544, 7536, 11540, 14618, 11093, 7903,
    ]  # fmt: skip


def test_hamming_counts_differing_decisions():
    a = np.array([[0, 1, 2], [4, 4, 4]])
    assert hamming(a, a).tolist() == [[0, 3], [3, 0]]


def test_expected_improvement_grows_with_mean_and_with_uncertainty():
    ei = expected_improvement(np.array([0.0, 1.0, 0.0]), np.array([0.1, 0.1, 1.0]), incumbent=0.5, xi=0.0)
    assert np.all(ei > 0) and ei[1] > ei[0] and ei[2] > ei[0]
