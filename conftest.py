"""Root pytest configuration: the notebook budget report applies to every collected item."""

pytest_plugins = ["tests.budget"]
