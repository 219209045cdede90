#!/usr/bin/env bash
# The README's test command. Sets up what the tests need on a fresh machine with only .NET 10 and Node.js 20, then
# runs every test project: ./test.sh [dotnet test arguments, e.g. --filter Category=X]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# The pinned Azurite the engine tests start (npm ci only when it is missing or the lock file changed since).
if [[ ! -f node_modules/azurite/dist/src/azurite.js || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "== test.sh: installing the pinned Azurite (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# Debian's chromium for the dashboard's browser tests (Playwright's own browser download does not work here).
if [[ -z "${DURABLEJOBS_CHROMIUM:-}" && ! -x /usr/bin/chromium ]]; then
  if ! command -v apt-get >/dev/null; then
    echo "test.sh: the dashboard tests need Chromium: install it, or set DURABLEJOBS_CHROMIUM to its executable" >&2
    exit 1
  fi
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    sudo="sudo"
  fi
  echo "== test.sh: installing Debian's chromium (apt-get)"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends chromium
fi

echo "== test.sh: dotnet test"
exec dotnet test "$@"
