# The two commands a newcomer needs: `make demo` and `make test`.
# Both set up everything themselves (system packages, .venv, sandbox, models).
PY := .venv/bin/python
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: bootstrap test typecheck lint e2e demo bench clean

bootstrap:
	@scripts/bootstrap.sh

test: bootstrap typecheck lint
	.venv/bin/ivr flow check
	.venv/bin/ivr prompts check
	$(PY) -m pytest

typecheck: bootstrap
	$(PY) -m mypy

lint: bootstrap
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

e2e: bootstrap
	$(PY) -m pytest -m asterisk

demo: bootstrap
	$(PY) scripts/demo.py

bench: bootstrap
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf .venv build *.egg-info .pytest_cache
