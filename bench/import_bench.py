"""Import benchmark: rows per second and peak memory of `ivr import` for generated files (default 1,000,000 rows).

Runs the real command in a child process per size so peak memory (ru_maxrss of the child) is the import's
alone; flat memory shows as the same peak for 100,000 and 1,000,000 rows.

    .venv/bin/python bench/import_bench.py [--rows 1000000] [--postgres]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr.br.cpf import cpf_with_check_digits

IVR = str(Path(sys.executable).with_name("ivr"))
FIRST = ["MARIA", "JOSÉ", "ANA", "JOÃO", "ANTÔNIO", "FRANCISCA", "CARLOS", "PAULO", "LUCAS", "LUIZA"]
LAST = ["SILVA", "SANTOS", "OLIVEIRA", "SOUZA", "RODRIGUES", "FERREIRA", "ALVES", "PEREIRA", "LIMA", "GOMES"]
DDDS = [11, 21, 31, 41, 51, 61, 71, 81, 91, 68, 65, 92, 97, 85, 62]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    with path.open("w", encoding="utf-8") as fh:
        fh.write("nome;cpf;telefone;valor;vencimento;contrato;uf\n")
        for i in range(rows):
            name = f"{rnd.choice(FIRST)} {rnd.choice(LAST)} {rnd.choice(LAST)}"
            cpf = cpf_with_check_digits(f"{100000000 + i:09d}")
            phone = f"({rnd.choice(DDDS)}) 9{rnd.randint(1000, 9999)}-{rnd.randint(1000, 9999)}"
            cents = rnd.randint(5000, 500000)
            amount = f"{cents // 100:,}".replace(",", ".") + f",{cents % 100:02d}"
            due = f"{rnd.randint(1, 28):02d}/{rnd.randint(1, 12):02d}/2026"
            fh.write(f"{name};{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]};{phone};{amount};{due};K{i:08d};\n")


def run_import(csv: Path, env: dict[str, str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(
        [IVR, "campaign", "create", "bench", "--creditor", "Banco Bench"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    start = time.perf_counter()
    out = subprocess.run(
        [IVR, "import", str(csv), "--campaign", "bench"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    elapsed = time.perf_counter() - start
    peak_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    return elapsed, peak_mb, out


def main() -> None:
    # A kill must still stop the PostgreSQL server this run started (the finally blocks below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--postgres", action="store_true", help="also import into a PostgreSQL started for the run")
    args = ap.parse_args()
    sizes = sorted({min(100_000, args.rows), args.rows})
    backends = ["sqlite"] + (["postgresql"] if args.postgres else [])
    print(f"{'backend':<11} {'rows':>10} {'seconds':>9} {'rows/s':>9} {'peak MB':>8}")
    with tempfile.TemporaryDirectory(prefix="ivr-import-bench-") as tmp:
        for backend in backends:
            server = None
            if backend == "postgresql":
                from ivr.testing.postgres import PostgresServer

                server = PostgresServer()
                server.start()
            try:
                for rows in sizes:
                    csv = Path(tmp) / f"devedores-{rows}.csv"
                    if not csv.exists():
                        generate(csv, rows)
                    env = {**os.environ, "IVR_DATA_DIR": f"{tmp}/var-{backend}-{rows}", "IVR_PRIVACY_HMAC_KEY": "bench"}
                    if server is not None:
                        env["IVR_DATABASE_URL"] = server.new_database()
                    elapsed, peak, out = run_import(csv, env)
                    # ru_maxrss of children is a running maximum: sizes go up, so each line is that size's peak.
                    print(f"{backend:<11} {rows:>10,} {elapsed:>9.1f} {rows / elapsed:>9,.0f} {peak:>8.0f}   {out}")
            finally:
                if server is not None:
                    server.stop()


if __name__ == "__main__":
    main()
