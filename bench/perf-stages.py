#!/usr/bin/env python3
"""Attributes a node's perf samples to the stages of a registration (issue 17, item 1).

usage: perf script -i perf.data -F comm,tid,ip,sym,dso | python3 bench/perf-stages.py [cpu_ms_per_unit] [top]

Each sample's stack is walked from the leaf to the root; the first frame that matches a stage's pattern decides
(so JSON, sockets and collections count for the component that called them: the journal's serializer, Kestrel, the
fetcher). Threads of their own (tiered JIT, GC) are decided by thread name first. With cpu_ms_per_unit (the node's
CPU per registration of the same run) each share is also given in ms per registration.
"""
import re
import sys
from collections import Counter, defaultdict

STAGES = [
    ("journal: SQLite engine", r"libe_sqlite3|SQLitePCL|Microsoft\.Data\.Sqlite"),
    ("journal: PostgreSQL client", r"\bNpgsql\b"),
    ("journal: plugin, batching, event serialization", r"BgFetchCluster\.Actors\.Persistence|Akka\.Persistence\.Journal|Akka\.Persistence\.Snapshot"),
    ("body store", r"BgFetchCluster\.Actors\.Fetch\.Storage"),
    ("scope index (reserve, confirm, settle)", r"ScopeIndexActor"),
    ("record actor + guarded HTTP fetch", r"RecordDownload|RecordActor|BgFetchCluster\.Actors\.Fetch\.Http|FetchScheduler|RecordLocks|System\.Net\.Http\b"),
    ("registration actor (state, settle, publish)", r"RegistrationActor|RegistrationState|WebhookNotifier"),
    ("persistence in the entity (Eventsourced: persist, recovery)", r"Akka\.Persistence"),
    ("pub/sub (DistributedPubSub)", r"PublishSubscribe|DistributedPubSub|TopicSubscriber"),
    ("sharding (region, shard, remember-entities, passivation)", r"Akka\.Cluster\.Sharding(?!\.Serialization)"),
    ("FetchService (asks, parsing)", r"FetchService|FetchRequestParser|Akka\.Actor\.Futures|PromiseActorRef"),
    ("telemetry (OpenTelemetry, metrics, activities)", r"OpenTelemetry|System\.Diagnostics\.Metrics|System\.Diagnostics\.Activity|DiagnosticSource|DiagnosticListener"),
    ("HTTP in: Kestrel, middleware, routing, JSON", r"Microsoft\.AspNetCore|Microsoft\.Extensions|BgFetchCluster\.Node"),
    ("Akka serialization (the product's serializer, Akka's protobuf)", r"Akka\.Serialization|BgFetchCluster\.Actors\.Serialization|Akka\.Remote\.Serialization|Akka\.Cluster\.Serialization|Akka\.Cluster\.Sharding\.Serialization|Akka\.DistributedData\.Serialization|Google\.Protobuf"),
    # A cluster node (issue 17, the profile of a cluster node): what three nodes add to one.
    ("remoting: Akka.Remote endpoints, DotNetty transport", r"Akka\.Remote|DotNetty"),
    ("distributed data (ddata: shard locations, replication)", r"Akka\.DistributedData"),
    ("cluster membership: gossip, heartbeats, failure detector", r"Akka\.Cluster\.(?!Sharding|Tools)"),
    ("Akka dispatch: mailbox, ActorCell, scheduler, remote/cluster daemons", r"\[Akka|Akka\.(Dispatch|Actor|Util|Remote|Cluster|Event)"),
    ("thread pool, tasks, async machinery", r"System\.Threading|System\.Runtime\.CompilerServices\.Async"),
]
compiled = [(name, re.compile(p)) for name, p in STAGES]

per_unit = float(sys.argv[1]) if len(sys.argv) > 1 else None
top = int(sys.argv[2]) if len(sys.argv) > 2 else 4
counts = Counter()
frames = defaultdict(Counter)
kernel_in = Counter()
total = 0


def decide(comm, stack):
    if comm.startswith(".NET Tiered") or any("libclrjit" in f for f in stack):
        return "JIT (tiered compilation)", None
    if "GC" in comm or any(re.search(r"gc_heap|WKS::|SVR::|GCHeap::|GCToEEInterface", f) for f in stack[:6]):
        return "GC", None
    for f in stack:
        for name, rx in compiled:
            if rx.search(f):
                return name, f
    if stack and "kernel" in stack[0]:
        return "kernel, no managed caller (scheduler, futex, timers)", stack[0]
    if any("libcoreclr" in f for f in stack):
        return "runtime (libcoreclr), no managed caller", None
    return "other", stack[0] if stack else None


def flush(comm, stack):
    global total
    if comm is None:
        return
    total += 1
    name, frame = decide(comm, stack)
    counts[name] += 1
    if stack and "kernel" in stack[0]:
        kernel_in[name] += 1
    if frame:
        sym = re.sub(r"^\s*[0-9a-f]+\s+", "", frame)
        sym = re.sub(r"\s*\(/tmp/perf-\d+\.map\)|\[Optimized[^\]]*\]|\[QuickJitted\]|\[Tier0\]|\[PreJIT\]", "", sym)
        frames[name][sym[:150]] += 1


comm, stack = None, []
for line in sys.stdin:
    if not line.strip():
        continue
    if not line.startswith((" ", "\t")):
        flush(comm, stack)
        comm, stack = line.rsplit(None, 1)[0].strip(), []
    else:
        stack.append(line.strip())
flush(comm, stack)

print(f"samples: {total}")
print()
print("| stage | share | of which in the kernel |" + (" ms per registration |" if per_unit else ""))
print("|---|--:|--:|" + ("--:|" if per_unit else ""))
for name, n in counts.most_common():
    extra = f" {n / total * per_unit:.3f} |" if per_unit else ""
    print(f"| {name} | {n / total * 100:.1f}% | {kernel_in[name] / total * 100:.1f}% |{extra}")
print()
for name, n in counts.most_common():
    print(f"{name}: top frames that decided")
    for f, c in frames[name].most_common(top):
        print(f"    {c / total * 100:5.1f}%  {f}")
