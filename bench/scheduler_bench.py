"""How long choosing the next batch takes with 1,000,000 debtors in the database (SQLite and PostgreSQL).

    .venv/bin/python bench/scheduler_bench.py [--debtors 1000000] [--batch 30] [--batches 20] [--only sqlite|postgresql]

Loads N people (one phone, one debt each, amounts and due dates spread), queues them (``refresh_queue``),
then times ``claim_batch`` at a Monday afternoon instant: each batch leases ``--batch`` people in one
transaction (pacing row lock, SKIP LOCKED scan by priority, the pure rules on the candidates).
PostgreSQL is a throw-away server started like the test suite's (ivr/testing/postgres.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from ivr.campaign.rules import Policy
from ivr.campaign.scheduler import Pacing, claim_batch, refresh_queue
from ivr.db.models import Campaign, Creditor, Debt, Debtor, Phone
from ivr.db.session import dispose_engines, open_database

BRT = dt.timezone(dt.timedelta(hours=-3))
AT = dt.datetime(2026, 3, 9, 14, 0, tzinfo=BRT)
DDDS = [11, 21, 31, 41, 51, 61, 71, 81, 91, 68, 92, 97]
ZONES = {68: "America/Rio_Branco", 92: "America/Manaus", 97: "America/Manaus,America/Eirunepe"}
STATE = {
    11: "SP",
    21: "RJ",
    31: "MG",
    41: "PR",
    51: "RS",
    61: "DF",
    71: "BA",
    81: "PE",
    91: "PA",
    68: "AC",
    92: "AM",
    97: "AM",
}


def load(url: str, n: int, chunk: int = 50_000) -> tuple[int, float, float]:
    sessions = open_database(url)
    rnd = random.Random(7)
    t0 = time.perf_counter()
    with sessions.begin() as s:
        cred = Creditor(name="Bench")
        camp = Campaign(name="bench", creditor=cred, status="running", policy={})
        s.add(camp)
        s.flush()
        camp_id = camp.id
    for start in range(0, n, chunk):
        ids = range(start + 1, min(n, start + chunk) + 1)
        with sessions.begin() as s:
            s.execute(
                insert(Debtor),
                [
                    {
                        "id": i,
                        "name": f"P{i}",
                        "cpf_hmac": f"{i:064d}",
                        "cpf_masked": "***",
                        "cpf_prefix": "000",
                        "noronha": False,
                        "created_at": AT,
                        "updated_at": AT,
                    }
                    for i in ids
                ],
            )
            phones = []
            for i in ids:
                ddd = DDDS[i % len(DDDS)]
                phones.append(
                    {
                        "id": i,
                        "debtor_id": i,
                        "e164": f"+55{ddd}9{i:08d}",
                        "ddd": ddd,
                        "state": STATE[ddd],
                        "timezones": ZONES.get(ddd, "America/Sao_Paulo"),
                        "status": "ok",
                        "created_at": AT,
                    }
                )
            s.execute(insert(Phone), phones)
            s.execute(
                insert(Debt),
                [
                    {
                        "id": i,
                        "campaign_id": camp_id,
                        "debtor_id": i,
                        "contract_id": f"K{i}",
                        "principal": Decimal(rnd.randint(5000, 900000)) / 100,
                        "total": Decimal(rnd.randint(5000, 900000)) / 100,
                        "interest": Decimal(0),
                        "fines": Decimal(0),
                        "fees": Decimal(0),
                        "due_date": dt.date(2026, 3, 1) - dt.timedelta(days=rnd.randint(0, 720)),
                        "created_at": AT,
                        "updated_at": AT,
                    }
                    for i in ids
                ],
            )
    loaded = time.perf_counter() - t0
    t0 = time.perf_counter()
    with sessions.begin() as s:
        refresh_queue(s, camp_id, AT, Policy())
    queued = time.perf_counter() - t0
    return camp_id, loaded, queued


def bench(name: str, url: str, n: int, batch: int, batches: int) -> None:
    camp_id, loaded, queued = load(url, n)
    sessions = open_database(url)
    pacing = Pacing("bench", 10**9, 0)
    times, leased = [], 0
    for k in range(batches):
        t0 = time.perf_counter()
        got = claim_batch(sessions, camp_id, AT + dt.timedelta(seconds=k), f"bench-{k % 2}", pacing, max_batch=batch)
        times.append(time.perf_counter() - t0)
        leased += len(got)
    times.sort()
    print(
        f"{name}: {n:,} debtors loaded in {loaded:.1f} s, queued in {queued:.1f} s; "
        f"claim_batch of {batch}: median {statistics.median(times) * 1000:.1f} ms, "
        f"p90 {times[int(len(times) * 0.9) - 1] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms "
        f"over {batches} batches ({leased} leased)",
        flush=True,
    )
    dispose_engines()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--debtors", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=30)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    args = ap.parse_args()
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            bench("sqlite", f"sqlite:///{tmp}/bench.db", args.debtors, args.batch, args.batches)
    if args.only in (None, "postgresql"):
        from ivr.testing.postgres import PostgresServer

        server = PostgresServer()
        server.start()
        try:
            bench("postgresql", server.new_database(), args.debtors, args.batch, args.batches)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
