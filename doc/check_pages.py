"""Open the built website in headless Chromium: screenshots and a search.

Takes screenshots of the landing page, the ScrubbedCVAE API page and the
quick-start example, and checks in the rendered DOM that the search page
finds ``valid_frames`` and that the API page shows no raw reST or numpydoc
markup. Needs Debian's ``chromium`` and a built site::

    sphinx-build -W --keep-going -b html doc doc/_build/html
    python doc/check_pages.py [--html doc/_build/html] [--out doc/_build/screenshots]
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PAGES = {
    "landing": "index.html",
    "api_scrubbedcvae": "generated/sklearn_scrubvae.ScrubbedCVAE.html",
    "example_quick_start": "auto_examples/plot_quick_start.html",
}
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
]
RAW_MARKUP = [":class:`", ":func:`", ":meth:`", "``", "-------", ".. ", ":param"]


def chromium(*arguments, profile):
    """Run headless Chromium with a throw-away profile; its stdout as text."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    command = [executable, *FLAGS, f"--user-data-dir={profile}", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120).stdout


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=Path("doc/_build/html"))
    parser.add_argument("--out", type=Path, default=Path("doc/_build/screenshots"))
    args = parser.parse_args(argv)
    html, failures = args.html.resolve(), []
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        for name, page in PAGES.items():
            png = (args.out / f"{name}.png").resolve()
            chromium(f"--screenshot={png}", "--window-size=1280,2400",
                     (html / page).as_uri(), profile=profile)
            print(f"{png}: {'written' if png.is_file() else 'MISSING'}")
            failures += [] if png.is_file() else [f"no screenshot of {page}"]

        api = chromium("--dump-dom", "--virtual-time-budget=5000",
                       (html / PAGES["api_scrubbedcvae"]).as_uri(), profile=profile)
        text = api.split('<article class="bd-article">', 1)[-1]
        if "Parameters" not in api or "<dl" not in text:
            failures.append("the ScrubbedCVAE page has no rendered parameter list")
        shown = [mark for mark in RAW_MARKUP if mark in _visible_text(text)]
        if shown:
            failures.append(f"raw markup on the ScrubbedCVAE page: {shown}")

        search = chromium("--dump-dom", "--virtual-time-budget=15000",
                          (html / "search.html").as_uri() + "?q=valid_frames", profile=profile)
        hits = search.count('class="kind-')
        print(f"search for valid_frames: {hits} results")
        if 'href="generated/sklearn_scrubvae.ScrubbedCVAE.html' not in search:
            failures.append("searching valid_frames does not find the ScrubbedCVAE page")
    for failure in failures:
        print("FAILED:", failure)
    return 1 if failures else 0


def _visible_text(markup):
    """Text of an HTML fragment without tags, scripts, styles and code blocks."""
    from html.parser import HTMLParser

    class Text(HTMLParser):
        skip = {"script", "style", "pre", "code"}

        def __init__(self):
            super().__init__()
            self.depth, self.parts = 0, []

        def handle_starttag(self, tag, attrs):
            self.depth += tag in self.skip

        def handle_endtag(self, tag):
            self.depth -= tag in self.skip

        def handle_data(self, data):
            if not self.depth:
                self.parts.append(data)

    parser = Text()
    parser.feed(markup)
    return " ".join(parser.parts)


if __name__ == "__main__":
    sys.exit(main())
