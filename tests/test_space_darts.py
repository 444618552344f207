from collections import namedtuple

import numpy as np
import pytest

from nas_gym.spaces import DARTS_OPS, DartsSpace
from nas_gym.spaces.darts import EDGES

# a hand-written cell pair in the DARTS genotype format (two pairs per node 2..5)
TEXT = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ('sep_conv_5x5', 1), ('dil_conv_3x3', 2), "
    "('max_pool_3x3', 0), ('sep_conv_3x3', 3), ('avg_pool_3x3', 2), ('dil_conv_5x5', 4)], normal_concat=range(2, 6), "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 2), "
    "('sep_conv_5x5', 1), ('skip_connect', 2), ('dil_conv_3x3', 3), ('avg_pool_3x3', 4)], reduce_concat=range(2, 6))"
)


@pytest.fixture(scope="module")
def space():
    return DartsSpace()


def test_size_needs_python_ints(space):
    assert space.size == 8**28 and space.big and space.n_decisions == 28 and len(EDGES) == 14
    assert DARTS_OPS[0] == "none" and len(DARTS_OPS) == 8
    codes = space.from_string(TEXT)
    i = space.index(codes)
    assert isinstance(i, int) and i > 2**63  # past int64: arithmetic stays exact
    assert np.array_equal(space.codes(i), codes) and space.parse(i) == i
    batch = space.sample(np.random.default_rng(0), 50)
    assert np.array_equal(space.codes_batch(space.indices(batch)), batch)
    with pytest.raises(ValueError, match="out of range"):
        space.parse(8**28)
    with pytest.raises(ValueError, match="too many"):
        space.canonical_map()


def test_genotype_strings_roundtrip(space):
    codes = space.from_string(TEXT)
    assert space.to_string(codes) == TEXT
    assert space.from_string(TEXT.replace("range(2, 6)", "[2, 3, 4, 5]")).tolist() == codes.tolist()
    Genotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")
    g = space.genotype(codes)
    assert space.parse(Genotype(g["normal"], range(2, 6), g["reduce"], range(2, 6))) == space.index(codes)


@pytest.mark.parametrize(
    "bad,words",
    [
        (TEXT.replace("('sep_conv_3x3', 3)", "('sep_conv_3x3', 0)"), ["node 4", "two different"]),
        (TEXT.replace("('dil_conv_5x5', 4)", "('dil_conv_5x5', 6)"), ["node 5", "cannot read 6"]),
        (TEXT.replace("sep_conv_5x5", "conv_7x7"), ["'conv_7x7'", "'dil_conv_5x5'"]),
        (TEXT.replace("('avg_pool_3x3', 4)", "('none', 4)"), ["real ops"]),
        (TEXT.replace("range(2, 6)", "range(2, 5)"), ["malformed", "Genotype("]),
        ("DARTS_V2", ["malformed"]),
    ],
)
def test_bad_genotypes(space, bad, words, raises_naming):
    raises_naming(lambda: space.parse(bad), *words)


def test_validity_is_two_inputs_per_node(space):
    codes = space.from_string(TEXT)
    assert space.is_valid(codes)
    extra = codes.copy()
    extra[EDGES.index((5, 0))] = 1  # node 5 of the normal cell already reads 2 and 4
    assert not space.is_valid(extra)
    with pytest.raises(ValueError, match="node 5 of the normal cell has 3 non-none inputs"):
        space.to_string(extra)


def test_sample_is_valid_and_uniform(space):
    s = space.sample(np.random.default_rng(3), 4000)
    assert space._valid_mask(s).all()
    # node 5 of the normal cell: each of its 5 inputs is kept with probability 2/5
    live = s[:, EDGES.index((5, 0)) : EDGES.index((5, 4)) + 1] != 0
    assert np.allclose(live.mean(axis=0), 0.4, atol=0.03)
    ops = s[s != 0]
    assert np.allclose(np.bincount(ops, minlength=8)[1:] / len(ops), 1 / 7, atol=0.01)


def test_discretise_is_darts_top2_then_argmax(space):
    rng = np.random.default_rng(5)
    alpha = rng.random((28, 8))
    alpha[:, 0] += 10.0  # none weighs most everywhere: ignored, as DARTS does
    node5 = [EDGES.index((5, j)) for j in range(5)]
    alpha[node5[3], 6] = 20.0  # strongest real op of node 5: edge 5<-3, dil_conv_3x3
    alpha[node5[1], 2] = 15.0  # second: edge 5<-1, avg_pool_3x3
    out = space.discretise(alpha)
    assert space.is_valid(out)
    assert [int(out[e]) for e in node5] == [0, 2, 0, 6, 0]
    for k in range(14):  # each kept edge carries its argmax real op
        if out[k]:
            assert out[k] == 1 + alpha[k, 1:].argmax()
    assert np.array_equal(space.discretise(alpha[:, 1:]), out)  # the 7-op alpha (no none column)
    assert np.array_equal(space.discretise(np.stack([alpha, alpha])), np.stack([out, out]))
    with pytest.raises(ValueError, match=r"\(28, 8\).*\(28, 7\)"):
        space.discretise(np.zeros((28, 5)))


def test_neighbours_change_one_op_or_move_one_edge(space):
    codes = space.from_string(TEXT)
    nb = space.neighbours(codes)
    assert space._valid_mask(nb).all() and len(nb) == len(np.unique(nb, axis=0))
    diff = (nb != codes).sum(axis=1)
    assert set(diff.tolist()) == {1, 2}
    # 16 kept edges x 6 other ops, plus each kept edge moved to a free input of its node
    free = sum(2 * (k + 2 - 2) for k in range(4)) * 2
    assert len(nb) == 16 * 6 + free
