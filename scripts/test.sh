#!/usr/bin/env bash
# Runs the whole test suite against a real local PostgreSQL (docs/contributing.md: tests run against real things).
# Idempotent: starts (or creates) the local cluster, ensures the test role and database, exports
# BGFETCH_TEST_POSTGRES unless the caller already set one, then runs `dotnet test` in Release,
# then the nemesis suite alone, then the JavaScript client's tests and the dashboard's test in headless Chromium.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh

if [[ -z "${BGFETCH_TEST_POSTGRES:-}" ]]; then
  ensure_postgres
else
  echo "test.sh: using the BGFETCH_TEST_POSTGRES already set" >&2
fi

# Every suite writes a .trx into one folder; on the way out (pass or fail) scripts/trx-failures.py prints each failed
# test with its message and the tail of its output, last, so a log cut to its tail still says what failed.
results="${BGFETCH_TEST_RESULTS:-$(pwd)/TestResults}"
rm -rf "${results}"
export BGFETCH_TEST_RESULTS="${results}"
print_failures() {
  local status=$?
  if command -v python3 >/dev/null; then
    python3 scripts/trx-failures.py "${results}" || true
  fi
  exit "${status}"
}
trap print_failures EXIT

dotnet test BgFetchCluster.sln -c Release --results-directory "${results}" --logger trx "$@"

# The nemesis suite (tests/Chaos.Tests) on its own, never beside the timing-sensitive suites above: three nodes in
# network namespaces, a private PostgreSQL it stops and exhausts, one fault per test. It needs root (ip netns,
# runuser) and fails, never skips, without it. Only in a full run: extra arguments (a filter) are for the step above.
if [[ $# -eq 0 ]]; then
  bash scripts/chaos.sh
else
  echo "test.sh: arguments given, so the nemesis suite does not run (bash scripts/chaos.sh runs it)" >&2
fi

# The JavaScript client (src/client-js) against the node that `dotnet test` just built in Release: the seed
# pages' example code runs unchanged. No npm install: the client has no dependencies.
(cd src/client-js && npm test)

# The /dashboard page in real headless Chromium: Debian's chromium driven by playwright-core (which never
# downloads a browser). Installed when missing; the test fails, never skips, when it cannot run.
if [[ ! -x /usr/bin/chromium ]]; then
  echo "test.sh: installing chromium" >&2
  sudo_if_needed=()
  if [[ "$(id -u)" != 0 ]]; then sudo_if_needed=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_if_needed[@]}" apt-get update -q
  "${sudo_if_needed[@]}" apt-get install -y -q chromium
fi
(cd src/client-js/e2e && npm ci --no-audit --no-fund && npm test)
