#!/usr/bin/env bash
# Builds the benchmark in Release and runs it (issue 2 item 8): tell, ask, journal (SQLite and
# PostgreSQL) and memory, each next to a bare peer. Starts the local PostgreSQL the way
# scripts/test.sh does unless BGFETCH_BENCH_POSTGRES or BGFETCH_TEST_POSTGRES is already set.
# The Markdown table goes to stdout and to bench/results/kernel-<UTC time>.md (and latest.md).
# Usage: bench/run-kernel.sh [--quick] [--only tell,ask,journal,memory]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh

if [[ -n "${BGFETCH_BENCH_POSTGRES:-}" ]]; then
  echo "run-kernel.sh: using BGFETCH_BENCH_POSTGRES" >&2
elif [[ -n "${BGFETCH_TEST_POSTGRES:-}" ]]; then
  echo "run-kernel.sh: using the BGFETCH_TEST_POSTGRES already set" >&2
elif ! ensure_postgres; then
  echo "run-kernel.sh: could not start PostgreSQL; the PostgreSQL rows will be skipped" >&2
fi

dotnet build bench/Bench/BgFetchCluster.Bench.csproj -c Release -warnaserror --nologo -v quiet

mkdir -p bench/results
out="bench/results/kernel-$(date -u +%Y%m%dT%H%M%SZ).md"
{
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"\
    "$(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo),"\
    "temp dir on $(df -P "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $1 }') ($(df -PT "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $2 }'))"
  echo
  dotnet bench/Bench/bin/Release/net10.0/BgFetchCluster.Bench.dll "$@"
} | tee "${out}"
cp "${out}" bench/results/latest.md
echo "run-kernel.sh: wrote ${out}" >&2
