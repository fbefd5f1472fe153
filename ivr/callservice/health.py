"""Is the call service up? A FastAGI request for the ``health`` script, answered by ``ivr serve`` with a close.

A listening socket is not enough (a stopped process still accepts connections into its backlog): the
check sends an AGI environment and waits for the service to end the session, within a timeout.
"""

from __future__ import annotations

import asyncio

HEALTH_SCRIPT = "health"


def parse_address(text: str, default_port: int = 4573) -> tuple[str, int]:
    """``host:port`` (or ``host``) → (host, port)."""
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    return (host or "127.0.0.1"), int(port) if port.isdigit() else default_port


async def check_fastagi(host: str, port: int, timeout: float = 1.0) -> str | None:
    """None when the service answered the health request; else why not, in a few words."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        return f"{host}:{port}: {getattr(exc, 'strerror', None) or type(exc).__name__}"
    try:
        writer.write(
            f"agi_network: yes\nagi_network_script: {HEALTH_SCRIPT}\nagi_request: agi://{host}:{port}/"
            f"{HEALTH_SCRIPT}\n\n".encode()
        )
        await writer.drain()
        await asyncio.wait_for(reader.read(), timeout)  # the service closes the session at once
        return None
    except (OSError, TimeoutError) as exc:
        return f"{host}:{port}: no answer ({getattr(exc, 'strerror', None) or type(exc).__name__})"
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), timeout)
        except (OSError, TimeoutError):
            pass
