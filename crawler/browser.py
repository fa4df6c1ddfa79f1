"""The only Selenium user: headless Chromium that renders listing pages and scrolls them for video links."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service

from core.errors import MissingDependency
from core.system import require_program

CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-extensions", "--mute-audio", "--window-size=1280,2000",
)
_LINKS_JS = "return Array.from(document.querySelectorAll('a[href]'), a => a.href);"
_SCROLL_JS = "window.scrollTo(0, document.body.scrollHeight); return document.body.scrollHeight;"


class Browser:
    """One headless Chromium session with its own throwaway profile; close() removes the profile."""

    def __init__(self, user_agent: str | None = None, page_timeout_s: float = 30.0) -> None:
        chromium = require_program("chromium")
        driver = require_program("chromedriver")
        self._profile = tempfile.mkdtemp(prefix="emotions-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self._profile}")
        if user_agent:
            options.add_argument(f"--user-agent={user_agent}")
        try:
            self.driver = webdriver.Chrome(service=Service(executable_path=driver), options=options)
        except WebDriverException as exc:
            shutil.rmtree(self._profile, ignore_errors=True)
            first = (exc.msg or str(exc)).strip().splitlines()[0]
            raise MissingDependency(f"headless Chromium did not start: {first}",
                                    remedy="check `emotions doctor` (chromium and chromedriver versions must match)"
                                    ) from None
        self.driver.set_page_load_timeout(page_timeout_s)

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def links(self) -> list[str]:
        """Absolute hrefs of every link in the rendered document, in document order."""
        return list(self.driver.execute_script(_LINKS_JS) or [])

    def scroll_links(self, url: str, *, want: int, max_scrolls: int, pause_s: float) -> Iterator[str]:
        """Open `url` and yield new link hrefs as infinite scrolling reveals them.

        Stops after `want` links, `max_scrolls` scrolls, or two scrolls in a row that reveal nothing.
        """
        self.driver.get(url)
        seen: set[str] = set()
        idle = 0
        for step in range(max_scrolls + 1):
            fresh = self._wait_for_new(seen, pause_s if step else min(pause_s, 1.0))
            for href in fresh:
                seen.add(href)
                yield href
            if len(seen) >= want:
                return
            idle = 0 if fresh else idle + 1
            if idle >= 2 or step == max_scrolls:
                return
            self.driver.execute_script(_SCROLL_JS)

    def _wait_for_new(self, seen: set[str], pause_s: float) -> list[str]:
        deadline = time.monotonic() + pause_s
        while True:
            fresh = [h for h in dict.fromkeys(self.links()) if h not in seen]
            if fresh or time.monotonic() >= deadline:
                return fresh
            time.sleep(0.05)

    def html(self) -> str:
        """The rendered document (after scripts ran)."""
        return self.driver.page_source
