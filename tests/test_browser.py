"""A generated report, opened in a real browser: headless Chromium (Debian's ``chromium``).

Two loads of a report written from a tiny run:

1. the report as written, with Chromium's console logged to stderr: no console error, no
   blocked request (its Content-Security-Policy forbids any fetch, so a figure or style that
   tried the network would show up here);
2. a copy with a small script injected (the copy's policy allows inline scripts, nothing else)
   that waits for the load event and writes into the DOM what it found -- every ``<img>``
   decoded (``naturalWidth > 0``), the title, the headline table's rows, any error or policy
   violation -- and ``--dump-dom`` prints that DOM.

Chromium is installed by ``make test`` when missing. Run alone, this test installs it only
when running as root with apt-get available; otherwise it skips, saying why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fake_run import real_run

from sim.reports.report import write_report

BROWSERS = ("chromium", "chromium-browser")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--virtual-time-budget=5000",
    "--window-size=1200,2000",
)

PROBE = """<script>
(function () {
  var found = {errors: [], violations: []};
  window.addEventListener("error", function (e) { found.errors.push(String(e.message)); }, true);
  document.addEventListener("securitypolicyviolation", function (e) {
    found.violations.push(e.violatedDirective + " " + e.blockedURI); });
  var log = console.error;
  console.error = function () { found.errors.push([].join.call(arguments, " ")); log.apply(console, arguments); };
  window.addEventListener("load", function () {
    var imgs = Array.prototype.slice.call(document.images);
    found.title = document.title;
    found.images = imgs.map(function (i) {
      return {alt: i.alt, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight}; });
    found.tables = document.querySelectorAll("table").length;
    found.headline_rows = document.querySelectorAll("#headline ~ table tbody tr").length;
    var out = document.createElement("pre");
    out.id = "__probe";
    out.textContent = JSON.stringify(found);
    document.body.appendChild(out);
  });
})();
</script>"""


def _browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    apt = shutil.which("apt-get")
    if os.geteuid() != 0 or apt is None:
        pytest.skip(
            "chromium is not installed, and installing it needs root and apt-get "
            "(`make test` installs it; or: apt-get install chromium)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(
        [apt, "install", "-y", "-qq", "chromium"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:  # the package lists may be missing: update once, then retry
        subprocess.run([apt, "update", "-qq"], env=env, capture_output=True, timeout=600)
        done = subprocess.run(
            [apt, "install", "-y", "-qq", "chromium"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    path = shutil.which("chromium")
    if done.returncode != 0 or path is None:
        pytest.skip(f"could not install chromium with apt-get: {done.stderr.strip()[-300:]}")
    return path


def _open(browser: str, page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("browser")
    run = real_run(d / "run", replications=2)
    return write_report(run, d / "report")


def _console_errors(stderr: str) -> list[str]:
    """Console messages and load failures that Chromium logged (its own dbus/GPU chatter is
    not about the page)."""
    lines = [
        ln
        for ln in stderr.splitlines()
        if "CONSOLE" in ln or "Refused to" in ln or "Uncaught" in ln or "net::ERR" in ln
    ]
    return lines


def test_report_renders_in_chromium_with_every_figure(report: Path, tmp_path: Path) -> None:
    browser = _browser()
    # 1. the report as written: nothing in the console
    done = _open(browser, report, tmp_path / "p1", "--enable-logging=stderr", "--v=0", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<h1>Scenario baseline</h1>" in done.stdout
    assert _console_errors(done.stderr) == []
    # 2. a copy with the probe: every image decoded, no error, no policy violation
    html = report.read_text(encoding="utf-8")
    html = html.replace("script-src 'none'", "script-src 'unsafe-inline'")
    probe = report.with_name("probed.html")
    probe.write_text(html.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    done = _open(browser, probe, tmp_path / "p2", "--enable-logging=stderr", "--v=0", "--dump-dom")
    m = re.search(r'<pre id="__probe">(.*?)</pre>', done.stdout, re.S)
    assert m, f"the probe did not run:\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
    found = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert found["title"] == "sim report: baseline"
    assert len(found["images"]) == len(list((report.parent / "figures").glob("*.png"))) >= 8
    bad = [i for i in found["images"] if not i["complete"] or i["width"] <= 0]
    assert bad == [], f"figures that did not decode: {bad}"
    assert all(i["alt"] for i in found["images"])
    assert found["errors"] == [] and found["violations"] == []
    assert found["headline_rows"] > 10
    assert _console_errors(done.stderr) == []


@pytest.fixture(scope="module")
def compare_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sim.reports.compare import write_compare

    d = tmp_path_factory.mktemp("browser-compare")
    a = real_run(d / "a", replications=2)
    b = real_run(d / "b", "whatif-live-pack-20pct-off", replications=2)
    return write_compare([a, b], d / "cmp")


def _probe(browser: str, page: Path, profile: Path) -> dict:
    html = page.read_text(encoding="utf-8").replace(
        "script-src 'none'", "script-src 'unsafe-inline'"
    )
    probe = page.with_name("probed.html")
    probe.write_text(html.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    done = _open(browser, probe, profile, "--enable-logging=stderr", "--v=0", "--dump-dom")
    m = re.search(r'<pre id="__probe">(.*?)</pre>', done.stdout, re.S)
    assert m, f"the probe did not run:\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
    return json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def test_compare_page_renders_in_chromium_with_every_figure(
    compare_page: Path, tmp_path: Path
) -> None:
    """The comparison page: every figure (headline changes, revenue by archetype and by
    edition, error-code rates) decodes, with no error and no policy violation; a screenshot
    of the page is taken, to look at (``--screenshot``)."""
    browser = _browser()
    found = _probe(browser, compare_page, tmp_path / "p")
    assert len(found["images"]) == len(list((compare_page.parent / "figures").glob("*.png"))) == 4
    assert all(i["complete"] and i["width"] > 0 and i["alt"] for i in found["images"])
    assert found["errors"] == [] and found["violations"] == []
    shot = tmp_path / "compare.png"
    _open(browser, compare_page, tmp_path / "p2", f"--screenshot={shot}")
    assert shot.is_file() and shot.read_bytes()[:4] == b"\x89PNG"
