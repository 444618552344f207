"""What every space inherits: indices, validity, edit masks, batched discretisation."""

import numpy as np
import pytest

from nas_gym.spaces import NB201Space
from nas_gym.spaces.base import Space


def test_generic_space_roundtrip_and_errors():
    s = Space("s", ("a", "b", "c"), (("x", "y"), ("p", "q", "r"), ("u",)))
    assert s.size == 6 and not s.big and s.n_functions == 6
    for i in range(6):
        assert s.parse(s.to_string(i)) == i and s.index(s.codes(i)) == i
    assert s.canonical_map().tolist() == list(range(6))
    with pytest.raises(ValueError, match="'w'.*'p', 'q', 'r'"):
        s.parse(["x", "w", "u"])
    with pytest.raises(ValueError, match="option code 3 out of range for decision 'b'"):
        s.parse([0, 3, 0])
    with pytest.raises(ValueError, match="3 decisions, got 2"):
        s.parse([0, 0])
    with pytest.raises(ValueError, match="malformed.*'a=x,b=p'.*expected e.g."):
        s.parse("a=x,b=p")
    with pytest.raises(ValueError, match="at least one option"):
        Space("e", ("a",), ((),))


def test_edit_mask_marks_real_changes():
    nb = NB201Space()
    mask = nb.edit_mask(0)
    assert mask.shape == (6, 5) and mask.sum() == 24 and not mask[:, 0].any()
    s = Space("s", ("a", "b"), (("x", "y"), ("p", "q", "r")))
    assert s.edit_mask(0).tolist() == [[False, True, False], [False, True, True]]  # padding never


def test_discretise_single_and_batch():
    s = Space("s", ("a", "b"), (("x", "y"), ("p", "q", "r")))
    alpha = np.array([[0.1, 0.2, 9.0], [0.3, 0.1, 0.2]])  # the padded column never wins
    assert s.discretise(alpha).tolist() == [1, 0]
    assert s.discretise(np.stack([alpha, -alpha])).tolist() == [[1, 0], [0, 1]]
