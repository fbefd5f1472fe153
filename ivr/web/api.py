"""The HTTP API for the creditor's systems: JSON under /api/, one bearer token per integration.

Errors are ``{"error": "<one line>", "field": "<name>" | null}`` with 400/401/403/404/422.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Request, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.models import Campaign, Creditor, Review, utcnow

from ivr.web import queries
from ivr.web.imports import read_upload
from ivr.web.operations import (
    FieldError,
    change_status,
    create_campaign,
    find_campaign_by,
    record_disposition,
    record_payment,
    resolve_review,
)
from ivr.web.security import api_client

router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(api_client)])


def _sessions(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=120, examples=["nov-2026"])
    creditor: str = Field(min_length=1, max_length=200, examples=["Banco Exemplo"])
    cnpj: str | None = Field(default=None, examples=["12345678000190"])
    records_calls: bool = False
    policy: dict[str, Any] = Field(
        default_factory=dict, description="Rule overrides, as `ivr campaign create --policy` (checked alike)."
    )


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
    """As ``ivr review list --json`` (``ivr.db.reviews.review_json``)."""

    id: int
    reason: str
    state: str
    debtor_id: int
    attempt_id: int | None
    campaign_id: int | None
    creditor_id: int | None
    holds_calls: bool
    note: str | None
    created_at: str
    resolved_at: str | None
    resolution: str | None
    resolved_by: str | None
    action: str | None


class ResolveIn(BaseModel):
    resolution: str = Field(min_length=1, max_length=2000, description="What was decided (required).")
    action: Literal["resume", "close_debt", "stop_debtor"] | None = Field(
        default=None, description="resume calls, close the debtor's debts of that creditor, or stop calling."
    )


class PaymentIn(BaseModel):
    campaign: str = Field(examples=["nov-2026"])
    contract: str = Field(description="The debt's contract id in that campaign.", examples=["A1"])
    amount: Decimal = Field(gt=0, examples=["150.50"])
    paid_on: dt.date


class PaymentOut(BaseModel):
    payment_id: int | None
    duplicate: bool = Field(description="The same payment (debt, date, amount) was already recorded.")
    debt_closed: bool
    promises_kept: int
    balance: str


class DispositionIn(BaseModel):
    attempt_id: int
    outcome: str = Field(
        description="A dialog outcome other than transferred/no_response.", examples=["promise_to_pay"]
    )
    promise_date: dt.date | None = None
    amount: Decimal | None = Field(default=None, ge=0, examples=["150.00"])
    callback_at: dt.datetime | None = None
    note: str = Field(default="", max_length=2000)
    agent: str | None = Field(default=None, max_length=80)


class DispositionOut(BaseModel):
    attempt_id: int
    outcome: str | None
    disposition: str | None
    disposition_by: str | None


def _campaign_out(camp: Campaign, creditor: str) -> CampaignOut:
    return CampaignOut(
        id=camp.id,
        name=camp.name,
        creditor=creditor,
        status=camp.status,
        records_calls=camp.records_calls,
        policy=camp.policy or {},
    )


@router.get("/campaigns", response_model=list[CampaignOut], summary="List campaigns")
def list_campaigns(request: Request) -> list[CampaignOut]:
    with _sessions(request)() as s:
        return [
            _campaign_out(c, n)
            for c, n in s.execute(
                select(Campaign, Creditor.name)
                .join(Creditor, Creditor.id == Campaign.creditor_id)
                .order_by(Campaign.id)
            )
        ]


@router.post("/campaigns", response_model=CampaignOut, status_code=201, summary="Create a campaign")
def post_campaign(request: Request, body: CampaignIn, client: str = Depends(api_client)) -> CampaignOut:
    with _sessions(request).begin() as s:
        camp = create_campaign(s, body.name, body.creditor, body.cnpj, body.records_calls, body.policy, client)
        return _campaign_out(camp, body.creditor.strip())


@router.post("/campaigns/{name}/debts", response_model=ImportOut, summary="Upload debts (CSV, as `ivr import`)")
async def post_debts(
    request: Request, name: str, file: UploadFile = File(...), client: str = Depends(api_client)
) -> ImportOut:
    import asyncio

    with _sessions(request)() as s:
        find_campaign_by(s, name)
    chunks = await read_upload(file, request.app.state.settings.web.max_upload_mb)
    imports = request.app.state.imports
    job = imports.save(name, file.filename or "debts.csv", chunks, client)
    await asyncio.to_thread(imports.run, job)
    if job.error:
        from ivr.errors import InputError

        raise InputError(job.error)
    summary = job.summary()
    return ImportOut(**{k: summary[k] for k in ImportOut.model_fields if k != "file"}, file=job.filename)


@router.post("/campaigns/{name}/{action}", response_model=CampaignOut, summary="Start, pause, resume or stop")
def post_action(
    request: Request, name: str, action: Literal["start", "pause", "resume", "stop"], client: str = Depends(api_client)
) -> CampaignOut:
    with _sessions(request).begin() as s:
        camp = find_campaign_by(s, name)
        change_status(s, camp, action, client, utcnow())
        return _campaign_out(camp, camp.creditor.name)


@router.get("/campaigns/{name}/results", response_model=ResultsOut, summary="Results of a campaign")
def get_results(
    request: Request, name: str, since: dt.date | None = None, until: dt.date | None = None, state: str | None = None
) -> ResultsOut:
    today = queries.today(utcnow())
    until = until or today
    since = since or until - dt.timedelta(days=6)
    if until < since:
        raise FieldError("until", "until is before since")
    if (until - since).days > 92:  # the pages' bound: each hour of the range is rolled up once (queries.results)
        raise FieldError("since", "ask for at most 93 days (since..until)")
    with _sessions(request)() as s:
        camp = find_campaign_by(s, name)
        res = queries.results(s, queries.ResultsFilter(camp.id, since, until, state.upper() if state else None))
    return ResultsOut(
        campaign=name,
        since=since,
        until=until,
        placed=res.placed,
        answered=res.answered,
        right_party=res.right_party,
        promises=res.promises,
        promised_amount=f"{res.promised_amount:.2f}",
        rates=res.rates,
        outcomes=res.totals,
        by_day=res.by_day,
        by_hour={f"{h:02d}": v for h, v in res.by_hour.items()},
        by_state=res.by_state,
    )


def _review_out(r: Review) -> ReviewOut:
    from ivr.db.reviews import review_json

    return ReviewOut(**review_json(r))


@router.get("/reviews", response_model=list[ReviewOut], summary="Open reviews (a page, by id)")
def get_reviews(request: Request, reason: str | None = None, after_id: int = 0, limit: int = 100) -> list[ReviewOut]:
    with _sessions(request)() as s:
        return [_review_out(r) for r, _ in queries.open_reviews(s, reason, after_id, max(1, min(limit, 500)))]


@router.post("/reviews/{review_id}/resolve", response_model=ReviewOut, summary="Resolve a review")
def post_resolve(request: Request, review_id: int, body: ResolveIn, client: str = Depends(api_client)) -> ReviewOut:
    with _sessions(request).begin() as s:
        review = resolve_review(s, review_id, body.resolution, body.action, client, utcnow())
        return _review_out(review)


@router.post("/payments", response_model=PaymentOut, status_code=201, summary="Record a payment of a debt")
def post_payment(request: Request, body: PaymentIn, client: str = Depends(api_client)) -> PaymentOut:
    """Same effect as one row of ``ivr payments import``: a debt paid in full is never called again, a payment
    by a promise's deadline keeps it. Posting the same payment twice records it once."""
    with _sessions(request).begin() as s:
        return PaymentOut(**record_payment(s, body.campaign, body.contract, body.paid_on, body.amount, client))


@router.post(
    "/dispositions",
    response_model=DispositionOut,
    status_code=201,
    summary="Record an agent's result for a transferred call",
)
def post_disposition(request: Request, body: DispositionIn, client: str = Depends(api_client)) -> DispositionOut:
    """As ``ivr disposition``: the agent's outcome supersedes the bot's for the rules and the reports."""
    with _sessions(request).begin() as s:
        attempt = record_disposition(
            s,
            body.attempt_id,
            body.outcome,
            client,
            promise_date=body.promise_date,
            amount=body.amount,
            callback_at=body.callback_at,
            note=body.note,
            agent=body.agent,
        )
        return DispositionOut(
            attempt_id=attempt.id,
            outcome=attempt.outcome,
            disposition=attempt.disposition,
            disposition_by=attempt.disposition_by,
        )
