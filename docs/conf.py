"""Sphinx configuration of the sb3-ccddpg documentation site (``make docs`` builds it into ``docs/_build/html``)."""

from __future__ import annotations

import inspect
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

import sb3_ccddpg

project = "sb3-ccddpg"
author = "sb3-ccddpg contributors"
release = sb3_ccddpg.__version__
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
# The benchmark folders' files are pages of the results section; the run folders under them are not.
exclude_patterns = ["_build", "**/runs", "**/rows"]
#: Titles of the tables the benchmarks write without one: added to the page at build time, the file unchanged.
GENERATED_TITLES = {
    "quality/quality": "The quality tables (`bench quality`)",
    "scale/scale": "The scale tables (`bench scale`)",
    "twin/twin": "The twin tables (`bench twin`)",
    "twin/n32/twin": "The twin tables at N = 32, M = 8 (`bench twin`)",
    "compare/n11/summary": "Comparison at N = 11 (`compare --n-uavs 11`)",
    "compare/n6/summary": "Comparison at N = 6 (`compare --n-uavs 6`)",
    "compare/heads/heads": "The heads tables (`bench heads`)",
    "quality/set/quality": "The set policy's quality tables (`bench quality`)",
    "scale/set/scale": "The set policy's scale tables (`bench scale`)",
    "scale/set/scale-without-rank-cycles": "The set policy's scale tables without rank cycles (`bench scale`)",
    "scale/set/scale-swap": "The swap descent's scale tables (`bench scale`)",
    "scale/set/scale-mixed": "The mixed-size set model's scale tables, without the size token (`bench scale`)",
    "scale/set/scale-mixed-size": "The mixed-size set model's scale tables, with the size token (`bench scale`)",
    "scale/set/scale-50k": "The set policy's scale tables after 50 000 steps (`bench scale`)",
    "scale/set/scale-deal": "The dealing set policy's and the snake deal's scale tables (`bench scale`)",
    "scale/set/scale-deal-50k": "The dealing set policy's scale tables after 50 000 steps (`bench scale`)",
}
html_theme = "sphinx_rtd_theme"
html_title = f"sb3-ccddpg {release}"
html_theme_options = {"navigation_depth": 3}
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}
# Benchmark tables written by the code start at a third-level heading; their page title comes from the toctree.
suppress_warnings = ["myst.header"]
nitpicky = False

logger = logging.getLogger(__name__)


def _require_docstring(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """Warn (an error under ``-W``) when a documented public name has no docstring (its own or inherited)."""
    if what in ("module", "class", "function", "method", "property") and not name.split(".")[-1].startswith("_"):
        if not inspect.getdoc(obj):
            logger.warning(f"{name} has no docstring", type="sb3_ccddpg", subtype="docstring")


def _title_generated_tables(app: Sphinx, docname: str, source: list[str]) -> None:
    """Give a benchmark's generated table a page title (see :data:`GENERATED_TITLES`)."""
    if docname in GENERATED_TITLES:
        source[0] = f"# {GENERATED_TITLES[docname]}\n\n{source[0]}"


def setup(app: Sphinx) -> None:
    """Connect the docstring check and the titles of generated tables."""
    app.connect("autodoc-process-docstring", _require_docstring)
    app.connect("source-read", _title_generated_tables)
