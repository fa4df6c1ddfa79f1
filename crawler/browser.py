"""The only Selenium user: headless Chromium that opens listing pages, scrolls them, and reads the JSON the
page's own scripts fetched (Chrome DevTools network events), the embedded page state and the links."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

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
# a window global, else the text of a <script id=...>: how platforms ship their embedded page state
_STATE_JS = """
const out = {};
for (const name of arguments[0]) {
  try {
    const value = window[name];
    // an element with that id is a window property too: only a real state object counts here
    if (value && typeof value === 'object' && !(value instanceof Element)) {
      out[name] = JSON.stringify(value); continue;
    }
  } catch (e) {}
  const el = document.getElementById(name);
  if (el) out[name] = el.textContent;
}
return out;
"""


@dataclass(frozen=True, slots=True)
class Response:
    """One finished network response the page received: its URL, HTTP status, MIME type and body text."""

    url: str
    status: int
    mime: str
    body: str

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except (json.JSONDecodeError, TypeError):
            return None


class Browser:
    """One headless Chromium session. Its profile is a throwaway folder, or the user's own (`profile_dir`,
    a Chromium user-data dir they logged in with), which is kept."""

    def __init__(self, user_agent: str | None = None, page_timeout_s: float = 30.0,
                 profile_dir: Path | None = None) -> None:
        chromium = require_program("chromium")
        driver = require_program("chromedriver")
        self._own_profile = profile_dir is None
        self._profile = tempfile.mkdtemp(prefix="emotions-chromium-") if profile_dir is None else str(profile_dir)
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self._profile}")
        if user_agent:
            options.add_argument(f"--user-agent={user_agent}")
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})  # the network events
        options.add_experimental_option("perfLoggingPrefs", {"enableNetwork": True, "enablePage": False})
        try:
            self.driver = webdriver.Chrome(service=Service(executable_path=driver), options=options)
        except WebDriverException as exc:
            self._remove_profile()
            first = (exc.msg or str(exc)).strip().splitlines()[0]
            raise MissingDependency(f"headless Chromium did not start: {first}",
                                    remedy="check `emotions doctor` (chromium and chromedriver versions must match)"
                                    ) from None
        self.driver.set_page_load_timeout(page_timeout_s)
        self._pending: dict[str, tuple[str, int, str]] = {}  # requestId -> (url, status, mime)

    def _remove_profile(self) -> None:
        if self._own_profile:
            shutil.rmtree(self._profile, ignore_errors=True)

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            self._remove_profile()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ---- session ---------------------------------------------------------------------------------
    def set_cookies(self, cookies: list[dict[str, Any]]) -> None:
        """Give the browser these cookies (DevTools `Network.setCookie` parameters) before a page is opened."""
        for cookie in cookies:
            self.driver.execute_cdp_cmd("Network.setCookie", cookie)

    def clear_cookies(self) -> None:
        self.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})

    # ---- pages -----------------------------------------------------------------------------------
    def open(self, url: str) -> None:
        """Load `url`, forgetting the network events of earlier pages."""
        self.driver.get("about:blank")
        self.driver.get_log("performance")
        self._pending.clear()
        self.driver.get(url)

    @property
    def url(self) -> str:
        return str(self.driver.current_url)

    def html(self) -> str:
        """The rendered document (after scripts ran)."""
        return self.driver.page_source

    def links(self) -> list[str]:
        """Absolute hrefs of every link in the rendered document, in document order."""
        return list(self.driver.execute_script(_LINKS_JS) or [])

    def scroll(self) -> None:
        """Scroll to the bottom, as a reader does to load the next page of an infinite listing."""
        self.driver.execute_script(_SCROLL_JS)

    def page_state(self, names: tuple[str, ...]) -> dict[str, Any]:
        """The embedded page state under each name that exists: `window[name]`, or `<script id=name>`'s JSON
        (URL-encoded JSON, as Douyin's RENDER_DATA ships, is decoded too)."""
        found: dict[str, Any] = {}
        for name, text in (self.driver.execute_script(_STATE_JS, list(names)) or {}).items():
            text = (text or "").strip()
            if text.startswith("%7B"):
                text = unquote(text)
            try:
                found[name] = json.loads(text)
            except json.JSONDecodeError:
                continue
        return found

    # ---- network ---------------------------------------------------------------------------------
    def responses(self, wanted: Callable[[str], bool]) -> list[Response]:
        """Responses finished since the last call whose URL `wanted` accepts, with their bodies, in order."""
        done: list[Response] = []
        for entry in self.driver.get_log("performance"):
            try:
                message = json.loads(entry["message"])["message"]
            except (KeyError, json.JSONDecodeError):
                continue
            method, params = message.get("method"), message.get("params") or {}
            if method == "Network.responseReceived":
                response = params.get("response") or {}
                url = str(response.get("url") or "")
                if wanted(url):
                    self._pending[params["requestId"]] = (url, int(response.get("status") or 0),
                                                          str(response.get("mimeType") or ""))
            elif method in ("Network.loadingFinished", "Network.loadingFailed"):
                seen = self._pending.pop(params.get("requestId"), None)
                if seen is None:
                    continue
                body = ""
                if method == "Network.loadingFinished":
                    body = self._body(params["requestId"])
                done.append(Response(seen[0], seen[1], seen[2], body))
        return done

    def _body(self, request_id: str) -> str:
        try:
            got = self.driver.execute_cdp_cmd("Network.getResponseBody", {"requestId": request_id})
        except WebDriverException:  # evicted from the browser's buffer, or no body
            return ""
        if got.get("base64Encoded"):
            import base64

            return base64.b64decode(got.get("body") or "").decode("utf-8", errors="replace")
        return str(got.get("body") or "")

    def wait_responses(self, wanted: Callable[[str], bool], pause_s: float) -> list[Response]:
        """Collect wanted responses for up to `pause_s` seconds, returning as soon as some arrived and the
        network went quiet for a moment."""
        deadline = time.monotonic() + pause_s
        got: list[Response] = []
        while True:
            fresh = self.responses(wanted)
            got += fresh
            if (got and not fresh and not self._pending) or time.monotonic() >= deadline:
                return got
            time.sleep(0.1)
