#!/usr/bin/env python3
"""OpenMetrics history for the Prometheus peer, at fixed dates, every 5 minutes
from 2026-11-01T00:00Z to 2026-11-15T00:00Z (what tests/it/live_prometheus.rs expects):
- kube_node_info: 3 nodes, 5 from 08:00 to 20:00 UTC;
- 4 running pods (namespace shop) requesting 0.5 CPU and 1 GiB each, using
  0.25 CPU (counter) and 512 MiB each;
- on 2026-11-10 a pending pod requesting 64 CPU.
"""
import datetime as dt

start = int(dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc).timestamp())
end = int(dt.datetime(2026, 11, 15, tzinfo=dt.timezone.utc).timestamp())
steps = range(start, end + 1, 300)
GIB = 1024 ** 3
lines = {name: [] for name in (
    "kube_node_info", "kube_pod_container_resource_requests", "kube_pod_status_phase",
    "container_cpu_usage_seconds_total", "container_memory_working_set_bytes")}
pending_day = int(dt.datetime(2026, 11, 10, tzinfo=dt.timezone.utc).timestamp())
for t in steps:
    hour = (t // 3600) % 24
    for n in range(5 if 8 <= hour < 20 else 3):
        lines["kube_node_info"].append(f'kube_node_info{{node="n{n}"}} 1 {t}')
    pods = [(f"web-{i}", "Running", 0.5) for i in range(4)]
    if pending_day <= t < pending_day + 86400:
        pods.append(("big", "Pending", 64.0))
    for pod, phase, cpu in pods:
        l = f'namespace="shop",pod="{pod}"'
        lines["kube_pod_container_resource_requests"].append(
            f'kube_pod_container_resource_requests{{{l},container="app",resource="cpu",unit="core"}} {cpu} {t}')
        lines["kube_pod_container_resource_requests"].append(
            f'kube_pod_container_resource_requests{{{l},container="app",resource="memory",unit="byte"}} {GIB} {t}')
        for p in ("Pending", "Running", "Succeeded", "Failed"):
            lines["kube_pod_status_phase"].append(
                f'kube_pod_status_phase{{{l},phase="{p}"}} {1 if p == phase else 0} {t}')
        if phase == "Running":
            lines["container_cpu_usage_seconds_total"].append(
                f'container_cpu_usage_seconds_total{{{l},container="app"}} {0.25 * (t - start)} {t}')
            lines["container_memory_working_set_bytes"].append(
                f'container_memory_working_set_bytes{{{l},container="app"}} {GIB // 2} {t}')
kinds = {"container_cpu_usage_seconds_total": "counter"}
for name, ls in lines.items():
    print(f"# TYPE {name} {kinds.get(name, 'gauge')}")
    print("\n".join(ls))
print("# EOF")
