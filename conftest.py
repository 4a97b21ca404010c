"""Root pytest configuration: notebooks run as tests (tests/run_notebooks.py, which also stores
them for the website), and the budget report applies to every collected item."""

pytest_plugins = ["tests.run_notebooks", "tests.budget"]
