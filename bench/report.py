#!/usr/bin/env python3
"""bench/run.sh's report: medians per workload and tool, the ratios, CPU per unit, and the chart's data file.

usage: report.py <results.tsv> <workloads.tsv> <run description> <machine> <chart.dat>
"""
import statistics
import sys
from collections import defaultdict

results_path, workloads_path, description, machine, chart_path = sys.argv[1:6]
TOOLS = ["node", "node-warm", "aria2", "curl"]
LABEL = {"node": "BgFetchCluster, cold (fresh process)", "node-warm": "BgFetchCluster, warm (after a warm-up pass)",
         "aria2": "aria2c -j 16 -x 1", "curl": "curl --parallel-max 16"}
SHAPE = {"W1": "in one registration", "W2": "in one registration", "W3": "", "W4": "one registration each"}

workloads = {}
for line in open(workloads_path):
    name, count, size = line.split()
    workloads[name] = (int(count), int(size))

walls, rss, cpus, startups, loads, nbytes = tuple(defaultdict(list) for _ in range(5)) + ({},)
for i, line in enumerate(open(results_path)):
    if i == 0:
        continue
    w, tool, _, wall, kib, b, cpu, startup, load1 = line.split()
    if tool not in TOOLS:
        # run.sh's variants node[-warm][-s<N>][-wks][-x][-b]
        TOOLS.insert(len([t for t in TOOLS if t.startswith("node")]), tool)
        LABEL[tool] = "BgFetchCluster, " + ("warm" if "-warm" in tool else "cold") + \
            "".join(f", {p[1:]} scopes" for p in tool.split("-") if p.startswith("s") and p[1:].isdigit()) + \
            (", workstation GC" if "-wks" in tool else "") + \
            (", with BENCH_NODE_ENV_X" if "x" in tool.split("-") else "") + \
            (", node B (BENCH_NODE_DLL_B)" if tool.endswith("-b") else "")
    walls[w, tool].append(float(wall))
    rss[w, tool].append(int(kib))
    cpus[w, tool].append(float(cpu))
    startups[w, tool].append(float(startup))
    loads[w, tool].append(float(load1))
    nbytes[w, tool] = int(b)


def size_text(size):
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} B"


def describe(w):
    count, size = workloads[w]
    files = "file" if count == 1 else "files"
    return f"{w}: {count:,} {files} of {size_text(size)} {SHAPE.get(w, '')}".rstrip()


def cpu_unit(w, cpu):
    """CPU per registration (W4, ms) or per GiB (W1-W3, s)."""
    count, size = workloads[w]
    if w == "W4":
        return f"{cpu / count * 1000:.2f} ms/registration"
    return f"{cpu / (count * size / (1 << 30)):.2f} s/GiB"


print(f"Run: {description}")
print()
print(f"Machine: {machine}")
print()
chart = []
summary = []
for w in [w for w in workloads if any((w, t) in walls for t in TOOLS)]:
    count, size = workloads[w]
    print(f"### {describe(w)}")
    print()
    print("| tool | wall time (median) | min - max | MB/s | CPU (median) | CPU per unit | peak RSS (median) | load 1 min | runs |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    med = {}
    row = ['"%s: %s x %s"' % (w, f"{count:,}", size_text(size))]
    for tool in TOOLS:
        if (w, tool) not in walls:
            if tool in ("node", "aria2", "curl"):
                row.append("0")
            continue
        m = statistics.median(walls[w, tool])
        med[tool] = m
        mbs = nbytes[w, tool] / m / 1e6
        if tool in ("node", "aria2", "curl"):
            row.append(f"{mbs:.2f}")
        c = statistics.median(cpus[w, tool])
        print(f"| {LABEL[tool]} | {m:.2f} s | {min(walls[w, tool]):.2f} - {max(walls[w, tool]):.2f} s | {mbs:,.1f} "
              f"| {c:.2f} s | {cpu_unit(w, c)} | {statistics.median(rss[w, tool]) / 1024:.1f} MiB "
              f"| {min(loads[w, tool]):.1f} - {max(loads[w, tool]):.1f} | {len(walls[w, tool])} |")
    chart.append(row)
    print()
    ratios = {}
    for ours in [t for t in TOOLS if t.startswith("node")]:
        for peer in ("aria2", "curl"):
            if ours in med and peer in med:
                ratios[ours, peer] = med[ours] / med[peer]
                print(f"{LABEL[ours]} ratio vs {peer}: {ratios[ours, peer]:.2f}")
    for ours in [t for t in TOOLS if t.startswith("node")]:
        if (w, ours) in startups:
            print(f"{LABEL[ours]}: start-up (spawn to /ready) median {statistics.median(startups[w, ours]):.2f} s")
    if w == "W4":
        for tool in TOOLS:
            if tool in med:
                what = "registrations/s" if tool.startswith("node") else "files/s"
                print(f"{LABEL[tool]}: {count / med[tool]:,.0f} {what}")
    print()
    summary.append((w, med, ratios, {t: statistics.median(cpus[w, t]) for t in TOOLS if (w, t) in cpus},
                    statistics.median(rss[w, "node"]) / 1024 if (w, "node") in rss else
                    statistics.median(rss[w, "node-warm"]) / 1024 if (w, "node-warm") in rss else None))

print("### Summary")
print()
print("| workload | cold | warm | aria2 | curl | cold / curl | warm / curl | cold / aria2 | CPU cold | CPU warm | CPU curl | node peak RSS |")
print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
for w, med, ratios, cpu, node_rss in summary:
    cell = lambda t: f"{med[t]:.2f} s" if t in med else "-"
    r = lambda o, p: f"{ratios[o, p]:.2f}" if (o, p) in ratios else "-"
    c = lambda t: cpu_unit(w, cpu[t]) if t in cpu else "-"
    m = f"{node_rss:.0f} MiB" if node_rss is not None else "-"
    print(f"| {w} | {cell('node')} | {cell('node-warm')} | {cell('aria2')} | {cell('curl')} | {r('node', 'curl')} "
          f"| {r('node-warm', 'curl')} | {r('node', 'aria2')} | {c('node')} | {c('node-warm')} | {c('curl')} | {m} |")

with open(chart_path, "w") as f:
    f.write("# workload node aria2 curl (MB/s)\n")
    for row in chart:
        f.write(" ".join(row) + "\n")
