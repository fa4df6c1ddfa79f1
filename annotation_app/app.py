"""The FastAPI application factory: database, cookie sessions, error translation, routers, templates."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import cookie_parser

from annotation_app import i18n
from annotation_app.deps import COOKIE_NAME
from annotation_app.services import auth
from core.db import make_engine, session_factory
from core.errors import (
    AuthenticationError,
    ConflictError,
    EmotionsError,
    InvalidRequest,
    NotFoundError,
    PermissionDenied,
    TooManyAttempts,
)
from core.settings import Settings, get_settings

HERE = Path(__file__).parent
log = logging.getLogger(__name__)
THREADS = 16  # request threads per worker process
# Database connections kept open per worker: one per request thread and a few spare. A smaller pool with
# overflow closes and reopens connections under load, and every new PostgreSQL connection costs the
# server a process start and authentication (measured: more PostgreSQL CPU per vote than the vote itself).
POOL_SIZE = THREADS + 4
MAX_BODY_BYTES = 1 << 20  # no request of this app needs more; bigger bodies are refused before they are read
STATUS = {NotFoundError: 404, PermissionDenied: 403, AuthenticationError: 401, ConflictError: 409,
          InvalidRequest: 422, TooManyAttempts: 429}
HTTP_CODES = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
              409: "conflict", 422: "invalid", 429: "rate_limited"}

templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.add_extension("jinja2.ext.i18n")
templates.env.newstyle_gettext = True  # type: ignore[attr-defined]
templates.env.globals.update(role_name=i18n.role_name, status_name=i18n.status_name,
                             stage_name=lambda stage, lang: i18n.gettext(i18n.STAGE_NAMES.get(stage, stage), lang),
                             report_reasons=i18n.REPORT_REASONS, mos_scores=i18n.MOS_SCORES)


def create_app(settings: Settings | None = None, *, database_url: str | None = None) -> FastAPI:
    """Build the app for `settings` (default: the environment); the schema must already be migrated."""
    settings = settings or get_settings()
    url = database_url or settings.database_url
    # Every request thread must be able to get a connection: a pool smaller than the thread pool can
    # deadlock (threads wait for connections that only a thread can give back).
    engine = make_engine(url, pool_size=POOL_SIZE, max_overflow=4, pool_timeout=60)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        yield
        engine.dispose()

    # /docs and /redoc from assets shipped with the package (fastapi-offline): they work without internet
    app = FastAPIOffline(title="eMotions annotation app", version="1", docs_url="/docs", redoc_url="/redoc",
                         static_url="/static-docs", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory(engine)
    app.state.codec = auth.SessionCodec(auth.secret_key(settings), settings.app_session_max_age_s)
    app.state.templates = templates

    app.add_middleware(CookieSessionMiddleware, codec=app.state.codec, secure=settings.app_cookie_secure)
    app.add_middleware(BodyLimitMiddleware, limit=MAX_BODY_BYTES)
    _install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    from annotation_app.routes import api, audit, leader_pages, media, pages

    app.include_router(api.router)
    app.include_router(audit.api)
    app.include_router(media.router)
    app.include_router(pages.router)
    app.include_router(audit.pages)
    app.include_router(leader_pages.router)
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` (every worker builds its own engine from the environment)."""
    return create_app()


class _TooLarge(BaseException):
    """Not an Exception: the framework's body parsing (which turns exceptions into 400) must not swallow it."""


class BodyLimitMiddleware:
    """Pure ASGI middleware: a request body over `limit` bytes gets 413 (JSON error shape) instead of being read
    into memory, whether it announces its length or streams it in chunks."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen, started = 0, False

        async def counted_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def tracked_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _TooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope, receive, send) -> None:
        body = {"error": {"code": "too_large", "message": f"the request body is over {self.limit} bytes",
                          "remedy": "send less"}}
        await JSONResponse(body, status_code=413, headers={"Connection": "close"})(scope, receive, send)


class CookieSessionMiddleware:
    """Pure ASGI middleware: reads the signed session cookie into `request.state.session` and writes it
    back when it is new (for browsers) or was replaced; adds a few protective headers."""

    def __init__(self, app, codec: auth.SessionCodec, secure: bool | None) -> None:
        self.app, self.codec, self.secure = app, codec, secure

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        data = self.codec.loads(cookie_parser(headers.get("cookie", "")).get(COOKIE_NAME))
        fresh = data is None
        state = scope.setdefault("state", {})
        state["session"] = data if data is not None else {"csrf": auth.new_csrf()}
        state["session_dirty"] = False
        uses_token = headers.get("authorization", "").lower().startswith("bearer ")
        secure = scope.get("scheme") == "https" if self.secure is None else self.secure

        async def send_with_cookie(message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                if (fresh and not uses_token) or state.get("session_dirty"):
                    carrier = Response()
                    carrier.set_cookie(COOKIE_NAME, self.codec.dumps(state["session"]), max_age=self.codec.max_age_s,
                                       httponly=True, samesite="lax", secure=secure, path="/")
                    out.append("set-cookie", carrier.headers["set-cookie"])
                out.setdefault("X-Content-Type-Options", "nosniff")
                out.setdefault("X-Frame-Options", "DENY")
                out.setdefault("Referrer-Policy", "same-origin")
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/media/")) or "text/html" not in request.headers.get("accept", "")


async def error_response(request: Request, status: int, code: str, message: str,
                         remedy: str | None = None) -> Response:
    """One JSON shape for API callers, a friendly page for browsers (login page for 401).

    The page has the full layout: who is logged in, a working language switch (the session's CSRF token)
    and logout; the person's language when they are known.
    """
    if wants_json(request):
        body = {"error": {"code": code, "message": message, "remedy": remedy}}
        return JSONResponse(body, status_code=status)
    if status == 401:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    user = await run_in_threadpool(_caller_or_none, request)
    language = i18n.normalise((user.language if user else None) or request.cookies.get("lang")
                              or request.headers.get("accept-language"))
    session = getattr(request.state, "session", None) or {}
    context = {"status": status, "code": code, "headline": i18n.error_text(code, status, language),
               "message": message, "remedy": remedy, "lang": language, "me": user, "csrf": session.get("csrf", ""),
               **i18n.template_functions(language)}
    return templates.TemplateResponse(request, "error.html", context, status_code=status)


def _caller_or_none(request: Request):
    """The logged-in person for an error page, or None (a page about an error must not fail itself)."""
    from annotation_app.deps import authenticate

    try:
        db = request.app.state.session_factory()
        try:
            caller = authenticate(db, request)
            return caller.user if caller else None
        finally:
            db.close()
    except Exception:  # the database may be what failed
        return None


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(EmotionsError)
    async def app_error(request: Request, exc: EmotionsError) -> Response:
        status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 500)
        code = getattr(exc, "code", "server_error") if status != 500 else "server_error"
        return await error_response(request, status, code, exc.message, exc.remedy)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors())
        return await error_response(request, 422, "invalid", problems or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return await error_response(request, exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> Response:
        """A bug or an outage (the database gone): logged with its traceback, answered in the one error shape."""
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return await error_response(request, 500, "server_error", "something went wrong on the server",
                              "try again in a moment; if it keeps happening, tell the admin")
