# The entry point for people and CI. `make run` serves the site; `make test` runs every check.
.PHONY: run test venv lint format messages bench-reader bench-submit bench-queue bench-revisions bench-audit clean

venv:
	@scripts/venv.sh

run: venv
	@scripts/run.sh

test: venv
	@scripts/test.sh $(ARGS)

lint: venv
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/lint-imports

format: venv
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .

messages: venv
	.venv/bin/python manage.py makemessages -l fr --ignore=.venv --ignore=var && \
	.venv/bin/python manage.py compilemessages --ignore=.venv

bench-reader: venv
	.venv/bin/python bench/reader.py

bench-submit: venv
	.venv/bin/python bench/submit.py

bench-queue: venv
	.venv/bin/python bench/triage_queue.py $(ARGS)

bench-audit: venv
	.venv/bin/python bench/audit.py $(ARGS)

bench-revisions: venv
	.venv/bin/python bench/revisions.py $(ARGS)

clean:
	rm -rf var .venv
