# AiTrader: `make run` starts everything, `make test` runs every test suite (both from a fresh clone).
SHELL := /bin/bash
PY := .venv/bin/python

# Lock files from pyproject.toml (pip-tools, kept in .venv by the test extra); pins already locked are kept.
LOCK := .venv/bin/pip-compile -q --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links

.PHONY: lock run test soak api agent mcp-token okxsim bench replay backtest lab-worker venv frontend migrate-status backup restore deploy-build compose-config help

help:
	@echo "make run       start PostgreSQL, OKX simulator (no keys), API, agent and web app; Ctrl-C stops all"
	@echo "make test      install what is missing and run every test suite"
	@echo "make api | agent | okxsim   run one service in the foreground (configured by environment / .env)"
	@echo "make mcp-token NAME=me SCOPES=read,trade   create a named MCP token for /mcp (shown once)"
	@echo "make bench     run the benchmarks in bench/ and print their figures"
	@echo "make soak      long fault campaign, load test (1,000 triggers, 5-min reads), longer fuzzing (~11 min)"
	@echo "make replay FILE=data/candles/... [ARGS='--threshold-bps 80 --interval-secs 900']   trigger replay"
	@echo "make backtest ARGS='--file data/candles/... --inst-id XRP-USDT-SWAP [--profile NAME[@V]] [--json OUT]'   strategy lab"
	@echo "make lab-worker                run queued backtests (any number of workers sharing DATABASE_URL)"
	@echo "make migrate-status | backup [OUT=file] | restore BACKUP=file [TARGET=url] [CLEAN=1]"
	@echo "make deploy-build [ARGS=...]   build the deployable artifact (dist-deploy/) for systemd + nginx"
	@echo "make lock      remake requirements-dev.txt / requirements.txt (hashes) from pyproject.toml"
	@echo "make compose-config            validate docker-compose.yml"

venv:
	@scripts/ensure_venv.sh

frontend:
	@if [ -x frontend/scripts/build.sh ]; then frontend/scripts/build.sh; fi

run: venv frontend
	@$(PY) scripts/run.py

test:
	@scripts/ensure_venv.sh
	@scripts/test.sh

soak: venv
	@$(PY) scripts/soak.py

api: venv
	@$(PY) -m api_server

agent: venv
	@$(PY) -m agent

# A named MCP token for an outside MCP client (Claude Code, Cursor, MCP inspector): make mcp-token NAME=me SCOPES=read,trade
mcp-token: venv
	@$(PY) -m agent.mcp_tokens create $(or $(NAME),$(error give NAME=<token name>)) --scopes $(or $(SCOPES),read)

okxsim: venv
	@$(PY) -m okxsim

bench: venv
	@scripts/bench.sh

FILE ?= data/candles/freqtrade_XRP_USDT_USDT-5m-futures.json
replay: venv
	@$(PY) -m api_server.scheduler.replay $(FILE) $(ARGS)

backtest: venv
	@$(PY) -m api_server.lab.cli $(ARGS)

lab-worker: venv
	@$(PY) -m api_server.lab.worker

migrate-status: venv
	@$(PY) -c "from shared.migrate import migration_status; from shared.envfile import load_environment; \
	[print(('applied ' if a else 'pending ') + m) for m, a in migration_status(load_environment()['DATABASE_URL'])]"

backup: venv
	@scripts/db_backup.sh $(if $(OUT),-o "$(OUT)")

restore: venv
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=.data/backups/aitrader-....dump [TARGET=postgresql://...] [CLEAN=1]"; exit 2; }
	@scripts/db_restore.sh "$(BACKUP)" $(if $(TARGET),--target "$(TARGET)") $(if $(CLEAN),--clean)

lock: venv
	@$(LOCK) --extra test -o requirements-dev.txt pyproject.toml
	@$(LOCK) -o requirements.txt pyproject.toml

deploy-build:
	@bash nginx/build.sh $(ARGS)

compose-config:
	@docker-compose -f docker-compose.yml config -q 2>/dev/null || docker compose -f docker-compose.yml config -q
