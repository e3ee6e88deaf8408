#!/usr/bin/env bash
# Issue 17 item 2: the node on PostgreSQL and in a cluster. W1 and W4 (bench/run.sh's workloads, same nginx origin,
# same LoadGen) through
#   sqlite1  one node on SQLite (the embedded node of bench/run.sh),
#   pg1      one node on PostgreSQL (journal and bodies),
#   pg3      three nodes on PostgreSQL, one cluster, W4's requests spread round-robin over the three APIs,
# in the same run, runs alternating between the configurations. Nodes stay up for the whole run and run each
# workload once as a warm-up first (W1 on three nodes until each node has owned one: warm_up): these are warm figures. Then, on pg3: the cross-node progress latency and
# the failover time after kill -9 (LoadGen latency / failover; definitions in bench/LoadGen/ClusterModes.cs and
# bench/README.md).
#
#   bash bench/run-cluster.sh                  full: W1 1,000 x 256 KiB, W4 10,000 x 1 KiB, 3 runs, 5 failovers
#   BENCH_QUICK=1 bash bench/run-cluster.sh    W1 200 x 256 KiB, W4 2,000 x 1 KiB, 1 run, 1 failover
#
# Knobs: BENCH_RUNS, BENCH_ONLY="W4", BENCH_CONFIGS="pg1 pg3", BENCH_FAILOVERS, BENCH_LOADGEN_ARGS (extra LoadGen
# options for W4), BENCH_NODE_DLL, BENCH_NODE_ENV as in run.sh. BENCH_PERF_NODE=<1-3|all>: perf record -F 1999 -g of that
# node of pg3 (and pg1's node; all: every node of the configuration) during each measured run of BENCH_PERF_WORKLOADS (default W4) (bench/results/perf-<stamp>-pg3-node<N>-W4-run<R>.data; add
# BENCH_NODE_ENV="DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0" to name JIT frames), and each node's CPU. BGFETCH_TEST_POSTGRES (or BGFETCH_BENCH_POSTGRES):
# a connection string whose role may CREATE DATABASE; the script creates one database per configuration
# (bgfetch_bench_<config>_<time>) and drops it at the end. The server itself is never started or stopped here.
#
# Per configuration and workload: wall time, registrations/s, CPU seconds of all node processes (utime + stime,
# /proc/<pid>/stat) and of the PostgreSQL backends connected to the configuration's database (same, summed over
# the backends that exist before and after: a backend that exits in between is lost, hence the pools' idle
# lifetime of 60 s), and the database's transactions (pg_stat_database xact_commit + xact_rollback; every
# round trip outside an explicit transaction is one, so this counts round trips from above for autocommit
# statements and exactly for the batching journal's one transaction per batch). pg_stat_statements is used
# when the server has it loaded (it is not on the shared server here). All of them cover LoadGen's clock only: the
# nodes' CPU is read by LoadGen, the database's counters when its clock stops, before W4's read-back check.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"

quick="${BENCH_QUICK:-0}"
if [[ "${quick}" == 1 ]]; then runs="${BENCH_RUNS:-1}"; failovers="${BENCH_FAILOVERS:-1}"; else runs="${BENCH_RUNS:-3}"; failovers="${BENCH_FAILOVERS:-5}"; fi
workloads="${BENCH_ONLY:-W1 W4}"
configs="${BENCH_CONFIGS:-sqlite1 pg1 pg3}"

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_install nginx:nginx-light python3:python3 psql:postgresql-client
bench_build

base_cs="${BGFETCH_BENCH_POSTGRES:-${BGFETCH_TEST_POSTGRES:-}}"
if [[ -z "${base_cs}" && " ${configs} " == *" pg"* ]]; then
  echo "run-cluster.sh: set BGFETCH_TEST_POSTGRES (README: scripts/postgres.sh)" >&2; exit 1
fi
# libpq parameters from the Npgsql connection string
pg_kv() { tr ';' '\n' <<<"${base_cs}" | awk -F= -v k="$1" 'tolower($1) == tolower(k) { print $2 }'; }
export PGHOST="$(pg_kv Host)" PGPORT="$(pg_kv Port)" PGUSER="$(pg_kv Username)" PGPASSWORD="$(pg_kv Password)"
PGPORT="${PGPORT:-5432}"
psql_db() { local db="$1"; shift; psql -X -q -At -d "${db}" "$@"; }

work="$(mktemp -d "${BENCH_TMP:-/var/tmp}/bgfetch-cluster.XXXXXX")"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
lower_stamp="$(tr 'TZ' 'tz' <<<"${stamp}")"
nginx_pid=""
declare -A pids=() ports=() dbs=()
all_pids() { local c; for c in "${!pids[@]}"; do echo "${pids[$c]}"; done; }
cleanup() {
  # shellcheck disable=SC2046
  stop_pids $(all_pids) "${nginx_pid}"
  local c
  # a node restarted by the failovers sometimes still reconnected while the first DROP ran (the database stayed), and an
  # autovacuum worker on the database cannot be terminated by a role that is not a superuser: try for up to 30 s
  local attempt
  for c in "${!dbs[@]}"; do
    for attempt in $(seq 15); do
      psql_db postgres -c "DROP DATABASE IF EXISTS ${dbs[$c]} WITH (FORCE)" 2>/dev/null && break
      sleep 2
    done
  done
  rm -rf "${work}"
}
trap cleanup EXIT

# --- files and origin (bench/lib.sh, as in run.sh) -----------------------------------------------
if [[ "${quick}" == 1 ]]; then
  spec="W1 200 262144
W4 2000 1024"
else
  spec="W1 1000 262144
W4 10000 1024"
fi
origin_port="$(free_port)"
bench_files "${spec}" "${workloads}" "http://127.0.0.1:${origin_port}"
bench_nginx "${origin_port}" "${workloads%% *}/f00000.bin"

# --- the configurations --------------------------------------------------------------------------
# A bounded pool per data source: the shared server allows 100 connections in all, and the node opens three
# data sources (journal, snapshots, bodies).
pg_cs() { echo "Host=${PGHOST};Port=${PGPORT};Username=${PGUSER};Password=${PGPASSWORD};Database=$1;Maximum Pool Size=6;Connection Idle Lifetime=60"; }

start_config() {
  local c="$1" n
  case "${c}" in
    sqlite1)
      ports[${c}]="$(free_port)"
      bench_node_start "${work}/${c}-1.log" "${ports[${c}]}" "--BgFetch:Storage:DataDirectory=${work}/data-${c}"
      pids[${c}]="${started_pid}"
      ;;
    pg1 | pg3)
      dbs[${c}]="bgfetch_bench_${c}_${lower_stamp}"
      psql_db postgres -c "CREATE DATABASE ${dbs[${c}]}"
      local count=1 cs seeds=() p=() pp=()
      [[ "${c}" == pg3 ]] && count=3
      cs="$(pg_cs "${dbs[${c}]}")"
      local remote=()
      for ((n = 1; n <= count; n++)); do remote+=("$(free_port)"); done
      if ((count > 1)); then seeds=("--BgFetch:Cluster:SeedNodes:0=akka.tcp://bgfetch@127.0.0.1:${remote[0]}" "--BgFetch:Cluster:SeedNodes:1=akka.tcp://bgfetch@127.0.0.1:${remote[1]}"); fi
      for ((n = 1; n <= count; n++)); do
        pp+=("$(free_port)")
        bench_node_start "${work}/${c}-${n}.log" "${pp[-1]}" --BgFetch:Storage:Provider=PostgreSql "--BgFetch:Storage:ConnectionString=${cs}" \
          "--BgFetch:Cluster:Port=${remote[n - 1]}" "${seeds[@]}"
        p+=("${started_pid}")
        # the first seed forms the cluster before the others join
        if ((n == 1)); then wait_ready "${p[0]}" "${pp[0]}" "${work}/${c}-1.log"; fi
      done
      pids[${c}]="${p[*]}"; ports[${c}]="${pp[*]}"
      echo "${remote[*]}" > "${work}/${c}.remote"
      ;;
  esac
  local i=0 pid
  local -a pa=(${pids[${c}]}) po=(${ports[${c}]})
  for pid in "${pa[@]}"; do wait_ready "${pid}" "${po[i]}" "${work}/${c}-$((i + 1)).log"; i=$((i + 1)); done
  if [[ "${c}" == pg3 ]]; then wait_members "${po[0]}" 3; fi
}

# wait_members <api port> <n>: until the cluster shows n members Up and reachable
wait_members() {
  local deadline=$((SECONDS + 120))
  until [[ "$(curl -sf "http://127.0.0.1:$1/v1/admin/cluster" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(1 for m in d["members"] if m["status"] == "Up" and m.get("reachable", True)))' 2>/dev/null)" == "$2" ]]; do
    ((SECONDS > deadline)) && { echo "run-cluster.sh: the cluster did not reach $2 members Up" >&2; exit 1; }
    sleep 0.5
  done
}

urls_of() { local c="$1" u="" port; for port in ${ports[${c}]}; do u+="${u:+,}http://127.0.0.1:${port}"; done; echo "${u}"; }
pg_backend_pids() {
  if [[ -n "${dbs[$1]:-}" ]]; then psql_db postgres -c "SELECT pid FROM pg_stat_activity WHERE datname = '${dbs[$1]}'" | tr '\n' ' '; fi
}
pg_xacts() {
  if [[ -n "${dbs[$1]:-}" ]]; then psql_db postgres -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '${dbs[$1]}'"; else echo 0; fi
}

# "pid:ticks ..." of the processes given
pid_ticks() { local pid; for pid in "$@"; do echo -n "${pid}:$(cpu_ticks "${pid}") "; done; }
# pid_ticks_delta "<pid:ticks before>" <pids after...>: the ticks the processes used in between; a process that
# appeared counts from 0, one that has gone is lost (its last ticks are unknown)
pid_ticks_delta() {
  local before="$1" sum=0 pid b; shift
  for pid in "$@"; do
    b="$(tr ' ' '\n' <<<"${before}" | awk -F: -v p="${pid}" '$1 == p { print $2 }')"
    sum=$((sum + $(cpu_ticks "${pid}") - ${b:-0}))
  done
  echo "${sum}"
}

results="bench/results/cluster-${stamp}.tsv"
mkdir -p bench/results
printf 'config\tworkload\trun\twall_s\tregistrations\tnode_cpu_s\tpg_cpu_s\tpg_xacts\tload1\n' > "${results}"

# run_workload <config> <workload> <prefix> <record: 1|0> <run>
run_workload() {
  local c="$1" w="$2" prefix="$3" record="$4" r="$5" mode=single out extra=()
  [[ "${w}" == W4 ]] && { mode=many; extra=(--prefix "${prefix}" ${BENCH_LOADGEN_ARGS:-}); }
  [[ "${record}" == 0 && "${w}" == W4 ]] && extra+=(--no-check)
  local before_pg before_node before_x
  # shellcheck disable=SC2086
  before_node="$(cpu_ticks ${pids[${c}]})"
  before_pg="$(pid_ticks $(pg_backend_pids "${c}"))"
  before_x="$(pg_xacts "${c}")"
  # BENCH_PERF_NODE: sample one node of the three with perf while W4 runs (into the temporary directory first: the
  # nodes' content root is the repository, and their configuration file watchers wake up for files written there).
  local perf_pid="" perf_target="" perf_node=""
  if [[ -n "${BENCH_PERF_NODE:-}" && "${c}" == pg* && " ${BENCH_PERF_WORKLOADS:-W4} " == *" ${w} "* && "${record}" == 1 ]]; then
    local -a pa=(${pids[${c}]})
    if [[ "${BENCH_PERF_NODE}" == all ]]; then
      # every node of the configuration in one recording (perf report --sort pid tells them apart)
      perf_node=all; perf_target="$(IFS=,; echo "${pa[*]}")"
    else
      perf_node=$(((BENCH_PERF_NODE - 1) % ${#pa[@]} + 1))
      perf_target="${pa[perf_node - 1]}"
    fi
    perf record -F 1999 -g -p "${perf_target}" -o "${work}/perf.data" 2>/dev/null &
    perf_pid=$!
  fi
  local before_each
  # shellcheck disable=SC2086
  before_each="$(pid_ticks ${pids[${c}]})"
  # The database's counters are read when LoadGen's clock stops, before W4's check: the check reads every registration
  # back, and one settled more than SettledIdle (5 s) earlier has passivated and is recovered from the journal for it,
  # so counting the check made the transactions per registration depend on how long the run took.
  local stopped="${work}/clock-stopped" go="${work}/clock-go" loadgen_pid after_pg="" after_x=""
  rm -f "${stopped}" "${go}"
  # shellcheck disable=SC2086
  dotnet "${loadgen_dll}" "${mode}" "$(urls_of "${c}")" "${work}/${w}.urls" 16 "${extra[@]}" --cpu-pids "$(tr ' ' ',' <<<"${pids[${c}]}")" \
    --at-clock-stop "touch '${stopped}'; while [ ! -e '${go}' ]; do sleep 0.02; done" >"${work}/loadgen.out" &
  loadgen_pid=$!
  while [[ ! -e "${stopped}" ]] && kill -0 "${loadgen_pid}" 2>/dev/null; do sleep 0.02; done
  if [[ -e "${stopped}" && "${record}" == 1 ]]; then
    sleep 0.5 # the statistics of the last transactions reach pg_stat_database with a delay
    # shellcheck disable=SC2086
    after_pg="$(pid_ticks_delta "${before_pg}" $(pg_backend_pids "${c}"))"
    after_x="$(pg_xacts "${c}")"
  fi
  touch "${go}"
  if ! wait "${loadgen_pid}"; then
    echo "run-cluster.sh: ${c} ${w} failed: $(cat "${work}/loadgen.out")" >&2; tail -20 "${work}/${c}-1.log" >&2; exit 1
  fi
  out="$(cat "${work}/loadgen.out")"
  if [[ -n "${perf_pid}" ]]; then
    kill -INT "${perf_pid}"; wait "${perf_pid}" || true
    mv "${work}/perf.data" "bench/results/perf-${stamp}-${c}-node${perf_node}-${w}-run${r}.data"
  fi
  if [[ "${record}" == 1 && "${c}" == pg3 ]]; then
    local pid each=""
    # shellcheck disable=SC2086
    for pid in ${pids[${c}]}; do each+=" $(ticks_to_s "$(pid_ticks_delta "${before_each}" "${pid}")") s"; done
    echo "run-cluster.sh: ${c} ${w} run ${r}: CPU of each node (with the check):${each}${perf_target:+ (perf on pid ${perf_target})}" >&2
  fi
  [[ "${record}" == 1 ]] || return 0
  local node_ticks pg_ticks xacts wall regs
  # shellcheck disable=SC2086
  node_ticks=$(($(cpu_ticks ${pids[${c}]}) - before_node))
  # the nodes' CPU while LoadGen's clock ran (W4's check afterwards reads every registration back)
  local clock_cpu
  clock_cpu="$(sed -n 's/.*cpu=\([0-9.]*\).*/\1/p' <<<"${out}")"
  [[ -n "${clock_cpu}" ]] && node_ticks="$(awk -v s="${clock_cpu}" -v hz="${clk_tck}" 'BEGIN { printf "%d", s * hz }')"
  pg_ticks="${after_pg}"
  xacts=$((after_x - before_x))
  wall="$(sed -n 's/.*wall=\([0-9.]*\).*/\1/p' <<<"${out}")"
  regs="$(sed -n 's/.*registrations=\([0-9]*\).*/\1/p' <<<"${out}")"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${c}" "${w}" "${r}" "${wall}" "${regs}" "$(ticks_to_s "${node_ticks}")" "$(ticks_to_s "${pg_ticks}")" "${xacts}" "$(cut -d' ' -f1 /proc/loadavg)" >> "${results}"
  echo "run-cluster.sh: ${c} ${w} run ${r}: ${wall} s, node CPU $(ticks_to_s "${node_ticks}") s, PostgreSQL CPU $(ticks_to_s "${pg_ticks}") s, ${xacts} transactions, load $(load_now)" >&2
}

# warm_up <config> <workload>: the warm-up before the measured runs. W1 is one registration, so a pass warms only the
# node that owns it, and a node left cold pays its JIT inside a measured run (2026-12-04: a pg3 owner used 4.0-4.6 s of
# CPU on its first W1 and 2.1-2.7 s on later ones; that made W1 through three nodes look 2.2-2.5x one node). So W1
# warms up until every node has been a pass's busiest node (its owner), at most four passes per node.
warm_up() {
  local c="$1" w="$2"
  # shellcheck disable=SC2206
  local -a pa=(${pids[${c}]})
  if [[ "${w}" != W1 || ${#pa[@]} -eq 1 ]]; then run_workload "${c}" "${w}" "warm${w}" 0 0; return; fi
  local -A owned=()
  local pass before busiest
  for ((pass = 1; pass <= 4 * ${#pa[@]}; pass++)); do
    before="$(pid_ticks "${pa[@]}")"
    run_workload "${c}" "${w}" "warm${w}${pass}" 0 0
    busiest="$(for i in "${!pa[@]}"; do echo "$(pid_ticks_delta "${before}" "${pa[i]}") ${i}"; done | sort -n | tail -1 | cut -d' ' -f2)"
    owned[${busiest}]=1
    ((${#owned[@]} == ${#pa[@]})) && break
  done
  echo "run-cluster.sh: ${c} ${w}: ${pass} warm-up passes, ${#owned[@]} of ${#pa[@]} nodes owned one" >&2
}

for c in ${configs}; do
  echo "run-cluster.sh: starting ${c}" >&2
  start_config "${c}"
done
for w in ${workloads}; do
  for c in ${configs}; do warm_up "${c}" "${w}"; done
  for ((r = 1; r <= runs; r++)); do
    for c in ${configs}; do run_workload "${c}" "${w}" "${w}run${r}" 1 "${r}"; done
  done
done

# --- events per registration in the PostgreSQL journal (W4's registrations are most of them) -------------
for c in ${configs}; do
  [[ -n "${dbs[${c}]:-}" ]] || continue
  psql_db "${dbs[${c}]}" -F $'\t' -c "SELECT manifest, count(*) FROM journal GROUP BY manifest ORDER BY 2 DESC" > "${work}/${c}.events" 2>&1 || true
done

# --- pg3: cross-node progress latency, then failovers -----------------------------------------------
latency_line="" failover_lines=()
if [[ " ${configs} " == *" pg3 "* ]]; then
  read -r -a p3 <<<"${pids[pg3]}"
  read -r -a po3 <<<"${ports[pg3]}"
  read -r -a remote3 <<<"$(cat "${work}/pg3.remote")"
  echo "run-cluster.sh: cross-node latency (load $(load_now))" >&2
  latency_line="$(dotnet "${loadgen_dll}" latency "$(urls_of pg3)" --pids "$(tr ' ' ',' <<<"${pids[pg3]}")" --registrations "${BENCH_LATENCY_REGISTRATIONS:-12}" | grep RESULT) load $(load_now)"
  echo "run-cluster.sh: ${latency_line}" >&2
  cs="$(pg_cs "${dbs[pg3]}")"
  for ((f = 1; f <= failovers; f++)); do
    victim=$(((f % 3)))
    # victims rotate; never the same twice in a row
    echo "run-cluster.sh: failover ${f}: kill -9 of node $((victim + 1)) (load $(load_now))" >&2
    line="$(dotnet "${loadgen_dll}" failover "$(urls_of pg3)" --pids "$(tr ' ' ',' <<<"${pids[pg3]}")" --kill "${victim}" | grep RESULT || echo "RESULT failed")"
    failover_lines+=("${line} load $(load_now)")
    echo "run-cluster.sh: ${line}" >&2
    wait "${p3[victim]}" 2>/dev/null || true
    # the victim comes back on the same ports once the survivors have removed it
    wait_members "${po3[$(((victim + 1) % 3))]}" 2
    bench_node_start "${work}/pg3-$((victim + 1)).log" "${po3[victim]}" --BgFetch:Storage:Provider=PostgreSql "--BgFetch:Storage:ConnectionString=${cs}" \
      "--BgFetch:Cluster:Port=${remote3[victim]}" "--BgFetch:Cluster:SeedNodes:0=akka.tcp://bgfetch@127.0.0.1:${remote3[0]}" "--BgFetch:Cluster:SeedNodes:1=akka.tcp://bgfetch@127.0.0.1:${remote3[1]}"
    p3[victim]="${started_pid}"
    pids[pg3]="${p3[*]}"
    wait_ready "${p3[victim]}" "${po3[victim]}" "${work}/pg3-$((victim + 1)).log"
    wait_members "${po3[0]}" 3
  done
fi

# --- report ---------------------------------------------------------------------------------------
{
  echo "Run: run-cluster.sh, $([[ "${quick}" == 1 ]] && echo quick || echo full), ${runs} measured runs per configuration after a warm-up (W1 on three nodes: until every node owned one), ${stamp}"
  echo
  echo "Machine: $(machine_line), load average at the end $(load_now); PostgreSQL $(psql_db postgres -c 'SHOW server_version')"
  echo
  python3 - "${results}" "${work}/workloads.tsv" <<'PY'
import statistics, sys
from collections import defaultdict
rows = defaultdict(list)
for i, line in enumerate(open(sys.argv[1])):
    if i == 0:
        continue
    c, w, r, wall, regs, ncpu, pcpu, x, load = line.split()
    rows[w, c].append((float(wall), int(regs), float(ncpu), float(pcpu), int(x), float(load)))
sizes = {l.split()[0]: (int(l.split()[1]), int(l.split()[2])) for l in open(sys.argv[2])}
label = {"sqlite1": "1 node, SQLite", "pg1": "1 node, PostgreSQL", "pg3": "3 nodes, PostgreSQL"}
for w in sorted({w for w, _ in rows}):
    count, size = sizes[w]
    print(f"### {w}: {count:,} x {size // 1024} KiB" + (" (one registration each)" if w == "W4" else " (one registration)"))
    print()
    print("| configuration | wall (median) | registrations/s | node CPU per registration | PostgreSQL CPU per registration | PostgreSQL transactions per registration | node CPU per GiB | load 1 min | runs |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for c in ("sqlite1", "pg1", "pg3"):
        if (w, c) not in rows:
            continue
        v = rows[w, c]
        med = lambda k: statistics.median(x[k] for x in v)
        n = count if w == "W4" else 1
        gib = count * size / (1 << 30)
        per_gib = f"{med(2) / gib:.2f} s" if w != "W4" else "-"
        print(f"| {label[c]} | {med(0):.2f} s | {count / med(0) if w == 'W4' else 1 / med(0):,.1f} | {med(2) / n * 1000:.2f} ms | "
              f"{med(3) / n * 1000:.2f} ms | {med(4) / n:.2f} | {per_gib} | {min(x[5] for x in v):.1f} - {max(x[5] for x in v):.1f} | {len(v)} |")
    print()
PY
  for c in ${configs}; do
    [[ -f "${work}/${c}.events" ]] || continue
    echo "Journal rows by manifest, ${c} (all registrations of the run, warm-ups included):"
    echo
    sed 's/^/    /' "${work}/${c}.events"
    echo
  done
  if [[ -n "${latency_line}" ]]; then
    echo "Cross-node progress latency (3 nodes, PostgreSQL): ${latency_line}"
    echo
  fi
  if ((${#failover_lines[@]})); then
    echo "Failover after kill -9 (3 nodes, PostgreSQL):"
    echo
    printf '    %s\n' "${failover_lines[@]}"
    printf '%s\n' "${failover_lines[@]}" | python3 -c '
import re, statistics, sys
v = [float(m.group(1)) for m in (re.search(r"failover_s=([0-9.]+)", l) for l in sys.stdin) if m]
print(f"\nfailover median of {len(v)}: {statistics.median(v):.2f} s (min {min(v):.2f}, max {max(v):.2f})" if v else "\nno failover measured")'
  fi
} | tee "bench/results/cluster-${stamp}.md"
cp "bench/results/cluster-${stamp}.md" bench/results/latest-cluster.md
echo "run-cluster.sh: wrote bench/results/cluster-${stamp}.md" >&2
