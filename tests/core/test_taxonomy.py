import pytest

from core.errors import TaxonomyError
from core.taxonomy import CATEGORIES, Category, Polarity, adjective_table, load_adjectives

HEADER = "id,category,en,zh_hans\n"


def test_six_categories_alphabetical_with_paper_polarity():
    assert [c.value for c in CATEGORIES] == ["Excitation", "Fear", "Neutral", "Relaxation", "Sadness", "Tension"]
    assert [c.index for c in CATEGORIES] == [0, 1, 2, 3, 4, 5]
    positive = {c for c in CATEGORIES if c.polarity is Polarity.POSITIVE}
    negative = {c for c in CATEGORIES if c.polarity is Polarity.NEGATIVE}
    assert positive == {Category.EXCITATION, Category.RELAXATION}
    assert negative == {Category.FEAR, Category.SADNESS, Category.TENSION}
    assert Category.NEUTRAL.polarity is Polarity.NEUTRAL


def test_shipped_table_has_62_adjectives_in_both_languages():
    table = adjective_table()
    assert len(table) == 62
    assert [a.id for a in table.adjectives] == list(range(1, 63))
    counts = {c.value: len(table.by_category(c)) for c in CATEGORIES}
    assert counts == {"Excitation": 12, "Fear": 10, "Neutral": 8, "Relaxation": 11, "Sadness": 11, "Tension": 10}
    assert table.get(1).en == "happy" and table.get(1).label("zh-Hans") == "开心的"
    assert table.category_of(58) is Category.TENSION
    assert table.get(42).label("en") == "sad"


def test_project_table_by_setting_path(tmp_path):
    path = tmp_path / "mine.csv"
    rows = [f"{i + 1},{c.value},word{i},词{i}" for i, c in enumerate(CATEGORIES)]
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    table = load_adjectives(path)
    assert len(table) == 6 and table.category_of(6) is Category.TENSION


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("1,Excitation,happy,开心的\n1,Fear,afraid,害怕的\n", "line 3: duplicate id 1 (first on line 2)"),
        ("1,Excitement,happy,开心的\n", "line 2 (id 1): unknown category 'Excitement'"),
        ("1,Excitation|Fear,happy,开心的\n", "line 2 (id 1): an adjective maps to exactly one category"),
        ("1,Excitation,happy,\n", "line 2 (id 1): empty zh_hans text; both languages are required"),
        ("x,Excitation,happy,开心的\n", "line 2: id 'x' is not an integer"),
        ("1,Excitation,happy\n", "line 2: wrong number of fields"),
        ("1,Excitation,happy,开心的\n", "no adjective for category Fear, Neutral, Relaxation, Sadness, Tension"),
        ("1,Excitation,happy,开心的\n2,Fear,Happy,害怕的\n", "line 3 (id 2): en text 'Happy' repeats line 2"),
    ],
)
def test_bad_table_is_refused_naming_the_row(tmp_path, body, message):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    with pytest.raises(TaxonomyError) as err:
        load_adjectives(path)
    assert message in err.value.message
    assert str(path) in err.value.message


def test_missing_column_and_missing_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,category,en\n1,Fear,afraid\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="missing column"):
        load_adjectives(path)
    with pytest.raises(TaxonomyError, match="cannot read"):
        load_adjectives(tmp_path / "absent.csv")
