#!/usr/bin/env bash
# make test: start the real test servers, run every test tier, stop the servers.
# Usage: scripts/test.sh [--no-services] [path ...]   (paths default to test/)
set -euo pipefail
cd "$(dirname "$0")/.."

with_services=1
if [[ "${1:-}" == "--no-services" ]]; then with_services=0; shift; fi
paths=("$@")
[[ ${#paths[@]} -gt 0 ]] || paths=(test)

if [[ $with_services == 1 ]]; then
  trap 'bash scripts/services.sh down' EXIT
  bash scripts/services.sh up
fi

mapfile -t files < <(find "${paths[@]}" -name '*.test.ts' | sort)
if [[ ${#files[@]} -eq 0 ]]; then
  echo "no test files under ${paths[*]}" >&2
  exit 1
fi
node --import tsx --test --test-concurrency=2 --test-timeout=300000 "${files[@]}"
