"""Sphinx configuration of the course website (`python -m course site`, `make site`).

The pages are the notebooks as executed by `python -m course run` (or by the test suite),
prepared by `course.site` (solutions behind a toggle, course checks removed, figures
re-emitted for a local plotly.js). Nothing is fetched at build or read time: MathJax comes
from the django-static-mathjax package and plotly.js from the plotly package, both copied
into `_static/` at the end of the build.
"""

import shutil
from pathlib import Path

import mathjax
import plotly

project = "Text embedding models: a course"
author = "the embedding-course authors"
copyright = "the embedding-course authors, MIT license"

extensions = ["myst_nb"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
myst_enable_extensions = ["dollarmath", "amsmath"]

# The notebooks arrive executed: never run them here.
nb_execution_mode = "off"
nb_ipywidgets_js = {}  # no widget JavaScript from a CDN; course.site turns widget outputs into a note
nb_output_stderr = "remove"  # progress bars and library log lines, not lesson content

# Math from local files: MathJax 3 as packaged on PyPI by django-static-mathjax (plain files, no
# Django needed). myst-parser tells MathJax which elements hold math.
MATHJAX = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
mathjax_path = "mathjax/tex-chtml.js"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

html_theme = "sphinx_book_theme"
html_title = "Text embedding models"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "navigation_with_keys": True,
}
html_context = {"default_mode": "light"}  # readable when projected; the reader can switch


def add_plotly(app, pagename, templatename, context, doctree):
    """Load the local plotly.js only on pages that hold a figure."""
    if "plotly-graph-div" in context.get("body", ""):
        app.add_js_file("plotly.min.js", priority=200)


def copy_assets(app, exception):
    """Copy MathJax and plotly.js next to the pages: the site needs no network."""
    if exception is None and app.builder.format == "html":
        static = Path(app.outdir) / "_static"
        unused = {p.name for p in MATHJAX.glob("*.js")} - {"tex-chtml.js"}  # the other MathJax bundles
        shutil.copytree(MATHJAX, static / "mathjax", dirs_exist_ok=True,
                        ignore=lambda folder, names: unused if Path(folder) == MATHJAX else ())
        shutil.copy2(PLOTLY_JS, static / "plotly.min.js")


def setup(app):
    app.connect("html-page-context", add_plotly)
    app.connect("build-finished", copy_assets)
