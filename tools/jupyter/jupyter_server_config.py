"""The JupyterLab server settings the course ships, found through JUPYTER_CONFIG_PATH, which
`tools/lab.sh` sets to this folder. The front end's defaults are in
labconfig/default_setting_overrides.json: no news pop-up, no update check, and the notebook's
execution progress (cells done out of cells queued, elapsed time) in the status bar at the
bottom of the window, with a button that jumps to the running cell: "Run All" scrolls to the
last cell while a long cell's progress lines are further up.

Used by `make lab` and by tests/test_browser.py (through tools/lab.sh), never by `make test`'s
notebook runs (tests/run_notebooks.py starts kernels itself). Each setting fixes something a learner met in
their first hour (issue 16).
"""

c = get_config()  # noqa: F821 - injected by traitlets when it loads this file

# The printed URL opens notebook 00, not the Launcher. The server's root is the repository
# (tools/lab.sh passes --ServerApp.root_dir), so solutions/, docs/ and README.md are reachable.
c.LabApp.default_url = "/lab/tree/notebooks/00_start_here.ipynb"

# Loopback only: the token in the printed URL is the only key.
c.ServerApp.ip = "127.0.0.1"

# One kernel on offer, the course's (ipykernel's own "Python 3 (ipykernel)" is the same
# interpreter without the course's settings).
c.KernelSpecManager.allowed_kernelspecs = {"transformers-course"}

# Every lesson has a jupytext twin (notebooks/NN_name.py, solutions/NN_name_solutions.py)
# for reviewers' diffs. Hide the twins from the file browser so each lesson appears once;
# jupytext still reads and writes them (hide_globs only filters directory listings).
c.ContentsManager.hide_globs = [
    "__pycache__",
    "*.pyc",
    "*.pyo",
    ".DS_Store",
    "*~",
    "*.so",
    "*.dylib",  # JupyterLab's defaults
    "[0-9][0-9]_*.py",  # the jupytext twins
]

# No "get notified about Jupyter news?" pop-up and no update check (also switched off in
# tools/jupyter/labconfig/default_setting_overrides.json, the front end's side).
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"

# A quiet terminal: warnings and errors only. The URL to open is still printed (the server
# prints it at the "critical" level). The start-up chatter ("extension was successfully
# linked", "Skipped non-installed server(s): ..." from the language-server scan) goes.
c.ServerApp.log_level = "WARN"
c.LabApp.log_level = "WARN"
# Tornado 6.5 caps the websocket ping timeout at the ping interval (30 s) and warns that
# Jupyter's default (90 s) is longer; say 30 s, which is what applies anyway.
c.ServerApp.tornado_settings = {"ws_ping_timeout": 30000}
c.LanguageServerManager.autodetect = False  # no language servers are installed; skip the scan

# Extensions come from the pinned lock, not from the Extension Manager's PyPI search.
c.LabApp.extension_manager = "readonly"
