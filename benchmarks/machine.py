"""What the benchmark ran on: CPU, cores, memory, OS, file system, Python and library versions."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

LIBRARIES = ("assets", "polars", "pyarrow", "sqlalchemy", "sqlmodel", "rich")


def describe(folder: Path) -> list[tuple[str, str]]:
    """(what, value) pairs describing this machine and the software the benchmark ran with."""
    return [
        ("CPU", _cpu_model()),
        ("cores", _cores()),
        ("memory", _memory()),
        ("OS", _os()),
        ("file system of the work folder", _file_system(folder)),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        *((name, _version(name)) for name in LIBRARIES),
        ("project commit", _commit(folder)),
    ]


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far by the whole machine and by this process with its finished children."""

    at: float
    machine_busy: float
    own: float

    @classmethod
    def take(cls) -> CpuSample:
        fields = next((line.split()[1:] for line in _lines("/proc/stat") if line.startswith("cpu ")), [])
        ticks = os.sysconf("SC_CLK_TCK")
        # user nice system idle iowait irq softirq steal: everything but idle and iowait is busy
        busy = sum(int(value) for i, value in enumerate(fields[:8]) if i not in (3, 4)) / ticks
        times = os.times()
        own = times.user + times.system + times.children_user + times.children_system
        return cls(time.monotonic(), busy, own)


def other_load(start: CpuSample, end: CpuSample) -> str:
    """How busy other processes kept the machine between two samples (the benchmark wants it idle)."""
    elapsed = end.at - start.at
    other = max(0.0, (end.machine_busy - start.machine_busy) - (end.own - start.own))
    cores = os.cpu_count() or 1
    if start.machine_busy == end.machine_busy == 0:
        return "unknown (no /proc/stat)"
    return (f"{other:.0f} CPU-seconds used by other processes while the benchmark ran for {elapsed:.0f} s "
            f"({other / (elapsed * cores):.0%} of the machine's {cores} cores)")


def load_average() -> tuple[float, float, float] | None:
    """The load average over 1, 5 and 15 minutes, or None where the system does not tell."""
    try:
        return os.getloadavg()
    except OSError:
        return None


def _cpu_model() -> str:
    models = [line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo") if line.startswith("model name")]
    return models[0] if models else platform.processor() or "unknown"


def _cores() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{usable} usable by this process ({os.cpu_count()} logical in the machine)"


def _memory() -> str:
    for line in _lines("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _os() -> str:
    pretty = platform.system()
    for line in _lines("/etc/os-release"):
        if line.startswith("PRETTY_NAME="):
            pretty = line.split("=", 1)[1].strip().strip('"')
    return f"{pretty}, kernel {platform.release()} ({platform.machine()})"


def _file_system(folder: Path) -> str:
    """The type of the file system holding ``folder``: the longest mount point above it."""
    folder = folder.resolve()
    best, kind = "", "unknown"
    for line in _lines("/proc/mounts"):
        parts = line.split()
        if len(parts) >= 3 and (folder == Path(parts[1]) or Path(parts[1]) in folder.parents) \
                and len(parts[1]) > len(best):
            best, kind = parts[1], parts[2]
    if kind == "ext4" and best:
        device = next((line.split()[0] for line in _lines("/proc/mounts") if line.split()[1:2] == [best]), "")
        journals = os.listdir("/proc/fs/jbd2") if os.path.isdir("/proc/fs/jbd2") else []
        if device and not any(name.startswith(Path(device).name + "-") for name in journals):
            kind = "ext4 without a journal"
    return f"{kind} (mounted at {best})" if best else kind


def python_speed(additions: int = 5_000_000) -> float:
    """Seconds one core takes for a fixed pure-Python loop of ``additions`` additions (the best of three): how
    fast the machine runs Python at the moment, which on a shared VM drifts by tens of percent within minutes."""
    best = float("inf")
    for _ in range(3):
        begun, total = time.perf_counter(), 0
        for number in range(additions):
            total += number
        best = min(best, time.perf_counter() - begun)
    return best


def file_creation(folder: Path, count: int = 2_000) -> float:
    """Milliseconds to create, write (1.5 KB) and close one new file, over ``count`` new files in a new folder
    under ``folder`` (kept: deleting them would slow the next files made on a journal-less ext4)."""
    folder.mkdir(parents=True)
    data = b"x" * 1_500
    begun = time.perf_counter()
    for index in range(count):
        descriptor = os.open(folder / f"{index}.bin", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(descriptor, data)
        os.close(descriptor)
    return (time.perf_counter() - begun) / count * 1e3


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _commit(folder: Path) -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=folder, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=folder,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{head} (with uncommitted changes)" if dirty else head


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []
