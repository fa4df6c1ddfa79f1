import logging

import pytest

from core.errors import ConfigError
from core.groups import exchange_partners, group_name, parse_pairs


def test_group_names_are_spreadsheet_style():
    assert [group_name(i) for i in (0, 1, 25, 26, 27, 701, 702)] == ["A", "B", "Z", "AA", "AB", "ZZ", "AAA"]


def test_pairs_use_the_colon():
    assert parse_pairs("A:B, B : C,,C:A") == {"A": "B", "B": "C", "C": "A"}
    assert parse_pairs("") == {}
    for bad in ("A", "A:", ":B", "A:B,A:C"):
        with pytest.raises(ConfigError):
            parse_pairs(bad)


def test_the_old_equals_form_still_reads_with_a_deprecation(caplog):
    with caplog.at_level(logging.WARNING, logger="core.groups"), pytest.deprecated_call(match="write 'A:B'"):
        assert parse_pairs("A=B,B=C,C=A") == {"A": "B", "B": "C", "C": "A"}
    assert "deprecated" in caplog.text and "'A:B,B:C,C:A'" in caplog.text
    with pytest.deprecated_call():
        assert exchange_partners(["A", "B", "C"], "A=C,B=A,C=B") == exchange_partners(["A", "B", "C"], "A:C,B:A,C:B")


def test_partners_default_to_the_cyclic_rotation_in_name_order():
    names = ["B", "AA", "A", "C"]
    assert exchange_partners(names) == {"A": "B", "B": "C", "C": "AA", "AA": "A"}
    assert exchange_partners(names, "cyclic") == exchange_partners(names, "")
    assert exchange_partners(["A"]) == {"A": "A"}  # one group: nobody else to ask
    assert exchange_partners(["A", "B", "C"], "A:C") == {"A": "C", "B": "C", "C": "A"}  # the others stay cyclic


def test_partner_errors():
    with pytest.raises(ConfigError, match="unknown group"):
        exchange_partners(["A", "B"], "A:D")
    with pytest.raises(ConfigError, match="its own partner"):
        exchange_partners(["A", "B"], "A:A")
    with pytest.raises(ConfigError, match="exactly one"):
        exchange_partners(["A", "B", "C"], "A:B", complete=True)  # a plan must name every group
    with pytest.raises(ConfigError, match="exactly one"):
        exchange_partners(["A", "B", "C"], "A:C,B:C,C:A", complete=True)  # C would get two groups' sets
    with pytest.raises(ConfigError, match="two groups"):
        exchange_partners(["A"], complete=True)
    assert exchange_partners(["A", "B", "C"], {"A": "C", "B": "A", "C": "B"}, complete=True) == {
        "A": "C", "B": "A", "C": "B"}
