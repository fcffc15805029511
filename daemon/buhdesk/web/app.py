"""The survey web application (Starlette): the form behind the link in an invitation, the thanks
page, friendly pages for used, expired and unknown links, and ``/healthz``.

Nothing here logs or stores a client address or a token: the rate limiter keys clients by a hash
under a per-process random key, the answer waits in a pool under a sealed group label and joins
the answers table with its whole group (see :mod:`buhdesk.feedback.tokens`),
and ``Referrer-Policy: no-referrer`` (set on every response by :mod:`buhdesk.web.security`) keeps
the link out of other sites' logs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import FileSystemLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import text
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from buhdesk.config import Config
from buhdesk.feedback.settings import survey_settings
from buhdesk.feedback.survey import Survey, load_survey
from buhdesk.feedback.tokens import Submission, TokenState, record_answer, token_state
from buhdesk.service.runtime import Runtime, build_runtime
from buhdesk.trust.keys import SURVEY_FORM, SURVEY_GROUP
from buhdesk.web.guards import (
    COOKIE,
    RateLimiter,
    form_is_genuine,
    form_signature,
    new_form_nonce,
)
from buhdesk.web.security import SecurityHeaders

log = logging.getLogger(__name__)
MAX_FORM_BYTES = 64_000
PROBLEMS = {
    "unknown": (404, "Ссылка не найдена",
                "Такой ссылки на опрос нет. Проверьте, что она скопирована из письма целиком."),
    "used": (410, "Ответ уже получен",
             "По этой ссылке ответ уже дан — спасибо! Каждая ссылка действует один раз."),
    "expired": (410, "Срок опроса истёк",
                ("Срок действия этой ссылки закончился. Спасибо, что хотели ответить: приглашение "
                "придёт после вашего следующего обращения.")),
    "forged": (403, "Форма устарела",
               ("Не удалось принять ответ: форма устарела или открыта не из письма. Откройте "
               "ссылку из письма ещё раз и отправьте ответ заново.")),
    "busy": (429, "Слишком много попыток",
             ("С этого устройства только что отправлено много ответов. Подождите минуту и "
             "попробуйте снова.")),
    "large": (413, "Слишком длинный ответ", "Сократите ответ и отправьте его снова."),
}


class SurveyApp:
    """The handlers, holding what they need; one per application."""

    def __init__(self, rt: Runtime, survey: Survey, limiter: RateLimiter) -> None:
        self.rt, self.survey, self.limiter = rt, survey, limiter
        self.settings = survey_settings(rt.config)
        self.pages = _environment(Path(rt.config.templates_dir) / "web")

    def page(self, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.pages.get_template(name).render(service=self.rt.config.service.name,
                                                    **values)
        return HTMLResponse(html, status_code=status)

    def problem(self, kind: str) -> HTMLResponse:
        status, title, message = PROBLEMS[kind]
        return self.page("problem.html.j2", status, title=title, message=message)

    def _state(self, token: str) -> TokenState:
        today = self.rt.now().astimezone(self.rt.config.service.tz).date()
        with Session(self.rt.engine) as session:
            return token_state(session, token, today)

    async def show(self, request: Request) -> Response:
        token = request.path_params["token"]
        state = self._state(token)
        if state.status != "valid":
            return self.problem(state.status)
        nonce = new_form_nonce()
        response = self._form(token, nonce, state.token_hash, values={}, errors={})
        response.set_cookie(COOKIE, nonce, httponly=True, samesite="strict", path="/survey",
                            secure=request.url.scheme == "https")
        return response

    def _form(self, token: str, nonce: str, token_hash: str, *, values: dict[str, str],
              errors: dict[str, str], status: int = 200) -> HTMLResponse:
        return self.page("survey.html.j2", status, survey=self.survey, token=token, nonce=nonce,
                         signature=form_signature(self.rt.keys.signing_key(SURVEY_FORM), nonce,
                                                  token_hash),
                         values=values, errors=errors)

    async def submit(self, request: Request) -> Response:
        if not self.limiter.allow(request.client.host if request.client else "-"):
            return self.problem("busy")
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return self.problem("large")
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"),
                                              keep_blank_values=True).items()}
        token = form.get("token", "")
        state = self._state(token)
        if state.status != "valid":
            return self.problem(state.status)
        if not form_is_genuine(self.rt.keys.keys(SURVEY_FORM), cookie=request.cookies.get(COOKIE),
                               nonce=form.get("nonce", ""), signature=form.get("signature", ""),
                               token_hash=state.token_hash):
            return self.problem("forged")
        answers, comment, errors = self._parse(form)
        if errors:
            return self._form(token, form["nonce"], state.token_hash, values=form, errors=errors,
                              status=400)
        with Session(self.rt.engine) as session:
            if not record_answer(session, state.token_hash, Submission(answers, comment),
                                 group_keys=self.rt.keys.keys(SURVEY_GROUP),
                                 min_group=self.settings.min_group):
                return self.problem("used")
            session.commit()
        log.info("survey: an answer was recorded")
        response = RedirectResponse("/survey/thanks", status_code=303)
        response.delete_cookie(COOKIE, path="/survey")
        return response

    def _parse(self, form: dict[str, str]) -> tuple[dict[str, Any], str, dict[str, str]]:
        answers: dict[str, Any] = {}
        comments: list[str] = []
        errors: dict[str, str] = {}
        for q in self.survey.questions:
            value, error = q.parse(form.get(f"q_{q.id}"))
            if error:
                errors[q.id] = error
            elif value is not None and q.kind == "text":
                comments.append(value)
            elif value is not None:
                answers[q.id] = value
        return answers, "\n\n".join(comments), errors

    async def thanks(self, request: Request) -> Response:
        return self.page("thanks.html.j2", survey=self.survey)

    async def healthz(self, request: Request) -> Response:
        try:
            with self.rt.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            log.exception("healthz: the store does not answer")
            return JSONResponse({"status": "error"}, status_code=503)
        return JSONResponse({"status": "ok"})


def _environment(folder: Path) -> SandboxedEnvironment:
    return SandboxedEnvironment(loader=FileSystemLoader(str(folder)),
                                autoescape=select_autoescape(default=True),
                                trim_blocks=True, lstrip_blocks=True)


class _SecureStarlette(Starlette):
    """Starlette whose outermost layer adds the security headers, so even the error pages of
    its own ServerErrorMiddleware carry them."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def create_app(rt_or_config: Runtime | Config, *, extra_routes: Sequence[BaseRoute] = (),
               limiter: RateLimiter | None = None) -> Starlette:
    """The application; ``extra_routes`` (e.g. the knowledge base) are served beside the survey."""
    rt = rt_or_config if isinstance(rt_or_config, Runtime) else build_runtime(
        rt_or_config, keys=rt_or_config.web_keyring())
    app = SurveyApp(rt, load_survey(rt.rules.directory), limiter or RateLimiter())
    routes: list[BaseRoute] = [
        Route("/healthz", app.healthz, methods=["GET"]),
        Route("/survey/thanks", app.thanks, methods=["GET"]),
        Route("/survey", app.submit, methods=["POST"]),
        Route("/survey/{token}", app.show, methods=["GET"]),
        *extra_routes,
    ]
    starlette = _SecureStarlette(routes=routes)
    starlette.state.survey_app = app
    return starlette


def mount(app: Starlette, routes: Sequence[BaseRoute]) -> None:
    """Add routes to a built application (another engineer's pages)."""
    app.router.routes.extend(routes)
