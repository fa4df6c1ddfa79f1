import os

from cleaning.executors import LocalExecutor


def work(task, offset):
    if task["index"] == 3:
        os._exit(9)  # the worker process dies, as on a segfault in native code
    return {"_index": task["index"], "value": task["index"] + offset}


def crashed(task, why):
    return {"_index": task["index"], "value": None, "why": why}


def test_a_dying_worker_costs_one_row_not_the_run():
    tasks = [{"index": i} for i in range(8)]
    rows = sorted(LocalExecutor(2).run(work, tasks, 100, crashed=crashed), key=lambda r: r["_index"])
    assert [r["_index"] for r in rows] == list(range(8))
    assert [r["value"] for r in rows] == [100, 101, 102, None, 104, 105, 106, 107]
    assert "died" in rows[3]["why"]
