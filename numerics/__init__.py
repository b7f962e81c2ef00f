"""Bridges between theory and models: exact enumeration, autograd, Monte Carlo."""
