"""The HTTP API for the creditor's systems: JSON under /api/, one bearer token per integration.

Errors are ``{"error": "<one line>", "field": "<name>" | null}`` with 400/401/403/404/422.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Request, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.models import Campaign, Creditor, Review, utcnow

from ivr.web import queries
from ivr.web.operations import change_status, create_campaign, find_campaign_by, resolve_review
from ivr.web.security import api_client

router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(api_client)])


def _sessions(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=120, examples=["nov-2026"])
    creditor: str = Field(min_length=1, max_length=200, examples=["Banco Exemplo"])
    cnpj: str | None = Field(default=None, examples=["12345678000190"])
    records_calls: bool = False
    policy: dict[str, Any] = Field(default_factory=dict,
                                   description="Rule overrides, as `ivr campaign create --policy` (checked alike).")


class CampaignOut(BaseModel):
    id: int
    name: str
    creditor: str
    status: str
    records_calls: bool
    policy: dict[str, Any]


class ImportOut(BaseModel):
    campaign: str
    file: str
    taken: int
    refused: int
    debts_new: int
    debts_updated: int
    debts_unchanged: int
    debtors_new: int
    rejects: list[dict[str, Any]] = Field(description="The first refused rows: line, field, reason.")


class ResultsOut(BaseModel):
    campaign: str
    since: dt.date
    until: dt.date
    placed: int
    answered: int
    right_party: int
    promises: int
    promised_amount: str
    rates: dict[str, float]
    outcomes: dict[str, int]
    by_day: dict[str, dict[str, int]]
    by_hour: dict[str, dict[str, int]]
    by_state: dict[str, dict[str, int]]


class ReviewOut(BaseModel):
    id: int
    debtor_id: int
    attempt_id: int | None
    kind: str
    note: str | None
    created_at: dt.datetime
    resolved_at: dt.datetime | None


class ResolveIn(BaseModel):
    note: str = Field(default="", max_length=2000)


def _campaign_out(camp: Campaign, creditor: str) -> CampaignOut:
    return CampaignOut(id=camp.id, name=camp.name, creditor=creditor, status=camp.status,
                       records_calls=camp.records_calls, policy=camp.policy or {})


@router.get("/campaigns", response_model=list[CampaignOut], summary="List campaigns")
def list_campaigns(request: Request) -> list[CampaignOut]:
    with _sessions(request)() as s:
        return [_campaign_out(c, n) for c, n in s.execute(
            select(Campaign, Creditor.name).join(Creditor, Creditor.id == Campaign.creditor_id).order_by(Campaign.id))]


@router.post("/campaigns", response_model=CampaignOut, status_code=201, summary="Create a campaign")
def post_campaign(request: Request, body: CampaignIn, client: str = Depends(api_client)) -> CampaignOut:
    with _sessions(request).begin() as s:
        camp = create_campaign(s, body.name, body.creditor, body.cnpj, body.records_calls, body.policy, client)
        return _campaign_out(camp, body.creditor.strip())


@router.post("/campaigns/{name}/debts", response_model=ImportOut, summary="Upload debts (CSV, as `ivr import`)")
async def post_debts(request: Request, name: str, file: UploadFile = File(...),
                     client: str = Depends(api_client)) -> ImportOut:
    import asyncio

    with _sessions(request)() as s:
        find_campaign_by(s, name)
    chunks = []
    while chunk := await file.read(1 << 20):
        chunks.append(chunk)
    imports = request.app.state.imports
    job = imports.save(name, file.filename or "debts.csv", chunks, client)
    await asyncio.to_thread(imports.run, job)
    if job.error:
        from ivr.errors import InputError

        raise InputError(job.error)
    summary = job.summary()
    return ImportOut(**{k: summary[k] for k in ImportOut.model_fields if k != "file"}, file=job.filename)


@router.post("/campaigns/{name}/{action}", response_model=CampaignOut, summary="Start, pause, resume or stop")
def post_action(request: Request, name: str, action: Literal["start", "pause", "resume", "stop"],
                client: str = Depends(api_client)) -> CampaignOut:
    with _sessions(request).begin() as s:
        camp = find_campaign_by(s, name)
        change_status(s, camp, action, client, utcnow())
        return _campaign_out(camp, camp.creditor.name)


@router.get("/campaigns/{name}/results", response_model=ResultsOut, summary="Results of a campaign")
def get_results(request: Request, name: str, since: dt.date | None = None, until: dt.date | None = None,
                state: str | None = None) -> ResultsOut:
    today = queries.today(utcnow())
    until = until or today
    since = since or until - dt.timedelta(days=6)
    with _sessions(request)() as s:
        camp = find_campaign_by(s, name)
        res = queries.results(s, queries.ResultsFilter(camp.id, since, until, state.upper() if state else None))
    return ResultsOut(campaign=name, since=since, until=until, placed=res.placed, answered=res.answered,
                      right_party=res.right_party, promises=res.promises,
                      promised_amount=f"{res.promised_amount:.2f}", rates=res.rates, outcomes=res.totals,
                      by_day=res.by_day, by_hour={f"{h:02d}": v for h, v in res.by_hour.items()},
                      by_state=res.by_state)


def _review_out(r: Review) -> ReviewOut:
    return ReviewOut(id=r.id, debtor_id=r.debtor_id, attempt_id=r.attempt_id, kind=r.kind, note=r.note,
                     created_at=r.created_at, resolved_at=r.resolved_at)


@router.get("/reviews", response_model=list[ReviewOut], summary="Open reviews (a page, by id)")
def get_reviews(request: Request, kind: str | None = None, after_id: int = 0, limit: int = 100) -> list[ReviewOut]:
    with _sessions(request)() as s:
        return [_review_out(r) for r, _ in queries.open_reviews(s, kind, after_id, max(1, min(limit, 500)))]


@router.post("/reviews/{review_id}/resolve", response_model=ReviewOut, summary="Resolve a review")
def post_resolve(request: Request, review_id: int, body: ResolveIn, client: str = Depends(api_client)) -> ReviewOut:
    with _sessions(request).begin() as s:
        review = resolve_review(s, review_id, body.note, client, utcnow())
        return _review_out(review)


