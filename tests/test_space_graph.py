import numpy as np
import pytest
from nas_bench_graph import Arch

from nas_gym.spaces import GNN_OPS, PROTEINS_OPS, GraphSpace
from nas_gym.spaces.graph import TABLE_LINKS, all_links


@pytest.fixture(scope="module")
def space():
    return GraphSpace()


@pytest.fixture(scope="module")
def proteins():
    return GraphSpace(proteins=True)


def test_sizes_and_class_counts(space, proteins):
    assert space.size == 24 * 9**4 and proteins.size == 24 * 5**4
    assert space.n_functions == 26206 and proteins.n_functions == 2021
    assert space.decision_names == ("op0", "in1", "op1", "in2", "op2", "in3", "op3")
    assert space.options[3] == ("0", "1", "2")


def test_table_links_are_the_smallest_of_their_shape(space):
    # the nine stored patterns are what our relabelling picks among the 24 link lists
    picked = {tuple(space.link_ops(space.canonical_index(space.from_link_ops(l, ["gcn"] * 4)))[0]) for l in all_links()}
    assert picked == set(TABLE_LINKS)


@pytest.mark.parametrize("which", ["space", "proteins"])
def test_canonical_form_matches_the_package_rule(which, request):
    """The package's own canonicalisation (regularize, move skips, sort) as an oracle."""
    sp = request.getfixturevalue(which)
    rng = np.random.default_rng(1)
    for codes in sp.sample(rng, 1500):
        link, ops = sp.link_ops(codes)
        ref = Arch(link, ops).regularize()
        ref.move_skip_op()
        ref.equalpart_sort()
        assert sp.link_ops(sp.canonical_index(codes)) == (ref.link, ref.ops)


def test_canonical_is_idempotent_and_merges(space):
    canon = space.canonical_map()
    valid = space._valid_mask(space.codes_batch(np.arange(space.size)))
    assert np.array_equal(canon[canon[valid]], canon[valid])
    # a skip inside a chain is the identity: the same network as the chain after a skip ...
    a = space.parse("Arch([0, 1, 2, 3], ['gcn', 'skip', 'gat', 'gin'])")
    b = space.parse("Arch([0, 1, 2, 3], ['skip', 'gcn', 'gat', 'gin'])")
    assert space.canonical_index(a) == space.canonical_index(b) == b
    # ... but a skip leaf beside another reader is a residual connection: a different network
    c = space.parse("Arch([0, 1, 2, 2], ['gcn', 'gat', 'gin', 'skip'])")
    assert space.canonical_index(c) == c != space.canonical_index(a)


def test_strings_in_package_terms(space):
    text = "Arch([0, 0, 1, 2], ['gcn', 'gat', 'sage', 'fc'])"
    i = space.parse(text)
    assert space.to_string(i) == text
    assert space.parse("Arch(link=[0,0,1,2], ops=['gcn','gat','sage','fc'])") == i
    assert space.parse(Arch([0, 0, 1, 2], ["gcn", "gat", "sage", "fc"])) == i
    assert space.link_ops(i) == ([0, 0, 1, 2], ["gcn", "gat", "sage", "fc"])


@pytest.mark.parametrize(
    "bad,words",
    [
        ("Arch([0, 0, 1], ['gcn', 'gat', 'sage', 'fc'])", ["4 links", "[0, 0, 1]"]),
        ("Arch([0, 0, 3, 2], ['gcn', 'gat', 'sage', 'fc'])", ["link 3 of node 2", "[0, 1, 2]"]),
        ("Arch([0, 0, 1, 2], ['gcn', 'gat', 'sage', 'conv'])", ["'conv'", "'cheb'"]),
        ("gcn gat sage fc", ["malformed", "gcn gat sage fc", "Arch("]),
    ],
)
def test_bad_strings_name_the_value_and_valid_ones(space, bad, words, raises_naming):
    raises_naming(lambda: space.parse(bad), *words)


def test_proteins_has_its_own_ops(proteins):
    assert proteins.options[0] == PROTEINS_OPS
    with pytest.raises(ValueError, match="'gat'.*'gcn', 'sage', 'arma', 'fc', 'skip'"):
        proteins.parse("Arch([0, 0, 0, 0], ['gat', 'gcn', 'gcn', 'gcn'])")


def test_four_skips_are_invalid_everywhere_they_could_appear(space):
    skip = GNN_OPS.index("skip")
    codes = space.sample(np.random.default_rng(0), 5000)
    assert (codes[:, [0, 2, 4, 6]] != skip).any(axis=1).all()  # samples are valid
    all_skip = space.parse("Arch([0, 1, 1, 0], ['skip', 'skip', 'skip', 'skip'])")
    assert not space.is_valid(all_skip)
    # discretisation never lands there, even when every op row prefers skip
    alpha = np.zeros((7, 9))
    alpha[[0, 2, 4, 6], skip] = 1.0
    alpha[4, GNN_OPS.index("sage")] = 0.5
    out = space.discretise(alpha)
    assert space.is_valid(out) and out[4] == GNN_OPS.index("sage")
    batch = space.discretise(np.stack([alpha, np.random.default_rng(2).random((7, 9))]))
    assert batch.shape == (2, 7) and np.array_equal(batch[0], out)
    # the edit mask forbids the one edit that would make all four ops skip
    three = space.parse("Arch([0, 0, 0, 0], ['skip', 'skip', 'skip', 'gcn'])")
    mask = space.edit_mask(three)
    assert not mask[6, skip] and mask[6, GNN_OPS.index("gat")] and not mask[1, 2]
