#!/usr/bin/env python3
"""Check in headless Chromium that the SVG images embedded in the built book render.

Finds every HTML page of BOOK_DIR with an <img> whose src ends in .svg, opens it
over file:// in headless Chromium (driven by Selenium through the system
chromedriver), waits for the document to be complete, and checks in the page,
for each such image, that img.complete && img.naturalWidth > 0 &&
img.naturalHeight > 0. Prints one line per image and exits

    0  every SVG image rendered;
    1  at least one did not (or a page could not be checked);
    2  no SVG image was found at all (the check cannot pass vacuously).

Run it through .ci/check-plots, which installs chromium, chromium-driver and
selenium first. --screenshot DIR saves a PNG of each image element.
"""

import argparse
import os
import re
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

SVG_SRC = re.compile(r"\.svg(?:[?#].*)?$", re.IGNORECASE)
DEFAULT_BOOK = Path(__file__).resolve().parent.parent / "book" / "book"

# Every <img> of the page whose src attribute ends in .svg; each is scrolled
# into view (so loading="lazy" images load too) before it is checked.
FIND_JS = r"""
const re = /\.svg(?:[?#].*)?$/i;
const imgs = Array.from(document.querySelectorAll('img'))
    .filter(img => re.test((img.getAttribute('src') || '').trim()));
imgs.forEach(img => img.setAttribute('data-check-plots', ''));
return imgs;
"""

# Resolves when the image has finished loading, or failed to, or time is up.
WAIT_JS = r"""
const [img, ms, done] = arguments;
img.scrollIntoView({block: 'center'});
if (img.complete) { done(true); return; }
const t = setTimeout(() => done(img.complete), ms);
const fin = () => { clearTimeout(t); done(img.complete); };
img.addEventListener('load', fin, {once: true});
img.addEventListener('error', fin, {once: true});
"""

STATE_JS = r"""
const img = arguments[0];
return {
    src: img.getAttribute('src'),
    url: img.currentSrc || img.src,
    complete: img.complete,
    w: img.naturalWidth,
    h: img.naturalHeight,
    ok: img.complete && img.naturalWidth > 0 && img.naturalHeight > 0,
};
"""


class ImgFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.svgs = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            src = (dict(attrs).get("src") or "").strip()
            if SVG_SRC.search(src):
                self.svgs.append(src)

    handle_startendtag = handle_starttag


def pages_with_svg_imgs(book):
    """(page, [src, ...]) for each HTML page under book with an <img src=*.svg>."""
    found = []
    for page in sorted(book.rglob("*.html")):
        text = page.read_text(encoding="utf-8", errors="replace")
        if "<img" not in text.lower():
            continue
        parser = ImgFinder()
        parser.feed(text)
        if parser.svgs:
            found.append((page, parser.svgs))
    return found


def start_browser(chromium, chromedriver, timeout):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for what, path in (("chromium", chromium), ("chromedriver", chromedriver)):
        if not os.access(path, os.X_OK):
            sys.exit(f"check_plots: no {what} at {path} (run .ci/check-plots to install it)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-dev-shm-usage", "--window-size=1280,1024",
                 "--hide-scrollbars", "--force-device-scale-factor=1"):
        opts.add_argument(flag)
    # The system chromedriver, given by path: Selenium Manager is not run.
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=opts)
    driver.set_page_load_timeout(timeout)
    driver.set_script_timeout(timeout + 5)
    # mdBook's print.html calls window.print() on load; keep that from blocking.
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                           {"source": "window.print = () => {};"})
    return driver


def wait_complete(driver, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.execute_script("return document.readyState") == "complete":
            return True
        time.sleep(0.1)
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("book", nargs="?", type=Path, default=DEFAULT_BOOK,
                    help=f"the built book (default: {DEFAULT_BOOK})")
    ap.add_argument("--screenshot", metavar="DIR", type=Path,
                    help="save a PNG screenshot of each image element in DIR")
    ap.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                    help="per page load and per image wait (default: 30)")
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    ap.add_argument("--chromedriver",
                    default=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    args = ap.parse_args()

    book = args.book.resolve()
    if not book.is_dir():
        print(f"check_plots: {book} is not a directory (build the book first)", file=sys.stderr)
        return 2
    pages = pages_with_svg_imgs(book)
    if not pages:
        print(f"check_plots: no <img> with an .svg src in any HTML page under {book}")
        print("plots: 0 passed, 0 failed")
        return 2
    print(f"check_plots: {sum(len(s) for _, s in pages)} SVG <img> tags "
          f"on {len(pages)} pages under {book}")
    if args.screenshot:
        args.screenshot.mkdir(parents=True, exist_ok=True)

    passed = failed = 0
    driver = start_browser(args.chromium, args.chromedriver, args.timeout)
    try:
        for page, srcs in pages:
            rel = page.relative_to(book).as_posix()
            try:
                driver.get(page.as_uri())
                if not wait_complete(driver, args.timeout):
                    raise RuntimeError("document did not reach readyState complete")
                imgs = driver.execute_script(FIND_JS)
            except Exception as e:  # a page that cannot be checked fails its images
                for src in srcs:
                    print(f"FAILED  {rel}  {src}  (page error: {str(e).splitlines()[0]})")
                failed += len(srcs)
                continue
            if len(imgs) < len(srcs):
                print(f"FAILED  {rel}  ({len(srcs)} SVG <img> in the HTML, "
                      f"{len(imgs)} in the loaded page)")
                failed += len(srcs) - len(imgs)
            for i, img in enumerate(imgs):
                driver.execute_async_script(WAIT_JS, img, int(args.timeout * 1000))
                st = driver.execute_script(STATE_JS, img)
                line = f"{rel}  {st['src']}  {st['w']}x{st['h']}"
                if st["ok"]:
                    passed += 1
                    print(f"ok      {line}")
                else:
                    failed += 1
                    print(f"FAILED  {line}  (complete={str(st['complete']).lower()}, "
                          f"{st['url']})")
                if args.screenshot:
                    name = re.sub(r"[^A-Za-z0-9._-]+", "_",
                                  f"{rel[:-5]}__{i}__{Path(st['src']).stem}") + ".png"
                    try:
                        img.screenshot(str(args.screenshot / name))
                    except Exception as e:
                        print(f"        (no screenshot: {str(e).splitlines()[0]})")
    finally:
        driver.quit()

    print(f"plots: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
