"""People and groups: users, memberships with history, exchange partners, and applying the Eq. 1 allocation."""

from __future__ import annotations

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from annotation_app.models import ROLES, Group, Membership, Project, User, utcnow
from annotation_app.services import audit, seats
from annotation_app.services.auth import hash_password
from core.allocation import GroupPlan, Person, allocate_groups, assignment_score
from core.errors import ConfigError, ConflictError, InvalidRequest, NotFoundError
from core.groups import exchange_partners, group_name

LANGUAGES = ("en", "zh-Hans")
PROFILE_FIELDS = ("work_experience", "msceit", "education", "culture", "leadership")


def project(session: Session, name: str = "default") -> Project:
    """The project named `name`, created on first use."""
    found = session.scalar(select(Project).where(Project.name == name))
    if found is None:
        found = Project(name=name)
        session.add(found)
        session.flush()
    return found


def ensure_groups(session: Session, count: int, project_name: str = "default") -> list[Group]:
    """Groups A, B, C ... (`count` of them) of the project, created when missing; in name order."""
    proj = project(session, project_name)
    existing = {g.name: g for g in session.scalars(select(Group).where(Group.project_id == proj.id))}
    for name in (group_name(i) for i in range(count)):
        if name not in existing:
            existing[name] = Group(project_id=proj.id, name=name)
            session.add(existing[name])
    session.flush()
    return sorted(existing.values(), key=lambda g: (len(g.name), g.name))


def groups(session: Session) -> list[Group]:
    """Every group, in name order (A … Z, AA …)."""
    return sorted(session.scalars(select(Group)), key=lambda g: (len(g.name), g.name))


def group_by_name(session: Session, name: str) -> Group:
    found = session.scalar(select(Group).where(Group.name == name))
    if found is None:
        raise NotFoundError(f"no group named {name!r}")
    return found


def create_user(session: Session, username: str, role: str, *, password: str | None = None,
                actor_id: int | None = None, display_name: str = "", language: str = "zh-Hans",
                gender: str | None = None, **profile: float | None) -> User:
    """A new user; raises ConflictError if the name is taken and InvalidRequest on bad values."""
    if role not in ROLES:
        raise InvalidRequest(f"unknown role {role!r}; known: {', '.join(ROLES)}")
    if language not in LANGUAGES:
        raise InvalidRequest(f"unknown language {language!r}; known: {', '.join(LANGUAGES)}")
    if gender not in (None, "m", "f"):
        raise InvalidRequest("gender must be 'm', 'f' or empty")
    username = username.strip()
    if not username or len(username) > 64:
        raise InvalidRequest("a username has 1 to 64 characters")
    unknown = set(profile) - set(PROFILE_FIELDS)
    if unknown:
        raise InvalidRequest(f"unknown profile field(s) {', '.join(sorted(unknown))}")
    for key, value in profile.items():
        if value is not None and not 0 <= value <= 100:
            raise InvalidRequest(f"{key} must be on the 0-100 scale")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ConflictError(f"user {username!r} already exists", code="username_taken")
    user = User(username=username, role=role, display_name=display_name or username, language=language,
                gender=gender, password_hash=hash_password(password) if password else None, **profile)
    session.add(user)
    session.flush()
    audit.record(session, actor_id, "user.created", "user", user.id, username=username, role=role)
    return user


def user_by_name(session: Session, username: str) -> User:
    found = session.scalar(select(User).where(User.username == username))
    if found is None:
        raise NotFoundError(f"no user named {username!r}")
    return found


_MEMBERSHIPS = "current_memberships"  # session.info key: user id -> current membership, read once per session


def current_membership(session: Session, user_id: int) -> Membership | None:
    """The person's current group membership (None: in no group), read at most once per session."""
    known = session.info.setdefault(_MEMBERSHIPS, {})
    if user_id not in known:
        known[user_id] = session.scalar(select(Membership).where(Membership.user_id == user_id,
                                                                 Membership.ended_at.is_(None)))
    return known[user_id]


@event.listens_for(Session, "after_transaction_end")
def _forget_memberships(session: Session, _transaction) -> None:
    """What was read in a transaction is not trusted after it: the next one reads memberships afresh."""
    session.info.pop(_MEMBERSHIPS, None)


def remember_membership(session: Session, user_id: int, membership: Membership | None) -> None:
    """Record a membership read along with the user (the login check reads both in one query)."""
    session.info.setdefault(_MEMBERSHIPS, {})[user_id] = membership


def was_member_of(session: Session, user_id: int, group_id: int | None) -> bool:
    """Whether the person was once (not now) in `group_id`: their votes there were refused for a move."""
    return group_id is not None and session.scalar(
        select(Membership.id).where(Membership.user_id == user_id, Membership.group_id == group_id,
                                    Membership.ended_at.is_not(None)).limit(1)) is not None


def current_members(session: Session, group_id: int, role: str | None = None) -> list[Membership]:
    query = select(Membership).where(Membership.group_id == group_id, Membership.ended_at.is_(None))
    if role is not None:
        query = query.where(Membership.role == role)
    return list(session.scalars(query.order_by(Membership.id)))


def leader_of(session: Session, group_id: int) -> int | None:
    found = current_members(session, group_id, "leader")
    return found[0].user_id if found else None


def assign(session: Session, user: User, group: Group | None, *, actor_id: int | None = None) -> Membership | None:
    """Move `user` into `group` (None: out of every group), ending the current membership; history is kept.

    The membership role follows the user's role (leader or member); a group has at most one leader.
    """
    if group is not None and user.role not in ("leader", "member"):
        raise InvalidRequest(f"{user.username} is {user.role}; only leaders and members join groups",
                             code="role_without_group")
    old = current_membership(session, user.id)
    if old is None and group is None:
        return None
    if old is not None:
        if group is not None and old.group_id == group.id and old.role == user.role:
            return old
        old.ended_at = utcnow()
        seats.release(session, user.id)  # the seats they held in the old group go back to its queue
    session.info.get(_MEMBERSHIPS, {}).pop(user.id, None)
    if group is None:
        session.flush()
        audit.record(session, actor_id, "membership.ended", "user", user.id)
        return None
    if user.role == "leader":
        for other in current_members(session, group.id, "leader"):
            if other.user_id != user.id:
                raise ConflictError(f"group {group.name} already has a leader", code="group_has_leader")
    new = Membership(user_id=user.id, group_id=group.id, role=user.role)
    session.add(new)
    session.flush()
    audit.record(session, actor_id, "membership.started", "user", user.id, group=group.name, role=user.role,
                 previous_group_id=old.group_id if old else None)
    return new


def move_problems(session: Session, user: User, group: Group | None, *, capacity: int,
                  gender_rule: bool) -> list[str]:
    """What moving member `user` into `group` would break: 'over_capacity' (more than `capacity` members) and
    'gender_rule' (more than capacity-1 men or more than one woman; genders not recorded are not counted). Leaders and
    moves out of every group break nothing here (a group's single leader is checked by `assign`)."""
    if group is None or user.role != "member":
        return []
    others = [m.user_id for m in current_members(session, group.id, "member") if m.user_id != user.id]
    genders = [*session.scalars(select(User.gender).where(User.id.in_(others))), user.gender]
    return composition_problems(genders, capacity=capacity, gender_rule=gender_rule)


def composition_problems(genders: list[str | None], *, capacity: int, gender_rule: bool) -> list[str]:
    """The group rules over one group's members (their genders): 'over_capacity', 'gender_rule'."""
    problems = ["over_capacity"] if len(genders) > capacity else []
    men_allowed = max(capacity - 1, 0)
    if gender_rule and (genders.count("m") > men_allowed or genders.count("f") > capacity - men_allowed):
        problems.append("gender_rule")
    return problems


def move_many(session: Session, moves: list[tuple[User, Group]], *, capacity: int, gender_rule: bool,
              reason: str = "", actor_id: int | None = None) -> dict[str, list[str]]:
    """Several moves as one change (a swap plan): the group rules are checked on every group's composition
    after all the moves, so an exchange of two people is never refused for the moment in between.

    Refused as a whole (ConflictError 'move_needs_reason', nothing changed) when a group ends up breaking a rule
    and no reason is given; an override is audit-logged per group with the reason. Returns group -> problems."""
    reason = reason.strip()
    if len(reason) > 500:
        raise InvalidRequest("a reason has at most 500 characters")
    with session.begin_nested():
        for user, group in moves:
            assign(session, user, group, actor_id=actor_id)
        found = {}
        for group in {g.id: g for _, g in moves}.values():
            ids = [m.user_id for m in current_members(session, group.id, "member")]
            genders = list(session.scalars(select(User.gender).where(User.id.in_(ids))))
            problems = composition_problems(genders, capacity=capacity, gender_rule=gender_rule)
            if problems:
                found[group.name] = problems
        if found and not reason:
            text = "; ".join(f"group {name} {' and '.join(PROBLEM_TEXT[p] for p in problems)}"
                             for name, problems in sorted(found.items()))
            raise ConflictError(f"after these moves {text}", code="move_needs_reason",
                                remedy="give a reason to override the group rules")
    for name, problems in sorted(found.items()):
        audit.record(session, actor_id, "membership.override", "group", name, problems=problems, reason=reason)
    return found


PROBLEM_TEXT = {"over_capacity": "goes over the group's capacity", "gender_rule": "breaks the gender rule"}


def move(session: Session, user: User, group: Group | None, *, capacity: int, gender_rule: bool,
         reason: str = "", actor_id: int | None = None) -> Membership | None:
    """`assign` with the group rules enforced: a move over capacity or against the gender rule is refused
    (ConflictError 'move_needs_reason') unless a reason is given; an override is audit-logged with it."""
    reason = reason.strip()
    if len(reason) > 500:
        raise InvalidRequest("a reason has at most 500 characters")
    problems = move_problems(session, user, group, capacity=capacity, gender_rule=gender_rule)
    current = current_membership(session, user.id)
    if current is not None and group is not None and current.group_id == group.id and current.role == user.role:
        problems = []  # staying where one is moves nobody
    if problems and not reason:
        raise ConflictError(f"moving {user.username} into group {group.name} "
                            f"{' and '.join(PROBLEM_TEXT[p] for p in problems)}", code="move_needs_reason",
                            remedy="give a reason to override the group rules")
    membership = assign(session, user, group, actor_id=actor_id)
    if problems:
        audit.record(session, actor_id, "membership.override", "user", user.id, group=group.name,
                     problems=problems, reason=reason)
    return membership


def partner_map(names: list[str], spec: str = "") -> dict[str, str]:
    """Exchange partners: 'A:B,B:C' from the setting, else cyclic in name order (A->B->C->A)."""
    try:
        return exchange_partners(names, spec)
    except ConfigError as exc:
        raise InvalidRequest(f"exchange setting: {exc.message}") from None


def plan_groups(people: list[Person], n_groups: int, size: int = 3, *, gender_rule: bool = True,
                leader_by: str = "p") -> list[GroupPlan]:
    """Leaders and balanced groups by Eq. 1 (core.allocation, the same allocation as `emotions qa allocate`).

    With the gender rule each group gets size-1 male and 1 female member. Raises InvalidRequest when the
    pool is too small for the rule.
    """
    try:
        return list(allocate_groups(people, n_groups, size, gender_rule=gender_rule, leader_by=leader_by).groups)
    except ConfigError as exc:
        raise InvalidRequest(exc.message, remedy=exc.remedy, code="allocation_impossible") from None


def preview_groups(session: Session, *, n_groups: int, size: int, gender_rule: bool, leader_by: str,
                   capacity: int | None = None) -> list[GroupPlan]:
    """The groups `form_groups` would make now, from every active leader/member's profile (Eq. 1); nothing
    changes. Refuses groups larger than `capacity` and people without profile scores (InvalidRequest)."""
    if capacity is not None and size > capacity:
        raise InvalidRequest(f"groups of {size} members go over the capacity of {capacity}", code="over_capacity")
    users = _candidates(session)
    incomplete = [u.username for u in users if any(getattr(u, f) is None for f in PROFILE_FIELDS)]
    if incomplete:
        raise InvalidRequest(f"profile scores missing for {', '.join(sorted(incomplete))}",
                             code="profiles_incomplete")
    people = [Person(u.username, u.gender, assignment_score(*(getattr(u, f) for f in PROFILE_FIELDS)),
                     u.leadership or 0.0) for u in users]
    return plan_groups(people, n_groups, size, gender_rule=gender_rule, leader_by=leader_by)


def _candidates(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.active.is_(True), User.role.in_(("leader", "member")))
                                .order_by(User.username)))


def form_groups(session: Session, *, n_groups: int, size: int, gender_rule: bool, leader_by: str,
                actor_id: int | None = None, capacity: int | None = None) -> list[GroupPlan]:
    """Plan groups as `preview_groups` does and apply the plan; membership history is kept."""
    plans = preview_groups(session, n_groups=n_groups, size=size, gender_rule=gender_rule, leader_by=leader_by,
                           capacity=capacity)
    by_name = {u.username: u for u in _candidates(session)}
    group_rows = {g.name: g for g in ensure_groups(session, n_groups)}
    for user in by_name.values():  # everyone out first, so leaders can change groups without a clash
        assign(session, user, None, actor_id=actor_id)
    for plan in plans:
        for person, role in [(plan.leader, "leader"), *((m, "member") for m in plan.members)]:
            user = by_name[person.name]
            user.role = role
            assign(session, user, group_rows[plan.name], actor_id=actor_id)
    audit.record(session, actor_id, "groups.formed", "project", "default",
                 plan={p.name: [p.leader.name, *(m.name for m in p.members)] for p in plans})
    return plans
