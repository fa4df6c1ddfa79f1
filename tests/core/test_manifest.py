import json

from core.manifest import atomic_write_text, complete_shards, read_rows, stats_path, write_shard


def test_shard_is_complete_only_with_its_stats(tmp_path):
    first = write_shard(tmp_path, "raw", 0, [{"id": "a", "n": 1}, {"id": "b", "n": 2}], {"kept": 2})
    assert first.name == "raw-00000.jsonl"
    assert json.loads(stats_path(first).read_text()) == {"kept": 2, "rows": 2}
    # a shard without stats (crash before the stats write) is not reported
    (tmp_path / "raw-00001.jsonl").write_text('{"id": "partial"}\n')
    assert complete_shards(tmp_path) == [first]
    assert [r["id"] for r in read_rows(tmp_path)] == ["a", "b"]
    assert [r["id"] for r in read_rows(tmp_path / "raw-00001.jsonl")] == ["partial"]


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    target = atomic_write_text(tmp_path / "deep" / "x.txt", "héllo")
    assert target.read_text(encoding="utf-8") == "héllo"
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.txt"]
