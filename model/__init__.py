"""Torch modules that are exactly the models of the specs."""
