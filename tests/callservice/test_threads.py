"""Native thread names (ivr.callservice.threads): what bench/load.py reads to split the service's CPU."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from ivr.callservice.threads import name_native_thread


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/<pid>/task/<tid>/comm is Linux")
def test_a_thread_names_itself_for_the_kernel_truncated_to_15_bytes() -> None:
    seen: list[str] = []

    def work() -> None:
        name_native_thread("ivr-asr-worker-number-0")
        seen.append(Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip())

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen == ["ivr-asr-worker-"]


def test_no_proc_is_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threading, "get_native_id", lambda: 999_999_999)  # no such task: OSError, ignored
    name_native_thread("ivr-tts-0")
