import numpy as np
import pytest

from nas_gym.spaces import MACRO_OPS, MacroSpace


@pytest.fixture(scope="module")
def space():
    return MacroSpace()


def test_size_strings_and_codes(space):
    assert space.size == 6561 and space.n_decisions == 8
    assert MACRO_OPS == ("identity", "mb3_k3", "mb6_k5")
    i = space.parse("02012100")
    assert space.to_string(i) == "02012100"
    assert list(space.codes(i)) == [0, 2, 0, 1, 2, 1, 0, 0]
    assert space.parse(["identity", "mb6_k5", "identity", "mb3_k3", "mb6_k5", "mb3_k3", "identity", "identity"]) == i


@pytest.mark.parametrize("bad", ["0201210", "020121000", "02012103", "0201210a", ""])
def test_malformed_strings(space, bad):
    with pytest.raises(ValueError, match="8 digits") as e:
        space.parse(bad)
    assert repr(bad) in str(e.value) and "mb6_k5" in str(e.value)


def test_identities_in_shape_keeping_layers_are_no_ops(space):
    assert space.n_functions == 3969
    # within the last stage (layers 5-7) an identity can sit before or after the block
    assert space.canonical_index("22212220") == space.canonical_index("22212202") == space.parse("22212202")
    # but not across a downsampling layer (layer 5), where identity is a 1x1 convolution
    assert space.canonical_index("22210222") != space.canonical_index("22212022")
    # nor when two different blocks swap
    assert space.canonical_index("00000012") != space.canonical_index("00000021")


def test_sample_and_neighbours(space):
    s = space.sample(np.random.default_rng(0), 3000)
    assert s.shape == (3000, 8) and np.allclose(np.bincount(s.ravel()) / s.size, 1 / 3, atol=0.02)
    nb = space.neighbours("02012100")
    assert nb.shape == (16, 8) and ((nb != space.from_string("02012100")).sum(axis=1) == 1).all()
