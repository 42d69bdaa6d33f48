#!/usr/bin/env bash
# Fuzzes the HTTP API from its own OpenAPI document: every route, with and without API keys,
# checking for server errors, and that every status, content type, header and body the service
# answers is the one the document declares (and 405 with Allow for undeclared methods).
#
# Usage: scripts/fuzz-api.sh
#   short by default (about a minute: generated examples and random fuzzing, 10 cases per
#   operation and phase); FUZZ_LONG=1 adds the coverage phase (boundary and just-past-boundary
#   values of every parameter and body field) and 100 cases per operation, several minutes.
#   FUZZ_EXAMPLES=n, FUZZ_PHASES=a,b and FUZZ_SEED=n (default 1, so runs are repeatable) override.
# Exits non-zero when any run finds a failure; each run's summary is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

version=4.32.5
venv=.tools/schemathesis
if [[ ${FUZZ_LONG:-0} == 1 ]]; then
  examples=${FUZZ_EXAMPLES:-100}
  phases=${FUZZ_PHASES:-examples,coverage,fuzzing}
else
  examples=${FUZZ_EXAMPLES:-10}
  phases=${FUZZ_PHASES:-examples,fuzzing}
fi
seed=${FUZZ_SEED:-1}

# The fuzzer lives in its own Python environment under .tools, installed once and reused.
if [[ ! -x $venv/bin/st ]] || [[ "$("$venv/bin/st" --version 2> /dev/null)" != *"$version"* ]]; then
  echo "installing the API fuzzer $version into $venv" >&2
  # --clear: an environment moved or left half-built is made afresh, not patched.
  python3 -m venv --clear "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

work=$(mktemp -d)
service=''
stop_service() {
  [[ -n $service ]] || return 0
  kill -TERM "$service" 2> /dev/null || true
  wait "$service" 2> /dev/null || true
  service=''
}
cleanup() {
  stop_service
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts the service in embedded mode on a free port (PORT=0) with a fresh data directory and
# the given extra environment; sets $base once it logs where it listens.
start_service() {
  local log=$work/service-$1.log data=$work/data-$1
  shift
  mkdir -p "$data"
  # Created here, not by the background job's redirection, which may not have run yet.
  : > "$log"
  env "$@" PORT=0 HOST=127.0.0.1 DATA_DIR="$data" LOG_LEVEL=info \
    node --import tsx src/app/main.ts >> "$log" 2>&1 &
  service=$!
  local i
  for ((i = 0; i < 600; i++)); do
    base=$(sed -n 's/.*"url":"\(http[^"]*\)".*"msg":"service listening".*/\1/p' "$log" | head -n 1 || true)
    [[ -n $base ]] && return 0
    kill -0 "$service" 2> /dev/null || break
    sleep 0.1
  done
  echo "the service did not start:" >&2
  cat "$log" >&2
  exit 1
}

status=0
# One fuzzer run: a name, then extra arguments (headers).
fuzz() {
  local name=$1
  shift
  echo "=== fuzz: $name (phases $phases, $examples cases per operation, seed $seed)"
  # Run from the temporary directory: the fuzzer keeps a cache in its working directory.
  if ! (cd "$work" && "$root/$venv/bin/st" run "$base/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,unsupported_method \
    --phases "$phases" --max-examples "$examples" --seed "$seed" \
    --workers 1 --request-timeout 10 --no-color \
    --output-truncate true \
    "$@"); then
    status=1
    echo "=== fuzz: $name FAILED"
  fi
}

# Every error the service logged fails the run too, and is shown.
show_errors() {
  if grep -q '"level":50' "$work/service-$1.log"; then
    echo "=== errors the service logged ($1):"
    grep '"level":50' "$work/service-$1.log" | head -n 20
    status=1
  fi
}

start_service open
fuzz no-keys
stop_service
show_errors open

admin=fuzz-admin-secret-0123456789
reader=fuzz-reader-secret-0123456789
start_service keys API_KEYS="admin:admin:$admin,auditor:reader:$reader"
fuzz admin-key -H "Authorization: Bearer $admin"
fuzz reader-key -H "Authorization: Bearer $reader"
fuzz missing-key
stop_service
show_errors keys

if [[ $status == 0 ]]; then echo "=== fuzz: every run passed"; fi
exit "$status"
