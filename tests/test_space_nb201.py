import numpy as np
import pytest

from nas_gym.spaces import NB201Space

RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"


@pytest.fixture(scope="module")
def space():
    return NB201Space()


def test_size_and_roundtrip(space):
    assert space.size == 15625
    idx = np.arange(space.size)
    codes = space.codes_batch(idx)
    assert np.array_equal(space.indices(codes), idx)
    for i in (0, 1, 777, 15624):
        assert space.parse(space.to_string(i)) == i
        assert space.index(space.codes(i)) == i


def test_official_string_format(space):
    codes = space.from_string(RESNET)
    assert space.op_names(codes) == ("nor_conv_3x3", "none", "nor_conv_3x3", "skip_connect", "none", "skip_connect")
    assert space.to_string(codes) == RESNET
    assert space.parse(list(space.op_names(codes))) == space.parse(RESNET)


def test_isomorphism_classes_count(space):
    assert space.n_functions == 6466


def test_canonical_form_merges_equivalent_cells(space):
    # An edge leaving the zero node 1 (all inputs none) adds nothing: both cells are one function.
    a = "|none~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_1x1~2|"
    b = "|none~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|none~1|nor_conv_1x1~2|"
    assert space.canonical_index(a) == space.canonical_index(b)
    assert space.canonical_index(RESNET) != space.canonical_index(a)
    assert space.is_isolated("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert not space.is_isolated(RESNET)


@pytest.mark.parametrize(
    "bad",
    [
        "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|",
        "|conv~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
        "|nor_conv_3x3~1|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
        "garbage",
    ],
)
def test_malformed_strings_raise(space, bad):
    with pytest.raises(ValueError) as e:
        space.parse(bad)
    msg = str(e.value)
    assert repr(bad) in msg or "conv" in msg


def test_unknown_op_names_valid_ones(space):
    with pytest.raises(ValueError, match="nor_conv_3x3"):
        space.parse(["conv5"] * 6)


@pytest.mark.parametrize("bad", [-1, 15625, 10**9])
def test_out_of_range_index(space, bad):
    with pytest.raises(ValueError, match=str(bad)):
        space.parse(bad)


def test_one_hot_and_argmax_discretisation(space):
    oh = space.one_hot(RESNET)
    assert oh.shape == (6, 5) and oh.dtype == np.float32 and oh.sum() == 6
    assert np.array_equal(space.discretise(oh), space.from_string(RESNET))
    alpha = np.random.default_rng(0).normal(size=(6, 5))
    assert np.array_equal(space.discretise(alpha), alpha.argmax(axis=1))


def test_sampling_is_uniform_and_seeded(space):
    a = space.sample(np.random.default_rng(3), 20000)
    b = space.sample(np.random.default_rng(3), 20000)
    assert np.array_equal(a, b)
    freq = np.bincount(a.ravel(), minlength=5) / a.size
    assert np.allclose(freq, 0.2, atol=0.01)


def test_neighbours_differ_in_one_decision(space):
    nb = space.neighbours(RESNET)
    assert nb.shape == (24, 6)
    diff = (nb != space.from_string(RESNET)).sum(axis=1)
    assert np.all(diff == 1)
    m = space.mutate(RESNET, np.random.default_rng(0))
    assert (m != space.from_string(RESNET)).sum() == 1
