#!/usr/bin/env bash
# Runs the nemesis suite (tests/Chaos.Tests) alone: three node processes in Linux network namespaces joined by a
# bridge, a private PostgreSQL (initdb into a temporary directory), a workload and one fault per test (partition,
# SIGSTOP, database outage, kill -9 loop, connection exhaustion), each ended by a checker. Needs root. The project is
# a test project only with BGFETCH_CHAOS=1, so `dotnet test BgFetchCluster.sln` builds it but never runs it beside the
# other suites. Extra arguments go to `dotnet test` (e.g. --filter "FullyQualifiedName~Partition").
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ "$(id -u)" != 0 ]]; then
  echo "chaos.sh: the nemesis suite needs root (ip netns, runuser postgres)" >&2
  exit 1
fi

# scripts/test.sh sets BGFETCH_TEST_RESULTS so the .trx lands beside the other suites' for its failure summary.
trx=()
if [[ -n "${BGFETCH_TEST_RESULTS:-}" ]]; then
  trx=(--results-directory "${BGFETCH_TEST_RESULTS}" --logger "trx;LogFileName=chaos.trx")
fi
BGFETCH_CHAOS=1 dotnet test tests/Chaos.Tests/BgFetchCluster.Chaos.Tests.csproj -c Release \
  --logger "console;verbosity=detailed" "${trx[@]}" "$@"
