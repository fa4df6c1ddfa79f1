"""How the admin pages behave around an action: Post/Redirect/Get with a one-time message (a reload repeats
nothing), an API token shown once, badly typed fields refused on the page itself in both languages, distribution
to chosen groups, and the audit log's details as readable fields."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from annotation_app.app import create_app
from annotation_app.deps import COOKIE_NAME
from annotation_app.models import ApiToken, AuditEvent, Sample, User
from annotation_app.services import people

from .conftest import write_manifest
from .test_admin_pages import follow, post, text_of
from .test_i18n import english_words
from .test_pages import HTML, login


@pytest.fixture
def site(sqlite_url, world_factory):
    world = world_factory(sqlite_url, passwords=("admin",))
    with world.session() as session:
        session.get(User, world.users["admin"]).language = "en"
        session.commit()
    client = TestClient(create_app(world.settings, database_url=world.url), follow_redirects=False)
    login(client, "admin")
    yield client, world
    client.app.state.engine.dispose()


def count(world, model, *where) -> int:
    with world.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def cookie_session(client: TestClient) -> dict:
    return client.app.state.codec.loads(client.cookies.get(COOKIE_NAME))


def chinese(client: TestClient) -> None:
    post(client, "/lang", {"language": "zh-Hans", "next": "/admin"})


def test_a_reload_after_an_action_repeats_nothing_and_its_message_shows_once(site):
    client, world = site
    data = {"username": "li", "password": "long-enough-1", "role": "member", "language": "en"}
    created = post(client, "/admin/users", data, "/admin/people")
    with world.session() as session:
        li = people.user_by_name(session, "li").id
    assert created.status_code == 303 and created.headers["location"] == f"/admin/people/{li}"
    # the cookie carries only the message key, its values and the page it is for
    assert cookie_session(client)["flash"] == {"key": "created", "values": {"name": "li"},
                                               "path": f"/admin/people/{li}"}
    first = client.get(f"/admin/people/{li}", headers=HTML)
    assert text_of(first.text, "admin-done") == "li was created."
    assert "flash" not in cookie_session(client)
    again = client.get(f"/admin/people/{li}", headers=HTML)  # the reload
    assert again.status_code == 200 and 'id="admin-done"' not in again.text
    assert count(world, User, User.username == "li") == 1
    assert count(world, AuditEvent, AuditEvent.action == "user.created", AuditEvent.entity_id == str(li)) == 1

    write_manifest(world.settings.data_dir / "clean", 2, prefix="n")
    follow(client, post(client, "/admin/import", {"manifest": "clean/clean.jsonl"}, "/admin/import"), "/admin/import")
    before = count(world, AuditEvent, AuditEvent.action == "samples.distributed")  # the world's own
    dealt = post(client, "/admin/distribute", {"batch_size": "1"})
    shown = text_of(follow(client, dealt, "/admin"), "admin-done")
    assert shown == "Samples distributed: 2. Group Samples dealt A 1 B 1 C 0"
    assert 'id="admin-done"' not in client.get("/admin", headers=HTML).text
    assert count(world, AuditEvent, AuditEvent.action == "samples.distributed") == before + 1

    # a message left for one page is not shown on another, nor later on its own
    post(client, f"/admin/people/{li}/active", {"active": "0"}, f"/admin/people/{li}")
    assert 'id="admin-done"' not in client.get("/admin/audit", headers=HTML).text
    assert 'id="admin-done"' not in client.get(f"/admin/people/{li}", headers=HTML).text


def test_a_new_token_is_shown_once_and_its_form_issues_at_most_one(site):
    client, world = site
    page = f"/admin/people/{world.users['a1']}"
    assert 'name="seen" value="0"' in client.get(page, headers=HTML).text
    issued = post(client, f"{page}/tokens", {"name": "script", "seen": "0"}, page)
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    token = text_of(issued.text, "new-token")
    assert token.startswith("emo_") and 'name="seen" value="1"' in issued.text
    assert token not in json.dumps(cookie_session(client))  # never in the cookie
    resent = post(client, f"{page}/tokens", {"name": "script", "seen": "0"}, page)  # reload, second tab, double click
    assert resent.status_code == 409 and 'id="new-token"' not in resent.text
    assert text_of(resent.text, "admin-error").startswith(
        "This form was already used: a token was issued after this page was shown, and a token is shown only once.")
    assert 'value="script"' in resent.text  # the label typed is kept
    assert count(world, ApiToken, ApiToken.user_id == world.users["a1"]) == 1
    later = client.get(page, headers=HTML).text
    assert token not in later and 'id="admin-done"' not in later
    second = post(client, f"{page}/tokens", {"name": "", "seen": "1"}, page)
    assert second.status_code == 200 and text_of(second.text, "new-token") != token
    assert count(world, AuditEvent, AuditEvent.action == "token.created") == 2


BAD_FIELDS = [  # path, page, form, field, English message, Chinese message, what the field keeps
    ("/admin/distribute", "/admin", {"batch_size": "abc"}, "batch_size",
     "Batch size: enter a whole number of at least 1.", "批量大小：请输入不小于 1 的整数。", 'value="abc"'),
    ("/admin/distribute", "/admin", {"batch_size": "-3"}, "batch_size",
     "Batch size: enter a whole number of at least 1.", "批量大小：请输入不小于 1 的整数。", 'value="-3"'),
    ("/admin/distribute", "/admin", {"batch_size": ""}, "batch_size",
     "Batch size: this cannot be empty.", "批量大小：此项不能为空。", 'value=""'),
    ("/admin/distribute", "/admin", {"batch_size": "2", "limit": "1.5"}, "limit",
     "At most (empty: all): enter a whole number of at least 1.", "最多（留空：全部）：请输入不小于 1 的整数。",
     'value="1.5"'),
    ("/admin/crosscheck", "/admin/crosscheck", {"name": "sA", "set_size": "ten"}, "set_size",
     "Set size: enter a whole number of at least 1.", "每集样本数：请输入不小于 1 的整数。", 'value="ten"'),
    ("/admin/crosscheck", "/admin/crosscheck", {"name": "sA", "set_size": "5", "seed": "x"}, "seed",
     "Random seed: enter a whole number.", "随机种子：请输入整数。", 'value="x"'),
    ("/admin/users", "/admin/people", {"username": "li", "password": "long-enough-1", "ms": "101"}, "ms",
     "MSCEIT: enter a number from 0 to 100.", "情绪智力测验：请输入 0 到 100 之间的数字。", 'value="101"'),
    ("/admin/users", "/admin/people", {"username": " ", "password": "long-enough-1"}, "username",
     "User name: this cannot be empty.", "用户名：此项不能为空。", 'value=" "'),
    ("/admin/crosscheck", "/admin/crosscheck", {"name": "x" * 17, "set_size": "5"}, "name",
     "Stage name: at most 16 characters.", "阶段名称：最多 16 个字符。", 'value="xxxxxxxxxxxxxxxxx"'),
    ("/admin/users", "/admin/people", {"username": "li", "password": "long-enough-1", "gender": "x"}, "gender",
     "Gender: choose one of the options offered.", "性别：请从给出的选项中选择一项。", ""),
    ("/admin/groups/apply", "/admin/groups", {"n_groups": "27", "size": "3", "leader_by": "p"}, "n_groups",
     "Groups: enter a whole number from 1 to 26.", "小组：请输入 1 到 26 之间的整数。", 'value="27"'),
]


@pytest.mark.parametrize("language", ["en", "zh-Hans"])
def test_badly_typed_fields_are_refused_on_the_page_itself(site, language):
    client, world = site
    events = count(world, AuditEvent)
    if language == "zh-Hans":
        chinese(client)
    for path, page, form, field, english, zh, kept in BAD_FIELDS:
        refused = post(client, path, form, page)
        expected = english if language == "en" else zh
        assert refused.status_code == 422, (path, form)
        assert 'id="admin-nav"' in refused.text  # the admin page, not the generic error page
        assert text_of(refused.text, "admin-error").startswith(expected)
        assert text_of(refused.text, f"error-{field}") == expected
        # the field keeps what was typed and is marked, described by the message beside it
        assert re.search(rf'name="{field}"[^>]*{re.escape(kept)}[^>]* aria-invalid="true" '
                         rf'aria-describedby="error-{field}" autofocus>', refused.text), path
        if language == "zh-Hans":
            assert english_words(refused.text, set(world.users) | {"A", "B", "C"}) == set(), path
    bad_page = client.get("/admin/audit", params={"page": "x"}, headers=HTML)
    assert bad_page.status_code == 422
    assert text_of(bad_page.text, "admin-error").startswith(
        "Page: enter a whole number of at least 1." if language == "en" else "页码：请输入不小于 1 的整数。")
    assert count(world, User, User.username == "li") == 0
    assert count(world, AuditEvent) == events


def test_distribute_to_the_chosen_groups_only(site):
    client, world = site
    write_manifest(world.settings.data_dir / "clean", 6, prefix="n")
    follow(client, post(client, "/admin/import", {"manifest": "clean/clean.jsonl"}, "/admin/import"), "/admin/import")
    overview = client.get("/admin", headers=HTML).text
    assert [m for m in re.findall(r'name="groups" value="(\w)"', overview)] == ["A", "B", "C"]
    kept = post(client, "/admin/distribute", {"batch_size": "0", "groups": ["C"]})
    assert kept.status_code == 422 and re.search(r'id="to-group-C" checked', kept.text)
    assert not re.search(r'id="to-group-A" checked', kept.text)
    unknown = post(client, "/admin/distribute", {"batch_size": "2", "groups": ["B", "Z"]})
    assert unknown.status_code == 422
    assert text_of(unknown.text, "error-groups") == "Groups: choose one of the options offered."
    dealt = follow(client, post(client, "/admin/distribute", {"batch_size": "2", "groups": ["C", "B"]}), "/admin")
    assert text_of(dealt, "admin-done") == "Samples distributed: 6. Group Samples dealt B 4 C 2"
    with world.session() as session:
        new = session.scalars(select(Sample).where(Sample.id.like("n%")).order_by(Sample.seq)).all()
        names = {g.id: g.name for g in people.groups(session)}
        assert [names[s.group_id] for s in new] == ["B", "B", "C", "C", "B", "B"]
    assert json.loads(_details(world, "samples.distributed")[-1]) == {"batch_size": 2, "dealt": {"B": 4, "C": 2}}


def _details(world, action: str) -> list[str]:
    with world.session() as session:
        return list(session.scalars(select(AuditEvent.detail).where(AuditEvent.action == action)))


def _row(html: str) -> str:
    """The text of the audit table's first event row."""
    table = html.split('id="audit"', 1)[1]
    row = re.search(r'<tr><td class="nowrap">(.*?)</tr>', table, re.S).group(1)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", row)).split())


def test_audit_details_read_as_fields_with_the_raw_json_kept(site):
    client, world = site
    b1 = f"/admin/people/{world.users['b1']}"
    with world.session() as session:
        for name in ("a1", "a2", "b1"):
            session.get(User, world.users[name]).gender = "m"
        session.commit()
    follow(client, post(client, f"{b1}/move", {"group": "A", "reason": "<b>only</b> man free"}, b1), b1)
    log = client.get("/admin/audit", params={"action": "membership.override"}, headers=HTML).text
    row = _row(log)
    assert row.endswith("admin group rule overridden person · b1 group A rules broken group capacity, gender rule "
                        'reason <b>only</b> man free Raw JSON {"group": "A", "problems": ["over_capacity", '
                        '"gender_rule"], "reason": "<b>only</b> man free"}')
    assert "&lt;b&gt;only&lt;/b&gt; man free" in log and "<b>only</b>" not in log  # escaped, both times
    follow(client, post(client, f"{b1}/role", {"role": "expert"}, b1), b1)
    chinese(client)
    zh = client.get("/admin/audit", params={"action": "user.role_changed"}, headers=HTML).text
    assert _row(zh).endswith('admin 更改角色 人员 · b1 之前 成员 之后 专家 原始 JSON '
                             '{"new": "expert", "old": "member"}')
    assert english_words(zh, set(world.users) | {"A", "B", "C"}) == set()
