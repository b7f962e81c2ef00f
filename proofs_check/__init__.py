"""Claims registry, runner, command line and report."""
