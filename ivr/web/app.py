"""The ASGI application: pages (Jinja2 + htmx), the JSON API under /api/, static files served from the package.

``create_app(settings)`` is all ``ivr web``, uvicorn under systemd and the tests need.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from ivr.config import Settings
from ivr.db.session import open_database
from ivr.errors import IvrError, NotFoundError
from ivr.web.imports import Imports
from ivr.web.queries import BRT, OUTCOME_LABELS, REVIEW_LABELS
from ivr.web.security import ApiUnauthorized, Forbidden, LoginRequired, csrf_token

HERE = Path(__file__).parent


def brl(value: Decimal | float | int | None) -> str:
    """``R$ 1.234,56``."""
    text = f"{Decimal(value or 0):,.2f}"
    return "R$ " + text.replace(",", "_").replace(".", ",").replace("_", ".")


def local_dt(value: dt.datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    return value.astimezone(BRT).strftime(fmt) if value else "—"


def br_date(value: dt.date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.filters.update(
        brl=brl,
        local_dt=local_dt,
        br_date=br_date,
        outcome=lambda o: OUTCOME_LABELS.get(o or "pending", o),
        review_kind=lambda k: REVIEW_LABELS.get(k, k),
    )
    env.globals["csrf_token"] = csrf_token
    return templates


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def api_error(status: int, message: str, field: str | None = None) -> JSONResponse:
    """The API's one error shape: ``{"error": "one line", "field": "name" | null}``."""
    return JSONResponse({"error": " ".join(message.split()), "field": field}, status_code=status)


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="ivr-cobranca",
        version="1",
        docs_url=None,
        redoc_url=None,
        description="API do robô de cobrança: campanhas, importação, resultados, pagamentos, "
        "disposições de agentes e revisões. Autenticação: `Authorization: Bearer <token>` "
        "(`ivr token add NOME`).",
    )
    app.state.settings = settings
    app.state.sessions = open_database(settings.database_url)
    app.state.imports = Imports(settings, app.state.sessions)
    app.state.templates = _templates()
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.web_secret().decode(),
        session_cookie="ivr_session",
        max_age=settings.web.session_minutes * 60,
        same_site="lax",
        https_only=settings.web.secure_cookies,
    )

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith(("/static/", "/docs", "/openapi.json")):
            response.headers.setdefault("Cache-Control", "no-store")  # pages carry personal data
        return response

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """Swagger UI from the package's own copy (FastAPI's default loads it from a CDN)."""
        from fastapi.openapi.docs import get_swagger_ui_html

        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="ivr-cobranca API",
            swagger_js_url="/static/vendor/swagger-ui-bundle-5.35.0.js",
            swagger_css_url="/static/vendor/swagger-ui-5.35.0.css",
            swagger_favicon_url="/static/vendor/favicon.png",
        )

    from ivr.web import api, pages

    app.include_router(pages.router)
    app.include_router(api.router)
    _handlers(app)
    return app


def _handlers(app: FastAPI) -> None:
    templates: Jinja2Templates = app.state.templates

    def page_error(request: Request, status: int, message: str) -> Response:
        if request.headers.get("hx-request"):
            return HTMLResponse(f'<div class="error" role="alert">{_escape(message)}</div>', status_code=status)
        return templates.TemplateResponse(
            request, "error.html", {"message": message, "status": status}, status_code=status
        )

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = "/login?next=" + request.url.path if request.method == "GET" else "/login"
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        if _is_api(request):
            return api_error(403, exc.message)
        return page_error(request, 403, exc.message)

    @app.exception_handler(ApiUnauthorized)
    async def unauthorized(request: Request, exc: ApiUnauthorized) -> Response:
        response = api_error(
            401,
            "missing or invalid API token: send `Authorization: Bearer <token>` (create one with `ivr token add NAME`)",
        )
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(IvrError)
    async def ivr_error(request: Request, exc: IvrError) -> Response:
        status = 404 if isinstance(exc, NotFoundError) else 400
        if _is_api(request):
            return api_error(status, str(exc), getattr(exc, "field", None))
        return page_error(request, status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "form")]
        if first.get("type") == "json_invalid":  # loc is (body, <character offset>): no field, say where
            loc = []
            first = {**first, "msg": f"body is not valid JSON (at character {first.get('loc', ('', '?'))[-1]})"}
        field = ".".join(loc) or None
        message = f"{field}: {first.get('msg', 'invalid')}" if field else str(first.get("msg", "invalid"))
        if _is_api(request):
            return api_error(422, message, field)
        return page_error(request, 422, message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail) if exc.detail else "erro"
        if _is_api(request):
            return api_error(exc.status_code, message)
        if exc.status_code == 404:
            message = "Página não encontrada."
        return page_error(request, exc.status_code, message)


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))
