"""manifest.parquet: one column order and one set of types, from CleanVideo, whether a run is fresh or resumed."""

import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cleaning.executors import LocalExecutor
from cleaning.outputs import manifest_table, normalise_rows
from cleaning.pipeline import run_clean
from cleaning.recipe import load_recipe
from core.manifest import write_shard
from core.records import CleanVideo, manifest_schema

DECLARED = list(CleanVideo.model_fields)


def _parquet(out):
    return pq.read_schema(out / "manifest.parquet"), pq.read_table(out / "manifest.parquet")


@pytest.fixture(scope="module")
def crawl_folder(synth_videos, tmp_path_factory):
    """Two clips and a text file named .mp4, as a crawl output with metadata of every kind."""
    crawl = tmp_path_factory.mktemp("crawl")
    (crawl / "media").mkdir()
    clips = synth_videos(per_class=1, seed=0)
    shutil.copy(clips / "fear_000.mp4", crawl / "media" / "a.mp4")
    shutil.copy(clips / "tension_000.mp4", crawl / "media" / "b.mp4")
    (crawl / "media" / "c.mp4").write_text("not a video\n")
    rows = [{"source": "urls", "platform": "douyin", "platform_id": str(i), "title": f"clip {i}",
             "hashtags": ["a", "b"][:i], "counters": {"likes": i}, "duration_s": 10 + i,
             "local_path": f"media/{name}.mp4", "crawled_at": f"2026-01-0{i + 1}T00:00:00"}
            for i, name in enumerate("abc")]
    write_shard(crawl, "raw", 0, rows, {})
    return crawl


def test_fresh_and_resumed_runs_write_the_same_parquet_schema(crawl_folder, tmp_path):
    recipe = load_recipe(None, workers=1, shard_size=1, resolution={"min_short_side": 64})
    out = tmp_path / "out"
    run_clean(crawl_folder, out, recipe, executor=LocalExecutor(1))
    fresh_schema, fresh = _parquet(out)
    again = run_clean(crawl_folder, out, recipe, executor=LocalExecutor(1))
    assert again["resumed_shards"] == 3  # every row read back from its shard
    resumed_schema, resumed = _parquet(out)
    work = next((out / ".work").iterdir())
    (work / "videos-00001_stats.json").unlink()  # half and half: one shard computed again
    assert run_clean(crawl_folder, out, recipe, executor=LocalExecutor(1))["resumed_shards"] == 2
    mixed_schema, mixed = _parquet(out)
    assert fresh_schema.equals(resumed_schema, check_metadata=True)
    assert fresh_schema.equals(mixed_schema, check_metadata=True)
    assert fresh.equals(resumed) and fresh.equals(mixed)
    names = fresh_schema.names
    assert names[:len(DECLARED)] == DECLARED  # the record's order, then the carried metadata by name
    assert names.index("cache_fps") < len(DECLARED)  # the cache policy the model checks is a declared column
    # then the carried crawl metadata, by name
    assert names[len(DECLARED):] == ["counters", "crawled_at", "hashtags", "platform_id", "raw_duration_s", "source",
                                     "title"]
    assert fresh.column("cache_short_side").to_pylist()[:2] == [128, 128]
    assert fresh.column("status").to_pylist() == ["kept", "kept", "rejected"]
    assert fresh_schema.field("raw_duration_s").type == pa.int64()
    assert fresh_schema.field("hashtags").type == pa.string()  # nested values as JSON text
    assert fresh.column("counters").to_pylist()[1] == '{"likes": 1}'


def test_column_types_come_from_the_record_even_when_no_row_fills_them(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "notes.mp4").write_text("this is not a video\n")
    run_clean(tmp_path / "src", tmp_path / "out", load_recipe(None, workers=1), executor=LocalExecutor(1))
    schema, table = _parquet(tmp_path / "out")
    assert schema.equals(manifest_schema(CleanVideo))  # no extras: exactly the record's columns
    assert table.num_rows == 1 and table.column("reason").to_pylist() == ["not_a_video"]
    types = {f.name: f.type for f in schema}
    assert (types["rotation"], types["vfr"], types["video_kbps"], types["web_mp4"]) == (
        pa.int64(), pa.bool_(), pa.float64(), pa.string())
    assert table.column("rotation").null_count == 1


def test_manifest_table_of_rows_in_any_key_order():
    rows = [{"status": "kept", "id": "x", "source_path": "a.mp4", "zeta": 1, "alpha": [1]},
            {"zeta": 2.5, "source_path": "b.mp4", "id": "y", "status": "rejected", "reason": "corrupt", "alpha": None,
             "mixed": "s"},
            {"id": "z", "source_path": "c.mp4", "status": "rejected", "mixed": 3, "empty": None}]
    table = manifest_table(normalise_rows(rows))
    assert table.schema.names == [*DECLARED, "alpha", "empty", "mixed", "zeta"]
    assert [table.schema.field(n).type for n in ("alpha", "empty", "mixed", "zeta")] == [
        pa.string(), pa.null(), pa.string(), pa.float64()]
    assert table.column("alpha").to_pylist() == ["[1]", None, None]
    assert table.column("mixed").to_pylist() == [None, '"s"', "3"]
    assert manifest_table(normalise_rows(list(reversed(rows)))).schema == table.schema
    assert table.column("detail").to_pylist() == ["", "", ""]  # the record's default fills a missing column
