"""Strict reading of QA input CSVs: quoting errors name the file and the line; valid quoting still reads."""

import pytest

from core.errors import ConfigError
from qa.sources import read_table, read_votes

HEADER = b"item,rater,category\n"
UNTERMINATED = "unterminated quote: the quoted field opened on this line never closes"
REMEDY = "close the quote; inside a quoted field, write each quote twice"


def _write(tmp_path, data: bytes):
    path = tmp_path / "votes.csv"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("data", "line"), [
    # the last field of the last row: both CSV parsers used to take "Fear\n" as the value
    (HEADER + b'a,r1,Fear\na,r2,"Fear\n', 3),
    # the quote swallows every later row into one value
    (HEADER + b'a,"r1,Fear\na,r2,Fear\nb,r1,Fear\n', 2),
    # a record with a valid multi-line value before the open quote: the quote's own line is named
    (HEADER + b'a,"r\n1","Fear\na,r2,Fear\n', 3),
    # CRLF line ends and a doubled quote inside a valid quoted field before the bad row
    (HEADER.replace(b"\n", b"\r\n") + b'a,"r""1",Fear\r\na,r2,"Fear\r\nb,r1,Fear\r\n', 3),
    # the header itself
    (b'item,"rater,category\na,r1,Fear\n', 1),
])
def test_unterminated_quote_names_file_and_line(tmp_path, data, line):
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        read_table(path, ("item", "rater", "category"), "votes")
    assert info.value.message == f"votes file {path} line {line}: {UNTERMINATED}"
    assert info.value.remedy == REMEDY


def test_text_after_a_closing_quote_is_an_error(tmp_path):
    path = _write(tmp_path, HEADER + b'a,r1,Fear\na,"r2"x,Fear\n')
    with pytest.raises(ConfigError) as info:
        read_table(path, ("item", "rater", "category"), "votes")
    assert info.value.one_line() == (f"votes file {path} line 3: malformed CSV: text after a closing quote "
                                     "(quote the whole field and write each quote inside it twice)")


def test_valid_quoting_still_reads(tmp_path):
    path = _write(tmp_path, HEADER + b'a,"r, 1",Fear\na,"say ""hi""","Sadness"\nb,r\'s "x,Fear\nb,"two\nlines",Fear\n')
    frame = read_votes(path, members_only=False)
    assert frame["rater"].tolist() == ["r, 1", 'say "hi"', 'r\'s "x', "two\nlines"]
    assert frame["category"].astype(str).tolist() == ["Fear", "Sadness", "Fear", "Fear"]


def test_an_open_quote_before_more_than_csvs_field_limit_is_still_named(tmp_path):
    import csv

    rest = "".join(f"i{i},r{i % 3},Fear\n" for i in range(20_000)).encode()  # past csv's 131,072-character limit
    path = _write(tmp_path, HEADER + b'a,r1,Fear\na,r2,"Fear\n' + rest)
    limit = csv.field_size_limit()
    with pytest.raises(ConfigError) as info:
        read_table(path, ("item", "rater", "category"), "votes")
    assert info.value.message == f"votes file {path} line 3: {UNTERMINATED}"
    assert csv.field_size_limit() == limit  # restored


def test_a_long_quoted_value_is_not_an_error(tmp_path):
    path = _write(tmp_path, b"item,rater,category,note\n" + b'a,r1,Fear,"' + b"x" * 200_000 + b'"\na,r2,Fear,y\n')
    frame = read_table(path, ("item", "rater", "category"), "votes")
    assert frame["note"].str.len().tolist() == [200_000, 1]
