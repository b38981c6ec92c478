"""The built-in simulator of the experiment's computing chain."""
