"""The console's pages, in pt-BR: Campanhas, Importar, Ao vivo, Resultados, Devedor, Revisões, Usuários, Auditoria.

Every route needs a logged-in user (``page_viewer``); every unsafe request needs the session's CSRF token
(router dependency ``check_csrf``); changes and reveals of personal data are audited.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import socket
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.campaign.rules import load_profiles
from ivr.db.models import WEB_ROLES, Campaign, Debtor, Phone, WebUser, utcnow
from ivr.errors import IvrError, NotFoundError
from ivr.privacy import mask_phone
from ivr.web import queries
from ivr.web.imports import read_upload
from ivr.web.accounts import add_user, audit, disable_user, login as check_login
from ivr.web.operations import (
    FieldError,
    change_status,
    create_campaign,
    record_disposition,
    resolve_review,
    restore_phone,
)
from ivr.web.security import Viewer, check_csrf, current_viewer, end_session, page_viewer, require, start_session

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)

POLICY_INT_FIELDS = (
    "max_attempts_per_day",
    "max_attempts_per_week",
    "promise_pause_days",
    "already_paid_pause_business_days",
    "promise_window_days",
    "max_installments",
)
POLICY_FLOAT_FIELDS = ("priority_half_life_days", "listen_timeout_s")
POLICY_BOOL_FIELDS = ("stop_after_right_party", "callback_overrides_daily_limits", "allow_transfer")


def _sessions(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    context.setdefault("viewer", getattr(request.state, "viewer", None))
    context.setdefault("nav", template.split(".")[0].split("_")[0])
    response: Response = request.app.state.templates.TemplateResponse(
        request, template, context, status_code=status_code
    )
    return response


# -- login ------------------------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str = "/campanhas") -> Response:
    if current_viewer(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", next=_safe_next(next), message="")


def _safe_next(target: str) -> str:
    # Only a path of this site: "//host" and "/\\host" are other sites to a browser (open redirect).
    ok = target.startswith("/") and not target.startswith(("//", "/\\")) and "\n" not in target
    return target if ok else "/campanhas"


@router.post("/login")
def login_submit(
    request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/campanhas")
) -> Response:
    web = request.app.state.settings.web
    with _sessions(request).begin() as s:
        result = check_login(s, username, password, utcnow(), web.login_max_failures, web.login_lock_seconds)
        if result.user is not None:
            start_session(request, result.user)
    if result.user is None:
        return render(request, "login.html", status_code=401, next=_safe_next(next), message=result.message)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is not None:
        with _sessions(request).begin() as s:
            audit(s, viewer.actor, "logout", f"web_users:{viewer.id}")
    end_session(request)
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def home(viewer: Viewer = Depends(page_viewer)) -> Response:
    return RedirectResponse("/campanhas", status_code=303)


# -- campaigns --------------------------------------------------------------------------------------------


def _campaign_page(
    request: Request,
    viewer: Viewer,
    status_code: int = 200,
    error: str = "",
    error_field: str = "",
    form: dict[str, Any] | None = None,
) -> Response:
    with _sessions(request)() as s:
        rows = queries.campaigns_overview(s, utcnow())
    return render(
        request,
        "campanhas.html",
        status_code=status_code,
        rows=rows,
        error=error,
        error_field=error_field,
        form=form or {},
        profiles=sorted(load_profiles()),
    )


@router.get("/campanhas")
def campaigns(request: Request, viewer: Viewer = Depends(page_viewer)) -> Response:
    return _campaign_page(request, viewer)


def policy_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The policy as the CLI's ``--policy`` JSON: blank fields keep the defaults; types checked by Policy."""
    policy: dict[str, Any] = {}
    profile = form.get("profile", "").strip()
    if profile:
        policy["profile"] = profile
    verification = form.get("verification", "").strip()
    if verification:
        policy["verification"] = verification
    for key in POLICY_INT_FIELDS + POLICY_FLOAT_FIELDS:
        raw = form.get(key, "").strip().replace(",", ".")
        if not raw:
            continue
        try:
            policy[key] = int(raw) if key in POLICY_INT_FIELDS else float(raw)
        except ValueError:
            raise FieldError(f"policy.{key}", f"policy: {key}: {raw!r} não é um número") from None
    for key in POLICY_BOOL_FIELDS:
        raw = form.get(key, "").strip()
        if raw in ("sim", "nao"):
            policy[key] = raw == "sim"
    retry = form.get("retry", "").strip()
    if retry:
        try:
            policy["retry"] = json.loads(retry)
        except json.JSONDecodeError as exc:
            raise FieldError("policy.retry", f"policy: retry: JSON inválido ({exc.msg})") from None
    return policy


@router.post("/campanhas")
async def campaign_create(request: Request, viewer: Viewer = Depends(page_viewer)) -> Response:
    require(viewer, "supervisor")
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        policy = policy_from_form(form)
        with _sessions(request).begin() as s:
            create_campaign(
                s,
                form.get("name", ""),
                form.get("creditor", ""),
                form.get("cnpj"),
                form.get("records_calls") == "on",
                policy,
                viewer.actor,
            )
    except FieldError as exc:
        return _campaign_page(request, viewer, 422, str(exc), exc.field, form)
    return RedirectResponse("/campanhas", status_code=303)


@router.post("/campanhas/{campaign_id}/acao/{action}")
def campaign_action(request: Request, campaign_id: int, action: str, viewer: Viewer = Depends(page_viewer)) -> Response:
    require(viewer, "supervisor")
    with _sessions(request).begin() as s:
        camp = s.get(Campaign, campaign_id)
        if camp is None:
            raise NotFoundError(f"campanha {campaign_id} não existe")
        change_status(s, camp, action, viewer.actor, utcnow())
    return RedirectResponse("/campanhas", status_code=303)


# -- import -----------------------------------------------------------------------------------------------


@router.get("/importar")
def import_page(request: Request, viewer: Viewer = Depends(page_viewer)) -> Response:
    with _sessions(request)() as s:
        names = list(s.scalars(select(Campaign.name).order_by(Campaign.name)))
    return render(request, "importar.html", campaigns=names, job=None)


@router.post("/importar")
async def import_upload(
    request: Request, campaign: str = Form(...), file: UploadFile = File(...), viewer: Viewer = Depends(page_viewer)
) -> Response:
    require(viewer, "supervisor")
    with _sessions(request)() as s:
        if s.scalar(select(Campaign.id).where(Campaign.name == campaign)) is None:
            raise NotFoundError(f"campanha {campaign!r} não existe")
    chunks = await read_upload(file, request.app.state.settings.web.max_upload_mb)
    imports = request.app.state.imports
    job = imports.save(campaign, file.filename or "arquivo.csv", chunks, viewer.actor)
    imports.start(job)
    return RedirectResponse(f"/importar/{job.id}", status_code=303)


def _job(request: Request, job_id: str) -> Any:
    job = request.app.state.imports.jobs.get(job_id)
    if job is None:
        raise NotFoundError(f"importação {job_id} não encontrada (o console foi reiniciado?)")
    return job


@router.get("/importar/{job_id}")
def import_job(request: Request, job_id: str, viewer: Viewer = Depends(page_viewer)) -> Response:
    return render(request, "importar.html", campaigns=[], job=_job(request, job_id))


@router.get("/importar/{job_id}/estado")
def import_state(request: Request, job_id: str, viewer: Viewer = Depends(page_viewer)) -> Response:
    return render(request, "_import_state.html", job=_job(request, job_id))


@router.get("/importar/{job_id}/recusados")
def import_rejects(request: Request, job_id: str, viewer: Viewer = Depends(page_viewer)) -> Response:
    require(viewer, "supervisor")
    job = _job(request, job_id)
    if job.report is None or job.report.rejects_path is None:
        raise NotFoundError("esta importação não recusou nenhuma linha")
    with _sessions(request).begin() as s:
        audit(s, viewer.actor, "import.rejects_download", f"campaign:{job.campaign}", job.filename)
    return FileResponse(
        job.report.rejects_path,
        media_type="text/csv; charset=utf-8",
        filename=job.filename.removesuffix(".csv") + ".recusados.csv",
    )


# -- live wall --------------------------------------------------------------------------------------------


@router.get("/ao-vivo")
def live(request: Request, viewer: Viewer = Depends(page_viewer)) -> Response:
    return render(request, "ao_vivo.html")


def _service_reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def _snapshot(sessions: sessionmaker[Session]) -> dict[str, Any]:
    with sessions() as s:
        return queries.live_snapshot(s, utcnow())


def _number_param(request: Request, name: str, default: float) -> float:
    """The finite number ``?name=`` (``default`` when absent); FieldError (a 400 page) for anything else."""
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise FieldError(name, f"{name}: {raw!r} não é um número") from None
    if not math.isfinite(value) or value < 0:
        raise FieldError(name, f"{name}: {raw!r} não é um número válido")
    return value


@router.get("/ao-vivo/eventos")
async def live_events(request: Request, viewer: Viewer = Depends(page_viewer)) -> Response:
    """Server-Sent Events: one ``snapshot`` event per second (WHATWG HTML, "Server-sent events")."""
    settings = request.app.state.settings
    sessions = _sessions(request)
    interval = min(60.0, _number_param(request, "intervalo", 1.0))

    async def stream() -> Any:
        tick = 0
        service = True
        yield "retry: 2000\n\n"
        while not await request.is_disconnected():
            if tick % 5 == 0:
                service = await asyncio.to_thread(
                    _service_reachable, settings.service.agi_host, settings.service.agi_port
                )
            snap = await asyncio.to_thread(_snapshot, sessions)
            snap["service"] = "ok" if service else "inacessível"
            yield f"event: snapshot\ndata: {json.dumps(snap, ensure_ascii=False)}\n\n"
            tick += 1
            await asyncio.sleep(max(0.2, interval))

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


# -- results ----------------------------------------------------------------------------------------------


def _filter(request: Request, s: Session) -> tuple[queries.ResultsFilter | None, list[tuple[int, str]]]:
    camps = [(c.id, c.name) for c in s.execute(select(Campaign.id, Campaign.name).order_by(Campaign.name))]
    if not camps:
        return None, camps
    q = request.query_params
    now_day = queries.today(utcnow())
    try:
        cid = int(q.get("campanha") or camps[0][0])
        since = dt.date.fromisoformat(q["de"]) if q.get("de") else now_day - dt.timedelta(days=6)
        until = dt.date.fromisoformat(q["ate"]) if q.get("ate") else now_day
    except ValueError:
        raise FieldError("de", "datas no formato AAAA-MM-DD") from None
    if until < since:
        raise FieldError("ate", "a data final é anterior à inicial")
    if (until - since).days > 92:
        raise FieldError("de", "escolha no máximo 93 dias")
    uf = (q.get("uf") or "").strip().upper() or None
    return queries.ResultsFilter(cid, since, until, uf), camps


@router.get("/resultados")
def results_page(request: Request, viewer: Viewer = Depends(page_viewer)) -> Response:
    after = int(_number_param(request, "promessas_apos", 0))
    with _sessions(request)() as s:
        flt, camps = _filter(request, s)
        if flt is None:
            return render(request, "resultados.html", camps=camps, flt=None)
        res = queries.results(s, flt)
        promises = queries.promise_rows(s, flt, after, request.app.state.settings.web.page_size)
        names = {}
        if promises:
            names = {
                d.id: d.name for d in s.scalars(select(Debtor).where(Debtor.id.in_([p.debtor_id for p in promises])))
            }
    outcomes = sorted(res.totals)
    chart = {
        "days": list(res.by_day),
        "hours": [f"{h:02d}h" for h in res.by_hour],
        "series": [
            {
                "label": queries.OUTCOME_LABELS.get(o, o),
                "key": o,
                "day": [res.by_day[d].get(o, 0) for d in res.by_day],
                "hour": [res.by_hour[h].get(o, 0) for h in res.by_hour],
            }
            for o in outcomes
        ],
    }
    show = (lambda n: n) if viewer.can("supervisor") else queries.mask_name
    return render(
        request,
        "resultados.html",
        camps=camps,
        flt=flt,
        res=res,
        promises=promises,
        names={k: show(v) for k, v in names.items()},
        chart=chart,
        outcomes=outcomes,
        query=str(request.url.query),
        page_size=request.app.state.settings.web.page_size,
    )


def _export(request: Request, viewer: Viewer, kind: str) -> Response:
    from ivr.web.export import results_csv, results_xlsx

    with _sessions(request).begin() as s:
        flt, _ = _filter(request, s)
        if flt is None:
            raise NotFoundError("nenhuma campanha")
        res = queries.results(s, flt)
        promises = queries.promise_rows(s, flt, 0, 100_000)
        audit(
            s,
            viewer.actor,
            f"results.export_{kind}",
            f"campaigns:{flt.campaign_id}",
            f"{flt.since}..{flt.until} {flt.state or ''}",
        )
    name = f"resultados-{flt.campaign_id}-{flt.since}-{flt.until}"
    if kind == "csv":
        return Response(
            results_csv(res, promises),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        results_xlsx(res, promises),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@router.get("/resultados.csv")
def results_csv_route(request: Request, viewer: Viewer = Depends(page_viewer)) -> Response:
    return _export(request, viewer, "csv")


@router.get("/resultados.xlsx")
def results_xlsx_route(request: Request, viewer: Viewer = Depends(page_viewer)) -> Response:
    return _export(request, viewer, "xlsx")


# -- debtors ----------------------------------------------------------------------------------------------


@router.get("/devedores")
def debtors(request: Request, q: str = "", antes: int | None = None, viewer: Viewer = Depends(page_viewer)) -> Response:
    settings = request.app.state.settings
    try:
        key = settings.hmac_key(create=False)
    except IvrError:
        key = None
    with _sessions(request)() as s:
        rows = queries.find_debtors(s, q, key, antes, settings.web.page_size)
    show = (lambda n: n) if viewer.can("supervisor") else queries.mask_name
    return render(request, "devedores.html", rows=rows, q=q, show=show, page_size=settings.web.page_size)


@router.get("/devedores/{debtor_id}")
def debtor(
    request: Request, debtor_id: int, tentativas_antes: int | None = None, viewer: Viewer = Depends(page_viewer)
) -> Response:
    from ivr.campaign.status import explain_debtor

    settings = request.app.state.settings
    with _sessions(request)() as s:
        view = queries.debtor_view(s, debtor_id, tentativas_antes, settings.web.page_size)
    if view is None:
        raise NotFoundError(f"devedor {debtor_id} não existe")
    from ivr.db.models import Recording

    with _sessions(request)() as s:
        recorded = set(
            s.scalars(
                select(Recording.attempt_id).where(
                    Recording.attempt_id.in_([a.id for a in view.attempts]), Recording.status != "missing"
                )
            )
        )
    callability = []
    for name in view.campaigns:
        try:
            callability.append((name, explain_debtor(settings, name, str(debtor_id), utcnow())))
        except IvrError as exc:
            callability.append((name, {"callable": False, "reason": str(exc), "next_try": None, "numbers": []}))
    show = (lambda n: n) if viewer.can("supervisor") else queries.mask_name
    return render(
        request,
        "devedor.html",
        v=view,
        show=show,
        mask_phone=mask_phone,
        callability=callability,
        phone_map={p.id: p.e164 for p in view.phones},
        recorded=recorded,
        page_size=settings.web.page_size,
        nav="devedores",
    )


@router.post("/devedores/{debtor_id}/revelar")
def debtor_reveal(request: Request, debtor_id: int, viewer: Viewer = Depends(page_viewer)) -> Response:
    """Full name and phone numbers of one debtor, for this view only; the reveal is audited (LGPD)."""
    require(viewer, "supervisor")
    with _sessions(request).begin() as s:
        d = s.get(Debtor, debtor_id)
        if d is None:
            raise NotFoundError(f"devedor {debtor_id} não existe")
        phones = [p.e164 for p in s.scalars(select(Phone).where(Phone.debtor_id == debtor_id).order_by(Phone.id))]
        audit(s, viewer.actor, "debtor.reveal", f"debtors:{debtor_id}", "name and phones shown")
        name, cpf = d.name, d.cpf_masked
    return render(request, "_reveal.html", name=name, cpf=cpf, phones=phones)


@router.post("/telefones/{phone_id}/reativar")
def phone_restore(request: Request, phone_id: int, viewer: Viewer = Depends(page_viewer)) -> Response:
    require(viewer, "supervisor")
    with _sessions(request).begin() as s:
        phone = restore_phone(s, phone_id, viewer.actor)
        debtor_id = phone.debtor_id
    return RedirectResponse(f"/devedores/{debtor_id}", status_code=303)


# -- reviews ----------------------------------------------------------------------------------------------


@router.get("/revisoes")
def reviews(request: Request, tipo: str = "", apos: int = 0, viewer: Viewer = Depends(page_viewer)) -> Response:
    size = request.app.state.settings.web.page_size
    with _sessions(request)() as s:
        rows = queries.open_reviews(s, tipo or None, apos, size)
        transfers = queries.transferred_without_disposition(s, 20)
    show = (lambda n: n) if viewer.can("supervisor") else queries.mask_name
    from ivr.db.dispositions import DISPOSITION_OUTCOMES
    from ivr.db.reviews import ACTIONS

    return render(
        request,
        "revisoes.html",
        rows=rows,
        tipo=tipo,
        show=show,
        transfers=transfers,
        kinds=queries.REVIEW_LABELS,
        page_size=size,
        dispositions=DISPOSITION_OUTCOMES,
        actions=ACTIONS,
    )


@router.post("/revisoes/{review_id}/resolver")
def review_resolve(
    request: Request,
    review_id: int,
    note: str = Form(""),
    action: str = Form(""),
    viewer: Viewer = Depends(page_viewer),
) -> Response:
    require(viewer, "supervisor")
    with _sessions(request).begin() as s:
        resolve_review(s, review_id, note, action or None, viewer.actor, utcnow())
    if request.headers.get("hx-request"):
        return HTMLResponse(
            f'<tr id="review-{review_id}" class="done"><td colspan="6">Revisão {review_id} resolvida.</td></tr>'
        )
    return RedirectResponse("/revisoes", status_code=303)


@router.post("/disposicoes/{attempt_id}")
def disposition(
    request: Request,
    attempt_id: int,
    outcome: str = Form(...),
    promise_date: str = Form(""),
    amount: str = Form(""),
    note: str = Form(""),
    viewer: Viewer = Depends(page_viewer),
) -> Response:
    """The agent's result of a transferred call (supersedes the bot's outcome)."""
    from decimal import Decimal, InvalidOperation

    require(viewer, "supervisor")
    try:
        day = dt.date.fromisoformat(promise_date) if promise_date.strip() else None
    except ValueError:
        raise FieldError("promise_date", "data da promessa no formato AAAA-MM-DD") from None
    try:
        value = Decimal(amount.replace(".", "").replace(",", ".")) if amount.strip() else None
    except InvalidOperation:
        raise FieldError("amount", f"valor {amount!r} inválido (ex.: 150,00)") from None
    if value is not None and (not value.is_finite() or value < 0):
        raise FieldError("amount", f"valor {amount!r} inválido (ex.: 150,00)")
    with _sessions(request).begin() as s:
        record_disposition(s, attempt_id, outcome, viewer.actor, promise_date=day, amount=value, note=note)
    if request.headers.get("hx-request"):
        return HTMLResponse(
            f'<tr id="transfer-{attempt_id}" class="done"><td colspan="5">Disposição da tentativa '
            f"{attempt_id} registrada.</td></tr>"
        )
    return RedirectResponse("/revisoes", status_code=303)


@router.get("/gravacoes/{attempt_id}")
def recording(request: Request, attempt_id: int, viewer: Viewer = Depends(page_viewer)) -> Response:
    """The call's recording, streamed to the player (HTTP Range: the player seeks); supervisors only, audited."""
    from pathlib import Path

    from ivr.db.models import Recording

    require(viewer, "supervisor")
    with _sessions(request).begin() as s:
        rec = s.scalar(select(Recording).where(Recording.attempt_id == attempt_id))
        if rec is None or rec.status == "missing":
            raise NotFoundError(f"a tentativa {attempt_id} não tem gravação")
        path = Path(rec.path)
        if not path.is_file():
            raise NotFoundError(f"a gravação da tentativa {attempt_id} não está mais no disco (retenção)")
        if path.is_symlink():  # as ivr.db.recordings.open_regular: a link in the spool must not serve another file
            raise NotFoundError(f"a gravação da tentativa {attempt_id} não é um arquivo de gravação")
        first = request.headers.get("range", "bytes=0-").startswith("bytes=0-")
        if first:  # one entry per listening, not one per chunk the player asks for
            audit(s, viewer.actor, "recording.play", f"attempts:{attempt_id}")
        media = {"wav": "audio/wav", "wav49": "audio/wav", "opus": "audio/ogg"}.get(rec.format, "audio/wav")
    return FileResponse(path, media_type=media, headers={"Cache-Control": "no-store"})


# -- admin ------------------------------------------------------------------------------------------------


@router.get("/usuarios")
def users(request: Request, viewer: Viewer = Depends(page_viewer), error: str = "") -> Response:
    require(viewer, "admin")
    with _sessions(request)() as s:
        rows = list(s.scalars(select(WebUser).order_by(WebUser.name)))
    return render(request, "usuarios.html", rows=rows, roles=WEB_ROLES, error=error)


@router.post("/usuarios")
def user_create(
    request: Request,
    name: str = Form(...),
    role: str = Form(...),
    password: str = Form(...),
    viewer: Viewer = Depends(page_viewer),
) -> Response:
    require(viewer, "admin")
    try:
        with _sessions(request).begin() as s:
            add_user(s, name.strip().lower(), role, password, viewer.actor)
    except IvrError as exc:
        return users(request, viewer, str(exc))
    return RedirectResponse("/usuarios", status_code=303)


@router.post("/usuarios/{name}/desativar")
def user_disable(request: Request, name: str, viewer: Viewer = Depends(page_viewer)) -> Response:
    require(viewer, "admin")
    with _sessions(request).begin() as s:
        disable_user(s, name, viewer.actor)
    return RedirectResponse("/usuarios", status_code=303)


@router.get("/auditoria")
def audit_log(request: Request, antes: int | None = None, viewer: Viewer = Depends(page_viewer)) -> Response:
    require(viewer, "admin")
    size = request.app.state.settings.web.page_size
    with _sessions(request)() as s:
        rows = queries.audit_page(s, antes, size)
    return render(request, "auditoria.html", rows=rows, page_size=size)
