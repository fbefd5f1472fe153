"""The call service (``ivr serve``): FastAGI for call control and AudioSocket for media, in one process.

Asterisk runs ``AGI(agi://host:port/collect)`` for an answered call. The AGI handler reads the attempt id
from the channel, loads the debtor, and runs ``EXEC AudioSocket <uuid>,<host:port>``; Asterisk then connects
to the AudioSocket server, which runs the dialog over the media until it ends and closes the socket. AGI
resumes, sets ``IVR_OUTCOME`` (and ``IVR_TRANSFER`` for a transfer) and returns to the dialplan.
``agi://.../voicemail`` plays the neutral voicemail message the same way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import ipaddress
import logging
import os
import threading
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from ivr.campaign.rules import Policy
from ivr.campaign.stages import flow_for
from ivr.config import Settings
from ivr.db import results
from ivr.db.models import utcnow
from ivr.dialog.engine import (
    CallContext,
    CallStarted,
    DialogEngine,
    Digit,
    NegotiationPolicy,
    RecordOutcome,
    RecordTurn,
    Say,
)
from ivr.errors import ConfigError, IvrError
from ivr.flows import Flow, load_flow
from ivr.language.prompts import Catalog, lint_rendered, load_catalog
from ivr.speech.asr import AsrModel
from ivr.speech.models import vosk_model_path
from ivr.speech.tts import make_tts
from ivr.speech.vad import VadParams
from ivr.asterisk.agi import AgiError, AgiHangup, AgiSession
from ivr.asterisk.audiosocket import Kind, ProtocolError, read_packet
from ivr.callservice.call import CallEnd, CallMedia, Speech, close_writer, prefetch
from ivr.callservice.threads import name_native_thread
from ivr.callservice.workers import Level, PriorityExecutor
from ivr import logs, metrics

log = logging.getLogger(__name__)

MEDIA_CONNECT_TIMEOUT_S = 5.0


def build_speech(settings: Settings, *, allow_test_models: bool = False) -> Speech:
    """Load the engines once for the whole process (a few seconds)."""
    tts = make_tts(settings)
    tts.start()
    asr_path = vosk_model_path(settings.speech.models_dir, settings.speech.vosk_model, allow_test_models)
    asr = AsrModel(asr_path)
    asr.start()
    workers = max(2, os.cpu_count() or 2)
    return Speech(
        tts=tts,
        asr=asr,
        # Most urgent first (ivr.callservice.workers): the end of an utterance before streaming audio,
        # the reply a caller waits for before prompts rendered ahead.
        asr_pool=PriorityExecutor(workers, "ivr-asr", urgent_workers=1),
        tts_pool=PriorityExecutor(workers, "ivr-tts", urgent_workers=1),
        vad_aggressiveness=settings.speech.vad_aggressiveness,
        vad_params=VadParams(
            end_silence_ms=settings.speech.end_of_utterance_ms,
            silence_timeout_ms=int(settings.service.silence_timeout_seconds * 1000),
        ),
        barge_in=settings.speech.barge_in,
    )


def preflight(catalog: Catalog | None = None, flow_names: list[str] | None = None) -> list[str]:
    """What must hold before the service takes calls, one line per problem: the prompt catalog lints clean
    (voicemail included) and every flow a campaign may pick passes ``ivr.flows.check``."""
    from ivr.dialog.engine import PROMPT_IDS
    from ivr.flows import all_prompts, check, load_flow, shipped_flows
    from ivr.language.prompts import lint

    try:
        catalog = catalog or load_catalog()
        flows = [load_flow(name) for name in (flow_names or shipped_flows())]
    except IvrError as exc:
        return [str(exc)]
    required = set(PROMPT_IDS)
    for flow in flows:
        required.update(all_prompts(flow))
    problems = [f"{catalog.source}: {p}" for p in lint(catalog, required=sorted(required))]
    for flow in flows:
        problems += check(flow, catalog)
    return problems


def context_for(info: results.CallInfo, now: dt.datetime) -> CallContext:
    """The dialog's view of a debtor: amounts, dates in the debtor's local calendar, campaign policy."""
    policy = Policy.from_dict(info.policy, f"campaign policy of attempt {info.attempt_id}")
    verification = policy.verification
    answer = ""
    if verification == "birth_year":
        if info.birth_year is None:
            verification = None  # nothing to check against: identity question only
        else:
            answer = str(info.birth_year)
    elif verification == "cpf3":
        if info.cpf_prefix is None:
            # Imported before the privacy migration's rules or by another path: nothing stored to check against.
            log.warning(
                "attempt %s: campaign verifies by CPF but no CPF digits are stored for debtor %s; "
                "re-import the debtor's file into the campaign",
                info.attempt_id,
                info.debtor_id,
            )
            verification = "birth_year" if info.birth_year is not None else None
            answer = str(info.birth_year) if info.birth_year is not None else ""
        else:
            answer = info.cpf_prefix
    return CallContext(
        debtor_name=info.debtor_name,
        creditor_name=info.creditor_name,
        amount=info.amount,
        due_date=info.due_date,
        today=now.astimezone(ZoneInfo(info.timezone)).date(),
        debtor_id=str(info.debtor_id),
        records_call=info.records_calls,
        verification=verification,  # type: ignore[arg-type]
        verification_answer=answer,
        promise_window_days=policy.promise_window_days,
        negotiation=NegotiationPolicy(max_installments=policy.max_installments, allow_transfer=policy.allow_transfer),
        seed=info.attempt_id,
        listen_timeout_s=policy.listen_timeout_s,
        creditor_cnpj=policy.creditor_cnpj,
        official_channels=policy.official_channels,
        next_allowed_call=_callback_rules(info, policy.profile),
        offers=policy.offers,
        charges=info.charges,
        payment=policy.payment,
        payment_data=info.payment_data,
        phone_e164=info.phone_e164,
        mobile=info.mobile,
    )


def flow_name_for(info: results.CallInfo, now: dt.datetime) -> str:
    """The campaign's flow for this debtor today: the stage's (days from the due date, policy ``stages``),
    else the policy's ``flow``."""
    policy = Policy.from_dict(info.policy, f"campaign policy of attempt {info.attempt_id}")
    day = (now.astimezone(ZoneInfo(info.timezone)).date() - info.due_date).days
    staged = flow_for(policy.stages, day) if policy.stages else None
    return staged or policy.flow


def _callback_rules(info: results.CallInfo, profile: str | None) -> Callable[[dt.datetime], dt.datetime | None] | None:
    """The debtor's calling window for callbacks (``ivr.campaign.rules``), local naive time in and out."""
    from ivr.campaign.rules import next_open_local, resolve_target

    if not info.phone_e164:
        return None
    return next_open_local(resolve_target(info.phone_e164, profile, info.address_state, info.noronha), info.timezone)


class CallRecorder:
    """Writes a call's turns and outcome in order, off the audio path (a queue and one writer task)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        info: results.CallInfo,
        identity_confirmed: Callable[[], bool] = lambda: True,
    ) -> None:
        self.sessions = sessions
        self.info = info
        self.identity_confirmed = identity_confirmed
        self.seq = 0
        self.queue: asyncio.Queue[Callable[[], Any] | None] = asyncio.Queue()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while (job := await self.queue.get()) is not None:
            try:
                await asyncio.to_thread(job)
            except Exception:  # a failed write must not kill the call; it is logged with the attempt id
                log.exception("attempt %s: could not store a call event", self.info.attempt_id)

    def __call__(self, action: Any, details: dict[str, Any]) -> None:
        if not isinstance(action, RecordTurn | RecordOutcome):
            return
        if isinstance(action, RecordTurn):
            self.seq += 1
        seq, started, latency = self.seq, utcnow(), details.get("latency_ms")
        confirmed = self.identity_confirmed()
        self.queue.put_nowait(
            lambda: results.store_call_action(self.sessions, self.info, action, seq, started, confirmed, latency)
        )

    async def close(self) -> None:
        self.queue.put_nowait(None)
        await self.task


@dataclass
class _PendingMedia:
    run: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[CallEnd | None]]
    done: asyncio.Future[CallEnd | None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class CallService:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        speech: Speech,
        catalog: Catalog | None = None,
        *,
        worker: int = 0,
    ) -> None:
        self.settings = settings
        self.worker = worker
        """This process's index among ``service.workers`` (0 when alone)."""
        self.sessions = sessions
        self.speech = speech
        self.catalog = catalog or load_catalog(settings.prompts.catalog or None)
        self.pending: dict[uuid.UUID, _PendingMedia] = {}
        self._flows: dict[str, Flow] = {}
        self.active = 0
        self._servers: list[asyncio.Server] = []
        try:
            self._allowed = [ipaddress.ip_network(a, strict=False) for a in settings.service.allow]
        except ValueError as exc:
            raise ConfigError(f"setting service.allow: {exc}") from None
        self._tasks: set[asyncio.Task[Any]] = set()

    def _flow(self, info: results.CallInfo) -> Flow:
        """The flow the campaign picked (policy ``stages`` by days from the due date, else ``flow``)."""
        from ivr.flows import check

        name = flow_name_for(info, dt.datetime.now(dt.timezone.utc))
        if name not in self._flows:
            flow = load_flow(name)
            problems = check(flow, self.catalog)
            if problems:
                raise ConfigError(
                    f"flow {name!r} refused ({len(problems)} problems; run `ivr flow check`): {problems[0]}"
                )
            self._flows[name] = flow
        return self._flows[name]

    # -- servers ---------------------------------------------------------------------------------------
    def _check_bind(self, host: str) -> None:
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            raise ConfigError(f"service: {host!r} is not an IP address to listen on") from None
        if not loopback and not self.settings.service.allow:
            raise ConfigError(f"service: binding to {host} needs an allow-list (service.allow) of Asterisk addresses")

    def _peer_allowed(self, writer: asyncio.StreamWriter) -> bool:
        peer = writer.get_extra_info("peername")
        try:
            addr = ipaddress.ip_address(peer[0])
        except (TypeError, ValueError, IndexError):
            return False
        if any(addr in net for net in self._allowed):
            return True
        log.warning("refused connection from %s (not in service.allow)", addr)
        return False

    async def start(self) -> None:
        s = self.settings.service
        self._check_bind(s.agi_host)
        self._check_bind(s.audiosocket_host)
        shared = s.workers > 1  # the FastAGI port is shared by the workers; each has its own AudioSocket port
        media_port = s.audiosocket_port + self.worker if s.audiosocket_port else 0
        try:
            self._servers.append(
                await asyncio.start_server(
                    self._on_agi, s.agi_host, s.agi_port, reuse_address=True, reuse_port=shared or None
                )
            )
            self._servers.append(
                await asyncio.start_server(self._on_media, s.audiosocket_host, media_port, reuse_address=True)
            )
        except OSError as exc:
            await self.stop()
            raise IvrError(
                f"cannot listen: {exc.strerror} (is another `ivr serve` running? ports are settings "
                "service.agi_port / service.audiosocket_port)"
            ) from None
        log.info(
            "FastAGI on %s:%d, AudioSocket on %s:%d%s",
            s.agi_host,
            self.agi_port,
            s.audiosocket_host,
            self.audiosocket_port,
            f" (worker {self.worker} of {s.workers})" if shared else "",
        )

    @property
    def agi_port(self) -> int:
        return int(self._servers[0].sockets[0].getsockname()[1])

    @property
    def audiosocket_port(self) -> int:
        return int(self._servers[1].sockets[0].getsockname()[1])

    @property
    def media_address(self) -> str:
        """host:port Asterisk connects to for this process's calls (``audiosocket_advertise`` with this
        worker's port offset, or the address it listens on)."""
        s = self.settings.service
        if s.audiosocket_advertise:
            host, _, port = s.audiosocket_advertise.rpartition(":")
            if self.worker and port.isdigit():
                return f"{host}:{int(port) + self.worker}"
            return s.audiosocket_advertise
        return f"{s.audiosocket_host}:{self.audiosocket_port}"

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- media -------------------------------------------------------------------------------------------
    def _track(self) -> None:
        """Keep the running handler in the task set until it is done, whatever ends it (a cancel included)."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _on_media(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._track()
        try:
            if not self._peer_allowed(writer):
                return
            try:
                first = await asyncio.wait_for(read_packet(reader), 2.0)
            except TimeoutError:
                log.warning("AudioSocket connection sent no packet within 2 s; closed")
                return
            except ProtocolError as exc:
                log.warning("AudioSocket connection closed before its call UUID: %s", exc)
                return
            if first is None or first.kind is not Kind.UUID:
                log.warning("AudioSocket connection without a call UUID; closed")
                return
            try:
                call_id = first.call_uuid
            except ProtocolError as exc:
                log.warning("AudioSocket connection with a malformed call UUID: %s; closed", exc)
                return
            pending = self.pending.pop(call_id, None)
            if pending is None:
                log.warning("AudioSocket connection for unknown call %s; closed", call_id)
                return
            try:
                end = await pending.run(reader, writer)
                if not pending.done.done():
                    pending.done.set_result(end)
            except BaseException as exc:
                if not pending.done.done():
                    if isinstance(exc, asyncio.CancelledError):
                        # Cancel, not set_exception: a CancelledError stored in a future nobody awaits any
                        # more (the AGI side was cancelled too, at shutdown) is logged with its traceback when
                        # the future is collected, which on CPython 3.11 can happen inside ast.parse and
                        # corrupt the parser's state ("AST constructor recursion depth mismatch").
                        pending.done.cancel()
                    else:
                        pending.done.set_exception(exc)
                raise
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("media leg failed")
        finally:
            await close_writer(writer)

    async def _with_media(self, agi: AgiSession, run: Callable[..., Awaitable[CallEnd | None]]) -> CallEnd | None:
        """EXEC AudioSocket and run ``run`` on the connection Asterisk opens; None if it never came."""
        call_id = uuid.uuid4()
        pending = _PendingMedia(run)
        self.pending[call_id] = pending
        exec_task = asyncio.create_task(agi.exec("AudioSocket", f"{call_id},{self.media_address}", timeout=None))
        try:
            waiting: set[asyncio.Future[Any]] = {exec_task, pending.done}
            done, _ = await asyncio.wait(waiting, timeout=MEDIA_CONNECT_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED)
            # The UUID leaves `pending` when Asterisk's AudioSocket connection arrives; the call may still run.
            if pending.done not in done and call_id in self.pending:
                log.warning("Asterisk did not open the media leg for call %s", call_id)
                return None
            end = await pending.done
            try:
                await asyncio.wait_for(exec_task, 5.0)
            except (AgiError, TimeoutError):
                pass
            return end
        finally:
            self.pending.pop(call_id, None)
            if not exec_task.done():
                exec_task.cancel()
            await asyncio.gather(exec_task, return_exceptions=True)  # also retrieves its exception

    # -- AGI ------------------------------------------------------------------------------------------------
    async def _on_agi(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        agi = AgiSession(reader, writer)
        self._track()
        try:
            if not self._peer_allowed(writer):
                return
            await agi.read_env()
            script = agi.script
            if script == "health":
                return  # the dialer's check that the service answers (before each batch)
            if script == "collect":
                await self._collect(agi)
            elif script == "voicemail":
                await self._voicemail(agi)
            elif script == "greet":
                await self._greet(agi)
            else:
                log.warning("unknown AGI script %r", script)
                await agi.command('VERBOSE "ivr: unknown AGI script" 1')
        except AgiHangup:
            log.info("channel hung up during AGI")
        except (AgiError, TimeoutError, ConnectionError, OSError) as exc:
            log.warning("AGI session ended: %s", exc or type(exc).__name__)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("AGI session failed")
        finally:
            await close_writer(writer)

    async def _attempt_id(self, agi: AgiSession) -> int | None:
        raw = await agi.get_variable("IVR_ATTEMPT_ID")
        try:
            return int(raw) if raw else None
        except ValueError:
            log.warning("IVR_ATTEMPT_ID %r is not an attempt id", raw)
            return None

    async def _collect(self, agi: AgiSession) -> None:
        attempt_id = await self._attempt_id(agi)
        logs.bind(attempt_id=attempt_id, stage="collect")
        if attempt_id is None:
            await agi.set_variable("IVR_OUTCOME", "failed")
            return
        try:
            info = await asyncio.to_thread(results.load_call, self.sessions, attempt_id)
            context = context_for(info, utcnow())
            flow = self._flow(info)
        except IvrError as exc:
            log.warning("%s", exc)
            await agi.set_variable("IVR_OUTCOME", "failed")
            return
        if info.records_calls:
            # The notice only when Asterisk really records (MixMonitor started by the dialplan at answer):
            # announcing a recording that does not exist would be a false statement to the consumer.
            recording = await agi.get_variable("IVR_RECORDING_FILE")
            if not recording:
                log.warning(
                    "attempt %s: the campaign records calls but Asterisk started no recording (dialplan "
                    "without MixMonitor, or app_mixmonitor not loaded); the recording notice is not said",
                    attempt_id,
                )
                context = dataclasses.replace(context, records_call=False)
        await asyncio.to_thread(
            results.mark_answered, self.sessions, attempt_id, agi.env.get("channel", ""), agi.env.get("uniqueid", "")
        )
        engine = DialogEngine(context, self.catalog, flow=flow)
        self.render_ahead(context, flow)
        recorder = CallRecorder(self.sessions, info, lambda: engine.identity_confirmed)
        self.active += 1
        metrics.CALLS_ACTIVE.inc()
        try:
            end = await self._with_media(
                agi,
                lambda r, w: CallMedia(
                    r, w, engine, self.speech, recorder, max_call_s=self.settings.service.max_call_seconds
                ).run(),
            )
        finally:
            self.active -= 1
            metrics.CALLS_ACTIVE.dec()
            await recorder.close()
        if end is None:
            # The media leg never connected: nobody heard the bot, so this is a failed call (retried soon,
            # no daily attempt used), not a hang-up.
            await asyncio.to_thread(
                results.record_outcome,
                self.sessions,
                attempt_id,
                "failed",
                note="media leg never connected",
                identity_confirmed=False,
            )
            await agi.set_variable("IVR_OUTCOME", "failed")
            return
        st = end.stats
        log.info(
            "attempt %s ended: %s%s; first audio %s ms, turn latencies %s ms, %d late frames of %d, "
            "%d frames starved mid-prompt, %.1f s of caller audio decoded",
            attempt_id,
            end.outcome.outcome if end.outcome else "none",
            " (caller hung up)" if end.hung_up else "",
            f"{st.answer_to_first_audio_ms:.0f}" if st.answer_to_first_audio_ms is not None else "-",
            ",".join(f"{x:.0f}" for x in st.turn_latencies_ms) or "-",
            st.underruns,
            st.frames_sent,
            st.starved_frames,
            st.asr_bytes / 16000,
        )
        metrics.call_ended(st, end.outcome.outcome if end.outcome else None)
        if agi.hung_up or end.hung_up:
            return
        if end.outcome is not None:
            await agi.set_variable("IVR_OUTCOME", end.outcome.outcome)
        if end.transfer is not None:
            ctx = end.transfer.context
            # identity=0 tells the agent nothing about the debt may be said before they confirm who is speaking.
            parts = [
                f"debtor={ctx.get('debtor_id', '')}",
                f"reason={end.transfer.reason}",
                f"identity={1 if ctx.get('identity_confirmed') else 0}",
            ]
            if ctx.get("promised_date"):
                parts.append(f"promised={ctx['promised_date']}")
            # ';'-separated, no commas: the dialplan passes it on as one value (see extensions_ivr.conf).
            await agi.set_variable("IVR_TRANSFER", ";".join(p.replace(",", " ") for p in parts))
            if end.outcome is None or end.outcome.outcome == "transferred":
                await agi.set_variable("IVR_OUTCOME", "transferred")

    def render_ahead(self, context: CallContext, flow: Flow | None = None) -> list[Future[bytes]]:
        """Queue the call's personal prompts into the TTS cache before the media leg connects (issue 12): the
        opening turn (greeting, recording notice, identity question with the name) and the turn after a
        "sim" (the disclosure with the amount and the dates). A second engine, the same pure one the call
        runs, says which: it picks the same variants. The renders wait behind every prompt a caller is
        waiting for (``Level.PREFETCH``); nothing is played from here, so nothing is disclosed early.
        """
        try:
            probe = DialogEngine(context, self.catalog, flow=flow)
            says = [a for a in probe.handle(CallStarted(0.0)) if isinstance(a, Say)]
            says += [a for a in probe.handle(Digit("1", 8.0)) if isinstance(a, Say)]
        except Exception as exc:  # the call itself will meet the same problem and handle it
            log.debug("render ahead skipped: %s: %s", type(exc).__name__, exc)
            return []
        return prefetch(self.speech, says, Level.PREFETCH)

    async def _greet(self, agi: AgiSession) -> None:
        """A line answered in silence: "Alô? Aqui é o assistente virtual de …" before AMD decides again.

        Many people answer and wait for the caller to speak; AMD alone classes that silence as a machine
        (INITIALSILENCE) and they would hear the voicemail message. Nothing about the debt (disclosure none).
        The prompt is stored as turn 0 of the attempt, before the conversation's own turns.
        """
        attempt_id = await self._attempt_id(agi)
        creditor = ""
        if attempt_id is not None:
            try:
                creditor = (await asyncio.to_thread(results.load_call, self.sessions, attempt_id)).creditor_name
            except IvrError as exc:
                log.warning("%s", exc)
        rendered = self.catalog.render(
            "silent_line", {"credor": creditor or "Central de Atendimento"}, seed=attempt_id or 0
        )
        say = Say(
            "silent_line",
            rendered.text,
            False,
            rendered.disclosure,
            rendered.tts,
            rendered.variant,
            rendered.pause_after_ms,
        )
        end = await self._with_media(agi, lambda r, w: play_only(r, w, say, self.speech))
        if attempt_id is not None and end is not None:
            await asyncio.to_thread(results.record_turn, self.sessions, attempt_id, 0, "bot", rendered.text)

    async def _voicemail(self, agi: AgiSession) -> None:
        """A neutral message for an answering machine: nothing about the debt (CDC art. 42, LGPD)."""
        attempt_id = await self._attempt_id(agi)
        logs.bind(attempt_id=attempt_id, stage="voicemail")
        creditor, first_name = "", ""
        if attempt_id is not None:
            try:
                info = await asyncio.to_thread(results.load_call, self.sessions, attempt_id)
                creditor, first_name = info.creditor_name, (info.debtor_name.split() or [""])[0]
            except IvrError as exc:
                log.warning("%s", exc)
        # Linted as said (the catalog lint, then the words with the names taken out): never the debt.
        values = {"credor": creditor or "Central de Atendimento", "primeiro_nome": first_name or "você"}
        rendered = self.catalog.render("voicemail", values, seed=attempt_id or 0)
        problems = lint_rendered(self.catalog, rendered, values)
        if problems:
            log.error("attempt %s: voicemail message not played: %s", attempt_id, "; ".join(problems))
            if attempt_id is not None:
                await asyncio.to_thread(
                    results.record_outcome,
                    self.sessions,
                    attempt_id,
                    "voicemail",
                    note="voicemail, message refused by the prompt linter",
                )
            if not agi.hung_up:
                await agi.set_variable("IVR_OUTCOME", "voicemail")
            return
        say = Say(
            "voicemail",
            rendered.text,
            False,
            rendered.disclosure,
            rendered.tts,
            rendered.variant,
            rendered.pause_after_ms,
        )
        end = await self._with_media(agi, lambda r, w: play_only(r, w, say, self.speech))
        if attempt_id is not None:
            # The message as a bot turn: what was left on a machine must be auditable like any call.
            if end is not None:
                await asyncio.to_thread(results.record_turn, self.sessions, attempt_id, 1, "bot", rendered.text)
            await asyncio.to_thread(
                results.record_outcome,
                self.sessions,
                attempt_id,
                "voicemail",
                note="neutral message left" if end else "voicemail, message not played",
            )
            metrics.outcome("voicemail")
        if not agi.hung_up:
            await agi.set_variable("IVR_OUTCOME", "voicemail")


async def play_only(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, say: Say, speech: Speech) -> CallEnd:
    """Play one prompt over a media leg and close it (voicemail)."""

    class _OneShot:
        done = False

        def handle(self, event: Any) -> list[Any]:
            if self.done:
                return []
            self.done = True
            return [say]

    media = CallMedia(reader, writer, _OneShot(), speech, lambda a, d: None)  # type: ignore[arg-type]
    return await media.run()


async def serve(
    settings: Settings,
    sessions: sessionmaker[Session],
    speech: Speech,
    ready: Callable[[CallService], None] | None = None,
    *,
    worker: int = 0,
) -> None:
    # asyncio.to_thread (the database writes of every call) runs in named threads: CPU per purpose in top -H.
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(
            max(4, (os.cpu_count() or 2) * 2),
            thread_name_prefix="ivr-db",
            initializer=lambda: name_native_thread(threading.current_thread().name.replace("_", "-")),
        )
    )
    service = CallService(settings, sessions, speech, worker=worker)
    await service.start()
    if ready:
        ready(service)
    lag_probe = asyncio.create_task(metrics.watch_event_loop())
    try:
        await asyncio.Event().wait()
    finally:
        lag_probe.cancel()
        await service.stop()


__all__ = ["CallService", "CallRecorder", "build_speech", "context_for", "play_only", "serve"]
