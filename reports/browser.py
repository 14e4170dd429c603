"""Look at a report the way a person does: headless Chromium screenshots and the DOM after loading.

Used by the tests (a blank or broken page fails) and to make the README picture:
``python -m reports.browser REPORT.html docs/img/report.png``. Nothing here reaches the network: the reports are
self-contained and Chromium runs with its background networking, component updates and sync switched off.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from vbench_lite.types import VbenchError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--disable-dev-shm-usage")


def find_chromium() -> str | None:
    """``$VBENCH_LITE_CHROMIUM``, ``/usr/bin/chromium`` or the first Chromium/Chrome on ``PATH``."""
    env = os.environ.get("VBENCH_LITE_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    binary = find_chromium()
    if binary is None:
        raise VbenchError("chromium: not found (install the Debian package `chromium` or set VBENCH_LITE_CHROMIUM)")
    with tempfile.TemporaryDirectory(prefix="vbench-chromium-") as profile:
        cmd = [binary, *FLAGS, f"--user-data-dir={profile}", *args]
        try:
            return subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise VbenchError(f"chromium: no answer within {timeout:.0f} s") from exc


def screenshot(html: str | os.PathLike, png: str | os.PathLike, *, width: int = 1280, height: int = 2000,
               timeout: float = 180.0) -> Path:
    """Render ``html`` at ``width`` x ``height`` CSS pixels into ``png``."""
    html, png = Path(html).resolve(), Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    if png.exists():
        png.unlink()
    proc = _run([f"--screenshot={png}", f"--window-size={width},{height}", html.as_uri()], timeout)
    if not png.exists():
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise VbenchError(f"{html}: chromium wrote no screenshot ({tail[0]})")
    return png


def render_page(html: str | os.PathLike, png: str | os.PathLike, *, width: int = 1280, height: int = 2000,
                timeout: float = 180.0) -> tuple[Path, str]:
    """Screenshot and DOM of ``html`` from one Chromium run: ``(png path, DOM text)``."""
    html, png = Path(html).resolve(), Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    if png.exists():
        png.unlink()
    proc = _run([f"--screenshot={png}", "--dump-dom", f"--window-size={width},{height}", html.as_uri()], timeout)
    dom = proc.stdout.decode("utf-8", errors="replace")
    if not png.exists() or "<html" not in dom:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise VbenchError(f"{html}: chromium rendered no page ({tail[0]})")
    return png, dom


def dump_dom(html: str | os.PathLike, *, timeout: float = 180.0) -> str:
    """The page's DOM after loading, serialised by Chromium."""
    html = Path(html).resolve()
    proc = _run(["--dump-dom", html.as_uri()], timeout)
    dom = proc.stdout.decode("utf-8", errors="replace")
    if "<html" not in dom:
        raise VbenchError(f"{html}: chromium returned no DOM")
    return dom


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (2, 4):
        print("usage: python -m reports.browser REPORT.html OUT.png [WIDTH HEIGHT]", file=sys.stderr)
        return 2
    size = (int(argv[2]), int(argv[3])) if len(argv) == 4 else (1280, 2000)
    try:
        print(screenshot(argv[0], argv[1], width=size[0], height=size[1]))
    except VbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
