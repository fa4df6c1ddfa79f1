"""One crawl run: discover → resolve → download → record, with a worker pool, a limit, resume and a report."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import yaml

from core.errors import CrawlBlocked
from core.manifest import atomic_write_json, atomic_write_text
from core.records import RawVideo, VideoRef
from core.settings import Settings, get_settings
from crawler.download import Downloaded, download
from crawler.http import Client, Failure
from crawler.parsing import Problem
from crawler.recipe import CrawlRecipe
from crawler.sources import Candidate, SourceContext, get_source, ref_key
from crawler.sources.base import extra, platform_of_url
from crawler.sources.urls import ROW_SKIPS
from crawler.state import CrawlState, media_ext

Progress = Callable[[dict[str, Any]], None]
OPT_OUTS = frozenset({"robots_disallowed", "x_robots_tag"}) | ROW_SKIPS  # we chose not to fetch


@dataclass
class CrawlReport:
    """What one run did (this run only) and why it stopped."""

    out: str
    downloaded: int = 0
    failed: int = 0
    skipped: int = 0
    already_done: int = 0
    denied: int = 0
    total_downloaded: int = 0
    bytes: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    stopped: str = "finished"
    seconds: float = 0.0


class WorkQueue(Protocol):
    def refs(self) -> Iterator[VideoRef]: ...
    def finish(self, ref: VideoRef, status: str) -> None: ...
    def claim_key(self, kind: str, value: str, owner: str) -> str | None: ...
    def close(self) -> None: ...


class LocalQueue:
    """Discovery of this process, remembered under .state so that a re-run need not discover again."""

    def __init__(self, recipe: CrawlRecipe, ctx: SourceContext, state: CrawlState) -> None:
        source = get_source(recipe.source)
        self._discover = lambda: source.discover(ctx)
        listing = hashlib.sha256(recipe.file.read_bytes()).hexdigest() if recipe.file else None
        fingerprint = json.dumps([recipe.source, recipe.query, list(recipe.seeds), listing, recipe.base_url,
                                  recipe.max_depth, recipe.max_pages], sort_keys=True)  # what discovery depends on
        name = f"discovered-{state.prefix}-{hashlib.sha256(fingerprint.encode()).hexdigest()[:16]}"
        self._list = state.out / ".state" / f"{name}.jsonl"
        self._done = state.out / ".state" / f"{name}.done"

    def refs(self) -> Iterator[VideoRef]:
        if self._done.exists():
            with self._list.open(encoding="utf-8") as handle:
                for line in handle:
                    yield VideoRef.model_validate_json(line)
            return
        known: set[str] = set()
        with self._list.open("w", encoding="utf-8") as handle:
            for ref in self._discover():
                key = ref_key(ref)
                if key in known:
                    continue
                known.add(key)
                handle.write(ref.model_dump_json() + "\n")  # buffered: an unfinished list is rewritten anyway
                yield ref
        atomic_write_text(self._done, datetime.now(UTC).isoformat())

    def finish(self, ref: VideoRef, status: str) -> None:
        return None

    def claim_key(self, kind: str, value: str, owner: str) -> str | None:
        return None  # this process's CrawlState is the only writer

    def close(self) -> None:
        return None


class Runner:
    """Holds the per-run objects; `run()` drives the pool until the limit, exhaustion or a block."""

    def __init__(self, recipe: CrawlRecipe, settings: Settings | None = None, browser: Any = None,
                 progress: Progress | None = None, log: Callable[[str], None] | None = None) -> None:
        self.recipe = recipe
        self.settings = settings or get_settings()
        self.source = get_source(recipe.source)
        self.progress = progress or (lambda _row: None)
        self.log = log or (lambda _msg: None)
        prefix = f"raw-{recipe.worker_id}" if recipe.frontier_url else "raw"
        self.state = CrawlState(recipe.out, prefix=prefix, shard_size=recipe.shard_size, fsync=recipe.fsync,
                                retry_failed=recipe.retry_failed)
        self.client = Client(recipe.politeness, self.settings.crawl_user_agent, recipe.cookie_file,
                             keep_session_cookies=recipe.keep_session_cookies)
        self._browser, self._own_browser = browser, False
        self._browser_lock = threading.Lock()
        self.ctx = SourceContext(recipe, self.client, self._open_browser, self.log)
        self.report = CrawlReport(out=str(recipe.out))
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._active: set[str] = set()
        self.denied = _deny_keys(recipe)
        self.queue: WorkQueue | None = None

    def _open_browser(self) -> Any:
        with self._browser_lock:
            if self._browser is None:
                from crawler.browser import Browser

                self._browser = Browser(self.settings.crawl_user_agent, profile_dir=self.recipe.browser_profile)
                self._own_browser = True
            return self._browser

    def _queue(self) -> WorkQueue:
        if self.recipe.frontier_url:
            from crawler.frontier import FrontierQueue

            return FrontierQueue(self.recipe, self.ctx, self.state)
        return LocalQueue(self.recipe, self.ctx, self.state)

    def run(self) -> CrawlReport:
        started = datetime.now(UTC)
        atomic_write_text(self.state.out / "recipe.yaml", yaml.safe_dump(self.recipe.resolved(), sort_keys=True))
        queue = self.queue = self._queue()
        blocked: CrawlBlocked | None = None
        limit, workers = self.recipe.limit, self.recipe.workers
        inflight: dict[Future[Any], tuple[VideoRef, bool]] = {}  # future -> (ref, is a commit)
        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crawl") as pool, \
                    ThreadPoolExecutor(max_workers=1, thread_name_prefix="commit") as committer:
                self._committer = committer
                try:
                    for ref in queue.refs():
                        if self.state.downloaded >= limit:
                            self.report.stopped = "limit"
                            break
                        if ref_key(ref) in self.denied:
                            self.report.denied += 1
                            queue.finish(ref, "denied")
                            continue
                        if self.state.is_done(ref_key(ref)):
                            self.report.already_done += 1
                            queue.finish(ref, "done")
                            continue
                        while inflight and (self._fetching(inflight) >= workers
                                            or self.state.downloaded + len(inflight) >= limit):
                            self._reap(inflight, queue)
                        if self.state.downloaded >= limit:
                            self.report.stopped = "limit"
                            break
                        inflight[pool.submit(self._process, ref)] = (ref, False)
                    while inflight:
                        self._reap(inflight, queue)
                except CrawlBlocked as exc:
                    blocked = exc
                    self._stop.set()
                    self.report.stopped = "blocked: " + exc.message
                    for future in list(inflight):
                        future.cancel()
                    wait(list(inflight))
            if self.state.downloaded >= limit:
                self.report.stopped = "limit"
        finally:
            self.state.seal(stopped=self.report.stopped)
            self.state.close()
            queue.close()
            self.client.close()
            if self._own_browser and self._browser is not None:
                self._browser.close()
            self.report.seconds = round((datetime.now(UTC) - started).total_seconds(), 3)
            self.report.total_downloaded = self.state.downloaded
            self.report.reasons = dict(self._counts)
            atomic_write_json(self.state.out / ".state" / f"last-run-{self.state.prefix}.json", vars(self.report))
        if blocked is not None:
            raise blocked
        return self.report

    @staticmethod
    def _fetching(inflight: dict[Future[Any], tuple[VideoRef, bool]]) -> int:
        return sum(1 for _ref, commit in inflight.values() if not commit)

    def _reap(self, inflight: dict[Future[Any], tuple[VideoRef, bool]], queue: WorkQueue) -> None:
        done, _pending = wait(list(inflight), return_when=FIRST_COMPLETED)
        for future in done:
            ref, _commit = inflight.pop(future)
            result = future.result()  # re-raises CrawlBlocked from the worker thread
            if isinstance(result, Future):  # downloaded; being flushed and recorded while others download
                inflight[result] = (ref, True)
            elif result is not None:
                queue.finish(ref, result["status"])

    # ---- one video ------------------------------------------------------------------------------
    def _process(self, ref: VideoRef) -> dict[str, Any] | Future[dict[str, Any]] | None:
        if self._stop.is_set():
            return None
        rkey = ref_key(ref)
        try:
            resolved = self.source.resolve(ref, self.ctx)
        except CrawlBlocked:
            raise
        except Exception as exc:  # a page no parser expected: record it, keep crawling
            resolved = Failure("error", f"{type(exc).__name__}: {exc}")
        if not isinstance(resolved, Candidate):
            return self._fail(ref, rkey, resolved)
        cand = resolved
        if cand.key in self.denied:  # learnt only now (e.g. a page URL whose id is on the takedown list)
            with self._lock:
                self.report.denied += 1
            return None
        with self._lock:
            busy = cand.key != rkey and (cand.key in self._active or self.state.is_done(cand.key))
            if not busy:
                self._active.add(cand.key)
        if busy:
            return self._record(self._raw(cand, status="skipped", reason="duplicate_id"), rkey, rkey)
        def release(_done: object = None) -> None:
            with self._lock:
                self._active.discard(cand.key)

        try:
            result = self._fetch(cand, rkey)
        except BaseException:
            release()
            raise
        if isinstance(result, Future):
            result.add_done_callback(release)  # the key stays busy until its row is recorded
        else:
            release()
        return result

    def _fetch(self, cand: Candidate, rkey: str) -> dict[str, Any] | Future[dict[str, Any]]:
        if self.recipe.backend == "ytdlp" or cand.media_url is None:
            got = self._download_ytdlp(cand, rkey)
        else:
            for n, url in enumerate((cand.media_url, *cand.fallback_urls)):  # the preferred source, then the others
                got = download(self.client, url, self.state.tmp, key=f"{rkey}#{n}" if n else rkey,
                               max_bytes=self.recipe.max_bytes, content_types=self.recipe.content_types,
                               headers=cand.headers, fsync=False)  # the committer flushes it, overlapping the next
                if not isinstance(got, Failure):
                    if n:
                        cand = replace(cand, media_url=url)
                    break
        if isinstance(got, Failure):
            return self._record(self._raw(cand, status=_status_of(got.reason), reason=got.reason, detail=got.detail,
                                          http_status=got.http_status or cand.http_status), cand.key, rkey)
        dl, info = got if isinstance(got, tuple) else (got, {})
        return self._committer.submit(self._commit, _merge_info(cand, info), rkey, dl)

    def _commit(self, cand: Candidate, rkey: str, dl: Downloaded) -> dict[str, Any]:
        """Flush a complete download, store it once by sha256 and record its row (one thread does this)."""
        if self.recipe.fsync:
            fd = os.open(dl.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if cand.key != rkey and self.state.is_done(cand.key):
            dl.path.unlink(missing_ok=True)
            return self._record(self._raw(cand, status="skipped", reason="duplicate_id"), rkey, rkey)
        holder = self.state.claim_sha(dl.sha256, cand.key) or self._queue_claim("sha256", dl.sha256, cand.key)
        fields = {"http_status": dl.http_status, "sha256": dl.sha256, "bytes": dl.bytes,
                  "media_url": cand.media_url or dl.url}
        if holder is not None and holder != cand.key:
            dl.path.unlink(missing_ok=True)
            return self._record(self._raw(cand, status="skipped", reason="duplicate_sha256", **fields),
                                cand.key, rkey, duplicate_of=holder)
        local = self.state.store_media(dl.path, dl.sha256, media_ext(dl.content_type, dl.url))
        return self._record(self._raw(cand, status="downloaded", local_path=local, **fields), cand.key, rkey,
                            resumed_from=dl.resumed_from)

    def _queue_claim(self, kind: str, value: str, owner: str) -> str | None:
        return self.queue.claim_key(kind, value, owner) if self.queue is not None else None

    def _download_ytdlp(self, cand: Candidate, rkey: str) -> tuple[Downloaded, dict[str, Any]] | Failure:
        from crawler.ytdlp import download_with_ytdlp

        url = cand.extractor_url or cand.page_url or cand.media_url or ""
        if not self.client.allowed(url):
            return Failure("robots_disallowed", url)
        with self.client.gate.slot(url):
            return download_with_ytdlp(url, self.state.tmp, key=rkey, max_bytes=self.recipe.max_bytes,
                                       user_agent=self.settings.crawl_user_agent, cookie_file=self.recipe.cookie_file,
                                       retries=self.recipe.politeness.max_retries,
                                       timeout_s=self.recipe.politeness.timeout_s)

    def _raw(self, cand: Candidate, *, status: str, reason: str | None = None, detail: str = "",
             **fields: Any) -> RawVideo:
        data: dict[str, Any] = {
            "source": self.recipe.source, "platform": cand.platform, "platform_id": cand.platform_id,
            "page_url": cand.page_url, "media_url": cand.media_url, "title": cand.title,
            "description": cand.description, "hashtags": cand.hashtags, "author_id": cand.author_id,
            "published_at": cand.published_at, "duration_s": cand.duration_s, "counters": cand.counters,
            "crawled_at": datetime.now(UTC), "http_status": cand.http_status, "status": status, "reason": reason,
            "source_query": self.recipe.query,
        }
        if cand.extra:
            data["extra"] = dict(cand.extra)
        if detail:
            data["detail"] = detail
        data.update(fields)
        return RawVideo(**data)

    def _fail(self, ref: VideoRef, rkey: str, why: Failure | Problem) -> dict[str, Any]:
        cand = Candidate(platform=getattr(ref, "platform", None) or platform_of_url(ref.page_url or ref.media_url),
                         page_url=ref.page_url, media_url=ref.media_url, platform_id=ref.platform_id,
                         extra=extra(ref, "extra") or {})
        return self._record(self._raw(cand, status=_status_of(why.reason), reason=why.reason, detail=why.detail,
                                      http_status=getattr(why, "http_status", None)), rkey, rkey)

    def _record(self, video: RawVideo, key: str, rkey: str, **extra: Any) -> dict[str, Any]:
        row = self.state.record(video, key, rkey, **extra)
        with self._lock:
            counter = {"downloaded": "downloaded", "failed": "failed", "skipped": "skipped"}[video.status]
            setattr(self.report, counter, getattr(self.report, counter) + 1)
            if video.status == "downloaded":
                self.report.bytes += video.bytes or 0
            if video.reason:
                self._counts[video.reason] += 1
        self.progress(row)
        return row


def _deny_keys(recipe: CrawlRecipe) -> frozenset[str]:
    """Keys of the takedown list: `platform:id` for ids and platform pages, `url:<url>` for other URLs."""
    if recipe.deny_file is None:
        return frozenset()
    from crawler.sources import SOURCES
    from crawler.sources.urls import read_entries

    keys: set[str] = set()
    for entry in read_entries(recipe.deny_file):
        if entry.platform and entry.platform_id:
            keys.add(f"{entry.platform}:{entry.platform_id}")
        if entry.url:
            keys.add("url:" + entry.url)
            for source in SOURCES.values():
                id_from_url = getattr(source, "id_from_url", None)
                if id_from_url is not None and source.owns(entry.url, recipe):
                    keys.add(f"{source.name}:{id_from_url(entry.url)}")
    return frozenset(keys)


def _status_of(reason: str) -> str:
    """Opt-outs are skips (we chose not to fetch); everything else that gave no file is a failure."""
    return "skipped" if reason in OPT_OUTS else "failed"


def _merge_info(cand: Candidate, info: dict[str, Any]) -> Candidate:
    """Fill what the page did not say from yt-dlp's info dict (its names, our fields)."""
    if not info:
        return cand
    return replace(
        cand,
        platform_id=cand.platform_id or (str(info["id"]) if info.get("id") else None),
        title=cand.title or str(info.get("title") or ""),
        description=cand.description or str(info.get("description") or ""),
        duration_s=cand.duration_s if cand.duration_s is not None else info.get("duration"),
        media_url=cand.media_url or info.get("url"),
    )


def run_crawl(recipe: CrawlRecipe, *, settings: Settings | None = None, browser: Any = None,
              progress: Progress | None = None, log: Callable[[str], None] | None = None) -> CrawlReport:
    """Run one crawl as the recipe says; raises CrawlBlocked (after saving everything) when a host blocks us."""
    return Runner(recipe, settings=settings, browser=browser, progress=progress, log=log).run()
