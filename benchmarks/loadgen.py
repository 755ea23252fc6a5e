"""The load generator: wrk, with a Lua script that rotates POST bodies, and its report parsed."""

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.scenarios import Scenario

INSTALL_HINT = "wrk is not installed: `sudo apt-get install -y wrk` (Debian/Ubuntu), then rerun"

LUA_POST = """-- POST each body in turn, as JSON.
local bodies = {{
{bodies}
}}
local headers = {{ ["Content-Type"] = "application/json" }}
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "{path}", headers, bodies[i])
end
"""
LUA_GET = """-- GET the path.
request = function()
  return wrk.format("GET", "{path}")
end
"""

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
DURATION = re.compile(r"([\d.]+)(us|ms|s|m)$")


@dataclass
class WrkResult:
    """What one wrk run measured: requests/s, latency percentiles (ms) and errors."""

    requests: int
    seconds: float
    requests_per_second: float
    latency_ms: dict[str, float]  # "50", "75", "90", "99"
    non_2xx: int
    socket_errors: dict[str, int]  # connect, read, write, timeout

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())

    def as_dict(self) -> dict:
        return asdict(self) | {"errors": self.errors}


def require_wrk() -> str:
    """The path of wrk, or SystemExit saying how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(INSTALL_HINT)
    return path


def lua_script(scenario: Scenario) -> str:
    """A wrk script posting the scenario's bodies in turn (Lua long strings need no escaping)."""
    if not scenario.bodies:
        return LUA_GET.format(path=scenario.path)
    for text in scenario.bodies:
        assert "]==]" not in text, "a body would close its Lua long string"
    bodies = ",\n".join(f"  [==[{text}]==]" for text in scenario.bodies)
    return LUA_POST.format(bodies=bodies, path=scenario.path)


def to_ms(value: str) -> float:
    """A wrk duration such as `812.00us`, `1.52ms` or `2.01s`, in milliseconds."""
    match = DURATION.match(value.strip())
    if match is None:
        raise ValueError(f"not a wrk duration: {value!r}")
    return float(match[1]) * UNITS[match[2]]


def parse_wrk(output: str) -> WrkResult:
    """Read requests/s, the `--latency` distribution and the error counts of a wrk report."""
    latency = {m[1]: to_ms(m[2]) for m in re.finditer(r"^\s+(\d+)%\s+(\S+)\s*$", output, re.M)}
    total = re.search(r"^\s*(\d+) requests in ([\d.]+\w+),", output, re.M)
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if total is None or rate is None or "50" not in latency:
        raise ValueError(f"unexpected wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    kinds = ("connect", "read", "write", "timeout")
    return WrkResult(
        requests=int(total[1]),
        seconds=to_ms(total[2]) / 1000,
        requests_per_second=float(rate[1]),
        latency_ms=latency,
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=dict(
            zip(kinds, map(int, sockets.groups() if sockets else [0] * 4), strict=True)
        ),
    )


def run_wrk(
    url: str, scenario: Scenario, seconds: float, script: Path, threads: int = 1
) -> WrkResult:
    """Load `url + scenario.path` for `seconds` with the scenario's connections.

    One wrk thread is plenty for a few thousand requests/s and leaves the other core to the server.
    """
    script.write_text(lua_script(scenario))
    command = [
        require_wrk(),
        f"--threads={min(threads, scenario.connections)}",
        f"--connections={scenario.connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=10s",
        "--latency",
        f"--script={script}",
        url + scenario.path,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)
