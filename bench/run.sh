#!/usr/bin/env bash
# Issue 5: BgFetchCluster against the peers a user would pick instead, aria2 and curl, on the same
# nginx origin (loopback), in the same run. For each workload the tools alternate run by run
# (node aria2 curl node aria2 curl ...); the table gives medians.
#
#   bash bench/run.sh                 full: W1 1,000 x 256 KiB, W2 20 x 50 MiB, W3 1 x 1 GiB, W4 10,000 x 1 KiB; 5 runs
#   BENCH_QUICK=1 bash bench/run.sh   the same workloads, smaller, 3 runs (a few minutes; a smoke test)
#
# Other knobs: BENCH_RUNS (runs per tool), BENCH_ONLY="W1 W3" (workloads), BENCH_TOOLS="node node-warm curl"
# (node: cold, a fresh process per run; node-warm: a fresh process that first runs the same workload once, then
# the measured pass; issue 17), BENCH_NODE_DLL (another build of the node, for A/B experiments, e.g. a ReadyToRun
# publish), BENCH_NODE_ENV="NAME=value ..." (environment of the node process only, for runtime knobs),
# BENCH_LOADGEN_ARGS (extra LoadGen options for W4, e.g. "--scopes 64"), BENCH_PERF=1 (perf record of the node
# during the measured pass), BENCH_KEEP_DATA=1 (keep each run's SQLite journal in bench/results),
# BENCH_IDLE=0 (skip the idle-RSS nodes), BENCH_IDLE_SECONDS.
# Every run records the node's CPU (utime + stime, /proc/<pid>/stat, read by LoadGen when its clock starts and stops,
# so without the checks after it; /usr/bin/time's user + system for the peers), the node's start-up time (spawn to /ready) and the 1-minute load average.
# Output: the tables on stdout and in bench/results/run-<UTC time>.md (also latest-run.md), raw
# figures in bench/results/run-<UTC time>.tsv, the chart in bench/throughput.png (quick or partial
# runs: bench/results/throughput-partial.png).
#
# BgFetchCluster: one embedded node (SQLite journal, bodies on disk) started from the Release build with a
# fresh data directory for every run; bench/LoadGen creates the registrations through the HTTP API and
# waits for settlement (SSE terminal event for W1-W3; getIds() empty for W4). Wall time runs from the
# first POST to settlement and excludes the node's start-up. aria2: aria2c -i <input> -j 16 -x 1.
# curl: curl --parallel --parallel-max 16 with one url/output pair per file. Peak RSS: VmHWM of the
# node process; /usr/bin/time's maximum resident set size for aria2c and curl.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"

quick="${BENCH_QUICK:-0}"
if [[ "${quick}" == 1 ]]; then runs="${BENCH_RUNS:-3}"; else runs="${BENCH_RUNS:-5}"; fi
workloads="${BENCH_ONLY:-W1 W2 W3 W4}"
tools="${BENCH_TOOLS:-node node-warm aria2 curl}"

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_install aria2c:aria2 nginx:nginx-light gnuplot:gnuplot-nox /usr/bin/time:time python3:python3
bench_build

work="$(mktemp -d "${BENCH_TMP:-/var/tmp}/bgfetch-bench.XXXXXX")"
nginx_pid=""
node_pid=""
cleanup() {
  stop_pids "${node_pid}" "${nginx_pid}"
  rm -rf "${work}"
}
trap cleanup EXIT

# --- the files -------------------------------------------------------------------------------
# name count bytes (quick mode keeps every workload's shape, smaller)
if [[ "${quick}" == 1 ]]; then
  spec="W1 200 262144
W2 4 52428800
W3 1 268435456
W4 1000 1024"
else
  spec="W1 1000 262144
W2 20 52428800
W3 1 1073741824
W4 10000 1024"
fi

origin_port="$(free_port)"
origin="http://127.0.0.1:${origin_port}"
bench_files "${spec}" "${workloads}" "${origin}"

# --- the origin ------------------------------------------------------------------------------
first_workload="${workloads%% *}"
bench_nginx "${origin_port}" "${first_workload}/f00000.bin"

# --- one run of one tool: appends "workload tool run wall_s rss_kib bytes cpu_s startup_s load1" to the results ---------
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p bench/results
results="bench/results/run-${stamp}.tsv"
printf 'workload\ttool\trun\twall_s\trss_kib\tbytes\tcpu_s\tstartup_s\tload1\n' > "${results}"

# run_node <workload> cold|warm. cold: a fresh process, the workload once (as before issue 17). warm: a fresh process
# runs the same workload once as a warm-up (other registration ids, not checked), then the measured pass. The node's
# CPU (utime + stime from /proc/<pid>/stat) is taken just before and after the measured pass; start-up is the
# time from spawning the process to /ready answering.
# Variants, by name: node[-warm][-s<N>][-b]: -warm as above; -s<N>: W4 spread over N scopes (LoadGen --scopes N,
# header X-BgFetch-Scope); -wks: the workstation GC (DOTNET_gcServer=0) instead of the node's Server GC; -b: the node
# of BENCH_NODE_DLL_B instead (A/B runs in one invocation, e.g. ReadyToRun); -x: BENCH_NODE_ENV_X added to the node's
# environment (A/B of runtime knobs in one invocation, e.g. BENCH_NODE_ENV_X="DOTNET_TieredCompilation=0").
run_node() {
  local w="$1" tool="$2" data="${work}/data" port mode out temp=cold
  [[ "${tool}" == *-warm* ]] && temp=warm
  local node_dll="${node_dll}"
  [[ "${tool}" == *-b ]] && node_dll="${BENCH_NODE_DLL_B:?BENCH_NODE_DLL_B is needed for ${tool}}"
  rm -rf "${data}"
  port="$(free_port)"
  local spawned ready_at
  spawned="$(date +%s.%N)"
  local node_env="${BENCH_NODE_ENV:-}"
  [[ "${tool}" == *-wks* ]] && node_env="${node_env} DOTNET_gcServer=0"
  [[ "${tool}" == *-x* ]] && node_env="${node_env} ${BENCH_NODE_ENV_X:?BENCH_NODE_ENV_X is needed for ${tool}}"
  BENCH_NODE_ENV="${node_env}" bench_node_start "${work}/node.log" "${port}" "--BgFetch:Storage:DataDirectory=${data}"
  node_pid="${started_pid}"
  wait_ready "${node_pid}" "${port}"
  ready_at="$(date +%s.%N)"
  mode=single; [[ "${w}" == W4 ]] && mode=many
  local extra=()
  # BENCH_LOADGEN_ARGS: extra LoadGen options for W4 (for example "--scopes 64").
  # shellcheck disable=SC2206
  [[ "${w}" == W4 ]] && extra=(${BENCH_LOADGEN_ARGS:-})
  if [[ "${w}" == W4 && "${tool}" =~ -s([0-9]+) ]]; then extra+=(--scopes "${BASH_REMATCH[1]}"); fi
  if [[ "${temp}" == warm ]]; then
    if ! out="$(dotnet "${loadgen_dll}" "${mode}" "http://127.0.0.1:${port}" "${work}/${w}.urls" 16 --prefix warm --no-check "${extra[@]}")"; then
      echo "run.sh: node ${w} warm-up failed: ${out}" >&2; tail -20 "${work}/node.log" >&2; exit 1
    fi
  fi
  local ticks0 ticks_start
  ticks0="$(cpu_ticks "${node_pid}")"
  # BENCH_PERF=1: sample the node with perf while the workload runs (DOTNET_PerfMapEnabled=1 names JIT frames).
  local perf_pid=""
  if [[ "${BENCH_PERF:-0}" == 1 ]]; then
    # Into the temporary directory first: the node's content root is the repository, and its configuration file
    # watcher (inotify) woke up for every block perf wrote under bench/results (seen in the first W4 profile).
    perf record -F 1999 -g -p "${node_pid}" -o "${work}/perf.data" 2>/dev/null &
    perf_pid=$!
  fi
  if ! out="$(dotnet "${loadgen_dll}" "${mode}" "http://127.0.0.1:${port}" "${work}/${w}.urls" 16 "${extra[@]}" --cpu-pids "${node_pid}")"; then
    echo "run.sh: node ${w} failed: ${out}" >&2; tail -20 "${work}/node.log" >&2
    kill "${node_pid}" 2>/dev/null || true; exit 1
  fi
  [[ -n "${perf_pid}" ]] && { kill -INT "${perf_pid}"; wait "${perf_pid}" || true; mv "${work}/perf.data" "bench/results/perf-${stamp}-${w}-${tool}.data"; }
  local ticks1 rss
  ticks1="$(cpu_ticks "${node_pid}")"
  rss="$(awk '/VmHWM/ { print $2 }' "/proc/${node_pid}/status")"
  echo "run.sh: ${tool} ${w}: CPU $(ticks_to_s $((ticks1 - ticks0))) s in the measured pass with its check, $(sed -n 's/.*cpu=\([0-9.]*\).*/\1/p' <<<"${out}") s while the clock ran; $(ticks_to_s "${ticks1}") s since the start" >&2
  stop_pids "${node_pid}"; node_pid=""
  cp "${work}/node.log" "bench/results/node-${stamp}-${w}.log"
  # BENCH_KEEP_DATA=1: keep the journal (SQLite files) of the run, for counting events per registration.
  if [[ "${BENCH_KEEP_DATA:-0}" == 1 ]]; then
    mkdir -p "bench/results/data-${stamp}-${w}-${tool}"
    find "${data}" -maxdepth 2 -name '*.db*' -exec cp {} "bench/results/data-${stamp}-${w}-${tool}/" \;
  fi
  rm -rf "${data}"
  # RESULT wall=<s> bytes=<n> registrations=<n>
  local wall bytes
  wall="$(sed -n 's/.*wall=\([0-9.]*\).*/\1/p' <<<"${out}")"
  bytes="$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' <<<"${out}")"
  # The CPU while LoadGen's clock ran (cpu=, read by LoadGen itself): W4's check afterwards reads every registration
  # back through the API, which the shell's figure above includes.
  local cpu
  cpu="$(sed -n 's/.*cpu=\([0-9.]*\).*/\1/p' <<<"${out}")"
  echo "${wall} ${rss} ${bytes} ${cpu:-$(ticks_to_s $((ticks1 - ticks0)))} $(python3 -c "print(f'{${ready_at} - ${spawned}:.3f}')")"
}

run_peer() {
  local tool="$1" w="$2" dir="${work}/out" t0 t1 rss bytes cpu
  rm -rf "${dir}"; mkdir -p "${dir}"
  t0="$(date +%s.%N)"
  if [[ "${tool}" == aria2 ]]; then
    /usr/bin/time -f '%M %U %S' -o "${work}/time.txt" aria2c -i "${work}/${w}.urls" -j 16 -x 1 -d "${dir}" \
      --allow-overwrite=true --auto-file-renaming=false --console-log-level=error --summary-interval=0 -q
  else
    /usr/bin/time -f '%M %U %S' -o "${work}/time.txt" curl --parallel --parallel-max 16 -K "${work}/${w}.curl" \
      --output-dir "${dir}" -sS --no-progress-meter --fail
  fi
  t1="$(date +%s.%N)"
  read -r rss cpu <<<"$(tail -1 "${work}/time.txt" | awk '{ print $1, $2 + $3 }')"
  bytes="$(du -sb --apparent-size "${dir}" | awk '{ print $1 }')"
  bytes=$((bytes - $(stat -c %s "${dir}")))
  rm -rf "${dir}"
  echo "$(python3 -c "print(f'{${t1} - ${t0}:.3f}')") ${rss} ${bytes} ${cpu} 0"
}

# --- the node's idle RSS: a fresh node (fresh data directory), BENCH_IDLE_SECONDS after /ready, doing nothing ----------
idle_rss() {
  local data="${work}/data" port pid rss
  rm -rf "${data}"
  port="$(free_port)"
  bench_node_start "${work}/node.log" "${port}" "--BgFetch:Storage:DataDirectory=${data}"
  pid="${started_pid}"
  node_pid="${pid}"
  wait_ready "${pid}" "${port}"
  sleep "${BENCH_IDLE_SECONDS:-10}"
  rss="$(awk '/VmRSS/ { print $2 }' "/proc/${pid}/status")"
  kill "${pid}"; wait "${pid}" 2>/dev/null || true; node_pid=""
  rm -rf "${data}"
  echo "${rss}"
}
idle_line=""
if [[ " ${tools} " == *" node "* && "${BENCH_IDLE:-1}" == 1 ]]; then
  idle=()
  for ((r = 1; r <= (quick == 1 ? 1 : 3); r++)); do
    idle+=("$(idle_rss)")
    echo "run.sh: node idle RSS run ${r}: $((idle[-1] / 1024)) MiB" >&2
  done
  idle_line="$(printf '%s\n' "${idle[@]}" | sort -n | awk -v s="${BENCH_IDLE_SECONDS:-10}" '{ v[NR] = $1 } END { printf "Node idle RSS (VmRSS %d s after /ready, fresh data directory, median of %d fresh nodes): %.1f MiB (%.1f - %.1f)", s, NR, v[int((NR + 1) / 2)] / 1024, v[1] / 1024, v[NR] / 1024 }')"
  echo "run.sh: ${idle_line}" >&2
fi

for w in ${workloads}; do
  expected="$(cat "${work}/${w}.bytes")"
  for ((r = 1; r <= runs; r++)); do
    for tool in ${tools}; do
      case "${tool}" in
        node*) line="$(run_node "${w}" "${tool}")" ;;
        *) line="$(run_peer "${tool}" "${w}")" ;;
      esac
      read -r wall rss bytes cpu startup <<<"${line}"
      if [[ "${bytes}" != "${expected}" ]]; then
        echo "run.sh: ${tool} ${w} run ${r}: ${bytes} bytes, expected ${expected}" >&2
        exit 1
      fi
      load1="$(cut -d' ' -f1 /proc/loadavg)"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${w}" "${tool}" "${r}" "${wall}" "${rss}" "${bytes}" "${cpu}" "${startup}" "${load1}" >> "${results}"
      echo "run.sh: ${w} ${tool} run ${r}: ${wall} s, CPU ${cpu} s, peak RSS $((rss / 1024)) MiB, load ${load1}" >&2
    done
  done
done

machine="$(machine_line), load average at the end $(load_now), work dir on $(df -P "${work}" | awk 'NR == 2 { print $1 }') ($(df -PT "${work}" | awk 'NR == 2 { print $2 }')), nginx $("$(command -v nginx || echo /usr/sbin/nginx)" -v 2>&1 | sed 's|.*/||'), aria2 $(aria2c --version | head -1 | awk '{ print $3 }'), curl $(curl --version | head -1 | awk '{ print $2 }')"
mode="full"; [[ "${quick}" == 1 ]] && mode="quick (BENCH_QUICK=1)"
python3 bench/report.py "${results}" "${work}/workloads.tsv" "${mode}, ${runs} runs per tool, ${stamp}" "${machine}" "${work}/chart.dat" \
  | tee "bench/results/run-${stamp}.md"
if [[ -n "${idle_line}" ]]; then
  printf '\n%s\n' "${idle_line}" | tee -a "bench/results/run-${stamp}.md"
fi
cp "bench/results/run-${stamp}.md" bench/results/latest-run.md
# The committed chart (bench/README.md) comes from full runs of everything; a quick or partial run draws
# into bench/results.
chart="bench/throughput.png"
if [[ "${quick}" == 1 || "${workloads}" != "W1 W2 W3 W4" || "${tools}" != "node node-warm aria2 curl" ]]; then
  chart="bench/results/throughput-partial.png"
fi
gnuplot -e "datafile='${work}/chart.dat'; outfile='${chart}'; subtitle='${mode}, ${runs} runs per tool, ${stamp}'" bench/throughput.gp
echo "run.sh: wrote bench/results/run-${stamp}.md and ${chart}" >&2
