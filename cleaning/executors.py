"""Executors that run `clean_one` over many videos: a local process pool (default) or a Ray cluster.

Both stream results back as they finish with a bounded number in flight, so memory stays flat for
millions of videos; the caller orders and shards the rows, so the manifest does not depend on which
executor (or which worker) processed a video.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from core.errors import ConfigError, MissingDependency

Task = dict[str, Any]
Row = dict[str, Any]


class Executor(Protocol):
    """Runs `fn(task, *args)` for every task; yields rows in completion order.

    When a worker process dies on a task (a crash in native code, the OOM killer), the executor
    yields `crashed(task, why)` for it instead and goes on with the other tasks.
    """

    name: str

    def run(self, fn: Callable[..., Row], tasks: Iterable[Task], *args: Any,
            crashed: Callable[[Task, str], Row]) -> Iterator[Row]: ...


class LocalExecutor:
    """A pool of worker processes on this machine (forkserver: clean children, no state copied from the parent)."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1

    def run(self, fn: Callable[..., Row], tasks: Iterable[Task], *args: Any,
            crashed: Callable[[Task, str], Row]) -> Iterator[Row]:
        queue = iter(tasks)
        while True:
            lost: list[Task] = []
            yield from self._pass(fn, queue, args, self.workers, lost)
            if not lost:
                return
            for task in lost:  # alone in a fresh pool, so a crash can be blamed on this very task
                again: list[Task] = []
                yield from self._pass(fn, iter([task]), args, 1, again)
                if again:
                    yield crashed(task, "the worker process died while cleaning this video")

    @staticmethod
    def _pass(fn: Callable[..., Row], queue: Iterator[Task], args: tuple, workers: int,
              lost: list[Task]) -> Iterator[Row]:
        """Runs tasks from `queue` until it is empty or the pool breaks; unfinished tasks go to `lost`."""
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        limit = workers * 4
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver")) as pool:
            pending: dict = {}
            exhausted = False
            while pending or not exhausted:
                while not exhausted and len(pending) < limit:
                    task = next(queue, None)
                    if task is None:
                        exhausted = True
                    else:
                        pending[pool.submit(fn, task, *args)] = task
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    task = pending.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        lost.append(task)
                if lost:
                    lost.extend(pending.values())  # the broken pool fails every task still in it
                    return


class RayExecutor:
    """One Ray task per video on the cluster at `address` (or a local Ray started for this run).

    A Ray already initialised in this process is used as it is and left running.
    """

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        self.address, self.workers = address, workers

    def run(self, fn: Callable[..., Row], tasks: Iterable[Task], *args: Any,
            crashed: Callable[[Task, str], Row]) -> Iterator[Row]:
        try:
            import ray
        except ModuleNotFoundError:
            raise MissingDependency("--executor ray needs the ray package",
                                    remedy="install it with: pip install 'emotions[scale]'") from None
        started = not ray.is_initialized()
        if started:
            ray.init(address=self.address, num_cpus=None if self.address else self.workers,
                     include_dashboard=False, log_to_driver=False)
        try:
            remote = ray.remote(num_cpus=1, max_retries=2)(fn)
            shared = [ray.put(a) for a in args]
            limit = max(2, int(ray.cluster_resources().get("CPU", 1))) * 4
            pending: dict = {}
            for task in tasks:
                pending[remote.remote(task, *shared)] = task
                if len(pending) >= limit:
                    yield from self._collect(ray, pending, crashed)
            while pending:
                yield from self._collect(ray, pending, crashed)
        finally:
            if started:
                ray.shutdown()

    @staticmethod
    def _collect(ray: Any, pending: dict, crashed: Callable[[Task, str], Row]) -> Iterator[Row]:
        (ref,), _ = ray.wait(list(pending), num_returns=1)
        task = pending.pop(ref)
        try:
            yield ray.get(ref)
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.OutOfMemoryError) as exc:
            yield crashed(task, f"the Ray worker died while cleaning this video ({type(exc).__name__})")


EXECUTORS: dict[str, Callable[..., Executor]] = {"local": LocalExecutor, "ray": RayExecutor}


def make_executor(name: str, *, address: str | None = None, workers: int | None = None) -> Executor:
    """The executor registered under `name`; ConfigError for an unknown one."""
    try:
        factory = EXECUTORS[name]
    except KeyError:
        raise ConfigError(f"unknown executor {name!r}; known: {sorted(EXECUTORS)}") from None
    if name == "ray":
        return factory(address=address, workers=workers)
    if address:
        raise ConfigError("--address is only meaningful with --executor ray")
    return factory(workers=workers)
