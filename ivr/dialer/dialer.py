"""The dialer process: claims leases from the scheduler, originates them over AMI, reconciles the ledger.

Crash safety comes from the ledger, not from memory: an attempt is ``leased`` in the claim transaction,
``dialing`` is committed before the Originate is written, and every (re)connection to AMI first reconciles
this dialer's attempts and the expired leases of dead dialers with ``CoreShowChannels``. An Originate
whose fate is unknown (AMI dropped while sending) is never sent again: recovery closes or adopts it.
On SQLite only one dialer process may run (a file lock says so); PostgreSQL takes several.

The event loop never waits on the database: every query and ledger write runs on one database thread
(``ivr.dialer.dbthread``), in the order it was handed over, and the dialer stops only once the writes queued
there are done.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ivr.campaign.scheduler import Lease, Pacing, claim_batch, refresh_queue, campaign_policy
from ivr.config import Settings
from ivr.db import recordings
from ivr.db.ledger import ACTIVE_STATES, Ledger, Reconciled, action_id_for, attempt_id_from
from ivr.db.models import Attempt, Campaign, DialerHealth
from ivr.db.payments import settle_promises
from ivr.db.reports import ANATEL_SHORT_CALL_SHARE, find_campaign, placed_short_share, short_call_share
from ivr import logs, metrics
from ivr.errors import ConfigError, IvrError
from ivr.privacy import mask_phone
from ivr.asterisk.ami import AmiAuthError, AmiClient, AmiError, Message
from ivr.callservice.health import check_fastagi, parse_address
from ivr.dialer.dbthread import DatabaseThread

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def default_dialer_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def channel_for(template: str, e164: str, trunk: str) -> str:
    """The Originate channel: ``{number}`` is the national number (DDD + subscriber), ``{e164}`` the full one."""
    try:
        return template.format(number=e164[3:] if e164.startswith("+55") else e164.lstrip("+"), e164=e164, trunk=trunk)
    except (KeyError, IndexError, ValueError, AttributeError):
        raise ConfigError(
            f"setting dialer.channel_template: {template!r} may use only {{number}}, {{e164}}, {{trunk}}"
        ) from None


class SqliteDialerLock:
    """One dialer per SQLite database: an exclusive ``flock`` the kernel releases if the process dies."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self.path = Path(f"{url.database}.dialer.lock") if url.database and url.database != ":memory:" else None
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise IvrError(
                "another dialer is already running on this SQLite database; SQLite supports one "
                "dialer process: use PostgreSQL (IVR_DATABASE_URL) to run several"
            ) from None
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


@dataclass
class DialerStats:
    originated: int = 0
    refused: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    recovered: int = 0
    reconnects: int = 0


class Dialer:
    """Runs one campaign until stopped, idle (``until_idle``) or after one batch (``once``).

    The methods that touch the database are synchronous and run on ``self.db``, the database thread; the
    coroutines and the AMI event callback only hand work over to it.
    """

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        campaign: str,
        *,
        dialer_id: str | None = None,
        clock: Clock = utc_now,
        poll_seconds: float = 0.2,
        housekeeping_seconds: float = 1.0,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.dialer_id = dialer_id or default_dialer_id()
        self.clock = clock
        self.poll = poll_seconds
        self.housekeeping = housekeeping_seconds
        d = settings.dialer
        if d.max_concurrent < 1 or d.calls_per_second <= 0:
            raise ConfigError("settings dialer.max_concurrent must be ≥ 1 and dialer.calls_per_second > 0")
        self.pacing = Pacing(d.trunk, d.max_concurrent, d.calls_per_second)
        # A template error must stop the dialer now, not after attempts were marked dialing and lost.
        channel_for(d.channel_template, "+5511999999999", d.trunk)
        _ = settings.recordings.extension  # likewise a bad recordings.format
        self.ledger = Ledger(
            sessions, self.dialer_id, d.lease_seconds, dt.timedelta(minutes=d.transfer_callback_minutes)
        )
        with sessions() as s:
            camp = find_campaign(s, campaign)
            self.campaign_id, self.campaign_name = camp.id, camp.name
            self.records_calls = camp.records_calls
            campaign_policy(camp)  # a bad policy fails here, as one line, not mid-run
        self.stats = DialerStats()
        self._ami: AmiClient | None = None
        self._numbers: dict[int, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._short_warned = 0
        self._sqlite_lock = (
            SqliteDialerLock(settings.database_url) if sessions.kw["bind"].dialect.name == "sqlite" else None
        )
        self.service_address = parse_address(
            d.service_check_address or f"{settings.service.agi_host}:{settings.service.agi_port}"
        )
        self.service_down_since: dt.datetime | None = None
        self._service_checked = -1e9
        self._service_ok = True
        self.throttled = False
        self._last_refresh = 0.0
        self._last_claim = -1e9
        self.db = DatabaseThread()

    # ------------------------------------------------------------------ AMI

    @property
    def ami_connected(self) -> bool:
        """The AMI session is up (``/healthz``)."""
        return self._ami is not None and self._ami.connected

    def _on_event(self, event: Message) -> None:
        """The AMI callback (on the loop): the event's time is taken now, its database work queued in AMI order."""
        self.db.post(_event_label(event), self._apply_event, event, self.clock())

    def _apply_event(self, event: Message, now: dt.datetime) -> None:
        """One AMI event into the ledger (database thread)."""
        result = self.ledger.on_event(event, now)
        if result is not None and result.kind in ("failed", "ended", "answered"):
            self._log_result(result)
        if event.get("UserEvent") == "IvrHangup" and event.get("Recording"):
            aid = attempt_id_from(event.get("AttemptId"))
            if aid is not None:  # the `h` extension reports the file MixMonitor wrote (extensions_ivr.conf)
                try:
                    recordings.note_reported(self.sessions, self.settings, aid, event["Recording"], now)
                except SQLAlchemyError as exc:  # after the ledger: the call's end is kept whatever happens here
                    log.warning(
                        "attempt %d: the recording was not entered in the ledger (%s); its file stays "
                        "on disk, outside purge",
                        aid,
                        type(exc).__name__,
                    )

    def _log_result(self, r: Reconciled) -> None:
        number = mask_phone(self._numbers.get(r.attempt_id, ""))
        if r.kind == "answered":
            log.info("attempt %d (%s) answered", r.attempt_id, number)
            return
        if r.outcome:
            self.stats.outcomes[r.outcome] = self.stats.outcomes.get(r.outcome, 0) + 1
            metrics.outcome(r.outcome if r.kind == "failed" else None)  # answered calls: counted by ivr serve
        extra = " (number marked invalid)" if r.invalid_number else ""
        duration = f" after {r.duration_s:.1f} s" if r.duration_s is not None else ""
        log.info("attempt %d (%s) ended%s: %s%s", r.attempt_id, number, duration, r.outcome or "outcome pending", extra)
        if r.duration_s is not None:
            self._check_short_calls()

    def _check_short_calls(self) -> None:
        """Anatel guard: warn when more than half of today's answered calls lasted 6 s or less."""
        with self.sessions() as s:
            short, total = short_call_share(s, self.clock(), campaign_id=self.campaign_id)
        if total and short * 2 > total and short > self._short_warned:
            self._short_warned = short
            log.warning(
                "short calls: %d of %d answered calls today lasted 6 s or less (more than half); "
                "check the greeting and the answering-machine detection",
                short,
                total,
            )

    async def _connect(self) -> None:
        """Connect and log in (retrying every ``ami.reconnect_seconds``), then reconcile before dialling."""
        a = self.settings.ami
        while True:
            client = AmiClient(a.host, a.port, a.username, a.secret, self._on_event)
            try:
                await client.connect()
                live = await client.live_channel_ids()
            except AmiAuthError:
                raise  # a wrong secret does not get better by retrying
            except AmiError as exc:
                log.warning("%s; retrying in %.0f s", exc, a.reconnect_seconds)
                await client.close()
                await asyncio.sleep(a.reconnect_seconds)
                continue
            self._ami = client
            break
        got = await self.db.run(
            self.ledger.recover, live, self.clock(), self.settings.dialer.ring_timeout_seconds, include_own=True
        )
        self.stats.recovered += len(got.adopted) + len(got.closed) + len(got.dropped)

    async def _originate(self, lease: Lease) -> None:
        delay = (lease.dial_at - self.clock()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)  # calls-per-second slot given by the pacing row
        ami = self._ami
        if ami is None or not ami.connected:
            return  # stays leased; the recovery after reconnect drops it (never dialled)
        d = self.settings.dialer
        if not await self.db.run(self.ledger.mark_dialing, lease.attempt_id, self.clock(), d.trunk):
            return
        self._numbers[lease.attempt_id] = lease.number
        logs.bind(attempt_id=lease.attempt_id, stage="originate")  # this task's log lines
        fields = [
            ("Channel", channel_for(d.channel_template, lease.number, d.trunk)),
            ("Context", d.context),
            ("Exten", d.extension),
            ("Priority", "1"),
            ("Timeout", str(d.ring_timeout_seconds * 1000)),
            ("CallerID", d.caller_id),
            ("Variable", f"IVR_ATTEMPT_ID={lease.attempt_id}"),
            *(
                [("Variable", f"IVR_RECORDING={recordings.asterisk_path(self.settings, lease.attempt_id)}")]
                if self.records_calls
                else []
            ),
            ("ChannelId", action_id_for(lease.attempt_id)),
            ("OtherChannelId", f"{action_id_for(lease.attempt_id)}-2"),
            ("Async", "true"),
        ]
        try:
            reply = await ami.action("Originate", fields, action_id=lease.action_id)
        except AmiError as exc:
            # Unknown whether Asterisk got it: leave it dialing; recovery decides, it is never re-sent.
            log.warning("attempt %d: Originate fate unknown (%s); recovery will reconcile it", lease.attempt_id, exc)
            metrics.DIALER_ORIGINATES.labels("unknown").inc()
            return
        if reply.get("Response") != "Success":
            self.stats.refused += 1
            metrics.DIALER_ORIGINATES.labels("refused").inc()
            await self.db.run(self.ledger.originate_refused, lease.attempt_id, self.clock(), reply.get("Message", ""))
            log.warning("attempt %d: Originate refused: %s", lease.attempt_id, reply.get("Message", ""))
            return
        self.stats.originated += 1
        metrics.DIALER_ORIGINATES.labels("accepted").inc()
        log.info("attempt %d: dialling %s", lease.attempt_id, mask_phone(lease.number))

    # ------------------------------------------------------------------ the call service and the guard

    async def _service_answers(self) -> bool:
        """Checked at most every ``dialer.service_check_seconds``; the state goes to ``dialer_health``."""
        loop = asyncio.get_running_loop()
        d = self.settings.dialer
        if not d.service_check:
            return True
        if loop.time() - self._service_checked < d.service_check_seconds:
            return self._service_ok
        self._service_checked = loop.time()
        problem = await check_fastagi(*self.service_address, timeout=d.service_check_timeout_seconds)
        now = self.clock()
        if problem is None and not self._service_ok:
            log.info("call service is answering again (%s): dialling resumes", problem or "ok")
            self.service_down_since = None
        elif problem is not None and self._service_ok:
            self.service_down_since = now
            log.warning("call service unreachable (%s): not dialling until it answers", problem)
        self._service_ok = problem is None
        await self.db.run(self._write_health, now, problem)
        return self._service_ok

    def _health_row(self, s: Session) -> DialerHealth:
        """The campaign's ``dialer_health`` row, created if missing; several dialers may start at once, so the
        insert is ``ON CONFLICT DO NOTHING`` (PostgreSQL and SQLite both have it)."""
        insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        s.execute(
            insert(DialerHealth)
            .values(campaign_id=self.campaign_id, throttled=False)
            .on_conflict_do_nothing(index_elements=["campaign_id"])
        )
        row = s.get(DialerHealth, self.campaign_id)
        assert row is not None
        return row

    def _write_health(self, now: dt.datetime, problem: str | None) -> None:
        with self.sessions.begin() as s:
            row = self._health_row(s)
            row.checked_at = dt.datetime.now(dt.timezone.utc)  # real time (``now`` may be shifted by --as-of)
            row.detail = problem[:200] if problem else None
            if problem is None:
                row.service_unreachable_since = None
            elif row.service_unreachable_since is None:
                row.service_unreachable_since = self.service_down_since or now
            row.throttled = self.throttled

    def _refresh(self) -> None:
        """People imported into the running campaign join its queue; promises past their deadline are broken;
        the Anatel short-call guard is re-evaluated."""
        now = self.clock()
        d = self.settings.dialer
        with self.sessions.begin() as s:
            health = self._health_row(s)
            health.checked_at = dt.datetime.now(dt.timezone.utc)  # the heartbeat `ivr campaign status` reads: real time
            camp = s.get(Campaign, self.campaign_id)
            if camp is not None and camp.status == "running":
                refresh_queue(s, self.campaign_id, now, campaign_policy(camp))
            settle_promises(s, now)
            short, placed = placed_short_share(s, now, campaign_id=self.campaign_id)
        share = short / placed if placed else 0.0
        throttled = placed >= d.short_call_min_calls and share >= d.short_call_throttle_share
        if throttled != self.throttled:
            self.throttled = throttled
            if throttled:
                log.warning(
                    "short calls: %d of %d calls placed today lasted 6 s or less (%.0f%%, Anatel flags "
                    "%.0f%%): slowing to one call every %.0f s",
                    short,
                    placed,
                    100 * share,
                    100 * ANATEL_SHORT_CALL_SHARE,
                    d.short_call_throttle_seconds,
                )
            else:
                log.info("short calls back to %.0f%% of placed calls: normal pace", 100 * share)
            self._write_health(now, None if self._service_ok else "call service unreachable")

    # ------------------------------------------------------------------ main loop

    def _campaign_status(self) -> str:
        with self.sessions() as s:
            return s.scalar(select(Campaign.status).where(Campaign.id == self.campaign_id)) or "stopped"

    def _open_attempts(self) -> int:
        """Own attempts still live or ended without an outcome (finalize fills those after the grace)."""
        with self.sessions() as s:
            rows = s.execute(select(Attempt.state, Attempt.outcome).where(Attempt.lease_owner == self.dialer_id)).all()
        return sum(1 for state, outcome in rows if state in ACTIVE_STATES or outcome is None)

    def _campaign_active(self) -> int:
        """Live attempts of the campaign, any dialer's: until they end (or are recovered) a slot may free up."""
        with self.sessions() as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(Attempt)
                    .where(Attempt.campaign_id == self.campaign_id, Attempt.state.in_(ACTIVE_STATES))
                )
                or 0
            )

    def _keep_ledger(self, now: dt.datetime) -> None:
        """Heartbeat, finalize, measure the recordings of ended calls (database thread)."""
        self.ledger.heartbeat(now)
        self.ledger.finalize(now, self.settings.dialer.outcome_grace_seconds)
        recordings.measure_pending(self.sessions, self.settings, now)

    async def _housekeeping(self) -> bool:
        """Heartbeat, finalize, recover dead dialers' attempts; True when recovery changed anything."""
        await self.db.run(self._keep_ledger, self.clock())
        if self._ami is not None and self._ami.connected:
            try:
                live = await self._ami.live_channel_ids()
            except AmiError:
                return False
            got = await self.db.run(
                self.ledger.recover, live, self.clock(), self.settings.dialer.ring_timeout_seconds, include_own=False
            )
            changed = len(got.adopted) + len(got.closed) + len(got.dropped)
            self.stats.recovered += changed
            return changed > 0
        return False

    async def run(self, *, once: bool = False, until_idle: bool = False) -> DialerStats:
        if self._sqlite_lock is not None:
            self._sqlite_lock.acquire()
        try:
            await self.db.run(self._fill_queue, self.clock())
            await self._loop(once, until_idle)
        finally:
            try:
                for task in self._tasks:
                    task.cancel()
                if self._ami is not None:
                    await self._ami.close()  # no event after this one...
            finally:
                await self.db.aclose()  # ...and the ledger writes already queued are all done before we stop
                if self._sqlite_lock is not None:
                    self._sqlite_lock.release()
        return self.stats

    def _fill_queue(self, now: dt.datetime) -> None:
        with self.sessions.begin() as s:
            camp = s.get(Campaign, self.campaign_id)
            assert camp is not None
            refresh_queue(s, self.campaign_id, now, campaign_policy(camp))

    async def _loop(self, once: bool, until_idle: bool) -> None:
        await self._connect()
        log.info(
            "dialer %s on campaign %s: up to %d concurrent calls, %.1f calls/s on trunk %s",
            self.dialer_id,
            self.campaign_name,
            self.pacing.max_concurrent,
            self.pacing.calls_per_second,
            self.pacing.trunk,
        )
        claimed_once = False
        last_house = 0.0
        loop = asyncio.get_running_loop()
        while True:
            assert self._ami is not None
            if not self._ami.connected:
                self.stats.reconnects += 1
                log.warning("AMI link lost; reconnecting before dialling again")
                metrics.set_paused("ami_disconnected")
                await self._ami.close()
                self._ami = None
                await self._connect()
                continue
            status = await self.db.run(self._campaign_status)
            metrics.set_paused(None if status == "running" else f"campaign_{status}")
            claimed: list[Lease] = []
            own_cap = self.settings.dialer.process_max_concurrent
            room = None if own_cap <= 0 else max(0, own_cap - await self.db.run(self._open_attempts))
            if loop.time() - self._last_refresh >= self.settings.dialer.queue_refresh_seconds:
                self._last_refresh = loop.time()
                await self.db.run(self._refresh)
            if self.throttled:
                room = 1 if loop.time() - self._last_claim >= self.settings.dialer.short_call_throttle_seconds else 0
            if status == "running" and not (once and claimed_once) and room != 0 and await self._service_answers():
                claimed = await self.db.run(
                    claim_batch,
                    self.sessions,
                    self.campaign_id,
                    self.clock(),
                    self.dialer_id,
                    self.pacing,
                    lease_seconds=self.settings.dialer.lease_seconds,
                    max_batch=room,
                )
                if claimed:
                    self._last_claim = loop.time()
                claimed_once = claimed_once or bool(claimed)
                for lease in claimed:
                    task = asyncio.create_task(self._originate(lease))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            recovered = False
            if loop.time() - last_house >= self.housekeeping:
                last_house = loop.time()
                recovered = await self._housekeeping()
            busy = (
                recovered
                or bool(self._tasks)
                or await self.db.run(self._open_attempts) > 0
                or await self.db.run(self._campaign_active) > 0
            )
            if not busy and not claimed:
                if status == "running" and not self._service_ok:
                    await asyncio.sleep(self.poll)
                    continue  # paused by the unreachable service: wait for it, even with --until-idle
                if status in ("stopped", "done"):
                    log.info("campaign %s is %s and no call is in progress: dialer exits", self.campaign_name, status)
                    return
                if once and claimed_once:
                    return
                if until_idle:
                    log.info("nobody is eligible now and no call is in progress: dialer exits")
                    return
            await asyncio.sleep(self.poll)


def _event_label(event: Message) -> str:
    """``AMI Hangup of attempt 42``: for the one line logged when an event's database work fails."""
    name = event.get("UserEvent") or event.get("Event", "event")
    aid = attempt_id_from(event.get("ActionID") or event.get("AttemptId") or event.get("Uniqueid"))
    return f"AMI {name[:40]}" + (f" of attempt {aid}" if aid is not None else "")
