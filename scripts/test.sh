#!/usr/bin/env bash
# Runs the whole test suite against a real local PostgreSQL (DESIGN.md: tests against real things).
# Idempotent: starts (or creates) the local cluster, ensures the test role and database, exports
# BGFETCH_TEST_POSTGRES unless the caller already set one, then runs `dotnet test` in Release,
# then the JavaScript client's tests.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh

if [[ -z "${BGFETCH_TEST_POSTGRES:-}" ]]; then
  ensure_postgres
else
  echo "test.sh: using the BGFETCH_TEST_POSTGRES already set" >&2
fi

dotnet test BgFetchCluster.sln -c Release "$@"

# The JavaScript client (src/client-js) against the node that `dotnet test` just built in Release: the seed
# pages' example code runs unchanged. No npm install: the client has no dependencies.
(cd src/client-js && npm test)
