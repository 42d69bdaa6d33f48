# The two commands a newcomer needs are `make run` and `make test`; the rest serve them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: help deps run test test-unit services-up services-down lint typecheck format up down

help:
	@echo "make run        start the service (embedded event store, in-memory read models)"
	@echo "make test       install, start test servers, run every test tier, stop the servers"
	@echo "make up | down  the real stack in containers (compose.yaml; needs a Docker engine)"
	@echo "make test-unit  the unit tests only, without servers"
	@echo "make lint | typecheck | format | services-up | services-down"

deps: node_modules/.installed

run: deps
	npx tsx src/app/main.ts

test: deps
	bash scripts/test.sh

test-unit: deps
	bash scripts/test.sh --no-services test/unit

services-up: deps
	bash scripts/services.sh up

services-down:
	bash scripts/services.sh down

lint: deps
	npx biome check .

format: deps
	npx biome check --write .

typecheck: deps
	npx tsc --noEmit -p tsconfig.json

up:
	docker compose up --build --detach

down:
	docker compose down
