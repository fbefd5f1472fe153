#!/usr/bin/env python3
"""A runnable example receiver for the ivr-cobranca webhook (standard library only).

    IVR_OUTBOX_WEBHOOK_SECRET=segredo python3 examples/webhook_receiver.py --port 8085 --store eventos.jsonl

then point the bot at it: ``IVR_OUTBOX_WEBHOOK_URL=http://127.0.0.1:8085/ivr`` and run ``ivr outbox run``.

What a real receiver (the creditor's SMS/WhatsApp platform or CRM) must do, shown here:
1. verify ``X-IVR-Signature`` (``sha256=`` + hex HMAC-SHA256 of the RAW body under the shared secret) and
   answer 401 when it does not match;
2. drop repeats by ``Idempotency-Key``: delivery is at least once (a retry after a timeout, a worker that
   died mid-delivery), so the same event may arrive twice; answer 200 to a repeat without acting again;
3. store the event durably BEFORE answering 2xx (anything else is retried with backoff).
The body's shape is ``ivr/outbox/webhook-events.schema.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_handler(secret: bytes, store: Path) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()
    seen: set[str] = set()
    if store.exists():
        for line in store.read_text(encoding="utf-8").splitlines():
            if line.strip():
                seen.add(json.loads(line)["id"])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, self.headers.get("X-IVR-Signature", "")):
                self._answer(401, "bad signature")
                return
            event = json.loads(body)
            key = self.headers.get("Idempotency-Key", "")
            if key != event.get("id"):
                self._answer(400, "Idempotency-Key does not match the body's id")
                return
            with lock:
                if key in seen:
                    self._answer(200, "already received")
                    return
                with store.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(event, ensure_ascii=False) + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                seen.add(key)
            self._act(event)
            self._answer(200, "ok")

        def _act(self, event: dict[str, object]) -> None:
            data = event.get("data")
            if event.get("type") == "payment_instruction.requested" and isinstance(data, dict):
                # Here the creditor's platform would send the PIX code, boleto line or link.
                print(f"enviar {data.get('method')} por {data.get('channel')}: {data.get('payload')}", flush=True)
            else:
                print(f"{event.get('type')} (chamada {event.get('attempt_id')})", flush=True)

        def _answer(self, status: int, text: str) -> None:
            payload = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8085)
    parser.add_argument("--store", type=Path, default=Path("webhook-events.jsonl"))
    args = parser.parse_args()
    secret = os.environ.get("IVR_OUTBOX_WEBHOOK_SECRET", "")
    if not secret:
        sys.exit("set IVR_OUTBOX_WEBHOOK_SECRET to the secret the bot signs with")
    server = ThreadingHTTPServer((args.host, args.port), make_handler(secret.encode(), args.store))
    print(f"listening on http://{args.host}:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
