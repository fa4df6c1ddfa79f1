from typing import Literal

import pyarrow as pa
import pytest

from core.records import CleanVideo, Record, manifest_schema


def test_manifest_schema_follows_the_declaration():
    class Row(Record):
        name: str
        kind: Literal["a", "b"]
        count: int | None = None
        ratio: float = 0.0
        ok: bool | None = None

    schema = manifest_schema(Row)
    assert schema.names == ["name", "kind", "count", "ratio", "ok"]
    assert [(f.type, f.nullable) for f in schema] == [(pa.string(), False), (pa.string(), False), (pa.int64(), True),
                                                      (pa.float64(), False), (pa.bool_(), True)]
    assert manifest_schema(CleanVideo).names == list(CleanVideo.model_fields)


def test_a_field_without_a_column_type_fails_fast():
    class Nested(Record):
        tags: tuple[str, ...] = ()

    with pytest.raises(TypeError, match="no Parquet column type"):
        manifest_schema(Nested)
