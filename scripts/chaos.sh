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

# Without arguments, the cases known to fail (Trait Status=KnownFailure, each with its reason in a comment) are left out,
# and named here so that nobody mistakes them for passing.
if [[ $# -eq 0 ]]; then
  echo "chaos.sh: leaving out the known failures: DatabaseOutageTests.PostgreSqlStop_For45SecondsUnderLoad (a 503'd creation stored anyway)" >&2
  set -- --filter "Status!=KnownFailure"
fi

BGFETCH_CHAOS=1 dotnet test tests/Chaos.Tests/BgFetchCluster.Chaos.Tests.csproj -c Release \
  --logger "console;verbosity=detailed" "$@"
