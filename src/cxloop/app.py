"""create_app(): the FastAPI application with every domain's API router and pages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from cxloop import __version__
from cxloop.config import get_settings
from cxloop.plugins import optional_import

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"

#: Modules that export ``router`` for the JSON API (mounted under /api/v1), in display order.
API_MODULES: tuple[str, ...] = (
    "cxloop.auth.views",
    "cxloop.imports.views",
    "cxloop.feedback.views",
    "cxloop.orders.views",
    "cxloop.customers.views",
    "cxloop.metrics.views",
    "cxloop.reports.views",
    "cxloop.loop.views",
)

#: Modules that export ``router`` for HTML pages (mounted at the root).
PAGE_MODULES: tuple[str, ...] = (
    "cxloop.web.pages",
    "cxloop.auth.pages",
    "cxloop.metrics.pages",
    "cxloop.loop.pages",
)

STATIC_DIR = Path(__file__).parent / "web" / "static"


def _optional_router(module_name: str) -> APIRouter | None:
    module = optional_import(module_name)  # a domain that is not there yet is skipped
    if module is None:
        return None
    router: APIRouter = module.router
    return router


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
    app = FastAPI(
        title="cxloop",
        version=__version__,
        description="Closed-loop customer experience management API. 闭环客户体验管理平台接口。",
        lifespan=_lifespan if migrate_on_start else None,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    # Every API route needs a logged-in user or a token (cxloop.auth.deps); what each caller may do
    # there is declared by the route itself with cxloop.auth.policy.allow (tests/auth/test_policy.py).
    from cxloop.auth.policy import public as public_route

    auth_deps = optional_import("cxloop.auth.deps")
    api_dependencies = [Depends(auth_deps.api_auth)] if auth_deps is not None else []
    for name in API_MODULES:
        router = _optional_router(name)
        if router is not None:
            public = name == "cxloop.auth.views"  # login and token exchange must be reachable
            app.include_router(router, prefix=API_PREFIX, dependencies=[] if public else api_dependencies)
    for name in PAGE_MODULES:
        router = _optional_router(name)
        if router is not None:
            app.include_router(router)
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    web = optional_import("cxloop.web.setup")
    if web is not None:
        web.install(app)  # middleware, error pages, i18n

    @app.get("/favicon.ico", include_in_schema=False, dependencies=[public_route()])
    def favicon() -> RedirectResponse:
        """Browsers ask for /favicon.ico on their own; point them at the real icon."""
        return RedirectResponse("/static/img/favicon.svg", status_code=301)

    @app.get(f"{API_PREFIX}/health", tags=["system"], dependencies=[public_route()])
    def health() -> dict[str, str]:
        """Liveness check."""
        return {"status": "ok", "version": __version__}

    return app


def serve(*, host: str = "127.0.0.1", port: int = 8000, reload: bool = False) -> None:
    """Run the web server (blocking) after bringing the database up to date."""
    import uvicorn

    from cxloop.migrate import upgrade

    upgrade()
    log.info("serving on http://%s:%s", host, port)
    uvicorn.run("cxloop.app:create_app", factory=True, host=host, port=port, reload=reload, log_level="info")
