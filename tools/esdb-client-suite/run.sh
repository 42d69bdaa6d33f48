#!/usr/bin/env bash
# Runs the official Node client's test suite (v6.2.1, unmodified) against the embedded event store.
#
#   tools/esdb-client-suite/run.sh <client repository: git dir or checkout> [jest arguments...]
#
# Everything it installs or writes lives in $ESDB_SUITE_DIR (default /tmp/esdb-client-suite), never
# in the project. Only the suite's docker test node (src/utils/Cluster.ts) and its docker preflight
# are replaced; the files listed in not-applicable.json are not run. Results: $ESDB_SUITE_DIR/results.json
# and a summary on stdout.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
client="${1:?usage: run.sh <client repository git dir or checkout> [jest arguments...]}"
shift
tag="${ESDB_CLIENT_TAG:-v6.2.1}"
work="${ESDB_SUITE_DIR:-/tmp/esdb-client-suite}"

mkdir -p "$work"
if ! cmp -s "$here/package.json" "$work/package.json" || [ ! -d "$work/node_modules" ]; then
  cp "$here/package.json" "$work/package.json"
  (cd "$work" && npm install --no-audit --no-fund --loglevel=error)
fi

rm -rf "$work/client" "$work/instances"
mkdir -p "$work/client" "$work/instances"
if git --git-dir="$client" rev-parse --verify -q "$tag^{commit}" >/dev/null 2>&1; then
  git --git-dir="$client" archive "$tag" packages | tar -x -C "$work/client"
elif git --git-dir="$client/.git" rev-parse --verify -q "$tag^{commit}" >/dev/null 2>&1; then
  git --git-dir="$client/.git" archive "$tag" packages | tar -x -C "$work/client"
else
  echo "no tag $tag in $client" >&2
  exit 2
fi
git --git-dir="$client" show "$tag:tsconfig.base.json" >"$work/client/tsconfig.base.json" 2>/dev/null ||
  git --git-dir="$client/.git" show "$tag:tsconfig.base.json" >"$work/client/tsconfig.base.json"

suite="$work/client/packages/test"
cp "$here/stand-in/Cluster.ts" "$suite/src/utils/Cluster.ts"
cp "$here/stand-in/preflight.ts" "$suite/src/utils/preflight.ts"
cat >"$suite/jest.config.js" <<'EOF'
module.exports = {
  testTimeout: 60_000,
  preset: "ts-jest",
  testMatch: ["**/src/**/*.test.ts", "**/src/samples/*.ts"],
  globalSetup: "<rootDir>/src/utils/preflight.ts",
  moduleNameMapper: {
    "@test-utils": "<rootDir>/src/utils",
    "^@eventstore/opentelemetry$": "<rootDir>/../opentelemetry/src/index.ts",
    "^@eventstore/opentelemetry/dist/(.*)$": "<rootDir>/../opentelemetry/src/$1",
  },
  globals: { "ts-jest": { tsconfig: "./tsconfig.json", isolatedModules: true } },
};
EOF

ignore=$(node -e 'const l=require(process.argv[1]);console.log(Object.keys(l.files).map(f=>"/src/"+f.replace(/[.]/g,"[.]")+"$").join("|"))' "$here/not-applicable.json")

cd "$suite"
set +e
ESDB_EMULATOR_ROOT="$root" ESDB_SUITE_CERTS="$work/certs" ESDB_SUITE_INSTANCES="$work/instances" \
  "$work/node_modules/.bin/jest" "$@" --maxWorkers="${ESDB_SUITE_WORKERS:-2}" --json --outputFile="$work/results.json" \
  --forceExit --testPathIgnorePatterns="$ignore" 2>"$work/jest.log"
set -e
node "$here/summarize.mjs" "$work/results.json" "$here/not-applicable.json"
