"""What the machine is and how busy it is: CPU model, core count, load, and busy cores over time."""

import os
import platform
import resource
from dataclasses import dataclass
from pathlib import Path


def machine() -> dict:
    """Cores, CPU model, memory and load average, from /proc."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    models = [
        line.split(":", 1)[1].strip()
        for line in cpuinfo.splitlines()
        if line.startswith("model name")
    ]
    meminfo = Path("/proc/meminfo").read_text().split()
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": models[0] if models else platform.processor() or "unknown",
        "memory_gb": round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20, 1),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all of /proc/stat's `cpu` line but idle and
    iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU seconds used by this process's finished children (here: the wrk runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuWindow:
    """Busy cores over a stretch of time: the machine's, the server's and the load generator's."""

    machine: float = 0.0
    server: float = 0.0
    loadgen: float = 0.0

    @property
    def others(self) -> float:
        """Cores busy with work that is neither the server under test nor wrk."""
        return max(0.0, self.machine - self.server - self.loadgen)
