"""Results as files operators open in a spreadsheet: CSV (``;``, UTF-8 with BOM, as Brazilian Excel expects)
and XLSX (openpyxl, one sheet per table)."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook

from ivr.web.queries import OUTCOME_LABELS, PromiseRow, Results


def _text(value: str) -> str:
    """Text from the creditor's files as a spreadsheet cell that is never a formula: a leading ``= + - @``, tab
    or CR gets a ``'`` (OWASP "CSV Injection"; openpyxl would otherwise store ``=...`` as a formula)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _tables(res: Results, promises: list[PromiseRow]) -> dict[str, list[list[object]]]:
    outcomes = sorted(res.totals)
    tables: dict[str, list[list[object]]] = {}
    tables["Resumo"] = [
        ["indicador", "valor"],
        ["chamadas", res.placed],
        ["atendidas", res.answered],
        ["contatos com o devedor", res.right_party],
        ["promessas", res.promises],
        ["valor prometido", float(res.promised_amount)],
        *[[f"taxa {k} (%)", v] for k, v in res.rates.items()],
    ]
    tables["Por dia"] = [list[object](["dia", *[OUTCOME_LABELS.get(o, o) for o in outcomes]])] + [
        [day, *[counts.get(o, 0) for o in outcomes]] for day, counts in res.by_day.items()
    ]
    tables["Por hora"] = [list[object](["hora", *[OUTCOME_LABELS.get(o, o) for o in outcomes]])] + [
        [f"{hour:02d}h", *[counts.get(o, 0) for o in outcomes]] for hour, counts in res.by_hour.items()
    ]
    tables["Por UF"] = [list[object](["UF", *[OUTCOME_LABELS.get(o, o) for o in outcomes]])] + [
        [uf, *[counts.get(o, 0) for o in outcomes]] for uf, counts in res.by_state.items()
    ]
    tables["Promessas"] = [
        list[object](["devedor (id)", "contrato", "data", "valor", "parcelas", "confirmada", "situação"])
    ] + [
        [
            p.debtor_id,
            _text(p.contract or ""),
            p.promised_date.isoformat(),
            float(p.amount),
            p.installments,
            "sim" if p.confirmed else "não",
            p.status,
        ]
        for p in promises
    ]
    return tables


def results_csv(res: Results, promises: list[PromiseRow]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";")
    for title, rows in _tables(res, promises).items():
        w.writerow([title])
        for row in rows:
            w.writerow([str(v).replace(".", ",") if isinstance(v, float) else v for v in row])
        w.writerow([])
    return buf.getvalue().encode("utf-8-sig")


def results_xlsx(res: Results, promises: list[PromiseRow]) -> bytes:
    wb = Workbook()
    first = True
    for title, rows in _tables(res, promises).items():
        ws = wb.active if first else wb.create_sheet()
        assert ws is not None
        ws.title = title
        first = False
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
