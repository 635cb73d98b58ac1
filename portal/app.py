"""``create_app(settings)``: the portal's FastAPI application.

Middleware: the signed session cookie (``sessions``) and the security headers (``security``).
Routers: one module per feature in ``casslink.portal.routes``, listed in ``routes.ROUTERS``;
each is mounted with the CSRF guard, so every state-changing form and call is checked.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Callable
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casslink.db.engine import make_engine
from casslink.login_policy import LockoutRules, LoginPolicy
from casslink.portal import routes
from casslink.portal.deps import LoginRequired
from casslink.portal.rendering import compile_templates, render
from casslink.portal.security import HEADERS, RateLimit, csrf_guard
from casslink.portal.sessions import COOKIE, SessionCodec
from casslink.secrets import portal_secret
from casslink.settings import Settings

STATIC = Path(__file__).parent / "static"
POOL_SIZE = 20
"""Database connections a portal process keeps open (and up to 10 more at a peak, closed
after): each request holds one while it runs; beyond the pool, each opens and closes its own."""


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("localhost", "testserver")


def _airflow_notifier(settings: Settings) -> Callable[[int], None]:
    """The gateway's notifier, started on the first upload."""
    holder: list = []

    def notify(file_id: int) -> None:
        if not holder:
            from casslink.sftp_gateway.notify import Notifier

            holder.append(Notifier(settings))
        holder[0](file_id)

    return notify


class SessionAndHeaders:
    """The signed session cookie, decoded into ``request.state.session`` and set again on
    the response when the request changed it; and the security headers on every response
    (those the route did not set). Plain ASGI: Starlette's ``BaseHTTPMiddleware`` ran each
    request in a task of its own with a stream between it and the server."""

    def __init__(self, app: ASGIApp, codec: SessionCodec, secure_cookies: bool | None) -> None:
        self.app, self.codec, self.secure_cookies = app, codec, secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        session = self.codec.decode(request.cookies.get(COOKIE))
        request.state.session = session

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if session.changed:
                    secure = self.secure_cookies if self.secure_cookies is not None else not (
                        request.url.scheme == "http" and _loopback(request.url.hostname or ""))
                    cookie = Response()
                    cookie.set_cookie(COOKIE, self.codec.encode(session), httponly=True,
                                      samesite="lax", secure=secure, path="/")
                    headers.append("set-cookie", cookie.headers["set-cookie"])
                for k, v in HEADERS.items():
                    headers.setdefault(k, v)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings, *, engine: Engine | None = None,
               lockout: LockoutRules | None = None, secure_cookies: bool | None = None,
               idle_timeout_s: float = 1800.0, login_rate: int | None = None,
               clock: Callable[[], float] = time.time,
               notify: Callable[[int], None] | None = None) -> FastAPI:
    """The portal for ``settings`` (its database unless ``engine`` is given).

    ``secure_cookies``: mark the session cookie Secure; by default it is, unless the request
    came over plain http to a loopback address (a local install without TLS).
    ``login_rate``: sign-in attempts per minute per client address (default
    CASSLINK_PORTAL_LOGIN_RATE, 20).
    ``notify``: called with each uploaded file's id (default: the gateway's Airflow
    notifier, whose failure leaves the file to the ingest sweep)."""
    app = FastAPI(title="casslink portal", version="1", docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json")
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.db_url, pool_size=POOL_SIZE)
    app.state.policy = LoginPolicy(app.state.engine, lockout)
    app.state.login_rate = RateLimit(
        login_rate or int(os.environ.get("CASSLINK_PORTAL_LOGIN_RATE", "20")), 60.0)
    app.state.notify = notify or _airflow_notifier(settings)
    codec = SessionCodec(portal_secret(settings), idle_s=idle_timeout_s, clock=clock)
    app.state.codec = codec

    app.add_middleware(SessionAndHeaders, codec=codec, secure_cookies=secure_cookies)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "not signed in"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException):
        if request.url.path.startswith("/api/") or request.headers.get("hx-request"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                                headers=exc.headers)
        return render(request, "error.html", status_code=exc.status_code,
                      status=exc.status_code, detail=str(exc.detail), next_path="/")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in routes.ROUTERS:
        app.include_router(router, dependencies=[Depends(csrf_guard)])
    return app


def app_from_environment() -> FastAPI:
    """The portal of the data root the environment names (``casslink portal --workers N``
    starts each uvicorn worker with it)."""
    from casslink.settings import get_settings

    compile_templates()
    return create_app(get_settings())
