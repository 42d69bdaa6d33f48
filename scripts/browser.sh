#!/usr/bin/env bash
# Makes sure Debian's chromium is installed for the console's browser test (test/e2e/console).
# The test drives it with playwright-core, which never downloads a browser of its own.
# Usage: scripts/browser.sh   (needs root, or sudo, when chromium is missing)
set -euo pipefail

browser=/usr/bin/chromium
if [[ -x $browser ]]; then exit 0; fi

as_root=()
if [[ $(id -u) -ne 0 ]]; then as_root=(sudo --non-interactive); fi
export DEBIAN_FRONTEND=noninteractive
# Wait for another package operation on this machine instead of failing on its lock.
"${as_root[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
"${as_root[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium > /dev/null
[[ -x $browser ]] || { echo "chromium was installed but $browser is missing" >&2; exit 1; }
