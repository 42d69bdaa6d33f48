#!/usr/bin/env bash
# Lints the service's OpenAPI document with Redocly's recommended ruleset (redocly.yaml beside
# this script's project root): no errors allowed; warnings are printed.
#
# Usage: scripts/lint-openapi.sh [openapi.json]
#   Without an argument the document is written from the routes (scripts/write-openapi.ts),
#   in process: no service, no port. The linter is installed once under .tools and reused.
set -euo pipefail
cd "$(dirname "$0")/.."

version=2.77.0
prefix=.tools/openapi-lint
bin=$prefix/node_modules/.bin/redocly

if [[ ! -x $bin ]] || [[ "$(node -p "require(\"./$prefix/node_modules/@redocly/cli/package.json\").version" 2> /dev/null)" != "$version" ]]; then
  echo "installing the OpenAPI linter @redocly/cli@$version into $prefix" >&2
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --no-save --loglevel=error "@redocly/cli@$version" >&2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
document=${1:-}
if [[ -z $document ]]; then
  document=$work/openapi.json
  node --import tsx scripts/write-openapi.ts > "$document"
fi
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
  "$bin" lint --config scripts/redocly.yaml --format stylish "$document"
