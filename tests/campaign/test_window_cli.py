"""``ivr window``: the JSON contract outside checks rely on, the readable line, one-line errors."""

from __future__ import annotations

import json

import pytest

from ivr.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(["window", *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("phone", "extra", "expected"),
    [
        (
            "(11) 98765-4321",
            ["--at", "2026-11-19T19:10:00-03:00"],
            {
                "callable": False,
                "timezone": "America/Sao_Paulo",
                "local_time": "2026-11-19T19:10:00-03:00",
                "reason": "outside_hours: 19:10 local is after 18:00",
                "next_open": "2026-11-23T09:00:00-03:00",
            },
        ),
        (
            "+55 68 99912-3456",
            ["--at", "2026-03-09T14:30:00Z"],
            {
                "callable": True,
                "timezone": "America/Rio_Branco",
                "local_time": "2026-03-09T09:30:00-05:00",
                "reason": "within_window: 09:30 local is within 09:00-18:00 (profile default)",
                "next_open": "2026-03-09T09:30:00-05:00",
            },
        ),
        # Naive --at is Brasília time; Saturday is open under the SP profile only.
        (
            "11987654321",
            ["--at", "2026-03-14T10:00", "--profile", "SP"],
            {
                "callable": True,
                "timezone": "America/Sao_Paulo",
                "local_time": "2026-03-14T10:00:00-03:00",
                "reason": "within_window: 10:00 local is within 08:00-14:00 (profile SP)",
                "next_open": "2026-03-14T10:00:00-03:00",
            },
        ),
        (
            "81 99123-4567",
            ["--at", "2026-03-09T11:30:00Z", "--noronha"],
            {
                "callable": True,
                "timezone": "America/Noronha",
                "local_time": "2026-03-09T09:30:00-02:00",
                "reason": "within_window: 09:30 local is within 09:00-18:00 (profile default)",
                "next_open": "2026-03-09T09:30:00-02:00",
            },
        ),
    ],
)
def test_window_json_contract(
    capsys: pytest.CaptureFixture[str], phone: str, extra: list[str], expected: dict[str, object]
) -> None:
    code, out, err = run(capsys, phone, *extra, "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == expected
    assert list(json.loads(out)) == ["callable", "timezone", "local_time", "reason", "next_open"]


def test_window_readable_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "11987654321", "--at", "2026-11-20T10:00:00-03:00")
    assert code == 0
    assert out.startswith("not callable at Fri 2026-11-20 10:00 (America/Sao_Paulo): holiday: 2026-11-20")
    assert out.rstrip().endswith("next open Mon 2026-11-23 09:00 -0300")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["(20) 9999-9999"], "não é um DDD brasileiro"),
        (["11987654321", "--at", "yesterday"], "not ISO 8601"),
        (["11987654321", "--profile", "XX"], "unknown calling profile"),
        (["11987654321", "--state", "ZZ"], "unknown state"),
        (["11987654321", "--noronha"], "DDD 81"),
        # Years a datetime can hold but no calendar arithmetic can: one line, not an OverflowError.
        (["11987654321", "--at", "9999-12-31T23:59:59"], "--at '9999-12-31T23:59:59': the year must be"),
        (["11987654321", "--at", "0001-01-01T00:00:00+14:00"], "the year must be"),
    ],
)
def test_window_errors_are_one_line(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
