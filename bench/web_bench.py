"""Console page timings on PostgreSQL with many rows (default 1,000,000 debtors and 5,000,000 attempts).

    .venv/bin/python bench/web_bench.py [--debtors 1000000] [--attempts 5000000] [--repeat 5]

Starts a throw-away PostgreSQL like the test suite's (ivr/testing/postgres.py), creates the schema through the migrations,
fills it in SQL with ``generate_series`` (no Python loop: a million rows take seconds, not minutes): 4 campaigns,
debtors with one phone and one debt each, attempts spread over the last 30 days with the outcome mix of a real
campaign, two transcript turns for every tenth attempt, promises for the promise outcomes, open reviews and audit
entries. Then it times each page through the framework's test client (server time: query + template), the
live wall's one-second snapshot, and an API read. Figures in milliseconds: the first request (for results it
rolls the past hours up, once) and the median and worst of ``--repeat`` more.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from ivr.db.models import OUTCOMES
from ivr.db.session import dispose_engines, get_engine, open_database

STATES = ["SP", "RJ", "MG", "PR", "RS", "DF", "BA", "PE", "PA", "AC", "AM", "CE"]
DDDS = [11, 21, 31, 41, 51, 61, 71, 81, 91, 68, 92, 85]
# Outcome weights close to a collections campaign: mostly no answer, busy and voicemail.
MIX = (
    ["no_answer"] * 8
    + ["busy"] * 3
    + ["voicemail"] * 3
    + ["failed"]
    + ["promise_to_pay"] * 2
    + ["hung_up"] * 2
    + [
        "transferred",
        "wrong_party",
        "not_available",
        "callback_scheduled",
        "cannot_pay",
        "already_paid",
        "dispute",
        "opt_out",
        "no_response",
        "proposal",
    ]
)
assert set(MIX) <= set(OUTCOMES)


def _array(values: list[str]) -> str:
    return "ARRAY[" + ",".join(f"'{v}'" for v in values) + "]"


def fill(url: str, debtors: int, attempts: int) -> dict[str, float]:
    engine = get_engine(url)
    open_database(url)  # schema through the migrations
    timings: dict[str, float] = {}
    states, ddds, mix = _array(STATES), "ARRAY[" + ",".join(map(str, DDDS)) + "]", _array(MIX)
    steps = [
        (
            "campaigns",
            """
            INSERT INTO creditors (name, created_at) VALUES ('Banco Bench', now());
            INSERT INTO campaigns (name, creditor_id, status, records_calls, policy, created_at, updated_at)
            SELECT 'bench-' || g, 1, CASE WHEN g = 1 THEN 'running' ELSE 'paused' END, true, '{}', now(), now()
            FROM generate_series(1, 4) g""",
        ),
        (
            "debtors",
            f"""
            INSERT INTO debtors (id, name, cpf_hmac, cpf_masked, cpf_prefix, state, city, noronha, created_at, updated_at)
            SELECT g, 'Devedor ' || g || ' Silva', md5(g::text) || md5('x' || g), '***.' || lpad((g % 1000)::text, 3, '0')
                   || '.000-**', '000', ({states})[1 + g % {len(STATES)}], NULL, false, now(), now()
            FROM generate_series(1, {debtors}) g""",
        ),
        (
            "phones",
            f"""
            INSERT INTO phones (id, debtor_id, e164, ddd, state, timezones, status, created_at)
            SELECT g, g, '+55' || ({ddds})[1 + g % {len(DDDS)}] || '9' || lpad(g::text, 8, '0'),
                   ({ddds})[1 + g % {len(DDDS)}], ({states})[1 + g % {len(STATES)}], 'America/Sao_Paulo', 'ok', now()
            FROM generate_series(1, {debtors}) g""",
        ),
        (
            "debts",
            f"""
            INSERT INTO debts (id, campaign_id, debtor_id, contract_id, principal, interest, fines, fees, total,
                               due_date, created_at, updated_at)
            SELECT g, 1 + g % 4, g, 'K' || g, 100 + g % 5000, 0, 0, 0, 100 + g % 5000,
                   date '2026-10-01' + (g % 60), now(), now()
            FROM generate_series(1, {debtors}) g""",
        ),
        (
            "attempts",
            f"""
            INSERT INTO attempts (id, campaign_id, debtor_id, phone_id, debt_id, state, scheduled_at, started_at,
                                  answered_at, ended_at, outcome, right_party, duration_s, amd_status)
            SELECT g, 1 + d % 4, d, d, d, 'ended', t, t,
                   CASE WHEN o NOT IN ('no_answer', 'busy', 'failed') THEN t + interval '8 seconds' END,
                   t + interval '40 seconds', o,
                   o IN ('promise_to_pay', 'proposal', 'transferred', 'callback_scheduled', 'already_paid',
                         'cannot_pay', 'dispute', 'opt_out'),
                   CASE WHEN o NOT IN ('no_answer', 'busy', 'failed') THEN 4 + g % 90 END,
                   CASE WHEN o NOT IN ('no_answer', 'busy', 'failed') THEN 'HUMAN' END
            FROM (SELECT g, (1 + (g::bigint * 7919) % {debtors})::int AS d,
                         now() - make_interval(secs => (g::bigint * 104729) % (30 * 86400)) AS t,
                         ({mix})[1 + (g::bigint * 31) % {len(MIX)}] AS o
                  FROM generate_series(1, {attempts}) g) x""",
        ),
        (
            "turns",
            f"""
            INSERT INTO turns (attempt_id, seq, speaker, text, started_at)
            SELECT a, s, CASE WHEN s = 1 THEN 'bot' ELSE 'debtor' END,
                   CASE WHEN s = 1 THEN 'Olá, aqui é a assistente virtual do Banco Bench.' ELSE 'sim, sou eu' END, now()
            FROM generate_series(1, {attempts}, 10) a, generate_series(1, 2) s""",
        ),
        (
            "promises",
            """
            INSERT INTO promises (attempt_id, debtor_id, debt_id, promised_date, amount, installments, confirmed,
                                  created_at)
            SELECT id, debtor_id, debt_id, (scheduled_at + interval '5 days')::date, 150.50, 1, true, now()
            FROM attempts WHERE outcome = 'promise_to_pay'""",
        ),
        (
            "reviews",
            """
            INSERT INTO reviews (debtor_id, attempt_id, kind, created_at)
            SELECT debtor_id, id, outcome, now() FROM attempts WHERE outcome IN ('already_paid', 'dispute')""",
        ),
        (
            "audit",
            """
            INSERT INTO audit_log (at, actor, action, target)
            SELECT now() - make_interval(secs => g), 'user:bench', 'debtor.reveal', 'debtors:' || g
            FROM generate_series(1, 100000) g""",
        ),
        (
            "sequences",
            """
            SELECT setval('debtors_id_seq', (SELECT max(id) FROM debtors));
            SELECT setval('phones_id_seq', (SELECT max(id) FROM phones));
            SELECT setval('debts_id_seq', (SELECT max(id) FROM debts));
            SELECT setval('attempts_id_seq', (SELECT max(id) FROM attempts))""",
        ),
        (
            "live calls",
            """
            INSERT INTO attempts (campaign_id, debtor_id, phone_id, debt_id, state, scheduled_at, started_at,
                                  right_party)
            SELECT 1, g, g, g, 'dialing', now(), now(), false FROM generate_series(1, 40) g""",
        ),
        ("analyze", "ANALYZE"),
    ]
    for name, sql in steps:
        t0 = time.perf_counter()
        with engine.begin() as conn:
            for statement in sql.split(";"):
                if statement.strip():
                    conn.execute(text(statement))
        timings[name] = time.perf_counter() - t0
        print(f"  fill {name:<11} {timings[name]:7.1f} s", flush=True)
    return timings


def time_pages(url: str, tmp: Path, repeat: int, debtors: int) -> list[tuple[str, float, float, float, int]]:
    from fastapi.testclient import TestClient

    from ivr.config import load_settings
    from ivr.web.accounts import add_token, add_user
    from ivr.web.app import create_app
    from ivr.web.queries import live_snapshot

    settings = load_settings(
        env={
            "IVR_DATABASE_URL": url,
            "IVR_DATA_DIR": str(tmp / "var"),
            "IVR_PRIVACY_HMAC_KEY": "bench",
            "IVR_WEB_SECRET_KEY": "bench",
        }
    )
    sessions = open_database(url)
    with sessions.begin() as s:
        add_user(s, "bench", "admin", "bench-password", "bench")
        token = add_token(s, "bench", "bench")
    with sessions() as s:
        review_id = s.execute(text("SELECT min(id) FROM reviews")).scalar()
    middle = debtors // 2
    pages = [
        ("campanhas", "/campanhas"),
        ("resultados (7 dias)", "/resultados?campanha=1"),
        ("resultados UF=SP", "/resultados?campanha=1&uf=SP"),
        ("resultados 30 dias", "/resultados?campanha=1&de={d30}"),
        ("resultados.csv", "/resultados.csv?campanha=1"),
        ("devedores", "/devedores"),
        ("devedores página 2", f"/devedores?antes={debtors - 49}"),
        ("busca por telefone", f"/devedores?q=%2B55{DDDS[middle % len(DDDS)]}9{middle:08d}"),
        ("devedor", f"/devedores/{middle}"),
        ("revisões", "/revisoes"),
        ("revisões página 2", f"/revisoes?apos={(review_id or 0) + 49}"),
        ("auditoria", "/auditoria"),
        ("ao vivo (página)", "/ao-vivo"),
    ]
    import datetime as dt

    d30 = (dt.date.today() - dt.timedelta(days=29)).isoformat()
    out = []
    with TestClient(create_app(settings), follow_redirects=False) as client:
        import re

        login = client.get("/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
        assert (
            client.post(
                "/login", data={"username": "bench", "password": "bench-password", "csrf_token": csrf}
            ).status_code
            == 303
        )
        for name, path in pages:
            path = path.format(d30=d30)
            samples = []
            status = 0
            for _ in range(repeat + 1):  # the first run warms caches and is not counted
                t0 = time.perf_counter()
                r = client.get(path)
                samples.append((time.perf_counter() - t0) * 1000)
                status = r.status_code
            out.append((name, samples[0], statistics.median(samples[1:]), max(samples[1:]), status))
        samples = []
        for _ in range(repeat + 1):
            t0 = time.perf_counter()
            r = client.get("/api/campaigns/bench-1/results", headers={"Authorization": f"Bearer {token}"})
            samples.append((time.perf_counter() - t0) * 1000)
        out.append(
            ("API results (7 dias)", samples[0], statistics.median(samples[1:]), max(samples[1:]), r.status_code)
        )
    samples = []
    from ivr.db.models import utcnow

    for _ in range(repeat + 1):
        with sessions() as s:
            t0 = time.perf_counter()
            snap = live_snapshot(s, utcnow())
            samples.append((time.perf_counter() - t0) * 1000)
    out.append(
        (
            f"ao vivo: snapshot SSE ({snap['counters']['in_progress']} chamadas)",
            samples[0],
            statistics.median(samples[1:]),
            max(samples[1:]),
            200,
        )
    )
    return out


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--debtors", type=int, default=1_000_000)
    ap.add_argument("--attempts", type=int, default=5_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from ivr.testing.postgres import PostgresServer

    server = PostgresServer()
    server.start()
    try:
        url = server.new_database()
        print(f"PostgreSQL: {args.debtors:,} debtors, {args.attempts:,} attempts")
        t0 = time.perf_counter()
        fill(url, args.debtors, args.attempts)
        print(f"  filled in {time.perf_counter() - t0:.0f} s")
        with tempfile.TemporaryDirectory(prefix="ivr-web-bench-") as tmp:
            rows = time_pages(url, Path(tmp), args.repeat, args.debtors)
        # "first" is the first request after the fill: for results it includes rolling up the past hours once.
        print(f"{'page':<44} {'first ms':>9} {'median ms':>10} {'worst ms':>9}  status")
        for name, first, median, worst, status in rows:
            flag = "" if worst < 300 else "  > 300 ms"
            print(f"{name:<44} {first:>9.1f} {median:>10.1f} {worst:>9.1f}  {status}{flag}")
    finally:
        dispose_engines()
        server.stop()


if __name__ == "__main__":
    main()
