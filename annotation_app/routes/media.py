"""Media by sample id only (never by path), with byte ranges, after the same role and group checks as votes."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from annotation_app.deps import AnyUser, AppSettings, DbSession, released
from annotation_app.services import queue
from core.errors import NotFoundError

router = APIRouter(prefix="/media", tags=["media"])


def _file(path: str | None) -> Path:
    if not path or not Path(path).is_file():
        raise NotFoundError("the media file of this sample is missing", remedy="tell an admin")
    return Path(path)


@router.get("/{sample_id}")
@released
def video(sample_id: str, user: AnyUser, session: DbSession,
          settings: AppSettings) -> FileResponse:
    """The sample's normalised MP4; Range requests get 206 partial content."""
    sample = queue.check_visible(session, user, sample_id, settings)
    return FileResponse(_file(sample.media_path), media_type="video/mp4",
                        headers={"Cache-Control": "private, max-age=3600"})


@router.get("/{sample_id}/poster")
@released
def poster(sample_id: str, user: AnyUser, session: DbSession,
           settings: AppSettings) -> FileResponse:
    sample = queue.check_visible(session, user, sample_id, settings)
    return FileResponse(_file(sample.poster_path), media_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=3600"})
