"""The attempt ledger: reserve an attempt before Originate, reconcile it from AMI events, recover after a crash.

Every write is a guarded ``UPDATE ... WHERE`` (state, owner, ``outcome IS NULL``) so replays of the same
event, two dialers seeing the same broadcast event, and the call service writing its outcome concurrently
never overwrite each other: the first outcome written wins, and an attempt is never dialled twice.

States: ``leased`` (reserved, Originate not sent yet) → ``dialing`` (Originate about to go out) →
``answered`` → ``ended``. A ``leased`` row found after a crash was never dialled and is deleted; a
``dialing``/``answered`` row is adopted if Asterisk still has its channel, else closed by elapsed time.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.models import OUTCOMES, Attempt, Campaign, DialQueue, Phone

log = logging.getLogger(__name__)

ACTIVE_STATES = ("leased", "dialing", "answered")
ACTION_PREFIX = "ivr-"

ORIGINATE_FAILURE_OUTCOMES: dict[int, str] = {
    0: "failed",  # no such number, channel could not be created, or any other failure
    1: "no_answer",  # the far end hung up (rejected) before answering
    3: "no_answer",  # rang until the ring timeout
    5: "busy",
    8: "failed",  # congestion
}
"""OriginateResponse ``Reason`` (AST_CONTROL_*) of a failed Originate → attempt outcome."""

INVALID_NUMBER_CAUSES = frozenset({1, 3, 22, 28})
"""Q.850 causes meaning the number does not exist: 1 unallocated, 3 no route to destination,
22 number changed, 28 invalid number format. The number is marked ``invalid`` and never dialled again."""


def action_id_for(attempt_id: int) -> str:
    """The AMI ActionID, and the channel's Uniqueid (Originate ``ChannelId``), of an attempt."""
    return f"{ACTION_PREFIX}{attempt_id}"


def attempt_id_from(text: str | None) -> int | None:
    """``ivr-42`` or ``42`` → 42; anything else (another application's channel) → None."""
    if not text:
        return None
    text = text.strip()
    if text.startswith(ACTION_PREFIX):
        text = text[len(ACTION_PREFIX) :]
    # ASCII digits only ('²'.isdigit() is True), and no more than a BIGINT holds (a fuzzed 5000-digit id).
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


@dataclass
class Reconciled:
    """What one event changed, for logs and the dialer's bookkeeping."""

    attempt_id: int
    kind: str
    """``answered``, ``failed``, ``amd``, ``ended``, ``cause``, ``ignored``."""
    outcome: str | None = None
    duration_s: float | None = None
    invalid_number: bool = False


@dataclass(frozen=True)
class HangupReport:
    """What the dialplan's ``IvrHangup`` user event says about the end of an answered call."""

    stage: str = ""
    """amd, collect, voicemail or transfer."""
    outcome: str = ""
    """IVR_OUTCOME as the dialplan saw it."""
    agi_status: str = ""
    """AGISTATUS of the last AGI: SUCCESS, FAILURE (service unreachable), NOTFOUND, HANGUP."""
    queue_status: str = ""
    abandoned: str = ""
    hold_time: float | None = None
    """Seconds in the queue (QEHOLDTIME, with queues.conf setqueueentryvar=yes)."""
    agent: str = ""
    """The member who answered (MEMBERNAME, with queues.conf setinterfacevar=yes)."""

    @classmethod
    def from_event(cls, event: Mapping[str, str]) -> HangupReport:
        hold = _int(event.get("HoldTime"))
        return cls(
            stage=event.get("Stage", ""),
            outcome=event.get("Outcome", ""),
            agi_status=event.get("AgiStatus", "").upper(),
            queue_status=event.get("QueueStatus", ""),
            abandoned=event.get("Abandoned", ""),
            hold_time=float(hold) if hold is not None else None,
            agent=event.get("Agent", ""),
        )


@dataclass
class Recovery:
    dropped: list[int] = field(default_factory=list)
    """Leased, never originated: deleted (the person was not dialled)."""
    adopted: list[int] = field(default_factory=list)
    """Asterisk still has the channel: now owned by this dialer, events will close it."""
    closed: list[int] = field(default_factory=list)
    """Channel gone: closed by elapsed time."""


class Ledger:
    """The attempt ledger of one dialer process (``owner``), over a session factory."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        owner: str,
        lease_seconds: float = 60.0,
        transfer_callback_delay: dt.timedelta = dt.timedelta(minutes=30),
    ) -> None:
        self.sessions = sessions
        self.owner = owner
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.transfer_callback_delay = transfer_callback_delay

    # ------------------------------------------------------------------ before Originate

    def mark_dialing(self, attempt_id: int, now: dt.datetime, trunk: str | None = None) -> bool:
        """``leased`` → ``dialing``, committed before the Originate is written; False if not ours any more."""
        with self.sessions.begin() as s:
            done = s.execute(
                update(Attempt)
                .where(
                    Attempt.id == attempt_id,
                    Attempt.state == "leased",
                    Attempt.lease_owner == self.owner,
                    # paused or stopped since the lease: the attempt is not dialled (the operator's word wins)
                    select(Campaign.id)
                    .where(Campaign.id == Attempt.campaign_id, Campaign.status == "running")
                    .exists(),
                )
                .values(
                    state="dialing",
                    started_at=now,
                    uniqueid=action_id_for(attempt_id),
                    lease_expires_at=now + self.lease,
                    **({"trunk": trunk} if trunk else {}),
                )
            ).rowcount  # type: ignore[attr-defined]  # DML results are CursorResults
        return bool(done)

    def originate_refused(self, attempt_id: int, now: dt.datetime, message: str) -> None:
        """Asterisk refused the Originate action itself (``Response: Error``): the call never started."""
        with self.sessions.begin() as s:
            s.execute(
                update(Attempt)
                .where(Attempt.id == attempt_id, Attempt.state != "ended")
                .values(state="ended", ended_at=now, note=f"originate refused: {message}"[:500])
            )
            s.execute(
                update(Attempt).where(Attempt.id == attempt_id, Attempt.outcome.is_(None)).values(outcome="failed")
            )

    def heartbeat(self, now: dt.datetime) -> int:
        """Extend the leases of this dialer's live attempts; a dialer that stops beating is presumed dead."""
        with self.sessions.begin() as s:
            return s.execute(
                update(Attempt)
                .where(Attempt.lease_owner == self.owner, Attempt.state.in_(ACTIVE_STATES))
                .values(lease_expires_at=now + self.lease)
            ).rowcount  # type: ignore[attr-defined]  # DML results are CursorResults

    # ------------------------------------------------------------------ AMI events

    def on_event(self, event: Mapping[str, str], now: dt.datetime) -> Reconciled | None:
        """Reconcile one AMI event (header → value); None when it is not about one of our attempts."""
        name = event.get("Event", "")
        if name == "OriginateResponse":
            attempt_id = attempt_id_from(event.get("ActionID"))
            if attempt_id is None:
                return None
            return self.originate_response(attempt_id, event, now)
        if name == "UserEvent":
            kind = event.get("UserEvent", "")
            attempt_id = attempt_id_from(event.get("AttemptId"))
            if attempt_id is None:
                return None
            if kind == "IvrAmd":
                return self.amd(attempt_id, event.get("Status", ""), event.get("Cause", ""))
            if kind == "IvrHangup":
                amd = event.get("AmdStatus") or None
                return self.hangup(
                    attempt_id,
                    _int(event.get("Cause")),
                    None,
                    now,
                    amd_status=amd,
                    report=HangupReport.from_event(event),
                )
            if kind == "IvrTransfer":
                with self.sessions.begin() as s:
                    s.execute(
                        update(Attempt)
                        .where(Attempt.id == attempt_id, Attempt.transferred_at.is_(None))
                        .values(transferred_at=now)
                    )
                return Reconciled(attempt_id, "transfer")
            return None
        if name == "Hangup":
            attempt_id = attempt_id_from(event.get("Uniqueid"))
            if attempt_id is None or event.get("Uniqueid", "").count("-") != 1:
                return None  # not an attempt's own channel (e.g. the Local ;2 half, ivr-42-2)
            return self.hangup(attempt_id, _int(event.get("Cause")), event.get("Cause-txt"), now)
        return None

    def originate_response(self, attempt_id: int, event: Mapping[str, str], now: dt.datetime) -> Reconciled:
        channel = event.get("Channel") or None
        if event.get("Response", "").lower() == "success":
            with self.sessions.begin() as s:
                s.execute(
                    update(Attempt)
                    .where(Attempt.id == attempt_id, Attempt.state.in_(("leased", "dialing")))
                    .values(state="answered", channel=channel)
                )
                # The call service may have stamped the answer first (it sees the call start); keep its time.
                s.execute(
                    update(Attempt)
                    .where(Attempt.id == attempt_id, Attempt.answered_at.is_(None))
                    .values(answered_at=now)
                )
            return Reconciled(attempt_id, "answered")
        reason = _int(event.get("Reason"))
        outcome = ORIGINATE_FAILURE_OUTCOMES.get(reason if reason is not None else 0, "failed")
        with self.sessions.begin() as s:
            row = s.get(Attempt, attempt_id)
            if row is None:
                return Reconciled(attempt_id, "ignored")
            invalid = row.hangup_cause in INVALID_NUMBER_CAUSES
            s.execute(
                update(Attempt)
                .where(Attempt.id == attempt_id, Attempt.state != "ended")
                .values(state="ended", ended_at=now)
            )
            s.execute(
                update(Attempt)
                .where(Attempt.id == attempt_id, Attempt.outcome.is_(None))
                .values(outcome="failed" if invalid else outcome)
            )
            if invalid:
                s.execute(update(Phone).where(Phone.id == row.phone_id).values(status="invalid"))
        return Reconciled(attempt_id, "failed", "failed" if invalid else outcome, invalid_number=invalid)

    def amd(self, attempt_id: int, status: str, cause: str) -> Reconciled:
        with self.sessions.begin() as s:
            s.execute(
                update(Attempt)
                .where(Attempt.id == attempt_id)
                .values(amd_status=status[:16] or None, amd_cause=cause[:80] or None)
            )
        return Reconciled(attempt_id, "amd")

    def hangup(
        self,
        attempt_id: int,
        cause: int | None,
        cause_text: str | None,
        now: dt.datetime,
        amd_status: str | None = None,
        report: HangupReport | None = None,
    ) -> Reconciled:
        """A channel of the attempt hung up (``Hangup`` or the dialplan's ``IvrHangup``).

        Before answer it only records the cause (OriginateResponse brings the outcome), except a cause
        that says the number does not exist, which marks the number invalid at once. After answer it
        ends the attempt; the outcome is the call service's, or ``finalize`` fills one after a grace.
        """
        with self.sessions.begin() as s:
            row = s.get(Attempt, attempt_id, with_for_update=True)
            if row is None:
                return Reconciled(attempt_id, "ignored")
            if cause is not None and row.hangup_cause is None:
                row.hangup_cause = cause
            if cause_text and row.hangup_cause_text is None:
                row.hangup_cause_text = cause_text[:80]
            if amd_status and row.amd_status is None:
                row.amd_status = amd_status[:16]
            if report is not None:
                self._apply_report(s, row, report, now)
            if row.answered_at is None:
                if cause in INVALID_NUMBER_CAUSES:
                    if row.outcome is None:
                        row.outcome = "failed"
                    if row.state != "ended":
                        row.state, row.ended_at = "ended", now
                    s.execute(update(Phone).where(Phone.id == row.phone_id).values(status="invalid"))
                    return Reconciled(attempt_id, "ended", row.outcome, invalid_number=True)
                return Reconciled(attempt_id, "cause")
            if row.state == "ended" and row.ended_at is not None:
                return Reconciled(attempt_id, "ignored", row.outcome, row.duration_s)
            row.state, row.ended_at = "ended", now
            row.duration_s = max(0.0, (now - row.answered_at).total_seconds())
            return Reconciled(attempt_id, "ended", row.outcome, row.duration_s)

    def _apply_report(self, s: Session, row: Attempt, report: HangupReport, now: dt.datetime) -> None:
        """The dialplan's view of the end of an answered call (``IvrHangup``)."""
        from ivr.db.transfers import queue_result, transfer_ended

        if report.agi_status and row.agi_status is None:
            row.agi_status = report.agi_status[:16]
        if report.outcome and row.dialplan_outcome is None:
            row.dialplan_outcome = report.outcome[:24]
        if row.outcome is None and (report.agi_status == "FAILURE" or report.outcome == "failed"):
            # The call service was never reached (or said the media never connected): nobody heard the
            # bot, so the call is failed, uses no daily attempt and is retried soon.
            row.outcome = "failed"
            row.note = _append(
                row.note,
                "call service unreachable (AGI failed)"
                if report.agi_status == "FAILURE"
                else "media leg never connected",
            )
        if report.stage == "transfer":
            status = queue_result(report.queue_status, report.abandoned)
            hold = None
            if report.hold_time is not None:
                hold = report.hold_time
            elif row.transferred_at is not None:
                hold = max(0.0, (now - row.transferred_at).total_seconds())
            callback = transfer_ended(
                s, row, status, now, hold_s=hold, agent=report.agent, callback_delay=self.transfer_callback_delay
            )
            if callback is not None:
                log.info(
                    "attempt %d: no agent answered the transfer (%s); review opened, callback at %s",
                    row.id,
                    status,
                    callback.due_at.isoformat() if callback.due_at else "-",
                )

    # ------------------------------------------------------------------ after the call

    def finalize(self, now: dt.datetime, grace_seconds: float = 5.0) -> int:
        """Ended attempts still without an outcome after ``grace_seconds``: the service wrote none.

        Answered by a machine → ``voicemail``; answered, the collect AGI ran (IvrHangup gave its status) but
        neither the service nor the dialplan gave an outcome → ``failed`` (the service was unreachable or died
        mid-call: no daily attempt used); the dialplan's IVR_OUTCOME if it had one; answered otherwise →
        ``hung_up``; never answered → ``failed``.
        """
        cutoff = now - dt.timedelta(seconds=grace_seconds)
        base = (Attempt.state == "ended", Attempt.outcome.is_(None), Attempt.ended_at <= cutoff)
        with self.sessions.begin() as s:
            n = s.execute(
                update(Attempt)
                .where(*base, Attempt.answered_at.is_not(None), Attempt.amd_status == "MACHINE")
                .values(outcome="voicemail")
            ).rowcount  # type: ignore[attr-defined]  # DML results are CursorResults
            # The dialplan ran the call service's AGI, yet no outcome came from it nor from the dialplan: the
            # service was unreachable, or died mid-call (a live service always writes one, even on a hang-up).
            n += s.execute(
                update(Attempt)
                .where(
                    *base,
                    Attempt.answered_at.is_not(None),
                    Attempt.agi_status.is_not(None),
                    or_(Attempt.dialplan_outcome.is_(None), Attempt.dialplan_outcome == ""),
                )
                .values(outcome="failed", note=func.coalesce(Attempt.note, "call service gave no outcome"))
            ).rowcount  # type: ignore[attr-defined]  # DML results are CursorResults
            # The dialplan's IVR_OUTCOME (IvrHangup) when the service's own write never came.
            n += s.execute(
                update(Attempt)
                .where(*base, Attempt.answered_at.is_not(None), Attempt.dialplan_outcome.in_(OUTCOMES))
                .values(outcome=Attempt.dialplan_outcome)
            ).rowcount  # type: ignore[attr-defined]  # DML results are CursorResults
            n += s.execute(
                update(Attempt).where(*base, Attempt.answered_at.is_not(None)).values(outcome="hung_up")
            ).rowcount  # type: ignore[attr-defined]  # DML results are CursorResults
            n += s.execute(update(Attempt).where(*base).values(outcome="failed")).rowcount  # type: ignore[attr-defined]  # DML results are CursorResults
        return n

    # ------------------------------------------------------------------ restart recovery

    def recover(
        self,
        live_channels: Collection[str],
        now: dt.datetime,
        ring_timeout_seconds: float,
        *,
        include_own: bool,
        fresh_seconds: float = 5.0,
    ) -> Recovery:
        """Reconcile leftover attempts with the channels Asterisk reports (``CoreShowChannels`` Uniqueids).

        Candidates: attempts whose lease expired (a dead dialer), plus this dialer's own when
        ``include_own`` (at start-up, or after an AMI reconnect, when events may have been missed).
        Never re-dials anything: a leased row is deleted, a live channel adopted, a gone one closed.
        """
        result = Recovery()
        live = set(live_channels)
        owner_clause = [Attempt.lease_expires_at.is_(None), Attempt.lease_expires_at < now]
        if include_own:
            owner_clause.append(Attempt.lease_owner == self.owner)
        with self.sessions.begin() as s:
            rows = s.scalars(
                select(Attempt)
                .where(Attempt.state.in_(ACTIVE_STATES), or_(*owner_clause))
                .order_by(Attempt.id)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                if row.state == "leased":
                    if row.lease_owner == self.owner and not include_own:
                        continue
                    s.execute(delete(Attempt).where(Attempt.id == row.id))
                    # Nobody was dialled: the person is due again at once (the rules still decide).
                    s.execute(
                        update(DialQueue)
                        .where(DialQueue.campaign_id == row.campaign_id, DialQueue.debtor_id == row.debtor_id)
                        .values(next_try_at=now)
                    )
                    result.dropped.append(row.id)
                    continue
                if (row.uniqueid or action_id_for(row.id)) in live:
                    row.lease_owner, row.lease_expires_at = self.owner, now + self.lease
                    result.adopted.append(row.id)
                    continue
                started = row.started_at or row.scheduled_at
                if (now - started).total_seconds() < fresh_seconds:
                    continue  # the Originate may still be creating the channel
                row.state = "ended"
                if row.ended_at is None:
                    row.ended_at = now
                if row.answered_at is not None:
                    # Outcome: the service's if it wrote one; else finalize() after the grace.
                    row.note = _append(row.note, "closed on recovery: channel gone")
                elif row.outcome is None:
                    rang = (now - started).total_seconds()
                    row.outcome = "no_answer" if rang >= ring_timeout_seconds else "failed"
                    row.note = _append(row.note, f"closed on recovery after {rang:.0f} s: no answer seen")
                result.closed.append(row.id)
        if result.dropped or result.adopted or result.closed:
            log.info(
                "ledger recovery: dropped %d never-dialled, adopted %d live, closed %d gone",
                len(result.dropped),
                len(result.adopted),
                len(result.closed),
            )
        return result

    def active(self, session: Session) -> list[Attempt]:
        return list(
            session.scalars(select(Attempt).where(Attempt.lease_owner == self.owner, Attempt.state.in_(ACTIVE_STATES)))
        )


def _append(note: str | None, text: str) -> str:
    return text if not note else f"{note}; {text}"
