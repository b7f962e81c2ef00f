"""The argument checks of the autoregressive paper's code (public in theory.validate): canonical
values for good input, a ValueError starting with the argument's name for bad input."""

from __future__ import annotations

import numpy as np
import pytest

from theory import validate


def test_good_input_is_canonicalised():
    assert validate.angle_range(1) == 1.0 and isinstance(validate.angle_range(4), float)
    assert validate.even_dimension(np.int64(4)) == 4 and type(validate.even_dimension(2)) is int
    assert validate.square_matrix([[1, 2], [3, 4]]).dtype == np.float64
    assert validate.positional_weights([0, 1]).shape == (2,)
    np.testing.assert_array_equal(validate.int_array([[1], [3]], "t"), [[1], [3]])
    assert validate.int_array(5, "t").shape == () and validate.int_array(np.arange(3), "n", minimum=0).dtype == np.int64
    assert validate.nonzero_float(-0.5, "p_last") == -0.5


@pytest.mark.parametrize("call, name", [
    (lambda: validate.angle_range(0.5), "nu"),
    (lambda: validate.angle_range(float("inf")), "nu"),
    (lambda: validate.angle_range("2"), "nu"),
    (lambda: validate.angle_range(0.9, "range"), "range"),
    (lambda: validate.even_dimension(3), "d"),
    (lambda: validate.even_dimension(0), "d"),
    (lambda: validate.even_dimension(2.0), "d"),
    (lambda: validate.even_dimension(5, "C (dimension d)"), r"C \(dimension d\)"),
    (lambda: validate.square_matrix(np.ones((2, 3))), "C"),
    (lambda: validate.square_matrix(np.ones(3)), "C"),
    (lambda: validate.square_matrix(np.zeros((0, 0))), "C"),
    (lambda: validate.square_matrix([[np.nan]], "P"), "P"),
    (lambda: validate.positional_weights([1.0]), "p"),
    (lambda: validate.positional_weights(np.ones((2, 2))), "p"),
    (lambda: validate.positional_weights([1.0, np.inf]), "p"),
    (lambda: validate.int_array(0, "t"), "t"),
    (lambda: validate.int_array(2.5, "t"), "t"),
    (lambda: validate.int_array(np.array([1.0, 2.0]), "d"), "d"),
    (lambda: validate.int_array(np.array([], dtype=int), "d"), "d"),
    (lambda: validate.int_array(np.array([3, 0]), "d"), "d"),
    (lambda: validate.nonzero_float(0.0, "p_last"), "p_last"),
    (lambda: validate.nonzero_float(float("nan"), "p_last"), "p_last"),
    (lambda: validate.nonzero_float(True, "p_last"), "p_last"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=f"^{name}: expected"):
        call()
