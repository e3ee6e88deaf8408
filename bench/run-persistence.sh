#!/usr/bin/env bash
# Builds the persistence benchmark in Release and runs it (issue 11 item 7): the product's journal plugin
# against Akka.Persistence.Sql on SQLite and PostgreSQL, with Akka's in-memory journal as the ceiling,
# all through Akka.NET sharding with remember-entities, in one run. Starts the local PostgreSQL the way
# scripts/test.sh does unless BGFETCH_BENCH_POSTGRES or BGFETCH_TEST_POSTGRES is already set.
# The Markdown table goes to stdout and to bench/results/persistence-<UTC time>.md (and latest-persistence.md).
# Usage: bench/run-persistence.sh [--quick] [--entities N]
#          [--only inmem,bgfetch-sqlite,akkasql-sqlite,bgfetch-postgresql,akkasql-postgresql]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh

if [[ -n "${BGFETCH_BENCH_POSTGRES:-}" ]]; then
  echo "run-persistence.sh: using BGFETCH_BENCH_POSTGRES" >&2
elif [[ -n "${BGFETCH_TEST_POSTGRES:-}" ]]; then
  echo "run-persistence.sh: using the BGFETCH_TEST_POSTGRES already set" >&2
elif ! ensure_postgres; then
  echo "run-persistence.sh: could not start PostgreSQL; the PostgreSQL rows will be skipped" >&2
fi

dotnet build bench/Bench/BgFetchCluster.Bench.csproj -c Release -warnaserror --nologo -v quiet

mkdir -p bench/results
out="bench/results/persistence-$(date -u +%Y%m%dT%H%M%SZ).md"
{
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"\
    "$(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo),"\
    "temp dir on $(df -P "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $1 }') ($(df -PT "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $2 }'))"
  echo
  dotnet bench/Bench/bin/Release/net10.0/BgFetchCluster.Bench.dll "$@"
} | tee "${out}"
cp "${out}" bench/results/latest-persistence.md
echo "run-persistence.sh: wrote ${out}" >&2
