"""The run loop: :meth:`hvmm.machine.Machine.run` runs the core until
something only Python can do: a port access for a Python device (exit
``'io'``, handed to the bus), a Python timer falling due (``'timer'``), or
the end of the run, described by a :class:`Stop`.
"""

from __future__ import annotations

from dataclasses import dataclass
from time import perf_counter_ns

from hvmm.status import ExitStatus, guest_status
from hvmm.timers import fire_timers, wake_from_hlt

#: Instructions per ``cpu.run()`` call when nothing else stops the guest:
#: small enough for a responsive Ctrl-C and progress display, large enough
#: that the Python loop costs nothing measurable.
CHUNK = 1 << 20

#: Drain the 0xE9 debug console at least every this many I/O exits.
DEBUG_DRAIN_EXITS = 4096

MAX_INSN_LEN = 15

_ERROR_REASONS = {
    "invalid_opcode": "invalid opcode",
    "unimplemented": "unimplemented instruction",
    "triple_fault": "triple fault",
    "breakpoint": "breakpoint",
    "watchpoint": "watchpoint",
}


@dataclass
class Stop:
    """Why :meth:`Machine.run` returned.

    ``reason``: ``'hlt'``, ``'debug_exit'`` (the guest wrote ``value`` to
    port 0xF4), ``'limit'`` (``max_instructions`` or ``max_ns`` reached),
    ``'reset'``, ``'no_boot'`` (a PC whose BIOS found nothing to boot),
    ``'breakpoint'``, ``'invalid_opcode'``, ``'unimplemented'``,
    ``'triple_fault'`` or ``'interrupted'`` (Ctrl-C).
    ``status``: the exit status (:class:`hvmm.status.ExitStatus`, or the
    guest's ``(value << 1) | 1`` for a debug exit).
    ``error``: a one-line description for the error reasons.
    """

    reason: str
    status: int
    exit: object = None
    instructions: int = 0
    seconds: float = 0.0
    value: int | None = None
    error: str | None = None
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason in ("hlt", "debug_exit", "reset", "power_off")


def fmt_addr(cs: int, eip: int) -> str:
    """``CS:IP`` as ``0000:7C00`` (``0000:00012345`` past 64 KiB)."""
    return f"{cs:04X}:{eip:04X}" if eip <= 0xFFFF else f"{cs:04X}:{eip:08X}"


def cpu_mode(cpu) -> tuple[str, int]:
    """The mode's name and the code size it decodes with: ("real mode", 16),
    ("16-bit protected mode", 16), ("32-bit protected mode", 32) by CR0.PE
    and CS's D bit, or ("v86 mode", 16) with EFLAGS.VM (virtual-8086)."""
    code32 = bool(getattr(cpu, "code32", False))
    if getattr(cpu, "v86", False):
        return "v86 mode", 16
    if not getattr(cpu, "protected_mode", False):
        return ("real mode" if not code32 else "real mode, 32-bit CS"), (32 if code32 else 16)
    return ("32-bit protected mode", 32) if code32 else ("16-bit protected mode", 16)


def disassemble_at(cpu, linear: int, eip: int) -> str:
    """``"0F 0B  ud2"``: the bytes of the instruction at ``linear`` and its
    NASM-syntax disassembly (32-bit when CS's D bit is set, else 16-bit),
    or ``"??"`` if memory is unreadable."""
    bits = cpu_mode(cpu)[1]
    data = b""
    for length in (MAX_INSN_LEN, 8, 4, 2, 1):
        try:
            data = bytes(cpu.read_linear(linear, length))
            break
        except Exception:  # past the end of RAM, say
            continue
    if not data:
        return "??"
    try:
        from iced_x86 import Code, Decoder, Formatter, FormatterSyntax

        instr = Decoder(bits, data, ip=eip if bits == 32 else eip & 0xFFFF).decode()
        length = max(1, min(instr.len, len(data)))
        text = "(bad)" if instr.code == Code.INVALID else Formatter(
            FormatterSyntax.NASM).format(instr)
    except Exception:  # the disassembler must never hide the real error
        length, text = min(len(data), 4), "(no disassembly)"
    return " ".join(f"{b:02X}" for b in data[:length]) + "  " + text


def describe_error(cpu, ex) -> str:
    """One line for a guest error exit: what, where, the instruction."""
    what = _ERROR_REASONS.get(ex.reason, ex.reason.replace("_", " "))
    line = (f"{what} at {fmt_addr(ex.cs, ex.eip)} (linear 0x{ex.linear:X}, {cpu_mode(cpu)[0]}): "
            f"{disassemble_at(cpu, ex.linear, ex.eip)}")
    detail = " ".join(str(getattr(ex, "detail", "") or "").split())
    if detail and ex.reason != "invalid_opcode":
        line += f" [{detail}]"
    return line


def guest_stop(machine, ex) -> Stop:
    """The :class:`Stop` for an exit that ends the run."""
    reason = ex.reason
    if reason == "hlt":
        return machine.halt_stop(ex)
    if reason == "debug_exit":
        return Stop("debug_exit", guest_status(ex.value), ex, value=ex.value)
    if reason == "reset":
        return Stop("reset", ExitStatus.OK, ex, note="the guest asked for a reset")
    if reason == "power_off":
        return Stop("power_off", ExitStatus.OK, ex, note="the guest powered off (ACPI S5)")
    status = ExitStatus.TRIPLE_FAULT if reason == "triple_fault" else ExitStatus.GUEST_FAULT
    return Stop(reason, status, ex, error=describe_error(machine.cpu, ex))


def run(machine, max_instructions: int | None = None, progress=None,
        max_ns: int | None = None) -> Stop:
    """:meth:`hvmm.machine.Machine.run` (see there)."""
    cpu = machine.cpu
    core_run = cpu.run
    dispatch = machine.bus.dispatch
    exits = machine.exits
    start = cpu.instructions
    limit = None if max_instructions is None else start + int(max_instructions)
    budget = CHUNK
    drain_countdown = DEBUG_DRAIN_EXITS
    stop = None
    time_up = []
    time_limit = None
    if max_ns is not None:
        time_limit = machine.clock.call_after(max(0, int(max_ns)), time_up.append, True)
    machine.running = True
    t0 = perf_counter_ns()
    try:
        while True:
            if limit is not None:
                budget = limit - cpu.instructions
                if budget <= 0:
                    stop = Stop("limit", ExitStatus.LIMIT)
                    break
                if budget > CHUNK:
                    budget = CHUNK
            if machine.realtime:
                budget = realtime_step(machine, budget)
            ex = core_run(budget)
            error = machine.bus.take_mmio_error()
            if error is not None:
                raise error
            reason = ex.reason
            if reason == "io":
                dispatch(ex)
                drain_countdown -= 1
                if not drain_countdown:
                    drain_countdown = DEBUG_DRAIN_EXITS
                    machine.drain_debug()
                continue
            exits[reason] += 1
            if reason == "trace_full":
                machine.tracer.flush()
                continue
            if reason == "budget":
                machine.drain_debug()
                if progress is not None:
                    progress(cpu.instructions - start)
                continue
            if reason == "timer":
                fire_timers(machine)
                if time_up:
                    stop = Stop("limit", ExitStatus.LIMIT)
                    break
                continue
            if reason == "hlt":
                if wake_from_hlt(machine) and not time_up:
                    continue
                if time_up:
                    stop = Stop("limit", ExitStatus.LIMIT)
                    break
            stop = guest_stop(machine, ex)
            break
    except KeyboardInterrupt:
        stop = Stop("interrupted", ExitStatus.INTERRUPTED)
    finally:
        if time_limit is not None:
            time_limit.cancel()
        machine.running = False
        elapsed = perf_counter_ns() - t0
        machine.wall_ns += elapsed
        done = cpu.instructions - start
        machine.instructions_run += done
        machine.drain_debug()
        if machine.tracer is not None:
            machine.tracer.flush()
    stop.instructions = done
    stop.seconds = elapsed / 1e9
    machine.stop = stop
    return stop


def realtime_step(machine, budget: int) -> int:
    """Realtime mode: bring virtual time level with the host clock (skip
    forward when the guest fell behind, sleep when it ran ahead), and run at
    most about 2 ms of virtual time before looking again."""
    cpu = machine.cpu
    now_host = perf_counter_ns()
    if machine.rt_origin is None:
        machine.rt_origin = now_host - cpu.time_ns
    ahead = cpu.time_ns - (now_host - machine.rt_origin)
    if ahead < 0:
        cpu.advance_time(-ahead)
    elif ahead > 2_000_000:
        import time

        time.sleep((ahead - 1_000_000) / 1e9)
    return max(1, min(budget, cpu.ips // 500))
