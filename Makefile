# The two commands a newcomer needs: `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: run test test-sqlite test-pg lint bench bench-brackets bench-results bench-bracket-page bench-realtime install migrate demo worker clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/flask db upgrade

demo: migrate
	$(BIN)/flask demo

## make run: install, migrate, load demo data, serve http://127.0.0.1:$(PORT) (HTTP + WebSockets)
run: demo
	@echo ""
	@echo "  Bracketeer on http://127.0.0.1:$(PORT)   (Ctrl-C stops it)"
	@echo "  Watch a tournament play itself: in another terminal,"
	@echo "    .venv/bin/flask --app wsgi demo live      (then open /t/demo-cup/bracket)"
	@echo ""
	PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

## make test: the whole suite on SQLite, then on PostgreSQL + Redis when they are reachable
test: install
	$(BIN)/ruff check .
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$TEST_DATABASE_URL" ] || pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
		$(MAKE) --no-print-directory test-pg; \
	else \
		echo "PostgreSQL is not reachable on 127.0.0.1:5432: skipped the PostgreSQL + Redis pass (bash .ci/run starts it)."; \
	fi

test-sqlite: install
	@echo "== suite on SQLite (in-process broker and jobs) =="
	env -u TEST_DATABASE_URL -u TEST_REDIS_URL $(BIN)/pytest -n 2 --dist loadgroup

test-pg: install
	@echo "== suite on PostgreSQL + Redis =="
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} \
	TEST_REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379} \
	$(BIN)/pytest -n 2 --dist loadgroup

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/pages.py

## make bench-results: matches completed per second through HTTP (SQLite, then PostgreSQL)
bench-results: install
	$(BIN)/python bench/results.py

## make bench-realtime: spectator sockets (1,000 … 10,000) fed by real confirmations, vs asyncio
bench-realtime: install
	$(BIN)/python bench/realtime.py

## make bench-brackets: engine vs brackets-manager.js (installs it into bench/.node/ with npm)
bench-brackets: install
	$(BIN)/python bench/brackets.py

## make bench-bracket-page: server time of a 256-entrant double elimination's page and live fragments
bench-bracket-page: install
	$(BIN)/python bench/bracket_page.py

worker: install
	$(BIN)/python -m worker

clean:
	rm -rf $(VENV) instance
