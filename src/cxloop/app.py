"""create_app(): the FastAPI application with every domain's API router and pages."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, OperationalError

from cxloop import __version__
from cxloop.auth import pages as auth_pages
from cxloop.auth import views as auth_views
from cxloop.auth.deps import api_auth, session_user
from cxloop.auth.policy import public as public_route
from cxloop.config import get_settings
from cxloop.customers import views as customers_views
from cxloop.delivery import pages as delivery_pages
from cxloop.delivery import views as delivery_views
from cxloop.deps import db_int_ranges
from cxloop.feedback import views as feedback_views
from cxloop.imports import views as imports_views
from cxloop.journeys import pages as journeys_pages
from cxloop.journeys import views as journeys_views
from cxloop.loop import pages as loop_pages
from cxloop.loop import views as loop_views
from cxloop.messaging import pages as messaging_pages
from cxloop.messaging import views as messaging_views
from cxloop.metrics import pages as metrics_pages
from cxloop.metrics import views as metrics_views
from cxloop.orders import views as orders_views
from cxloop.surveys import pages as surveys_pages
from cxloop.surveys import views as surveys_views
from cxloop.taxonomy import check_taxonomy
from cxloop.web import setup as web_setup

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"

#: Routers of the JSON API that need a logged-in user or a token (mounted under /api/v1), in display
#: order. Wiring is by explicit import: a missing module is an ImportError at start, never a skipped
#: router.
API_ROUTERS: tuple[APIRouter, ...] = (
    imports_views.router,
    feedback_views.router,
    orders_views.router,
    customers_views.router,
    metrics_views.router,
    loop_views.router,
    messaging_views.router,
    journeys_views.router,
    delivery_views.router,
    surveys_views.router,
)

#: Routers of the HTML pages (mounted at the root).
PAGE_ROUTERS: tuple[APIRouter, ...] = (
    metrics_pages.router,
    auth_pages.router,
    loop_pages.router,
    messaging_pages.router,
    journeys_pages.router,
    delivery_pages.router,
    surveys_pages.router,
)

STATIC_DIR = Path(__file__).parent / "web" / "static"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    from cxloop.migrate import upgrade

    upgrade()  # migrations are applied on start, so an upgraded package never meets an old schema
    settings = get_settings()
    scheduler = None
    if settings.scheduler and not settings.broker_url:
        from cxloop.scheduler import InProcessScheduler

        # Without Celery the web process keeps the loop running itself (rules, SLAs, outbox).
        scheduler = InProcessScheduler()
        scheduler.start()
    app.state.scheduler = scheduler
    try:
        yield
    finally:
        if scheduler is not None:
            scheduler.stop()


def create_app(*, migrate_on_start: bool = True) -> FastAPI:
    """Build the application: API routers, pages, static files and OpenAPI docs."""
    settings = get_settings()
    check_taxonomy()  # a broken CXLOOP_TAXONOMY file is an error at start that names its line
    app = FastAPI(
        title="cxloop",
        version=__version__,
        description="Closed-loop customer experience management API. 闭环客户体验管理平台接口。",
        lifespan=_lifespan if migrate_on_start else None,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        default_response_class=BusinessTimeJSONResponse,
    )
    app.state.settings = settings
    # Login and token exchange must be reachable without a session; every other API route needs a
    # logged-in user or a token (cxloop.auth.deps). What each caller may do is declared by the route
    # itself with cxloop.auth.policy.allow (tests/auth/test_policy.py reads them from the router).
    # Integers beyond what the database holds are a 422 on every route, pages too, before its handler.
    guards = [Depends(db_int_ranges)]
    app.include_router(auth_views.router, prefix=API_PREFIX, dependencies=guards)
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX, dependencies=[*guards, Depends(api_auth)])
    for router in PAGE_ROUTERS:
        app.include_router(router, dependencies=guards)
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    web_setup.install(app, session_user=session_user)  # middleware, error pages, i18n
    # Outermost: the public survey links (/s/...) are answered before the session and CSRF middleware.
    app.add_middleware(surveys_pages.PublicSurveyLinks)

    _document_errors(app)
    app.add_exception_handler(OperationalError, _database_busy)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DataError, _out_of_range)  # PostgreSQL's word for the same mistake

    @app.get("/favicon.ico", include_in_schema=False, dependencies=[public_route()])
    def favicon() -> RedirectResponse:
        """Browsers ask for /favicon.ico on their own; point them at the real icon."""
        return RedirectResponse("/static/img/favicon.svg", status_code=301)

    @app.get(f"{API_PREFIX}/health", tags=["system"], dependencies=[public_route()])
    def health() -> dict[str, str]:
        """Liveness check."""
        return {"status": "ok", "version": __version__}

    return app


#: The error answers any API route may give, documented on every operation (see _document_errors).
_ERROR_RESPONSES: dict[str, str] = {
    "400": "Bad request / 请求有误",
    "401": "Not logged in, or the token is unknown / 未登录或令牌无效",
    "403": "The role or department may not do this / 角色或部门无权操作",
    "404": "No such record / 记录不存在",
    "409": "Conflicts with the current state / 与当前状态冲突",
    "422": "Refused: the detail names the field, file, row, column and value / 已拒绝：detail 指明字段、行、列和值",
    "429": "Too many attempts, try later / 尝试次数过多，请稍后再试",
    "503": "Busy (the database is locked by a long write), try again / 数据库繁忙，请重试",
}
_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"description": "a message, a {message, message_zh} object or a list of errors"}
    },
}


_NAIVE_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,6})?)?")


def _with_offsets(value: Any, tz: ZoneInfo) -> Any:
    if isinstance(value, str):
        if len(value) < 16 or len(value) > 26 or not _NAIVE_TIMESTAMP.fullmatch(value):
            return value
        return datetime.fromisoformat(value).replace(tzinfo=tz).isoformat()
    if isinstance(value, dict):
        return {k: _with_offsets(v, tz) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_offsets(v, tz) for v in value]
    return value


class BusinessTimeJSONResponse(JSONResponse):
    """JSON whose timestamps carry their offset: stored times are naive business time (see db.py).

    Every API answer goes through it (the app's default response class), so no schema can forget:
    ``2026-11-22T10:56:00`` goes out as ``2026-11-22T10:56:00+08:00``. Only strings that are exactly
    a serialized datetime (``YYYY-MM-DDTHH:MM[:SS[.ffffff]]``) are touched.
    """

    def render(self, content: Any) -> bytes:
        """The body, with the business zone's offset added to every naive timestamp."""
        return super().render(_with_offsets(content, get_settings().tz))


async def _database_busy(request: Request, exc: Exception) -> Response:
    """SQLite's "database is locked" after the busy timeout: a 503 to retry, not a 500."""
    if "locked" not in str(exc) and "busy" not in str(exc):
        raise exc
    log.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"detail": "the database is busy, try again / 数据库繁忙，请重试"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


async def _out_of_range(request: Request, exc: Exception) -> Response:
    """A value the database cannot hold (a number beyond 64 bits in a JSON body): a 422, not a 500."""
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return JSONResponse(
        {"detail": [{"loc": ["body"], "msg": f"a value is out of range: {reason}", "type": "value_error"}]},
        status_code=422,
    )


def _document_errors(app: FastAPI) -> None:
    """Document every error status on every API operation, so the schema says what clients can get.

    Done once for all routes (a new router is covered too); the 422 body is either FastAPI's list of
    field errors or an import's message naming the file, row and column, so its schema is the union.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith(API_PREFIX):
                continue
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for code, description in _ERROR_RESPONSES.items():
                    responses[code] = {
                        "description": description,
                        "content": {"application/json": {"schema": _ERROR_SCHEMA}},
                    }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def serve(*, host: str = "127.0.0.1", port: int = 8000, reload: bool = False) -> None:
    """Run the web server (blocking) after bringing the database up to date."""
    import uvicorn

    from cxloop.migrate import upgrade

    upgrade()
    log.info("serving on http://%s:%s", host, port)
    uvicorn.run("cxloop.app:create_app", factory=True, host=host, port=port, reload=reload, log_level="info")
