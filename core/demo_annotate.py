"""The demo's annotation round: a team of simulated people voting through the app's real HTTP API.

Each sample gets a planned disagreement pattern, so that some resolve at every rung of the ladder
(members, leader, exchange leader, expert). Only the standard library talks to the server.
"""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

from core.errors import EmotionsError
from core.taxonomy import CATEGORIES, Category, configured_adjectives

GROUPS = ("A", "B", "C")
PASSWORD = "demo-password"
# pattern -> (member categories as offsets from the truth, leader offset, exchange offset, expert offset)
PATTERNS = {
    "members 3-0": ((0, 0, 0), None, None, None),
    "members 2-1": ((0, 0, 1), None, None, None),
    "leader 2-1-1": ((0, 1, 2), 0, None, None),
    "exchange 2-1-1-1": ((0, 1, 2), 3, 0, None),
    "expert": ((1, 2, 3), 4, 5, 0),
}
WEIGHTS = (0.45, 0.25, 0.12, 0.1, 0.08)


def people() -> list[tuple[str, str, str | None, str]]:
    """(username, role, group, gender) of the demo team: 3 groups of a leader and 3 members, an expert."""
    team = [("admin", "admin", None, "f"), ("expert", "expert", None, "m")]
    for group in GROUPS:
        team.append((f"leader_{group.lower()}", "leader", group, "m"))
        team += [(f"member_{group.lower()}{i}", "member", group, "mmf"[i - 1]) for i in (1, 2, 3)]
    return team


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Client:
    """A tiny JSON client for one person (API token auth)."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")


class Server:
    """`emotions app serve` in a child process on a free loopback port."""

    def __init__(self, log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "core.cli", "app", "serve", "--port", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EmotionsError(f"the app server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                urllib.request.urlopen(self.base + "/api/adjectives", timeout=2)
            except urllib.error.HTTPError:
                return self  # it answers (401 without a token): up
            except OSError:
                time.sleep(0.3)
                continue
            return self
        raise EmotionsError("the app server did not start within 60 s")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def plan(sample_ids: list[str], seed: int) -> dict[str, str]:
    """A disagreement pattern per sample (seeded)."""
    names, n = list(PATTERNS), len(sample_ids)
    counts = [max(1, round(w * n)) if n >= len(names) else 0 for w in WEIGHTS]
    counts[0] = max(0, n - sum(counts[1:]))  # every rung at least once; the rest resolve among members
    drawn = [name for name, count in zip(names, counts, strict=True) for _ in range(count)][:n]
    drawn += [names[0]] * (n - len(drawn))
    random.Random(seed).shuffle(drawn)
    return dict(zip(sorted(sample_ids), drawn, strict=True))


def _adjective(category: Category, rng: random.Random) -> int:
    return rng.choice(configured_adjectives().by_category(category)).id


def _intended(truth: Category, offset: int) -> Category:
    return CATEGORIES[(truth.index + offset) % len(CATEGORIES)]


def vote_all(base: str, tokens: dict[str, str], truth: dict[str, Category], patterns: dict[str, str],
             seed: int) -> Counter:
    """Everyone drains their queue, rung after rung, until nobody has work; returns votes cast per stage."""
    rng = random.Random(seed)
    cast: Counter = Counter()
    order = [name for name, *_ in people() if name.startswith("member")] + \
            [name for name, *_ in people() if name.startswith("leader")] + ["expert"]
    progress = True
    while progress:
        progress = False
        for name in order:
            client = Client(base, tokens[name])
            while True:
                task = client.call("GET", "/api/tasks/next")["task"]
                if task is None:
                    break
                sid, stage = task["sample_id"], task["stage"]
                members, leader, exchange, expert = PATTERNS[patterns[sid]]
                if stage == "member":
                    offset = members[int(name[-1]) - 1]
                else:
                    offset = {"leader": leader, "exchange": exchange, "expert": expert}[stage]
                category = _intended(truth[sid], offset or 0)
                client.call("POST", "/api/votes", {
                    "sample_id": sid, "adjective_id": _adjective(category, rng),
                    "confidence": round(rng.uniform(0.5, 1.0), 1), "client_id": uuid.uuid4().hex,
                    "watch_s": task.get("duration_s"), "stage": stage})
                cast[stage] += 1
                progress = True
    return cast
