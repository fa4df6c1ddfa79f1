"""Pydantic request and response bodies of the JSON API (separate from the ORM models)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Stage = Literal["member", "leader", "exchange", "expert", "crosscheck"]


class ErrorBody(BaseModel):
    code: str
    message: str
    remedy: str | None = None


class ErrorResponse(BaseModel):
    """The one error shape of the API."""

    error: ErrorBody


class LoginIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=200)


class MeOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    language: str
    group: str | None
    group_role: str | None
    qualified: bool
    votes: int
    csrf_token: str | None = None


class AdjectiveOut(BaseModel):
    id: int
    label: str
    category: str | None = None


class TaskOut(BaseModel):
    sample_id: str
    stage: Stage
    media_url: str
    duration_s: float | None
    lease_s: float | None = None  # the seat is yours this long; renew it while still watching


class LeaseOut(BaseModel):
    sample_id: str
    lease_until: datetime
    lease_s: float


class ReleaseOut(BaseModel):
    sample_id: str
    released: int


class NextOut(BaseModel):
    task: TaskOut | None


class VoteIn(BaseModel):
    sample_id: str = Field(max_length=80)
    adjective_id: int
    confidence: float = Field(ge=0, le=1)
    client_id: str = Field(min_length=1, max_length=64)
    watch_s: float | None = Field(None, ge=0, allow_inf_nan=False)
    stage: Stage | None = None


class CorrectionIn(BaseModel):
    adjective_id: int
    confidence: float = Field(ge=0, le=1)
    client_id: str = Field(min_length=1, max_length=64)
    reason: str = Field("", max_length=500)


class VoteOut(BaseModel):
    vote_id: int
    created: bool
    sample_id: str
    stage: Stage


class VoteView(BaseModel):
    voter: str
    stage: Stage
    adjective_id: int
    adjective: str
    category: str
    confidence: float
    created_at: datetime


class SampleOut(BaseModel):
    id: str
    stage: Stage
    status: str
    group: str | None
    duration_s: float | None
    media_url: str
    final_category: str | None = None
    decided_stage: str | None = None
    votes: list[VoteView] | None = None


class ReportIn(BaseModel):
    reason: Literal["broken", "no_audio", "inappropriate", "other"] = "broken"
    note: str = Field("", max_length=2000)


class ReportAction(BaseModel):
    action: Literal["exclude", "dismiss"]


class QualificationAnswerIn(BaseModel):
    sample_id: str = Field(max_length=80)
    adjective_id: int


class QualificationOut(BaseModel):
    total: int
    answered: int
    attempts: int
    attempts_left: int
    passed: bool
    last_score: float | None
    next_sample_id: str | None
    pass_mark: float


class MosIn(BaseModel):
    sample_id: str = Field(max_length=80)
    score: int = Field(ge=1, le=5)


class MosTaskOut(BaseModel):
    sample_id: str
    media_url: str
    label: str


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    role: Literal["admin", "expert", "leader", "member"]
    password: str | None = Field(None, min_length=8, max_length=200)
    display_name: str = Field("", max_length=100)
    language: Literal["en", "zh-Hans"] = "zh-Hans"
    gender: Literal["m", "f"] | None = None
    group: str | None = None
    work_experience: float | None = Field(None, ge=0, le=100)
    msceit: float | None = Field(None, ge=0, le=100)
    education: float | None = Field(None, ge=0, le=100)
    culture: float | None = Field(None, ge=0, le=100)
    leadership: float | None = Field(None, ge=0, le=100)


class TokenOut(BaseModel):
    token: str


class DistributeIn(BaseModel):
    batch_size: int = Field(ge=1, le=100_000)
    groups: list[str] | None = None
    limit: int | None = Field(None, ge=1)


class MembershipIn(BaseModel):
    username: str
    group: str | None


class AuditTaskOut(BaseModel):
    """A clip of the expert's audit queue; the model's suggestion is not in it (it comes with the decision)."""

    review_id: int
    sample_id: str
    media_url: str
    duration_s: float | None
    final_category: str
    decided_stage: str | None
    reason: str
    pending: int


class AuditNextOut(BaseModel):
    item: AuditTaskOut | None


class AuditDecisionIn(BaseModel):
    adjective_id: int
    confidence: float = Field(ge=0, le=1)
    watch_s: float | None = Field(None, ge=0, allow_inf_nan=False)
    note: str = Field("", max_length=2000)


class AuditDecisionOut(BaseModel):
    review_id: int
    sample_id: str
    previous_category: str
    category: str
    changed: bool
    decided_stage: str | None
    suggested_category: str | None
    quality_score: float | None
