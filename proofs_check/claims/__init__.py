"""One module per paper (or topic); importing a module registers its claims."""
