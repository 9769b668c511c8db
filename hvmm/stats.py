"""Statistics of a machine's runs, like kvm_stat: retired instructions,
wall time, exits to Python and, per device and path, the port and MMIO
accesses and their time.

:func:`collect` gathers them as a dict (what ``--stats-json`` writes),
:func:`format_stats` draws the table ``--stats`` prints.  The counters of
the Python path (:class:`DeviceCounters`) are kept by the bus and the
timers as the machine runs; the in-kernel counters by the core.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from time import perf_counter_ns

from hvmm.devices.base import MmioDevice

PATHS = ("in-kernel", "python", "timer", "unclaimed")


@dataclass(slots=True)
class DeviceCounters:
    """One Python device's counters."""

    reads: int = 0
    writes: int = 0
    blocks: int = 0             # REP INS/OUTS blocks (each also one read or write)
    block_elements: int = 0     # their elements
    io_ns: int = 0
    timers: int = 0
    timer_ns: int = 0
    mmio: int = 0
    mmio_ns: int = 0


_calibrated: dict[str, float | None] = {}


def calibrate_kernel_access_ns(model: str = "386") -> float | None:
    """Host nanoseconds one port access handled in-kernel costs, measured
    on a scratch CPU: a loop of ``OUT 0x80, AL`` (the POST port, an
    in-kernel device) against the same loop with a ``NOP``.  Cached per
    model; None if it cannot be measured."""
    if model in _calibrated:
        return _calibrated[model]
    result = None
    try:
        from hvmm._core import Cpu

        n = 0xFFFF
        # mov cx, 0xFFFF; <body>; loop <body>; cli; hlt
        out_loop = bytes([0xB9, 0xFF, 0xFF, 0xE6, 0x80, 0xE2, 0xFC, 0xFA, 0xF4])
        nop_loop = bytes([0xB9, 0xFF, 0xFF, 0x90, 0xE2, 0xFD, 0xFA, 0xF4])

        def timed(code: bytes) -> float | None:
            best = None
            for _ in range(3):
                cpu = Cpu(memory_size=64 << 10, model=model)
                if cpu.kernel_device_at(0x80) is None:
                    return None
                cpu.memory[0x1000 : 0x1000 + len(code)] = code
                cpu.cs, cpu.ip = 0, 0x1000
                t = perf_counter_ns()
                ex = cpu.run(4 * n)
                t = perf_counter_ns() - t
                if ex.reason != "hlt":
                    return None
                best = t if best is None else min(best, t)
            return best

        t_out, t_nop = timed(out_loop), timed(nop_loop)
        if t_out is not None and t_nop is not None:
            # Each iteration is 2 instructions; the NOP loop's body costs
            # about half an iteration.
            result = max(0.0, (t_out - t_nop) / n + t_nop / (2 * n))
    except Exception:
        result = None
    _calibrated[model] = result
    return result


def _row(device, path, count, time_ns=None, estimated=False, ports="", behind=None, **extra):
    return {"device": device, "path": path, "count": count, "time_ns": time_ns,
            "estimated": estimated, "ports": ports, "behind": behind, **extra}


def _ports_text(machine, device) -> str:
    ports = ",".join(f"0x{a:X}" if a == b else f"0x{a:X}-0x{b:X}"
                     for a, b in machine.bus.port_spans(device))
    if isinstance(device, MmioDevice) and device.mmio_base is not None:
        mm = f"0x{device.mmio_base:X}+0x{device.mmio_size:X}"
        ports = f"{ports},{mm}" if ports else mm
    return ports


def collect(machine, estimate_kernel_time: bool = True) -> dict:
    """The machine's statistics since it was built (see
    :meth:`hvmm.machine.Machine.stats` for the keys)."""
    cpu, bus = machine.cpu, machine.bus
    wall = machine.wall_ns / 1e9
    kernel = cpu.kernel_stats() or {}
    measured = bool(cpu.io_timing)  # the core timed each in-kernel access
    per_access = None
    if (not measured and estimate_kernel_time
            and any(v.get("in_kernel", 0) for v in kernel.values())):
        per_access = calibrate_kernel_access_ns(cpu.model)

    rows = []
    for device in machine.devices:
        c = bus.counters_of(device)
        behind = bus.behind(device)
        rows.append(_row(
            device.name, "python", c.reads + c.writes + c.mmio,
            c.io_ns + c.mmio_ns if bus.timing else None,
            ports=_ports_text(machine, device),
            behind=",".join(sorted(behind)) if behind else None,
            reads=c.reads, writes=c.writes, mmio=c.mmio,
            elements=c.reads + c.writes + c.block_elements - c.blocks,
            irq_edges=sum(line.edges for line in machine.irq_lines if line.owner is device),
        ))
        if c.timers:
            rows.append(_row(device.name, "timer", c.timers, c.timer_ns))

    for name in sorted(kernel):
        counts = kernel[name] or {}
        n = int(counts.get("in_kernel", 0))
        if n:
            time_ns = (int(counts.get("in_kernel_ns", 0)) if measured
                       else None if per_access is None else n * per_access)
            rows.append(_row(name, "in-kernel", n, time_ns,
                             estimated=not measured and per_access is not None,
                             to_python=int(counts.get("to_python", 0))))
        unclaimed = int(counts.get("unclaimed", 0))
        if unclaimed:
            rows.append(_row(name, "unclaimed", unclaimed))
    if bus.stray:
        rows.append(_row("(no Python device)", "unclaimed", bus.stray))

    paths = {}
    for path in PATHS:
        sel = [r for r in rows if r["path"] == path]
        times = [r["time_ns"] for r in sel if r["time_ns"] is not None]
        paths[path] = {
            "count": sum(r["count"] for r in sel),
            "time_ns": sum(times) if times and len(times) == len(sel) else (None if sel else 0),
        }

    exits = dict(machine.exits)
    io = bus.stray + sum(bus.counters_of(d).reads + bus.counters_of(d).writes
                         for d in machine.devices)
    if io:
        exits["io"] = io
    instructions = machine.instructions_run
    return {
        "model": cpu.model,
        "instructions": instructions,
        "wall_seconds": wall,
        "mips": instructions / wall / 1e6 if wall > 0 else None,
        "virtual_ns": cpu.time_ns,
        "post_code": cpu.post_code,
        "exits": exits,
        "rows": rows,
        "paths": paths,
        "kernel_time": ("measured" if measured else
                        "estimated" if per_access is not None else "unmeasured"),
        "kernel_ns_per_access": per_access,
        "exceptions": dict(getattr(cpu, "exceptions_by_vector", {}) or {}),
        "mode_switches": int(getattr(cpu, "mode_switches", 0) or 0),
        "task_switches": int(getattr(cpu, "task_switches", 0) or 0),
        "v86_entries": int(getattr(cpu, "v86_entries", 0) or 0),
        "tlb": dict(cpu.tlb_stats()) if hasattr(cpu, "tlb_stats") else {},
    }


EXCEPTION_NAMES = {0: "#DE", 1: "#DB", 2: "NMI", 3: "#BP", 4: "#OF", 5: "#BR", 6: "#UD",
                   7: "#NM", 8: "#DF", 10: "#TS", 11: "#NP", 12: "#SS", 13: "#GP",
                   14: "#PF", 16: "#MF", 17: "#AC"}


def format_ns(ns: int) -> str:
    if ns >= 1_000_000_000:
        return f"{ns / 1e9:.3f} s"
    if ns >= 1_000_000:
        return f"{ns / 1e6:.3f} ms"
    if ns >= 1_000:
        return f"{ns / 1e3:.3f} us"
    return f"{ns} ns"


def format_stats(s: dict) -> str:
    """The statistics as a kvm_stat-like table (several lines, no trailing
    newline).  The first line is the summary: ``hvmm stats: N instructions
    retired in S s wall: M MIPS (...)``."""
    mips = f"{s['mips']:.2f}" if s["mips"] is not None else "-"
    extra = []
    if s.get("model"):
        extra.append(f"{s['model']} model")
    if s["virtual_ns"] is not None:
        extra.append(f"virtual time {format_ns(s['virtual_ns'])}")
    post = s["post_code"]
    extra.append("last POST code " + ("none" if post is None else f"0x{post:02X}"))
    lines = [
        f"hvmm stats: {s['instructions']} instructions retired in "
        f"{s['wall_seconds']:.3f} s wall: {mips} MIPS ({'; '.join(extra)})"
    ]
    header = ("device", "path", "ports", "count", "time ms", "avg ns")
    table = [header]
    for r in s["rows"]:
        path = r["path"]
        if r.get("behind"):
            path += f" (behind {r['behind']})"
        t = r["time_ns"]
        mark = "~" if r.get("estimated") else ""
        if t is None:
            t_ms = avg = "-"
        else:
            t_ms = f"{mark}{t / 1e6:.3f}"
            avg = f"{mark}{t / r['count']:.0f}" if r["count"] else "-"
        table.append((r["device"], path, r.get("ports") or "", str(r["count"]), t_ms, avg))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        cells = [row[i].ljust(widths[i]) if i < 3 else row[i].rjust(widths[i])
                 for i in range(len(header))]
        lines.append("  ".join(cells).rstrip())
    totals = []
    for path, v in s["paths"].items():
        if not v["count"]:
            continue
        t = v["time_ns"]
        approx = path == "in-kernel" and s["kernel_time"] == "estimated"
        tt = "" if t is None else f" in {'~' if approx else ''}{t / 1e6:.3f} ms"
        totals.append(f"{path} {v['count']}{tt}")
    lines.append("paths: " + (", ".join(totals) if totals else "no port I/O"))
    if s["exits"]:
        lines.append("exits to Python: " + ", ".join(
            f"{k} {v}" for k, v in sorted(s["exits"].items(), key=lambda kv: -kv[1])))
    if s.get("exceptions"):
        lines.append("exceptions taken: " + ", ".join(
            f"{EXCEPTION_NAMES.get(v, f'#{v}')} {n}" for v, n in sorted(s["exceptions"].items())))
    if s.get("mode_switches"):
        lines.append(f"mode switches (CR0.PE changes): {s['mode_switches']}")
    if s.get("task_switches"):
        lines.append(f"task switches: {s['task_switches']}")
    if s.get("v86_entries"):
        lines.append(f"v86 entries (IRET to virtual-8086 mode): {s['v86_entries']}")
    if s.get("tlb"):
        # misses: walks (or identity fills with CR0.PG off); flushes: CR3
        # loads, CR0/CR4 changes that drop translations, the A20 gate
        lines.append(f"TLB: {s['tlb']['misses']} misses, {s['tlb']['flushes']} flushes, "
                     f"{s['tlb']['invlpg']} INVLPG")
    if s["kernel_ns_per_access"] is not None:
        lines.append(
            f"~ in-kernel time is estimated: count x {s['kernel_ns_per_access']:.0f} ns "
            "(one in-kernel OUT, calibrated on this host); Python time is measured "
            "around each device call")
    elif s["kernel_time"] == "measured":
        lines.append("in-kernel time is measured in the core (TSC); "
                     "Python time around each device call")
    elif s["paths"]["in-kernel"]["count"]:
        lines.append("in-kernel time is not measured (no calibration); Python time is measured")
    return "\n".join(lines)


def stats_json(s: dict, **extra) -> str:
    """The statistics as one JSON document (``--stats-json``): the keys of
    :func:`collect`, plus ``extra`` (the run's status and reason)."""
    return json.dumps({**extra, **s}, indent=2, sort_keys=True) + "\n"
