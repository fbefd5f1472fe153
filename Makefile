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

# Modules kept in `ruff format` style. Not the whole tree: a mass reformat would conflict with every
# branch in flight; add a file here when you own or rewrite it.
RUFF_FORMATTED := ivr/resources.py ivr/metrics.py ivr/logs.py ivr/cli/config_cmds.py \
	tests/packaging tests/deploy tests/callservice/test_metrics.py tests/doctor/test_doctor_production.py \
	tests/config/test_settings_location.py tests/config/test_settings_strict.py

lint: bootstrap
	$(PY) -m ruff check .
	$(PY) -m ruff format --check $(RUFF_FORMATTED)

e2e: bootstrap
	$(PY) -m pytest -m asterisk

demo: bootstrap
	$(PY) scripts/demo.py

bench: bootstrap
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf .venv build *.egg-info .pytest_cache
