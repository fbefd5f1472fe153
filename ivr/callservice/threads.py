"""Native thread names, so ``top -H``, py-spy and ``bench/load.py`` can tell the service's threads apart.

Python's ``thread_name_prefix`` names a thread for Python only; the kernel keeps the process name in every
thread's ``comm``. ``name_native_thread("ivr-asr-0")`` (from a pool initializer) writes the calling thread's
``/proc/self/task/<tid>/comm``, which the load benchmark reads to split the service's CPU (prefixes
``ivr-asr``, ``ivr-tts``, ``ivr-db``; the main thread is the event loop).
"""

from __future__ import annotations

import threading

COMM_MAX = 15
"""Linux keeps 15 bytes of a thread name (16 with the terminating NUL)."""


def name_native_thread(name: str) -> None:
    """Name the calling thread for the kernel (Linux); a no-op where ``/proc`` is not writable."""
    data = name.encode("utf-8", "replace")[:COMM_MAX]
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/comm", "wb") as f:
            f.write(data)
    except OSError:
        pass
