"""The course website: how course.site prepares the pages, then the site read in a real browser.

Browser tests (Debian's headless Chromium driven by playwright): the site is built from the
notebooks executed in the smoke profile (this session's nbval outputs, see conftest.py) and
served on 127.0.0.1. On every page: no request leaves the site and none fails, every plotly
figure is drawn, every formula is typeset (no raw LaTeX), no traceback, the course checks are
hidden, previous/next links follow the course order and a solution opens on click.
Screenshots go to build/test-site/screenshots/ for review.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import tempfile
import threading

import nbformat
import pytest

from course import meta, nbtools, site

browser_test = pytest.mark.after_notebooks  # they read the outputs of this session's notebook cells

OUT = nbtools.ROOT / "build" / "test-site"
PAGES = ["index"] + [p.stem for p in nbtools.notebooks()]
# Chromium's background services would try the network, which this machine and CI refuse.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
RAW_LATEX = ("$$", "\\(", "\\frac")


def chromium() -> str:
    """Debian's Chromium, installed with apt-get when it is missing and we are root (as in CI)."""
    found = os.environ.get("COURSE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.fail("The website test needs Chromium: install Debian's package (`sudo apt-get install chromium`) "
                    "or set COURSE_CHROMIUM to a Chromium binary.")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode:
            pytest.fail(f"`{' '.join(cmd)}` failed; install Chromium by hand:\n{done.stderr[-2000:]}")
    return shutil.which("chromium")


def _notebook(*cells, outputs=()):
    nb = nbformat.v4.new_notebook(cells=list(cells))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = list(outputs)
    return nb


def _figure_output(fig) -> dict:
    html = '<script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/3.2.2/es5/tex-svg.min.js"></script>'
    return nbformat.v4.new_output("display_data", data={site.PLOTLY_MIME: fig.to_plotly_json(), "text/html": html})


def test_site_notebook_collapses_solutions_removes_checks_and_localises_the_badge():
    nb = _notebook(nbtools.md(f"# 01 · T\n\n{meta.colab_badge('notebooks/01_t.ipynb')}"),
                   nbtools.code("answer = ..."), nbtools.md("### Solution"), nbtools.code("answer = 42"),
                   nbtools.code("assert True"))
    nb.cells[4].metadata["tags"] = ["check"]
    nbtools.collapse(nb)
    page = site.site_notebook(nb)
    first = page.cells[0].source
    assert "(colab-badge.svg)" in first and "colab.research.google.com/assets" not in first
    assert meta.colab_url("notebooks/01_t.ipynb") in first  # the link itself stays
    assert page.cells[1].metadata["tags"] == []
    assert page.cells[3].metadata["tags"] == ["hide-cell"]
    assert page.cells[3].metadata["mystnb"]["code_prompt_show"] == "Show solution"
    assert page.cells[4].metadata["tags"] == ["check", "remove-cell"]
    assert "tags" not in nb.cells[3].metadata  # the executed notebook is left as it was


def test_figures_are_redrawn_with_the_local_plotly_js_and_counted():
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]), frames=[go.Frame(data=[go.Scatter(x=[1, 2], y=[4, 3])])])
    nb = _notebook(nbtools.code("fig"), nbtools.code("assert fig"), outputs=[_figure_output(fig)])
    nb.cells[1].metadata["tags"] = ["check"]
    assert site.figure_count(nb) == 1  # the one in the check cell is not shown
    html = site.site_output(nb.cells[0].outputs[0])["data"]["text/html"]
    assert "Plotly.newPlot" in html and "addFrames" in html
    assert "<script src" not in html and "https://" not in html.split("Plotly.newPlot")[0]


def test_widgets_become_a_note_and_progress_bars_and_the_plotly_bundle_go():
    widget = {site.WIDGET_MIME: {"model_id": "x", "version_major": 2, "version_minor": 0}}
    interact = nbformat.v4.new_output("display_data", data={**widget, "text/plain": "interactive(children=(Text(...)"})
    progress = nbformat.v4.new_output("display_data", data={**widget, "text/plain": "Batches:  40%|####  | 2/5"})
    bundle = nbformat.v4.new_output("display_data", data={"text/html": "<script>window.PlotlyConfig = {};</script>"})
    table = nbformat.v4.new_output("execute_result", data={"text/html": "<table></table>", "text/plain": "t"})
    assert site.site_output(interact)["data"] == {"text/html": site.WIDGET_NOTE}
    assert site.site_output(progress) is None and site.site_output(bundle) is None
    assert site.site_output(table) is table


def _inline_plotly_js(nb) -> list[str]:
    """Outputs that paste plotly.js into the notebook (the "notebook" renderer's bundle, ~4.8 MB)."""
    return [f"cell {i}" for i, cell in enumerate(nb.cells) for out in cell.get("outputs", [])
            if "window.PlotlyConfig" in str(out.get("data", {}).get("text/html", ""))
            or len(str(out.get("data", {}).get("text/html", ""))) > 1_000_000]


def test_setup_plotting_emits_the_plotly_mimetype_alone_and_keeps_colab(tmp_path, monkeypatch):
    """Outside Colab a figure's output is its JSON under the plotly mimetype (JupyterLab, Notebook 7 and
    VS Code draw it, and so does the site), with no plotly.js in the executed notebook."""
    import plotly.io as pio

    from course import env
    from course.runner import execute

    nb = nbformat.v4.new_notebook(cells=[nbtools.code("import course\ncourse.setup_plotting()"), nbtools.code(
        "import plotly.graph_objects as go\ngo.Figure(go.Scatter(x=[1, 2], y=[3, 4]))")])
    nbformat.write(nb, tmp_path / "figure.ipynb")
    assert execute(tmp_path / "figure.ipynb", "smoke", tmp_path / "out").ok
    done = nbformat.read(tmp_path / "out" / "figure.ipynb", as_version=4)
    outputs = [out for cell in done.cells for out in cell.outputs]
    assert [list(out.get("data", {})) for out in outputs] == [[site.PLOTLY_MIME]]
    assert not _inline_plotly_js(done) and (tmp_path / "out" / "figure.ipynb").stat().st_size < 20_000
    assert site.figure_count(done) == 1 and "Plotly.newPlot" in site.site_output(outputs[0])["data"]["text/html"]
    monkeypatch.setattr(env, "in_colab", lambda: True)
    before = pio.renderers.default
    try:
        env.setup_plotting()
        assert pio.renderers.default == "colab"
    finally:
        pio.renderers.default = before


@browser_test
def test_executed_copies_hold_no_inline_plotly_js(executed_notebooks):
    """Every notebook executed in this session keeps its figures as plotly JSON, not plotly.js bundles."""
    for path in nbtools.notebooks():
        nb = nbformat.read(executed_notebooks / path.name, as_version=4)
        assert not _inline_plotly_js(nb), f"{path.name}: plotly.js pasted into {_inline_plotly_js(nb)}"
        figures = [out for cell in nb.cells for out in cell.get("outputs", [])
                   if site.PLOTLY_MIME in out.get("data", {})]
        assert all("text/html" not in out["data"] for out in figures), f"{path.name}: a figure carries HTML too"


def test_prepare_writes_a_page_per_notebook_and_the_course_map(tmp_path):
    executed = tmp_path / "executed"
    executed.mkdir()
    with pytest.raises(SystemExit, match="01_.*missing: run `python -m course run 01`"):
        site.prepare(executed, tmp_path / "src")
    assert site.stale(executed) == nbtools.notebooks()
    for path in nbtools.notebooks():
        nb = nbformat.read(path, as_version=4)
        nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="course | profile=smoke | ...")]
        nbformat.write(nb, executed / path.name)
    assert site.stale(executed) == []
    site.prepare(executed, tmp_path / "src")
    index = (tmp_path / "src" / "index.md").read_text()
    for path in nbtools.notebooks():
        title, goals, minutes = nbtools.about(nbformat.read(path, as_version=4))
        assert (tmp_path / "src" / path.name).exists()
        assert f"[{title}]({path.name})" in index and goals[0] in index and f"About {minutes}" in index
        assert meta.colab_url(f"notebooks/{path.name}") in index and f"\n{path.stem}\n" in index  # toctree
    assert "the **smoke** profile" in index


def test_prepare_refuses_a_notebook_that_stopped_with_an_error(tmp_path):
    for path in nbtools.notebooks():
        shutil.copy(path, tmp_path / path.name)
    first = nbtools.notebooks()[0]
    nb = nbformat.read(first, as_version=4)
    nb.cells[1].outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="typo", traceback=[])]
    nbformat.write(nb, tmp_path / first.name)
    with pytest.raises(SystemExit, match=f"{first.name} stopped with ValueError in cell 1"):
        site.prepare(tmp_path, tmp_path / "src")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def built(executed_notebooks):
    return site.build(executed_notebooks, OUT / "site").parent


@pytest.fixture(scope="module")
def base_url(built):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=built))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = chromium()
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        context = pw.chromium.launch_persistent_context(profile, executable_path=executable, headless=True,
                                                        args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900})
        yield context
        context.close()


def open_page(browser, base_url: str, path: str):
    """Open a page of the site; return it and the requests that left the site or failed."""
    page, failed = browser.new_page(), []

    def route(r):
        if r.request.url.startswith(base_url):
            r.continue_()
        else:
            failed.append(f"outside the site: {r.request.url}")
            r.abort()

    page.route("**/*", route)
    page.on("requestfailed", lambda r: failed.append(f"failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and failed.append(f"HTTP {r.status}: {r.url}"))
    page.goto(base_url + path, wait_until="load")
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    return page, failed


def expected_figures(name: str, executed_notebooks) -> int:
    return 0 if name == "index" else site.figure_count(nbformat.read(executed_notebooks / f"{name}.ipynb", 4))


def neighbours(page) -> tuple[str | None, str | None]:
    """The previous/next links at the bottom of a page (href without the .html), None where absent."""
    links = [page.locator(sel) for sel in ("a.left-prev", "a.right-next")]
    return tuple(link.get_attribute("href").removesuffix(".html") if link.count() else None for link in links)


@browser_test
@pytest.mark.parametrize("name", PAGES)
def test_page_reads_offline(name, base_url, browser, executed_notebooks):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page, failed = open_page(browser, base_url, f"{name}.html")
    problems, figures, shots = [], expected_figures(name, executed_notebooks), OUT / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=shots / f"{name}.png")
    try:
        page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {figures}",
                               timeout=60_000)
    except PlaywrightTimeout:
        pass
    drawn = page.locator(".js-plotly-plot").count()
    if drawn != figures:
        problems.append(f"{drawn} plotly figures drawn, the notebook has {figures}")
    elif figures:
        page.locator(".js-plotly-plot").first.screenshot(path=shots / f"{name}-figure.png")
    math, typeset = page.locator(".math").count(), page.locator(".math mjx-container").count()
    if typeset != math:
        problems.append(f"{math - typeset} of {math} formulas not typeset")
    elif math:
        page.locator(".math").first.screenshot(path=shots / f"{name}-math.png")
    text = page.inner_text("main")
    problems += [f"raw LaTeX {s!r} in the text" for s in RAW_LATEX if s in text]
    if "Traceback" in text:
        problems.append("a traceback in the text")
    if nbtools.CHECK_TITLE in text:
        problems.append("a course check is shown")
    at = PAGES.index(name)
    expected = (PAGES[at - 1] if at else None, PAGES[at + 1] if at + 1 < len(PAGES) else None)
    if neighbours(page) != expected:
        problems.append(f"previous/next links go to {neighbours(page)}, expected {expected}")
    if name != "index":
        toggle = page.locator("details.hide", has_text="Show solution").first
        if not toggle.count():
            problems.append("no solution toggle")
        else:
            toggle.locator("summary").click()
            if toggle.evaluate("d => d.open") and toggle.locator("pre").first.is_visible():
                toggle.screenshot(path=shots / f"{name}-solution.png")
            else:
                problems.append("the solution toggle did not open on click")
    page.close()
    assert not problems + failed, f"{name}.html: " + "; ".join(problems + failed)


@browser_test
def test_sidebar_and_previous_link_navigate(base_url, browser):
    page, failed = open_page(browser, base_url, "index.html")
    sidebar = page.locator("nav.bd-docs-nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert [f"{name}.html" for name in PAGES[1:]] == [h for h in sidebar if h != "#"]
    page.locator("nav.bd-docs-nav a", has_text=PAGES[-1][:2]).first.click()
    page.wait_for_url(f"{base_url}{PAGES[-1]}.html")
    page.locator("a.left-prev").click()
    page.wait_for_url(f"{base_url}{PAGES[-2]}.html")
    assert not failed


@browser_test
def test_search_finds_a_page(base_url, browser):
    page, failed = open_page(browser, base_url, "search.html?q=cosine")
    page.wait_for_selector("ul.search li", timeout=30_000)
    hits = page.locator("ul.search li a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert any(h.startswith(PAGES[1]) for h in hits), hits
    assert not failed
