"""Servers under test as real subprocesses: start on a free loopback port, wait for /ready, watch
their memory and CPU through /proc, read their /metrics, stop them."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

HOST = "127.0.0.1"
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A loopback port nobody listens on (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def process_tree(root: int) -> list[int]:
    """`root` and every descendant, found through the parent ids in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def tree_rss_bytes(root: int) -> int:
    """Resident memory of a process tree (field 2 of /proc/PID/statm, in pages)."""
    total = 0
    for pid in process_tree(root):
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except OSError:
            continue
    return total


def tree_cpu_seconds(root: int) -> float:
    """User plus system CPU time a process tree has used (fields 14 and 15 of /proc/PID/stat)."""
    total = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    """Status and body of a GET; status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


class Server:
    """One server process: `command` run with `env` added, listening on `port`."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], port: int, log: Path):
        self.name, self.command, self.env, self.port, self.log = name, command, env, port, log
        self.url = f"http://{HOST}:{port}"
        self.process: subprocess.Popen | None = None
        self.spawned = datetime.now(UTC)
        self.ready_seconds = 0.0
        self.idle_rss = 0
        self.peak_rss = 0
        self._sampling = threading.Event()
        self._sampler: threading.Thread | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 180.0) -> None:
        """Start the process and wait until /ready answers 200; time how long that takes."""
        started = time.perf_counter()
        self.spawned = datetime.now(UTC)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.command,
                env=os.environ | self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, stopped as one
            )
        while http_get(self.url + "/ready", timeout=1.0)[0] != 200:
            if self.process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{tail}")
            if time.perf_counter() - started > timeout:
                self.stop()
                raise RuntimeError(f"{self.name} not ready within {timeout:g} s; see {self.log}")
            time.sleep(0.05)
        self.ready_seconds = time.perf_counter() - started
        self.idle_rss = tree_rss_bytes(self.pid)

    def log_marks(self, marks: dict[str, str]) -> dict[str, float]:
        """Seconds from spawn to the first JSON log line starting with each of `marks`' texts."""
        found: dict[str, float] = {}
        for line in self.log.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
                at = datetime.fromisoformat(entry["time"])
            except (ValueError, KeyError, TypeError):
                continue
            for label, prefix in marks.items():
                if label not in found and str(entry.get("message", "")).startswith(prefix):
                    found[label] = (at - self.spawned).total_seconds()
        return found

    def cpu_seconds(self) -> float:
        """CPU time the server's process tree has used so far."""
        return tree_cpu_seconds(self.pid)

    def sample_memory(self, every: float = 0.2) -> None:
        """Sample the tree's RSS in the background until `stop_sampling`; keep the peak."""
        self._sampling.set()

        def sample() -> None:
            while self._sampling.is_set():
                self.peak_rss = max(self.peak_rss, tree_rss_bytes(self.pid))
                time.sleep(every)

        self._sampler = threading.Thread(target=sample, daemon=True)
        self._sampler.start()

    def stop_sampling(self) -> None:
        self._sampling.clear()
        if self._sampler is not None:
            self._sampler.join()

    def metrics(self) -> str:
        """The /metrics text, or "" for a server without it."""
        status, text = http_get(self.url + "/metrics")
        return text if status == 200 else ""

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it if it has not exited within 30 s."""
        self.stop_sampling()
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def service_server(model_dir: Path, env: dict[str, str], log: Path) -> Server:
    """`python -m service` on the model store, with extra settings from `env`."""
    port = free_port()
    settings = {"MODEL_DIR": str(model_dir), "HOST": HOST, "PORT": str(port)} | env
    return Server("service", [sys.executable, "-m", "service"], settings, port, log)


def baseline_server(model_dir: Path, log: Path) -> Server:
    """The one-call-per-request app of `benchmarks.baseline` on the same model store."""
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.baseline", "--model-dir", str(model_dir)]
    return Server("baseline", [*command, "--port", str(port)], {}, port, log)


def metric_samples(text: str) -> dict[str, float]:
    """Prometheus text format as {'name{labels}': value}, comments skipped."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            samples[key] = float(value)
    return samples


def batching_figures(before: str, after: str, model: str) -> dict[str, float]:
    """The service's batching between two /metrics scrapes: model calls, texts and requests per
    call, and mean model-call and queue-wait times (ms)."""
    b, a = metric_samples(before), metric_samples(after)
    label = f'{{model="{model}"}}'

    def delta(name: str) -> float:
        return a.get(name + label, 0.0) - b.get(name + label, 0.0)

    calls = delta("batch_size_count")
    batches = delta("batch_requests_count")
    if not calls or not batches:
        return {}
    return {
        "model_calls": calls,
        "texts_per_call": delta("batch_size_sum") / calls,
        "requests_per_batch": delta("batch_requests_sum") / batches,
        "model_call_ms": delta("model_call_seconds_sum") / delta("model_call_seconds_count") * 1e3,
        "queue_wait_ms": delta("batch_queue_wait_seconds_sum")
        / delta("batch_queue_wait_seconds_count")
        * 1e3,
    }
