"""Where the gateway's CPU goes under 32 lean clients: py-spy on the gateway process, per era.

    python -m bench.profile RAW [N]     # summarise a raw py-spy file: by package, top N frames

The suite runs `profile_gateway` once after its runs: one backend, one gateway, 32 lean clients
calling `echo` in each era while `py-spy record --format raw --nonblocking` samples the gateway
(idle samples are left out, so the shares are shares of its CPU). The summary is self time: by
package (the first folder of the frame's file, grouped as `PACKAGES` says) and by frame
(function and file, lines merged). py-spy needs ptrace; where it cannot attach, the summary says
why and the suite goes on.
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import measure
from bench.lean import LEGACY, MODERN
from bench.plan import run
from bench.topology import backend, gateway, http_config

PACKAGES: dict[str, tuple[str, ...]] = {
    "gateway": ("gateway",),
    "uvicorn/httptools/h11": ("uvicorn", "httptools", "h11"),
    "starlette": ("starlette", "sse_starlette"),
    "asyncio/anyio/uvloop": ("asyncio", "anyio", "uvloop", "sniffio", "selectors", "contextvars"),
    "mcp/fastmcp/pydantic": ("mcp", "mcp_types", "fastmcp", "pydantic", "pydantic_core"),
    "orjson/json": ("orjson", "json"),
    "httpx2/httpcore2": ("httpx2", "httpcore2", "httpx", "httpcore"),
    "logging/otel/metrics": ("logging", "opentelemetry", "prometheus_client"),
}
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>.*?)(?::\d+)?\)$")
FAST = "(gateway/relay/fast.py:"
MARKERS: dict[str, Callable[[str], bool]] = {
    "the fast path (gateway/relay/fast.py)": lambda stack: FAST in stack,
    "the full relay (gateway/relay/relay.py, not from the fast path)": lambda stack: (
        "(gateway/relay/relay.py:" in stack and FAST not in stack
    ),
    "the SDK's server (mcp/server/)": lambda stack: "(mcp/server/" in stack,
}
"""Inclusive shares: samples whose stack passes through these files (the fast path calls some of
the relay's methods: those count as the fast path's)."""


@dataclass
class Profile:
    samples: int = 0
    packages: collections.Counter[str] = field(default_factory=collections.Counter)
    frames: collections.Counter[str] = field(default_factory=collections.Counter)
    through: collections.Counter[str] = field(default_factory=collections.Counter)

    def share(self, count: int) -> float:
        return 100 * count / self.samples if self.samples else 0.0


def package_of(path: str) -> str:
    """The group a frame's file belongs to (`PACKAGES`), or `other`."""
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    top = path.lstrip("/").split("/", 1)[0].removesuffix(".py").removesuffix(".pyx")
    for group, names in PACKAGES.items():
        if top in names:
            return group
    return "other"


def summarise(raw: str) -> Profile:
    """A raw (collapsed) py-spy profile, `frame;frame;... count` per line, by self time."""
    profile = Profile()
    for line in raw.splitlines():
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        profile.samples += count
        leaf = stack.rsplit(";", 1)[-1]
        match = FRAME.match(leaf)
        func, path = (match["func"], match["file"]) if match else (leaf, leaf)
        profile.packages[package_of(path)] += count
        profile.frames[f"{func} ({path})"] += count
        for label, through in MARKERS.items():
            if through(stack):
                profile.through[label] += count
    return profile


class Recorder:
    """One `py-spy record`, started when the clients are ready (`start`)."""

    def __init__(self, command: list[str], *, log: Path) -> None:
        self.command = command
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        try:
            with self.log.open("wb") as sink:
                self.process = subprocess.Popen(self.command, stdout=sink, stderr=subprocess.STDOUT)
        except OSError as error:
            self.log.write_text(f"cannot start py-spy: {error}")

    def failure(self, raw: Path) -> str | None:
        """Wait for it to finish: why it recorded nothing, or None."""
        if self.process is None:
            code = -1
        else:
            try:
                code = self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                return "py-spy did not finish within 60 s"
        if code == 0 and raw.exists():
            return None
        said = self.log.read_text(errors="replace").strip().splitlines() if self.log.exists() else []
        return said[0] if said else f"exit status {code}"


def profile_gateway(work: Path, *, seconds: float, top: int = 12) -> list[str]:
    """Profile the gateway under 32 lean clients in each era; the summary as Markdown lines."""
    title = "## Profile: the gateway under 32 lean clients (py-spy, self time)"
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        return [title, "", "Skipped: py-spy is not installed (`pip install py-spy`)."]
    profiles: dict[str, Profile] = {}
    context: list[str] = []
    with backend(work) as sse, gateway(work, http_config({"bench": sse.url}), label="profile") as ours:
        for era in (LEGACY, MODERN):
            raw = work / f"profile-{era}.raw"
            spy_run = Recorder([spy, "record", "--format", "raw", "--rate", "200", "-o", str(raw),
                                "--pid", str(ours.pid), "--nonblocking", "-d", f"{seconds:g}"],
                               log=work / f"profile-{era}.log")  # fmt: skip
            result = run(
                measure.throughput, ours.url, "bench_echo", {"text": "hello"}, kind="lean", era=era,
                clients=32, seconds=seconds + 1.0, watch=ours, on_start=spy_run.start,
            )  # fmt: skip
            failure = spy_run.failure(raw)
            if failure is not None:
                return [title, "", f"Skipped: py-spy could not record the gateway ({failure})."]
            profiles[era] = summarise(raw.read_text(errors="replace"))
            cpu = f"{result.cpu_ms_per_call:.2f}" if result.cpu_ms_per_call is not None else "–"
            context.append(
                f"{era}: {profiles[era].samples} samples, {result.per_second:.0f} calls/s, {cpu} ms CPU/call"
            )
    return [title, "", *_describe(seconds, context), "", *_tables(profiles, top)]


def _describe(seconds: float, context: list[str]) -> list[str]:
    return [
        f"`py-spy record --rate 200 --nonblocking -d {seconds:g}` on a gateway in front of the one "
        "HTTP backend while 32 lean clients call `echo`; samples where the gateway was idle are left "
        "out, so each share is a share of its CPU (py-spy's sampling adds some cost of its own). "
        "uvloop's own work (socket reads and writes, callbacks) has no Python frame: it shows as "
        "`Runner.run (asyncio/runners.py)`.",
        "",
        *[f"- {line}" for line in context],
    ]


def _tables(profiles: dict[str, Profile], top: int) -> list[str]:
    eras = list(profiles)
    head = " | ".join(eras)
    lines = [f"| package (self time) | {head} |", "|" + " --- |" * (len(eras) + 1)]
    groups = collections.Counter[str]()
    for profile in profiles.values():
        groups.update({k: v / max(1, profile.samples) for k, v in profile.packages.items()})
    for group, _ in groups.most_common():
        cells = " | ".join(f"{p.share(p.packages[group]):.1f}%" for p in profiles.values())
        lines.append(f"| {group} | {cells} |")
    lines += ["", f"| stacks through (inclusive) | {head} |", "|" + " --- |" * (len(eras) + 1)]
    for label in MARKERS:
        cells = " | ".join(f"{p.share(p.through[label]):.1f}%" for p in profiles.values())
        lines.append(f"| {label} | {cells} |")
    frames = collections.Counter[str]()
    for profile in profiles.values():
        frames.update({k: v / max(1, profile.samples) for k, v in profile.frames.items()})
    lines += ["", f"| top {top} frames (self time) | {head} |", "|" + " --- |" * (len(eras) + 1)]
    for frame, _ in frames.most_common(top):
        cells = " | ".join(f"{p.share(p.frames[frame]):.1f}%" for p in profiles.values())
        lines.append(f"| `{frame[:110].replace('|', '/')}` | {cells} |")
    return lines


def main(argv: list[str]) -> int:
    profile = summarise(Path(argv[0]).read_text(errors="replace"))
    print("\n".join(_tables({argv[0]: profile}, int(argv[1]) if len(argv) > 1 else 25)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
