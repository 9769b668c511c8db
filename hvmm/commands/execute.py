"""``hvmm exec BINARY``: run a raw real-mode binary without a BIOS."""

from __future__ import annotations

import os
import stat

from hvmm.commands.common import UsageError, finish, progress_bar
from hvmm.errors import ConfigError

DEFAULT_LOAD = (0x0000, 0x7C00)
# Where real mode can reach: FFFF:FFFF is 0x10FFEF (with A20 enabled).
REAL_MODE_TOP = 0x10FFF0


def format_registers(cpu) -> str:
    names = ["eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp"]
    regs = " ".join(f"{n}={getattr(cpu, n):08X}" for n in names)
    segs = [f"{n}={getattr(cpu, n):04X}" for n in ("cs", "ds", "es", "ss", "fs", "gs")]
    return f"{regs}\n{' '.join(segs)} eip={cpu.eip:08X} eflags={cpu.eflags:08X}"


# `--protected`: flat 32-bit protected mode, as Unicorn's UC_MODE_32 offers.
PM_LOAD = 0x00100000            # the image and EIP (1 MiB; A20 on)
PM_GDT = 0x00001000             # null, 0x08 code, 0x10 data: base 0, 4 GiB, DPL 0
PM_CODE_SEL, PM_DATA_SEL = 0x08, 0x10
PM_GDT_ENTRIES = (0, 0x00CF9B000000FFFF, 0x00CF93000000FFFF)


def enter_flat_protected(machine, image: bytes) -> None:
    """Load ``image`` at PM_LOAD and start it in flat 32-bit protected mode
    at CPL 0: a GDT at PM_GDT (null, a 32-bit code and a data segment, both
    base 0 and limit 4 GiB), CS = 0x08, DS = ES = FS = GS = SS = 0x10,
    ESP = PM_LOAD (the stack grows down below the image), A20 on, IDTR
    limit 0 (no IDT: an exception the guest does not expect ends the run
    in a triple fault, an invalid opcode as in real mode), interrupts off."""
    cpu = machine.cpu
    if PM_LOAD + len(image) > len(cpu.memory):
        raise UsageError(f"image of {len(image)} bytes does not fit at 0x{PM_LOAD:X} "
                         f"in {len(cpu.memory) >> 20} MiB")
    cpu.memory[PM_LOAD:PM_LOAD + len(image)] = image
    for i, desc in enumerate(PM_GDT_ENTRIES):
        cpu.memory[PM_GDT + 8 * i:PM_GDT + 8 * i + 8] = desc.to_bytes(8, "little")
    cpu.a20 = True
    cpu.gdtr = (PM_GDT, 8 * len(PM_GDT_ENTRIES) - 1)
    cpu.idtr = (0, 0)
    cpu.cr0 = cpu.cr0 | 1
    cpu.cpl = 0
    cpu.set_segment("cs", PM_CODE_SEL, base=0, limit=0xFFFFFFFF, attributes=0xC09B)
    for name in ("ds", "es", "fs", "gs", "ss"):
        cpu.set_segment(name, PM_DATA_SEL, base=0, limit=0xFFFFFFFF, attributes=0xC093)
    cpu.eip = PM_LOAD
    cpu.esp = PM_LOAD


def load_image(path: str, linear: int, memory_size: int, top: int = REAL_MODE_TOP) -> bytes:
    """Read a raw binary, checking that it is a regular file that fits at
    ``linear`` (below ``top``: what real mode reaches by default) before
    reading it (a FIFO or device would block or never end)."""
    limit = min(memory_size, top) - linear
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise UsageError(f"{path}: is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"{path}: not a regular file (a binary image is read whole)")
        if st.st_size > limit:
            raise UsageError(f"{path}: too large ({st.st_size} bytes; at most {max(limit, 0)} "
                             f"fit at linear 0x{linear:X})")
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not data:
        raise UsageError(f"{path}: empty file")
    if len(data) > limit:  # grew while we looked
        raise UsageError(f"{path}: too large (more than {limit} bytes)")
    return data


def build_machine(image: bytes, *, load=DEFAULT_LOAD, cpu_model: str = "386",
                  memory_mib: int | None = None, devices=(), stats: bool = False):
    """A Machine with ``image`` at SEG:OFF and CS:IP pointing at it; DS, ES
    and SS are SEG and SP is OFF, so the stack grows down just below the
    image (with the default 0000:7C00, what a BIOS gives a boot sector).
    ``devices``: Python devices or ``--device`` spec strings."""
    from hvmm.machine import Machine, default_memory_mib
    from hvmm.plugins import create_device

    seg, off = load
    linear = (seg << 4) + off
    if memory_mib is None:
        memory_mib = default_memory_mib(cpu_model)
    if linear + len(image) > min(memory_mib << 20, REAL_MODE_TOP):
        raise UsageError(f"image of {len(image)} bytes does not fit at linear 0x{linear:X} "
                         f"in {memory_mib} MiB of real-mode-reachable memory")
    try:
        devs = [create_device(d) if isinstance(d, str) else d for d in devices]
        machine = Machine(cpu=cpu_model, memory_mb=memory_mib, devices=devs)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    machine.cpu.io_timing = stats           # time each in-kernel access for the table
    machine.cpu.invalid_opcode_exits = True  # no BIOS, no #UD handler: it ends the run
    machine.load_image(image, (seg, off))
    return machine


def cmd_exec(args) -> int:
    from hvmm.commands.tools import Tools
    from hvmm.machine import default_memory_mib
    from hvmm.runner import Runner

    seg, off = args.load_address
    memory_mib = args.memory or default_memory_mib(args.cpu)
    protected = getattr(args, "protected", False)
    if protected and args.cpu in ("8086", "286"):
        raise UsageError("--protected needs a CPU with 32-bit protected mode (--cpu 386)")
    if protected:
        image = load_image(args.binary, PM_LOAD, memory_mib << 20, top=1 << 32)
        machine = build_machine(b"\xF4", load=(seg, off), cpu_model=args.cpu,
                                memory_mib=memory_mib, devices=args.device or (),
                                stats=args.stats)
        enter_flat_protected(machine, image)
    else:
        image = load_image(args.binary, (seg << 4) + off, memory_mib << 20)
        machine = build_machine(image, load=(seg, off), cpu_model=args.cpu,
                                memory_mib=memory_mib, devices=args.device or (),
                                stats=args.stats)
    if getattr(args, "deliver_ud", False):
        machine.cpu.invalid_opcode_exits = False    # #UD to the guest's handler
    tools = Tools(machine, args)
    bar, on_progress = progress_bar(args.max_instructions)
    serial_io = None
    try:
        if args.serial == "stdio":
            from hvmm.frontends.console import SerialStdio

            serial_io = SerialStdio(machine.cpu).__enter__()
        result = Runner(machine, timeout=args.timeout, max_instructions=args.max_instructions,
                        progress=on_progress, debugger=tools.stub,
                        on_slice=serial_io.pump if serial_io else None).run()
    finally:
        tools.close()
        if bar is not None:
            bar.close()
        if serial_io is not None:
            serial_io.__exit__(None, None, None)
    regs = format_registers(machine.cpu) if args.regs else None
    return finish(machine, args, result, extra=regs)
