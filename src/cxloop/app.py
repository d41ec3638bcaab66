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
from cxloop.auth import pages as auth_pages
from cxloop.auth import views as auth_views
from cxloop.auth.deps import api_auth
from cxloop.config import get_settings
from cxloop.customers import views as customers_views
from cxloop.delivery import pages as delivery_pages
from cxloop.delivery import views as delivery_views
from cxloop.feedback import views as feedback_views
from cxloop.imports import views as imports_views
from cxloop.loop import pages as loop_pages
from cxloop.loop import views as loop_views
from cxloop.messaging import pages as messaging_pages
from cxloop.messaging import views as messaging_views
from cxloop.metrics import pages as metrics_pages
from cxloop.metrics import views as metrics_views
from cxloop.orders import views as orders_views
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
    delivery_views.router,
)

#: Routers of the HTML pages (mounted at the root).
PAGE_ROUTERS: tuple[APIRouter, ...] = (
    metrics_pages.router,
    auth_pages.router,
    loop_pages.router,
    messaging_pages.router,
    delivery_pages.router,
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
    )
    app.state.settings = settings
    # Login and token exchange must be reachable without a session; every other API route needs a
    # logged-in user or a token (the rules live in cxloop.auth.deps).
    app.include_router(auth_views.router, prefix=API_PREFIX)
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX, dependencies=[Depends(api_auth)])
    for router in PAGE_ROUTERS:
        app.include_router(router)
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    web_setup.install(app)  # middleware, error pages, i18n

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        """Browsers ask for /favicon.ico on their own; point them at the real icon."""
        return RedirectResponse("/static/img/favicon.svg", status_code=301)

    @app.get(f"{API_PREFIX}/health", tags=["system"])
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
