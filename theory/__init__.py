"""Closed-form population theory (NumPy and sympy only; never torch)."""
