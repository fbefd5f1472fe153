"""The least-privilege AMI user [ivr] (dialplan/manager_ivr.conf) as the dialer uses it, on the real sandbox:
Originate, the OriginateResponse and Hangup of its own channel through the event filters, CoreShowChannels
(the dialer's recovery after a restart or reconnect: its CoreShowChannel events must not be filtered away),
and a reconnect. A reviewer's check of issue 15 §2."""

from __future__ import annotations

import asyncio
import time

import pytest

from ivr.asterisk.ami import AmiClient, Message
from tests.e2e.conftest import AsteriskSandbox

pytestmark = pytest.mark.asterisk

NO_ANSWER_PHONE = "11990000005"  # rings and never answers (debtor_sim.conf)


def test_dialer_rights_originate_events_channels_and_reconnect(asterisk_sandbox: AsteriskSandbox) -> None:
    s = asterisk_sandbox
    attempt = f"ivr-{990000 + int(time.time()) % 10000}"

    async def run() -> tuple[set[str], list[Message], set[str]]:
        events: list[Message] = []
        client = AmiClient(s.ami_host, s.ami_port, s.ami_user, s.ami_secret, events.append)
        await client.connect()
        try:
            reply = await client.action(
                "Originate",
                [
                    ("Channel", f"Local/{NO_ANSWER_PHONE}@debtor-sim"),
                    ("Context", "ivr-outbound"),
                    ("Exten", "s"),
                    ("Priority", "1"),
                    ("Timeout", "4000"),
                    ("Variable", f"IVR_ATTEMPT_ID={attempt[4:]}"),
                    ("ChannelId", attempt),
                    ("OtherChannelId", f"{attempt}-2"),
                    ("Async", "true"),
                ],
                action_id=attempt,
            )
            assert reply.get("Response") == "Success", reply
            await asyncio.sleep(1.5)
            ringing = await client.live_channel_ids()
            end = time.monotonic() + 15
            while time.monotonic() < end and not any(e.get("Event") == "OriginateResponse" for e in events):
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)
        finally:
            await client.close()
        again = AmiClient(s.ami_host, s.ami_port, s.ami_user, s.ami_secret, lambda _: None)
        await again.connect()  # the dialer's reconnect: the same user logs in again and lists channels
        try:
            after = await again.live_channel_ids()
        finally:
            await again.close()
        return ringing, events, after

    ringing, events, after = asyncio.run(run())
    assert attempt in ringing, ringing
    names = [e.get("Event") for e in events]
    fate = [e for e in events if e.get("Event") == "OriginateResponse"]
    assert fate and fate[0].get("ActionID") == attempt and fate[0].get("Reason") == "3", events
    assert any(e.get("Event") == "Hangup" and e.get("Uniqueid") == attempt for e in events), names
    # the filters: nothing but the three kinds the dialer uses
    assert set(names) <= {"OriginateResponse", "Hangup", "UserEvent"}, names
    assert attempt not in after
