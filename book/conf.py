"""Sphinx configuration of the course website (``make book``; see ``tools/book.py``).

The source tree is generated into ``build/book-src`` by ``tools/book.py assemble`` from the
executed notebooks; Sphinx only renders it (myst-nb with execution off), with the theme
that Jupyter Book 1 uses. Everything the pages load is local: MathJax comes from the
``django-static-mathjax`` wheel (MathJax 3.2.2) in the book venv, not from a CDN.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import mathjax  # the django-static-mathjax package: MathJax's files, nothing else

project = "Transformers, from RNN limits to Vision Transformers"
author = "the course's contributors"
copyright = "the course's contributors, Apache-2.0"

extensions = ["myst_nb"]
exclude_patterns = ["_sources_clean/**", "**/.ipynb_checkpoints"]

# The notebooks were executed by `tools/book.py execute` in the course kernel; never here.
nb_execution_mode = "off"
nb_output_stderr = "show"
nb_ipywidgets_js = {}  # no require.js or widget manager from a CDN
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# MathJax 3 from a local copy, copied next to the HTML by the `config-inited` hook below.
_MATHJAX_ES5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
mathjax_path = "mathjax/tex-mml-chtml.js"

html_theme = "sphinx_book_theme"
html_title = "Transformers course"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_last_updated_fmt = None
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
    "navigation_with_keys": False,
    # sphinx-book-theme 1.4 (with pydata-sphinx-theme 0.20) adds a top bar whose only content is
    # a second search field, above the sidebar's own: no top bar (the article header keeps the
    # sidebar toggle, the sidebar keeps search, Ctrl+K still opens it).
    "navbar_persistent": [],
}
_repo = os.environ.get("BOOK_REPO_URL", "")
if _repo:
    html_theme_options |= {
        "repository_url": _repo,
        "use_repository_button": True,
        "repository_branch": os.environ.get("BOOK_REPO_REF", "main"),
    }
# Broken cross-references are errors (sphinx-build -W); these are the only warnings let through:
#   myst.header: lessons may step from a title (#) to a sub-section (###); not a link problem.
suppress_warnings = ["myst.header"]


def _copy_mathjax(app, exception):
    """Copy MathJax's ES5 bundle (the one combined component and what it loads on demand)."""
    if exception or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    if target.exists():
        shutil.rmtree(target)
    bundles = {p.name for p in _MATHJAX_ES5.glob("*.js")} - {"tex-mml-chtml.js"}
    shutil.copytree(
        _MATHJAX_ES5, target, ignore=lambda d, names: bundles if Path(d) == _MATHJAX_ES5 else set()
    )


def setup(app):
    app.connect("build-finished", _copy_mathjax)
