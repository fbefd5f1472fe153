"""Calling rules with literal instants: windows per zone, profiles, holidays, caps, pauses, retries, priority."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from ivr.campaign.rules import (
    Attempt,
    Debtor,
    Policy,
    RetryPolicy,
    check,
    eligibility,
    holiday_calendar,
    load_profiles,
    parse_profiles,
    prioritize,
    priority_score,
)
from ivr.errors import ConfigError, InputError

BRT = timezone(timedelta(hours=-3))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# ------------------------------------------------------------------ windows per time zone
# 2026-03-09 is a Monday with no holiday anywhere.
WINDOW_CASES = [
    # phone, instant, callable, zone
    ("+5511987654321", "2026-03-09T08:59:00-03:00", False, "America/Sao_Paulo"),
    ("+5511987654321", "2026-03-09T09:00:00-03:00", True, "America/Sao_Paulo"),
    ("+5511987654321", "2026-03-09T17:59:00-03:00", True, "America/Sao_Paulo"),
    ("+5511987654321", "2026-03-09T18:00:00-03:00", False, "America/Sao_Paulo"),
    # 68 Acre, UTC-5: 09:00 local is 14:00Z.
    ("+5568999123456", "2026-03-09T13:59:00Z", False, "America/Rio_Branco"),
    ("+5568999123456", "2026-03-09T14:00:00Z", True, "America/Rio_Branco"),
    ("+5568999123456", "2026-03-09T22:59:00Z", True, "America/Rio_Branco"),
    ("+5568999123456", "2026-03-09T23:00:00Z", False, "America/Rio_Branco"),
    # UTC-4: 09:00 local is 13:00Z, 18:00 local is 22:00Z.
    ("+5565999123456", "2026-03-09T12:59:00Z", False, "America/Cuiaba"),
    ("+5565999123456", "2026-03-09T13:00:00Z", True, "America/Cuiaba"),
    ("+5566999123456", "2026-03-09T21:59:00Z", True, "America/Cuiaba"),
    ("+5566999123456", "2026-03-09T22:00:00Z", False, "America/Cuiaba"),
    ("+5567999123456", "2026-03-09T12:30:00Z", False, "America/Campo_Grande"),
    ("+5567999123456", "2026-03-09T13:30:00Z", True, "America/Campo_Grande"),
    ("+5569999123456", "2026-03-09T12:30:00Z", False, "America/Porto_Velho"),
    ("+5569999123456", "2026-03-09T13:30:00Z", True, "America/Porto_Velho"),
    ("+5592999123456", "2026-03-09T12:30:00Z", False, "America/Manaus"),
    ("+5592999123456", "2026-03-09T13:30:00Z", True, "America/Manaus"),
    ("+5595999123456", "2026-03-09T12:30:00Z", False, "America/Boa_Vista"),
    ("+5595999123456", "2026-03-09T21:30:00Z", True, "America/Boa_Vista"),
    # 97 split UTC-4/UTC-5: open only 14:00Z (09:00 UTC-5) to 22:00Z (18:00 UTC-4).
    ("+5597991234567", "2026-03-09T13:30:00Z", False, "America/Manaus,America/Eirunepe"),
    ("+5597991234567", "2026-03-09T14:00:00Z", True, "America/Manaus,America/Eirunepe"),
    ("+5597991234567", "2026-03-09T21:59:00Z", True, "America/Manaus,America/Eirunepe"),
    ("+5597991234567", "2026-03-09T22:00:00Z", False, "America/Manaus,America/Eirunepe"),
    # 81 is Recife time (UTC-3) unless the address is Noronha.
    ("+5581991234567", "2026-03-09T11:30:00Z", False, "America/Recife"),
    ("+5581991234567", "2026-03-09T20:30:00Z", True, "America/Recife"),
]


@pytest.mark.parametrize(("phone", "instant", "expected", "zone"), WINDOW_CASES)
def test_window_per_time_zone(phone: str, instant: str, expected: bool, zone: str) -> None:
    decision = check(phone, at(instant))
    assert (decision.callable, decision.timezone) == (expected, zone), decision.reason


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        ("2026-03-09T10:59:00Z", False),  # 08:59 in Noronha
        ("2026-03-09T11:30:00Z", True),  # 09:30 in Noronha, 08:30 in Recife
        ("2026-03-09T20:30:00Z", False),  # 18:30 in Noronha, 17:30 in Recife
    ],
)
def test_noronha_address_uses_utc_minus_2(instant: str, expected: bool) -> None:
    decision = check("+5581991234567", at(instant), noronha=True)
    assert decision.timezone == "America/Noronha"
    assert decision.callable is expected, decision.reason


def test_noronha_only_for_ddd_81() -> None:
    with pytest.raises(InputError, match="DDD 81"):
        check("+5511987654321", at("2026-03-09T12:00:00Z"), noronha=True)


def test_split_ddd_reason_names_the_zone_outside() -> None:
    decision = check("+5597991234567", at("2026-03-09T13:30:00Z"))
    assert decision.reason == "outside_hours: 08:30 America/Eirunepe is before 09:00"
    assert decision.local_time.isoformat() == "2026-03-09T09:30:00-04:00"
    assert decision.next_open == at("2026-03-09T14:00:00Z")


def test_naive_instant_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check("+5511987654321", datetime(2026, 3, 9, 12))


# ------------------------------------------------------------------ profiles
PROFILE_CASES = [
    # phone, instant, profile, state, callable, reason code
    ("+5511987654321", "2026-03-14T10:00:00-03:00", "SP", None, True, "within_window"),  # Saturday
    ("+5511987654321", "2026-03-14T10:00:00-03:00", None, "SP", True, "within_window"),
    ("+5511987654321", "2026-03-14T10:00:00-03:00", None, None, False, "closed_day"),  # DDD alone never widens
    ("+5511987654321", "2026-03-14T10:00:00-03:00", "default", "SP", False, "closed_day"),
    ("+5511987654321", "2026-03-14T14:00:00-03:00", "SP", None, False, "outside_hours"),
    ("+5511987654321", "2026-03-14T08:00:00-03:00", "SP", None, True, "within_window"),
    ("+5511987654321", "2026-03-15T10:00:00-03:00", "SP", None, False, "closed_day"),  # Sunday
    ("+5511987654321", "2026-03-09T19:30:00-03:00", "SP", None, True, "within_window"),
    ("+5511987654321", "2026-03-09T20:00:00-03:00", "SP", None, False, "outside_hours"),
    ("+5511987654321", "2026-03-09T08:30:00-03:00", "SP", None, True, "within_window"),
    ("+5511987654321", "2026-03-09T08:30:00-03:00", None, None, False, "outside_hours"),
    ("+5521987654321", "2026-03-09T18:30:00-03:00", None, "RJ", True, "within_window"),
    ("+5521987654321", "2026-03-09T19:00:00-03:00", None, "RJ", False, "outside_hours"),
    ("+5521987654321", "2026-03-09T08:30:00-03:00", "RJ", None, False, "outside_hours"),
    ("+5521987654321", "2026-03-14T10:00:00-03:00", "RJ", None, False, "closed_day"),
    ("+5521987654321", "2026-03-09T18:30:00-03:00", None, None, False, "outside_hours"),
    ("+5531987654321", "2026-03-09T18:30:00-03:00", None, "MG", False, "outside_hours"),  # no MG profile
]


@pytest.mark.parametrize(("phone", "instant", "profile", "state", "expected", "code"), PROFILE_CASES)
def test_profiles(phone: str, instant: str, profile: str | None, state: str | None, expected: bool, code: str) -> None:
    decision = check(phone, at(instant), profile=profile, state=state)
    assert decision.callable is expected
    assert decision.reason.split(":")[0] == code, decision.reason


def test_reason_text_is_readable() -> None:
    decision = check("+5511987654321", at("2026-03-09T19:10:00-03:00"))
    assert decision.reason == "outside_hours: 19:10 local is after 18:00"


def test_unknown_profile_and_state() -> None:
    with pytest.raises(ConfigError, match="'XX'"):
        check("+5511987654321", at("2026-03-09T12:00:00Z"), profile="XX")
    with pytest.raises(InputError, match="'ZZ'"):
        check("+5511987654321", at("2026-03-09T12:00:00Z"), state="ZZ")


def test_packaged_profiles_are_data() -> None:
    profiles = load_profiles()
    assert {"default", "SP", "RJ"} <= set(profiles)
    assert profiles["SP"].describe_day(5) == "Sat 08:00-14:00"
    assert profiles["default"].describe_day(5) == "Saturday closed"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[default]\nwindows = []\ncolour = "red"', "unknown key 'colour'"),
        ('[default]\nwindows = [{days = ["mon"], start = "9h", end = "18:00"}]', "not a HH:MM"),
        ('[default]\nwindows = [{days = ["mon"], start = "18:00", end = "09:00"}]', "not after start"),
        ('[default]\nwindows = [{days = ["monday"], start = "09:00", end = "18:00"}]', "'monday'"),
        ("[SP]\nwindows = []", "default"),
    ],
)
def test_profile_file_errors_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_profiles(text)


def test_added_profile_is_usable() -> None:
    profiles = parse_profiles(
        '[default]\nwindows = [{days = ["mon"], start = "09:00", end = "18:00"}]\n'
        '[MG]\nwindows = [{days = ["sat", "sun"], start = "10:00", end = "12:00"}]\n'
    )
    assert profiles["MG"].windows[6][0].hour == 10


# ------------------------------------------------------------------ holidays
HOLIDAY_CASES = [
    # phone, instant, state, callable, next_open
    # Consciência Negra, national since Lei 14.759/2023 (Friday): reopens Monday.
    ("+5511987654321", "2026-11-20T10:00:00-03:00", None, False, "2026-11-23T09:00:00-03:00"),
    ("+5521987654321", "2026-12-25T10:00:00-03:00", None, False, "2026-12-28T09:00:00-03:00"),
    ("+5531987654321", "2026-04-21T10:00:00-03:00", None, False, "2026-04-22T09:00:00-03:00"),  # Tiradentes
    ("+5531987654321", "2026-04-03T10:00:00-03:00", None, False, "2026-04-06T09:00:00-03:00"),  # Good Friday
    # SP 9 de julho: from the DDD's state or the address state.
    ("+5511987654321", "2026-07-09T10:00:00-03:00", None, False, "2026-07-10T09:00:00-03:00"),
    ("+5521987654321", "2026-07-09T10:00:00-03:00", None, True, "2026-07-09T10:00:00-03:00"),
    # (an RJ number for an SP address: the SP and RJ profiles both hold, so 09:00, not SP's 08:00)
    ("+5521987654321", "2026-07-09T10:00:00-03:00", "SP", False, "2026-07-10T09:00:00-03:00"),
    # RJ São Jorge, 23 April.
    ("+5521987654321", "2026-04-23T10:00:00-03:00", None, False, "2026-04-24T09:00:00-03:00"),
    ("+5511987654321", "2026-04-23T10:00:00-03:00", None, True, "2026-04-23T10:00:00-03:00"),
    # After hours on Thursday, Friday a holiday, then the weekend.
    ("+5511987654321", "2026-11-19T19:10:00-03:00", None, False, "2026-11-23T09:00:00-03:00"),
    ("+5568999123456", "2026-11-19T23:30:00Z", None, False, "2026-11-23T09:00:00-05:00"),
    # Split 97 across Christmas: the first instant inside the window in both zones.
    ("+5597991234567", "2026-12-24T23:00:00Z", None, False, "2026-12-28T10:00:00-04:00"),
]


@pytest.mark.parametrize(("phone", "instant", "state", "expected", "opens"), HOLIDAY_CASES)
def test_holidays_and_next_open(phone: str, instant: str, state: str | None, expected: bool, opens: str) -> None:
    decision = check(phone, at(instant), state=state)
    assert decision.callable is expected, decision.reason
    assert decision.next_open is not None
    assert decision.next_open.isoformat() == opens


def test_holiday_reason_names_it() -> None:
    decision = check("+5511987654321", at("2026-11-20T10:00:00-03:00"))
    assert decision.reason.startswith("holiday: 2026-11-20 is a holiday (")


def test_holiday_calendars_from_the_package() -> None:
    assert date(2026, 7, 9) in holiday_calendar("SP", 2026)
    assert date(2026, 7, 9) not in holiday_calendar(None, 2026)
    assert date(2026, 4, 23) in holiday_calendar("RJ", 2026)
    assert date(2026, 11, 20) in holiday_calendar(None, 2026)
    assert holiday_calendar("SP", 2026) is holiday_calendar("SP", 2026)  # cached per (state, year)


# ------------------------------------------------------------------ policy from campaign JSON
def test_policy_defaults_follow_design() -> None:
    policy = Policy()
    assert (
        policy.max_attempts_per_day,
        policy.already_paid_pause_business_days,
        policy.promise_grace_business_days,
    ) == (2, 2, 1)


def test_policy_from_dict() -> None:
    policy = Policy.from_dict({"max_attempts_per_week": 4, "profile": "SP", "retry": {"busy": {"delay_minutes": 60}}})
    assert policy.max_attempts_per_week == 4
    assert policy.profile == "SP"
    assert policy.retry.busy.delay == timedelta(minutes=60)
    assert policy.retry.busy.max_attempts == RetryPolicy().busy.max_attempts


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"max_attemps_per_day": 3}, "unknown key 'max_attemps_per_day'"),
        ({"max_attempts_per_day": "2"}, "max_attempts_per_day"),
        ({"max_attempts_per_day": True}, "max_attempts_per_day"),
        ({"stop_after_right_party": 1}, "stop_after_right_party"),
        ({"retry": {"fax": {}}}, "unknown key 'fax'"),
        ({"retry": {"busy": {"delay": 5}}}, "unknown key 'delay'"),
        ({"retry": {"busy": {"max_attempts": -1}}}, "busy.max_attempts"),
        ({"profile": "XX"}, "'XX'"),
        ({"priority_half_life_days": 0}, "priority_half_life_days"),
    ],
)
def test_policy_from_dict_is_strict(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Policy.from_dict(data)


# ------------------------------------------------------------------ eligibility
A, B, C = "+5511987650001", "+5511987650002", "+5511987650003"
MON_15 = at("2026-03-09T15:00:00-03:00")


def debtor(*numbers: str, **kw: object) -> Debtor:
    return Debtor("d1", numbers or (A, B), **kw)  # type: ignore[arg-type]


def tried(number: str, when: str, outcome: str = "no_answer", **kw: object) -> Attempt:
    return Attempt(number, at(when), outcome, **kw)  # type: ignore[arg-type]


def test_do_not_call_is_never_called() -> None:
    result = eligibility(debtor(do_not_call=True), [], MON_15)
    assert (result.eligible, result.next_try) == (False, None)
    assert result.reason.startswith("do_not_call")


def test_fresh_debtor_is_eligible_on_first_number() -> None:
    result = eligibility(debtor(), [], MON_15)
    assert (result.eligible, result.number) == (True, A)


def test_daily_cap_counts_all_numbers() -> None:
    history = [tried(A, "2026-03-09T09:10:00-03:00"), tried(B, "2026-03-09T10:00:00-03:00")]
    result = eligibility(debtor(), history, MON_15)
    assert not result.eligible
    assert result.reason.startswith("daily_cap: 2 of 2")
    assert result.next_try == at("2026-03-10T09:00:00-03:00")
    # One attempt today leaves one: rotation moves to the other number.
    one = eligibility(debtor(), history[:1], MON_15)
    assert (one.eligible, one.number) == (True, B)


def test_daily_cap_uses_the_local_day() -> None:
    # 23:30 Sunday in São Paulo is already Monday in UTC: it must not count for Monday.
    history = [tried(A, "2026-03-09T02:30:00Z"), tried(B, "2026-03-09T10:00:00-03:00")]
    assert eligibility(debtor(), history, MON_15).eligible


def test_weekly_cap_over_seven_local_days() -> None:
    week = [
        "2026-03-03T10:00",
        "2026-03-04T10:00",
        "2026-03-05T10:00",
        "2026-03-05T15:00",
        "2026-03-06T10:00",
        "2026-03-06T15:00",
    ]
    history = [tried(A if i % 2 else B, w + ":00-03:00") for i, w in enumerate(week)]
    result = eligibility(debtor(), history, MON_15)
    assert result.reason.startswith("weekly_cap: 6 of 6")
    assert result.next_try == at("2026-03-10T09:00:00-03:00")  # the 03-03 attempt leaves the window
    assert eligibility(debtor(), history[1:], MON_15).eligible
    assert eligibility(debtor(), history, MON_15, Policy(max_attempts_per_week=7)).eligible


@pytest.mark.parametrize(
    ("attempt", "stops"),
    [
        (tried(A, "2026-03-09T10:00:00-03:00", "cannot_pay"), True),
        (tried(A, "2026-03-09T10:00:00-03:00", "dispute"), True),
        (tried(A, "2026-03-09T10:00:00-03:00", "hung_up", right_party=True), True),
        (tried(A, "2026-03-09T10:00:00-03:00", "not_available"), False),
        (tried(A, "2026-03-06T10:00:00-03:00", "cannot_pay"), False),  # reached on an earlier day
    ],
)
def test_right_party_reached_stops_the_day(attempt: Attempt, stops: bool) -> None:
    result = eligibility(debtor(), [attempt], MON_15)
    assert result.eligible is not stops, result.reason
    if stops:
        assert result.reason.startswith("right_party_reached")
        assert eligibility(debtor(), [attempt], MON_15, Policy(stop_after_right_party=False)).eligible


@pytest.mark.parametrize(
    ("instant", "eligible", "next_try"),
    [
        ("2026-03-10T15:00:00-03:00", False, "2026-03-12T09:00:00-03:00"),  # the promised day itself
        ("2026-03-11T09:30:00-03:00", False, "2026-03-12T09:00:00-03:00"),  # the business day it clears
        ("2026-03-12T09:30:00-03:00", True, None),  # the day after that
    ],
)
def test_no_calls_until_the_promise_has_cleared(instant: str, eligible: bool, next_try: str | None) -> None:
    history = [tried(A, "2026-03-02T10:00:00-03:00", "promise_to_pay", promised_date=date(2026, 3, 10))]
    result = eligibility(debtor(), history, at(instant))
    assert result.eligible is eligible, result.reason
    assert result.next_try == (at(next_try) if next_try else None)


@pytest.mark.parametrize(
    ("claim", "instant", "eligible", "next_try"),
    [
        # Monday claim: Tuesday and Wednesday paused, Thursday open.
        ("2026-03-09T10:00:00-03:00", "2026-03-11T15:00:00-03:00", False, "2026-03-12T09:00:00-03:00"),
        ("2026-03-09T10:00:00-03:00", "2026-03-12T09:30:00-03:00", True, None),
        # Thursday 19 Nov: Friday is a holiday, so the two business days are Mon 23 and Tue 24.
        ("2026-11-19T10:00:00-03:00", "2026-11-24T15:00:00-03:00", False, "2026-11-25T09:00:00-03:00"),
        ("2026-11-19T10:00:00-03:00", "2026-11-25T09:00:00-03:00", True, None),
    ],
)
def test_already_paid_pauses_two_business_days(claim: str, instant: str, eligible: bool, next_try: str | None) -> None:
    result = eligibility(debtor(), [tried(A, claim, "already_paid")], at(instant))
    assert result.eligible is eligible, result.reason
    assert result.next_try == (at(next_try) if next_try else None)


def test_callback_at_the_time_asked() -> None:
    request = tried(A, "2026-03-09T10:00:00-03:00", "callback_scheduled", callback_at=at("2026-03-09T16:00:00-03:00"))
    before = eligibility(debtor(), [request], MON_15)
    assert (before.eligible, before.next_try) == (False, at("2026-03-09T16:00:00-03:00"))
    assert before.reason.startswith("callback_pending")
    due = eligibility(debtor(), [request], at("2026-03-09T16:00:00-03:00"))
    # A callback is placed to the number it was agreed on, not rotated to the other one.
    assert (due.eligible, due.callback, due.number) == (True, True, A)
    elsewhere = tried(
        A,
        "2026-03-09T10:00:00-03:00",
        "callback_scheduled",
        callback_at=at("2026-03-09T16:00:00-03:00"),
        callback_number=B,
    )
    assert eligibility(debtor(), [elsewhere], at("2026-03-09T16:00:00-03:00")).number == B
    # Without the override the right-party stop wins.
    strict = Policy(callback_overrides_daily_limits=False)
    assert eligibility(debtor(), [request], at("2026-03-09T16:00:00-03:00"), strict).reason.startswith(
        "right_party_reached"
    )
    # Once the callback call is made, it is no longer pending.
    done = [request, tried(B, "2026-03-09T16:00:00-03:00", "promise_to_pay", promised_date=date(2026, 3, 20))]
    assert not eligibility(debtor(), done, at("2026-03-09T16:30:00-03:00")).callback


def test_callback_outside_the_window_waits_for_it() -> None:
    request = tried(A, "2026-03-09T10:00:00-03:00", "callback_scheduled", callback_at=at("2026-03-09T20:00:00-03:00"))
    before = eligibility(debtor(), [request], MON_15)
    assert before.next_try == at("2026-03-10T09:00:00-03:00")
    late = eligibility(debtor(), [request], at("2026-03-09T20:30:00-03:00"))
    assert (late.eligible, late.next_try) == (False, at("2026-03-10T09:00:00-03:00"))
    morning = eligibility(debtor(), [request], at("2026-03-10T09:00:00-03:00"))
    assert (morning.eligible, morning.callback) == (True, True)


RETRY_CASES = [
    # cause, delay after a 10:00 attempt
    ("busy", timedelta(minutes=15)),
    ("failed", timedelta(minutes=30)),
    ("no_answer", timedelta(hours=2)),
    ("no_response", timedelta(hours=2)),
    ("not_available", timedelta(hours=3)),
    ("voicemail", timedelta(hours=4)),
    ("hung_up", timedelta(days=1)),
]


@pytest.mark.parametrize(("cause", "delay"), RETRY_CASES)
def test_retry_delay_per_cause(cause: str, delay: timedelta) -> None:
    first = at("2026-03-09T10:00:00-03:00")
    history = [Attempt(A, first, cause)]
    early = eligibility(debtor(A), history, first + delay - timedelta(minutes=1))
    assert not early.eligible
    assert f"retry_delay: last {cause}" in early.reason
    assert early.next_try == first + delay
    assert eligibility(debtor(A), history, first + delay).eligible


@pytest.mark.parametrize(("cause", "maximum"), [(c, getattr(RetryPolicy(), c).max_attempts) for c, _ in RETRY_CASES])
def test_retry_maximum_per_cause(cause: str, maximum: int) -> None:
    # One attempt a day from Monday 23 February, so that only the per-cause maximum can block.
    days = [at("2026-02-23T10:00:00-03:00") + timedelta(days=i) for i in range(maximum)]
    history = [Attempt(A, d, cause) for d in days]
    result = eligibility(debtor(A), history, MON_15)
    assert (result.eligible, result.next_try) == (False, None), result.reason
    assert f"retries_exhausted: {cause} {maximum} of {maximum}" in result.reason
    assert eligibility(debtor(A), history[1:], MON_15).eligible


def test_retry_settings_come_from_the_policy() -> None:
    history = [tried(A, "2026-03-09T14:00:00-03:00", "busy")]
    assert eligibility(debtor(A), history, MON_15).eligible
    slow = Policy.from_dict({"retry": {"busy": {"delay_minutes": 90}}})
    assert eligibility(debtor(A), history, MON_15, slow).next_try == at("2026-03-09T15:30:00-03:00")


def test_retry_delay_ending_after_hours_waits_for_the_window() -> None:
    history = [tried(A, "2026-03-09T17:50:00-03:00", "busy")]
    result = eligibility(debtor(A), history, at("2026-03-09T17:55:00-03:00"))
    assert result.next_try == at("2026-03-10T09:00:00-03:00")


def test_invalid_numbers_are_never_redialled() -> None:
    history = [tried(A, "2026-03-02T10:00:00-03:00", "failed", invalid=True)]
    assert eligibility(debtor(), history, MON_15).number == B
    only = eligibility(debtor(A), history, MON_15)
    assert (only.eligible, only.next_try) == (False, None)
    assert "invalid_number" in only.reason
    marked = eligibility(debtor(invalid_numbers=frozenset({A})), [], MON_15)
    assert marked.number == B


def test_wrong_party_number_is_dropped() -> None:
    history = [tried(A, "2026-03-06T10:00:00-03:00", "wrong_party")]
    assert eligibility(debtor(), history, MON_15).number == B


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([], A),  # never tried: the operator's order
        ([tried(A, "2026-03-06T10:00:00-03:00")], B),
        ([tried(A, "2026-03-06T10:00:00-03:00"), tried(B, "2026-03-05T10:00:00-03:00")], C),
        (
            [
                tried(A, "2026-03-06T10:00:00-03:00"),
                tried(B, "2026-03-04T10:00:00-03:00"),
                tried(C, "2026-03-05T10:00:00-03:00"),
            ],
            B,
        ),
    ],
)
def test_rotation_least_recently_tried_first(history: list[Attempt], expected: str) -> None:
    assert eligibility(debtor(A, B, C), history, MON_15).number == expected


def test_rotation_skips_numbers_outside_their_window() -> None:
    acre = "+5568999123456"  # 14:00 in Acre when it is 16:00 in São Paulo
    result = eligibility(debtor(A, acre), [tried(A, "2026-03-06T10:00:00-03:00")], at("2026-03-09T08:30:00-05:00"))
    # 10:30 in São Paulo: A is open; Acre (08:30) is not, though never tried.
    assert result.number == A


@pytest.mark.parametrize(
    ("amount", "days", "score"),
    [
        (1000.0, 0, 1000.0),
        (1000.0, 30, 500.0),
        (1000.0, 60, 250.0),
        (1000.0, -5, 1000.0),
        (-10.0, 0, 0.0),
    ],
)
def test_priority_score(amount: float, days: int, score: float) -> None:
    assert priority_score(amount, days) == pytest.approx(score)


def test_priority_order() -> None:
    debtors = [
        Debtor("old-big", (A,), amount=3000.0, days_overdue=90),  # 375
        Debtor("new-small", (A,), amount=600.0, days_overdue=0),  # 600
        Debtor("mid", (A,), amount=1000.0, days_overdue=30),  # 500
        Debtor("tiny", (A,), amount=50.0, days_overdue=1),
    ]
    order = [d.id for d in prioritize(debtors)]
    assert order == ["new-small", "mid", "old-big", "tiny"]
    assert [d.id for d in prioritize(debtors, callbacks={"tiny"})][0] == "tiny"
