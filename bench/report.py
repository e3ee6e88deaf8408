#!/usr/bin/env python3
"""bench/run.sh's report: medians per workload and tool, the ratios, and the chart's data file.

usage: report.py <results.tsv> <workloads.tsv> <run description> <machine> <chart.dat>
"""
import statistics
import sys
from collections import defaultdict

results_path, workloads_path, description, machine, chart_path = sys.argv[1:6]
TOOLS = ["node", "aria2", "curl"]
LABEL = {"node": "BgFetchCluster (1 node)", "aria2": "aria2c -j 16 -x 1", "curl": "curl --parallel-max 16"}
SHAPE = {"W1": "in one registration", "W2": "in one registration", "W3": "", "W4": "one registration each"}

workloads = {}
for line in open(workloads_path):
    name, count, size = line.split()
    workloads[name] = (int(count), int(size))

walls, rss, nbytes = defaultdict(list), defaultdict(list), {}
for i, line in enumerate(open(results_path)):
    if i == 0:
        continue
    w, tool, _, wall, kib, b = line.split()
    walls[w, tool].append(float(wall))
    rss[w, tool].append(int(kib))
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
    print("| tool | wall time (median) | min - max | MB/s | peak RSS (median) | runs |")
    print("|---|--:|--:|--:|--:|--:|")
    med = {}
    row = ['"%s: %s x %s"' % (w, f"{count:,}", size_text(size))]
    for tool in TOOLS:
        if (w, tool) not in walls:
            row.append("0")
            continue
        m = statistics.median(walls[w, tool])
        med[tool] = m
        mbs = nbytes[w, tool] / m / 1e6
        row.append(f"{mbs:.2f}")
        print(f"| {LABEL[tool]} | {m:.2f} s | {min(walls[w, tool]):.2f} - {max(walls[w, tool]):.2f} s | {mbs:,.1f} "
              f"| {statistics.median(rss[w, tool]) / 1024:.1f} MiB | {len(walls[w, tool])} |")
    chart.append(row)
    print()
    ratios = {}
    for peer in ("aria2", "curl"):
        if "node" in med and peer in med:
            ratios[peer] = med["node"] / med[peer]
            print(f"ratio vs {peer}: {ratios[peer]:.2f}")
    if w == "W4":
        for tool in TOOLS:
            if tool in med:
                what = "registrations/s" if tool == "node" else "files/s"
                print(f"{LABEL[tool]}: {count / med[tool]:,.0f} {what}")
    print()
    summary.append((w, med, ratios, statistics.median(rss[w, "node"]) / 1024 if (w, "node") in rss else None))

print("### Summary")
print()
print("| workload | BgFetchCluster | aria2 | curl | ratio vs aria2 | ratio vs curl | node peak RSS |")
print("|---|--:|--:|--:|--:|--:|--:|")
for w, med, ratios, node_rss in summary:
    cell = lambda t: f"{med[t]:.2f} s" if t in med else "-"
    r = lambda p: f"{ratios[p]:.2f}" if p in ratios else "-"
    m = f"{node_rss:.0f} MiB" if node_rss is not None else "-"
    print(f"| {w} | {cell('node')} | {cell('aria2')} | {cell('curl')} | {r('aria2')} | {r('curl')} | {m} |")

with open(chart_path, "w") as f:
    f.write("# workload node aria2 curl (MB/s)\n")
    for row in chart:
        f.write(" ".join(row) + "\n")
