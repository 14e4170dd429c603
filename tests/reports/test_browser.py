"""The reports in a real browser: headless Chromium renders them; a blank or broken page fails.

Checks: the screenshot is not nearly uniform and has many distinct colours, its top band is the report's blue header
(not an error page), the DOM after loading holds the expected headings, and every <img> has a data: source that
decodes as an image. Skipped when no Chromium is installed (Debian package ``chromium``).
"""

from __future__ import annotations

import base64
import io
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from reports.browser import find_chromium, render_page
from reports.run_report import write_comparison_report

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed")


class DomParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.images: list[str] = []
        self._heading = False

    def handle_starttag(self, tag, attrs):
        if tag in ("h1", "h2"):
            self._heading = True
            self.headings.append("")
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")

    def handle_endtag(self, tag):
        if tag in ("h1", "h2"):
            self._heading = False

    def handle_data(self, data):
        if self._heading:
            self.headings[-1] += data


def assert_page_renders(html_path, tmp_path, headings):
    png, dom_text = render_page(html_path, tmp_path / "shot.png", width=1280, height=2000)
    image = np.asarray(Image.open(png).convert("RGB")).astype(np.int16)
    assert image.shape[:2] == (2000, 1280)
    assert image.std() > 20, "nearly uniform screenshot: blank page"
    q = image // 16
    colours = np.unique(q[..., 0] * 256 + q[..., 1] * 16 + q[..., 2])
    assert colours.size > 60, "too few colours: no charts or filmstrips drawn"
    top = image[5:90, :, :]
    blue = (top[..., 2] - top[..., 0] > 60).mean()
    assert blue > 0.5, "the report header is missing: an error page?"

    dom = DomParser()
    dom.feed(dom_text)
    for heading in headings:
        assert any(h.strip().startswith(heading) for h in dom.headings), (heading, dom.headings)
    assert dom.images, "no images in the page"
    for src in dom.images:
        assert src.startswith("data:image/"), f"image not inline: {src[:60]}"
        Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).verify()  # a broken image raises


def test_run_report_in_chromium(real_runs, tmp_path):
    assert_page_renders(real_runs["clean"] / "report.html", tmp_path,
                        ["vbench-lite report: clean", "Metrics", "Per-video values", "By dimension", "Clips"])


def test_comparison_report_in_chromium(real_runs, tmp_path):
    paths = write_comparison_report([real_runs["clean"], real_runs["noisy"]], tmp_path / "cmp", title="Two runs")
    assert_page_renders(paths["report.html"], tmp_path,
                        ["Two runs", "Leaderboard", "Metrics", "By dimension", "Clips", "Runs"])


def test_blank_page_is_caught(tmp_path):
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    with pytest.raises(AssertionError, match="blank page"):
        assert_page_renders(blank, tmp_path, [])
