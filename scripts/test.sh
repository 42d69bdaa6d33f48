#!/usr/bin/env bash
# make test: start the real test servers, run every test tier, stop the servers.
# Usage: scripts/test.sh [--no-services] [path ...]   (paths default to test/)
set -euo pipefail
cd "$(dirname "$0")/.."

with_services=1
if [[ "${1:-}" == "--no-services" ]]; then with_services=0; shift; fi
paths=("$@")
[[ ${#paths[@]} -gt 0 ]] || paths=(test)

# The servers are stopped however this script ends: success, a failing test, Ctrl-C or TERM.
# The test runner runs in the background and is awaited, so a signal is handled at once rather
# than after the runner exits; the handler stops the runner before the servers go.
runner=''
stop_runner() {
  [[ -n $runner ]] || return 0
  kill -TERM "$runner" 2> /dev/null || return 0
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$runner" 2> /dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$runner" 2> /dev/null || true
}
on_exit() {
  stop_runner
  if [[ $with_services == 1 ]]; then bash scripts/services.sh down; fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ $with_services == 1 ]]; then bash scripts/services.sh up; fi

# Two tiers: everything that shares the servers runs two files at a time; tests that take a server
# away (test/disruptive/) run afterwards, one at a time, so they never pull the rug from another.
mapfile -t files < <(find "${paths[@]}" -name '*.test.ts' -not -path '*/disruptive/*' | sort)
mapfile -t disruptive < <(find "${paths[@]}" -name '*.test.ts' -path '*/disruptive/*' | sort)
if [[ $((${#files[@]} + ${#disruptive[@]})) -eq 0 ]]; then
  echo "no test files under ${paths[*]}" >&2
  exit 1
fi

log=$(mktemp)
status=0
run_tier() {
  local concurrency=$1
  shift
  [[ $# -gt 0 ]] || return 0
  local part="$log.part"
  : > "$part"
  node --import tsx --test --test-concurrency="$concurrency" --test-timeout=300000 "$@" > "$part" 2>&1 &
  runner=$!
  # Stream the runner's output while it runs; tail ends with the runner.
  tail -n +1 -f --pid="$runner" "$part"
  wait "$runner" || status=1
  runner=''
  cat "$part" >> "$log"
  rm -f "$part"
}
run_tier 2 "${files[@]}"
run_tier 1 "${disruptive[@]}"

passed=$(awk '/^# pass /{n += $3} END {print n + 0}' "$log")
failed=$(awk '/^# (fail|cancelled) /{n += $3} END {print n + 0}' "$log")
rm -f "$log"
echo "tests: ${passed} passed, ${failed} failed"
exit "$status"
