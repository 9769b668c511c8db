"""The ``hvmm`` command.

    hvmm exec BINARY [--load-address SEG:OFF] [--cpu 8086|386]
                     [--max-instructions N] [--memory MiB] [--stats] [--regs]
                     [--device SPEC]... [--serial stdio] [--screenshot FILE.png]
    hvmm boot [IMAGE] [--floppy IMAGE] [--hda IMAGE] [--hdb IMAGE] [--bios FILE]
                    [--cpu 8086|386] [--memory MiB] [--write]
                    [--headless] [--wait TEXT] [--type TEXT] [--sleep SECONDS] ... [--print-screen]
                    [--serial stdio] [--realtime | --no-realtime]
                    [--timeout SECONDS] [--max-instructions N] [--stats]
                    [--screenshot FILE.png]
    hvmm run [--cpu 8086|386] [--screenshot FILE.png]
    hvmm devices
    hvmm conformance DIR [--cpu 8086|386] [--filter OPCODE]

``run`` boots the bundled demo guest (guests/demo.asm) headless and exits 0
when the demo ends itself.  Exit statuses of ``exec``: 0 the guest halted;
(v << 1) | 1 the guest wrote v to the debug-exit port 0xF4; 1 the guest hit
an invalid or unimplemented instruction or triple-faulted, or a Python
device failed (one line on stderr); 2 bad usage, an unloadable binary or a bad ``--device``;
3 ``--max-instructions`` reached; 130 interrupted (Ctrl-C).  ``boot`` adds
4: ``--timeout`` reached, or a ``--wait`` text that never appeared.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from dataclasses import dataclass

from hvmm.errors import ConfigError, DeviceError
from hvmm.machine import (  # noqa: F401  (disassemble_at: re-exported)
    default_memory_mib,
    disassemble_at,
    fmt_addr,
)

# Exit statuses.
EXIT_OK = 0
EXIT_GUEST_ERROR = 1
EXIT_USAGE = 2
EXIT_LIMIT = 3
EXIT_TIMEOUT = 4
EXIT_INTERRUPTED = 130

CPU_MODELS = ("8086", "386")
DEFAULT_LOAD = (0x0000, 0x7C00)
IF_FLAG = 0x200
# Where real mode can reach: FFFF:FFFF is 0x10FFEF (with A20 enabled).
REAL_MODE_TOP = 0x10FFF0

# `hvmm run`: the demo guest on a 1.44 MB floppy, and a safety limit (the
# demo itself retires about 170,000 instructions).
DEMO_FLOPPY_SIZE = 1_474_560
DEMO_MAX_INSTRUCTIONS = 100_000_000

# The bench guest's checksum (DX, BX) at its HLT; tests/test_bench_guest.py
# derives it from a Python model of guests/bench.asm.
BENCH_CHECKSUM = (0x93F6, 0x8F0A)


class UsageError(Exception):
    """A problem with the command line or the input file: status 2."""


def _err(message: str) -> None:
    print(f"hvmm: {message}", file=sys.stderr, flush=True)


def parse_seg_off(text: str) -> tuple[int, int]:
    """Parse ``SEG:OFF`` (hexadecimal, an optional 0x/h is allowed)."""

    def hexnum(part: str) -> int:
        part = part.strip().lower()
        if part.startswith("0x"):
            part = part[2:]
        if part.endswith("h"):
            part = part[:-1]
        return int(part, 16)

    try:
        seg_text, off_text = text.split(":")
        seg, off = hexnum(seg_text), hexnum(off_text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"bad address {text!r}: expected SEG:OFF in hex, e.g. 0000:7C00"
        ) from None
    if not (0 <= seg <= 0xFFFF and 0 <= off <= 0xFFFF):
        raise argparse.ArgumentTypeError(
            f"bad address {text!r}: segment and offset are 16-bit"
        )
    return seg, off


def _positive_int(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _memory_mib(text: str) -> int:
    value = _positive_int(text)
    if value > 3072:
        raise argparse.ArgumentTypeError(f"at most 3072 MiB: {text!r}")
    return value


def _fmt_addr(cs: int, eip: int) -> str:
    return fmt_addr(cs, eip)


def format_registers(cpu) -> str:
    names = ["eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp"]
    regs = " ".join(f"{n}={getattr(cpu, n):08X}" for n in names)
    segs = []
    for n in ("cs", "ds", "es", "ss", "fs", "gs"):
        try:
            segs.append(f"{n}={getattr(cpu, n):04X}")
        except AttributeError:  # fs/gs do not exist on the 8086 model
            pass
    return (
        f"{regs}\n{' '.join(segs)} eip={cpu.eip:08X} eflags={cpu.eflags:08X}"
    )


def load_image(path: str, linear: int, memory_size: int) -> bytes:
    """Read a raw binary, checking that it fits at ``linear``."""
    limit = min(memory_size, REAL_MODE_TOP) - linear
    try:
        if os.path.isdir(path):
            raise UsageError(f"{path}: is a directory")
        size = os.path.getsize(path)
        if size > limit:
            raise UsageError(
                f"{path}: too large ({size} bytes; at most {max(limit, 0)} "
                f"fit at linear 0x{linear:X})"
            )
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not data:
        raise UsageError(f"{path}: empty file")
    if len(data) > limit:  # grew while we looked, or a device file
        raise UsageError(f"{path}: too large (more than {limit} bytes)")
    return data


@dataclass
class RunResult:
    status: int
    cpu: object
    instructions: int
    seconds: float
    machine: object = None
    stop: object = None


def execute(
    image: bytes,
    *,
    load=DEFAULT_LOAD,
    cpu_model: str = "386",
    max_instructions: int | None = None,
    memory_mib: int | None = None,
    stats: bool = False,
    regs: bool = False,
    progress: bool | None = None,
    devices=(),
    serial_stdio: bool = False,
) -> RunResult:
    """Run a raw real-mode binary without a BIOS until it stops.

    The image is copied to SEG:OFF; CS:IP points at it; DS, ES and SS are SEG
    and SP is OFF, so the stack grows down just below the image (with the
    default 0000:7C00 this is what a BIOS gives a boot sector).  ``devices``
    are Python devices (or ``--device`` spec strings) to attach.  The guest's
    port 0xE9 output goes to stdout; messages go to stderr; the result
    carries the exit status.  ``serial_stdio``: COM1 on stdin and stdout.
    """
    from hvmm.machine import Machine, Stop
    from hvmm.plugins import create_device

    seg, off = load
    linear = (seg << 4) + off
    if memory_mib is None:
        memory_mib = default_memory_mib(cpu_model)
    memory_size = memory_mib << 20
    if linear + len(image) > min(memory_size, REAL_MODE_TOP):
        raise UsageError(
            f"image of {len(image)} bytes does not fit at linear 0x{linear:X} "
            f"in {memory_mib} MiB of real-mode-reachable memory"
        )

    try:
        devs = [create_device(d) if isinstance(d, str) else d for d in devices]
        machine = Machine(cpu=cpu_model, memory_mb=memory_mib, devices=devs)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    cpu = machine.cpu
    if stats and hasattr(cpu, "io_timing"):
        cpu.io_timing = True        # time each in-kernel access for the table
    if hasattr(cpu, "invalid_opcode_exits"):
        # No BIOS, no #UD handler: an invalid opcode ends the run.
        cpu.invalid_opcode_exits = True
    machine.load_image(image, (seg, off))

    bar, on_progress = progress_bar(max_instructions, progress)
    serial_io = None
    if serial_stdio:
        from hvmm.frontends.console import SerialStdio

        serial_io = SerialStdio(cpu).__enter__()
        on_progress = _with_serial(on_progress, serial_io)

    try:
        stop = machine.run(max_instructions, progress=on_progress)
    except _SerialQuit:
        stop = Stop("quit", EXIT_OK)
        stop.instructions = machine.stats(False)["instructions"]
    except DeviceError as exc:
        sys.stdout.flush()
        _err(str(exc))
        if stats:
            print(machine.format_stats(), file=sys.stderr)
        sys.stderr.flush()
        return RunResult(EXIT_GUEST_ERROR, cpu, machine.stats(False)["instructions"], 0.0, machine)
    finally:
        if bar is not None:
            bar.close()
        if serial_io is not None:
            serial_io.__exit__(None, None, None)
    sys.stdout.flush()
    executed = stop.instructions
    status = stop.status

    where = _fmt_addr(cpu.cs, cpu.eip)
    if stop.reason == "limit":
        _err(f"instruction limit reached: {executed} instructions, stopped at {where}")
    elif stop.reason == "interrupted":
        status = EXIT_INTERRUPTED
        _err(f"interrupted at {where} after {executed} instructions")
    elif stop.reason == "hlt":
        at = _fmt_addr(stop.exit.cs, stop.exit.eip)
        if cpu.eflags & IF_FLAG:
            _err(
                f"HLT with interrupts enabled at {at} after {executed} "
                "instructions and nothing to wake the CPU, stopping"
            )
        else:
            _err(f"guest halted (CS:IP={at}) after {executed} instructions")
    elif stop.reason == "debug_exit":
        _err(
            f"guest wrote 0x{stop.value:02X} to the exit port 0xF4 after {executed} "
            f"instructions: exit status {status}"
        )
    elif stop.reason == "reset":
        _err(f"guest asked for a reset at {where} after {executed} instructions, stopping")
    elif stop.reason == "quit":
        _err(f"left with Ctrl-] at {where} after {executed} instructions")
    else:
        _err(stop.error or f"stopped: {stop.reason}")

    if regs:
        print(format_registers(cpu), file=sys.stderr)
    if stats:
        print(machine.format_stats(), file=sys.stderr)
    sys.stderr.flush()
    return RunResult(status, cpu, executed, stop.seconds, machine, stop)


def progress_bar(total: int | None, show: bool | None = None):
    """A tqdm bar on stderr counting retired instructions out of ``total``
    (shown by default only when stderr is a terminal), and the callback that
    moves it: (None, None) when there is no bar."""
    if show is None:
        show = total is not None and sys.stderr.isatty()
    if not show or total is None:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="instr", unit_scale=True, file=sys.stderr,
               leave=False, dynamic_ncols=True)

    def on_progress(done, _bar=bar):
        _bar.update(min(done, total) - _bar.n)

    return bar, on_progress


class _SerialQuit(Exception):
    """Ctrl-] on the terminal COM1 is connected to."""


def _with_serial(on_progress, serial_io):
    """A Machine.run progress callback that also moves COM1's bytes (it is
    called about every CHUNK instructions)."""

    def callback(done):
        if on_progress is not None:
            on_progress(done)
        if serial_io.pump(serial_io.cpu.serial_drain()):
            raise _SerialQuit()

    return callback


def cmd_exec(args) -> int:
    seg, off = args.load_address
    memory_mib = args.memory or default_memory_mib(args.cpu)
    image = load_image(args.binary, (seg << 4) + off, memory_mib << 20)
    result = execute(
        image,
        load=(seg, off),
        cpu_model=args.cpu,
        max_instructions=args.max_instructions,
        memory_mib=memory_mib,
        stats=args.stats,
        regs=args.regs,
        devices=args.device or (),
        serial_stdio=args.serial == "stdio",
    )
    if args.audio:
        write_audio(args.audio, result.cpu, [])
    return write_screenshot(args.screenshot, result.machine, result.status)


def _add_serial_option(p) -> None:
    p.add_argument("--serial", choices=("stdio",),
                   help="connect COM1 to stdin/stdout (raw mode on a terminal, "
                   "Ctrl-] leaves)")


def _add_audio_option(p) -> None:
    p.add_argument("--audio", metavar="FILE.wav",
                   help="write what the PC speaker played to a WAV file")


def _screenshot_path(text: str) -> str:
    from hvmm.frontends.screenshot import check_path

    try:
        check_path(text)  # before the run, not after it
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _add_screenshot_option(p) -> None:
    p.add_argument("--screenshot", metavar="FILE.png", type=_screenshot_path,
                   help="when the run ends, however it ends, save the screen as a "
                   "640x400 PNG (text and CGA/VGA graphics modes)")


class _ScriptAction(argparse.Action):
    """--wait/--type: append (kind, text) to one list, in command-line order."""

    def __call__(self, parser, namespace, values, option_string=None):
        steps = list(getattr(namespace, self.dest, None) or [])
        steps.append((self.const, values))
        setattr(namespace, self.dest, steps)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def cmd_boot(args) -> int:
    from hvmm.headless import decode_keys
    from hvmm.pc import PC

    disks = boot_disks(args)
    bios = read_bios(args.bios) if args.bios else None
    steps = []
    for kind, text in args.script or ():
        if kind == "type":
            try:
                text = decode_keys(text)
            except ValueError as exc:
                raise UsageError(f"--type {text!r}: {exc}") from None
        elif kind == "sleep":
            try:
                text = _positive_float(text)
            except argparse.ArgumentTypeError as exc:
                raise UsageError(f"--sleep: {exc}") from None
        elif not text:
            raise UsageError("--wait needs a non-empty TEXT")
        steps.append((kind, text))
    serial = args.serial == "stdio"
    console = not args.headless
    if console:
        # With --serial stdio the terminal is COM1's line (no screen drawn).
        if any(kind in ("wait", "sleep") for kind, _ in steps):
            raise UsageError("--wait and --sleep need --headless")
        if not serial and not (os.isatty(0) and os.isatty(1)):
            raise UsageError("the console needs a terminal on stdin and stdout; "
                             "use --headless (with --wait/--type/--print-screen)")
    realtime = console if args.realtime is None else args.realtime
    from hvmm.machine import _DEFAULT, write_bytes

    # Port 0xE9 output would scribble over the drawn screen: its last MiB is
    # kept and written to stdout once the console has left.
    from hvmm.frontends.console import OutputTail

    debug_kept = OutputTail() if console and not serial else None
    images = open_boot_disks(disks, args.write)
    try:
        pc = PC(**images, cpu=args.cpu, memory_mb=args.memory, bios=bios, realtime=realtime,
                debug_stream=debug_kept if debug_kept is not None else _DEFAULT)
    except BaseException:
        for image in images.values():
            image.close()
        raise
    if args.stats:
        pc.cpu.io_timing = True     # time each in-kernel access for the table
    sound = []
    try:
        run = _boot_console if console else _boot_headless
        status, message = run(pc, args, steps, serial)
    except DeviceError as exc:
        _err(str(exc))
        if args.stats:
            print(pc.format_stats(), file=sys.stderr)
        return write_screenshot(args.screenshot, pc, EXIT_GUEST_ERROR)
    finally:
        if debug_kept is not None and debug_kept.getvalue():
            write_bytes(sys.stdout, debug_kept.getvalue())
            if debug_kept.dropped:
                _err(f"port 0xE9 output: the first {debug_kept.dropped} bytes were dropped "
                     f"(the console keeps the last {debug_kept.limit >> 20} MiB)")
        sys.stdout.flush()
        pc.disk.close()
    return _boot_finish(pc, args, status, message, sound)


def _boot_headless(pc, args, steps, serial):
    """`hvmm boot --headless`: the --wait/--type script; (status, message)."""
    from hvmm.headless import run_script

    bar, on_progress = progress_bar(args.max_instructions)
    serial_io = None
    try:
        if serial:
            from hvmm.frontends.console import SerialStdio

            serial_io = SerialStdio(pc.cpu).__enter__()
        result = run_script(pc, steps, timeout=args.timeout,
                            max_instructions=args.max_instructions,
                            progress=on_progress,
                            serial_io=serial_io.pump if serial_io else None)
    finally:
        if bar is not None:
            bar.close()
        if serial_io is not None:
            serial_io.__exit__(None, None, None)
    return result.status, result.message


def _boot_console(pc, args, steps, serial):
    """`hvmm boot` without --headless: the interactive console
    (hvmm.frontends.console), or COM1 on the terminal with --serial stdio;
    (status, message)."""
    from hvmm.frontends.console import Console

    for _, keys in steps:                   # only --type steps are left
        pc.type(keys)
    result = Console(pc, serial=serial, timeout=args.timeout,
                     max_instructions=args.max_instructions).run()
    return result.status, result.message


def _boot_finish(pc, args, status, message, sound) -> int:
    from hvmm.headless import format_screen

    if message:
        _err(message)
    if args.print_screen:
        print(format_screen(pc), flush=True)
    status = write_screenshot(args.screenshot, pc, status)
    if args.audio:
        write_audio(args.audio, pc.cpu, sound)
    if args.stats:
        print(pc.format_stats(), file=sys.stderr)
    sys.stderr.flush()
    return status


def read_bios(path: str) -> bytes:
    """--bios FILE: a 64 or 128 KiB ROM image (one-line errors)."""
    try:
        with open(path, "rb") as f:
            rom = f.read(0x20001)
    except OSError as exc:
        raise ConfigError(f"cannot read BIOS image {path}: {exc.strerror or exc}") from None
    if len(rom) not in (0x10000, 0x20000):
        raise ConfigError(f"{path}: a BIOS image is 64 or 128 KiB, this one is {len(rom)} bytes")
    return rom


def boot_disks(args) -> dict:
    """`boot`'s disks as {"floppy"|"hda"|"hdb": path}: --floppy, --hda,
    --hdb, and a bare IMAGE classified by its size (a standard floppy size
    is drive A:, anything else hard disk 80h)."""
    from hvmm.disks import is_floppy_image

    disks = {name: getattr(args, name) for name in ("floppy", "hda", "hdb")
             if getattr(args, name)}
    if args.image:
        slot = "floppy" if is_floppy_image(args.image) else "hda"
        if slot in disks:
            what = "floppy" if slot == "floppy" else "first hard disk"
            raise UsageError(f"IMAGE {args.image} is a {what} image, and --{slot} gives one too")
        disks[slot] = args.image
    if not disks and not args.bios:
        raise UsageError("boot: no disk: give IMAGE, --floppy, --hda or a --bios that needs none")
    if "hdb" in disks and "hda" not in disks:
        raise UsageError("--hdb needs --hda (the BIOS numbers hard disks from 80h)")
    return disks


def open_boot_disks(disks: dict, write: bool) -> dict:
    """The images for PC(): a floppy as FloppyImage, hard disks as
    HardDiskImage; all closed again if one fails."""
    from hvmm.disks import FloppyImage, HardDiskImage

    images = {}
    try:
        for name, path in disks.items():
            kind = FloppyImage if name == "floppy" else HardDiskImage
            images[name] = kind(path, write=write)
    except ConfigError:
        for image in images.values():
            image.close()
        raise
    return images


def write_screenshot(path, machine, status: int) -> int:
    """--screenshot FILE: save the screen; returns the command's exit
    status, which a screenshot that cannot be written turns from 0 into 2
    (a guest's own failure status is kept)."""
    if not path:
        return status
    try:
        machine.screenshot(path)
    except ConfigError as exc:
        _err(str(exc))
        return EXIT_USAGE if status == EXIT_OK else status
    return status


def write_audio(path, cpu, sound) -> None:
    """--audio FILE: what the PC speaker played, as a WAV file."""
    from hvmm.frontends.audio import collect, write_wav

    try:
        write_wav(path, collect(cpu, sound), cpu.time_ns)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def demo_floppy():
    """The bundled demo guest (hvmm/guests/demo.bin, from guests/demo.asm)
    at the start of a 1.44 MB floppy image built in memory."""
    from hvmm import guest_image
    from hvmm.disks import FloppyImage

    return FloppyImage.from_bytes(guest_image("demo").ljust(DEMO_FLOPPY_SIZE, b"\0"))


def cmd_run(args) -> int:
    """Boot the demo guest headless: its port 0xE9 line and then its final
    text screen go to stdout, the statistics table to stderr.  The demo
    ends itself by writing 0 to port 0xF4: exit status 0."""
    from hvmm.headless import format_screen, run_script
    from hvmm.pc import PC

    pc = PC(demo_floppy(), cpu=args.cpu)
    pc.cpu.io_timing = True         # the stats table times in-kernel accesses
    limit = args.max_instructions or DEMO_MAX_INSTRUCTIONS
    try:
        result = run_script(pc, [], max_instructions=limit)
    except DeviceError as exc:
        sys.stdout.flush()
        _err(str(exc))
        print(pc.format_stats(), file=sys.stderr)
        return write_screenshot(args.screenshot, pc, EXIT_GUEST_ERROR)
    sys.stdout.flush()
    stop = result.stop
    print(format_screen(pc), flush=True)
    if stop is not None and stop.reason == "debug_exit" and stop.value == 0:
        status = EXIT_OK
        _err(f"the demo ended itself (port 0xF4) after {result.instructions} "
             f"instructions on the {args.cpu} model")
    else:
        status = result.status if result.status != EXIT_OK else EXIT_GUEST_ERROR
        _err(f"the demo did not finish: {result.message or result.reason}")
    status = write_screenshot(args.screenshot, pc, status)
    print(pc.format_stats(), file=sys.stderr)
    sys.stderr.flush()
    return status


def cmd_devices(args) -> int:
    from hvmm.plugins import ENTRY_POINT_GROUP, device_entry_points

    eps = device_entry_points()
    if not eps:
        print(f"no devices installed (entry-point group '{ENTRY_POINT_GROUP}'); "
              "use --device package.module:Class")
        return EXIT_OK
    width = max(len(n) for n in eps)
    for name in sorted(eps):
        ep = eps[name]
        dist = getattr(getattr(ep, "dist", None), "name", None)
        print(f"{name.ljust(width)}  {ep.value}" + (f"  ({dist})" if dist else ""))
    return EXIT_OK


def cmd_conformance(args) -> int:
    from hvmm.conformance import run_conformance

    return int(
        run_conformance(
            args.dir,
            cpu_model=args.cpu,
            opcode_filter=args.filter,
            out=sys.stdout,
            progress=not args.no_progress,
        )
    )


def build_parser() -> argparse.ArgumentParser:
    from hvmm import __version__

    parser = argparse.ArgumentParser(
        prog="hvmm",
        description="hvmm: a hybrid virtual machine monitor for x86 PCs.",
    )
    parser.add_argument("--version", action="version", version=f"hvmm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "exec",
        help="run a raw real-mode binary without a BIOS",
        description=(
            "Load a raw binary at SEG:OFF and run it from there, without a "
            "BIOS, with the in-kernel devices and any --device, until it "
            "stops. Port 0xE9 output goes to stdout. Exit status: 0 halted, "
            "(v<<1)|1 the guest wrote v to port 0xF4, 1 invalid or "
            "unimplemented instruction, triple fault or a failing device, "
            "2 unloadable file or bad --device, 3 instruction limit reached."
        ),
    )
    p.add_argument("binary", metavar="BINARY", help="raw binary image (e.g. nasm -f bin)")
    p.add_argument(
        "--load-address",
        metavar="SEG:OFF",
        type=parse_seg_off,
        default=DEFAULT_LOAD,
        help="where to load and start it, hex (default 0000:7C00); "
        "DS=ES=SS=SEG, SP=OFF",
    )
    p.add_argument("--cpu", choices=CPU_MODELS, default="386", help="CPU model (default 386)")
    p.add_argument(
        "--max-instructions",
        metavar="N",
        type=_positive_int,
        help="stop after N instructions (exit status 3)",
    )
    p.add_argument(
        "--memory",
        metavar="MiB",
        type=_memory_mib,
        help="guest RAM in MiB, 1 to 3072 (default 1 for the 8086, 16 for the 386)",
    )
    p.add_argument(
        "--stats",
        action="store_true",
        help="print retired instructions, wall time, MIPS, the last POST code "
        "and a table of port I/O per device and path (in-kernel, python, "
        "unclaimed) to stderr",
    )
    p.add_argument("--regs", action="store_true", help="print the registers at the end")
    _add_audio_option(p)
    _add_serial_option(p)
    _add_screenshot_option(p)
    p.add_argument(
        "--device",
        metavar="SPEC",
        action="append",
        help="add a Python device: package.module:Class[,key=value...] or an "
        "installed device's name[,key=value...] (see `hvmm devices`); repeatable",
    )
    p.set_defaults(func=cmd_exec)

    p = sub.add_parser(
        "boot",
        help="boot a PC (our BIOS) from floppy or hard-disk images, in the console or headless",
        description=(
            "Boot a PC with the hvmm BIOS (or --bios FILE) from raw disk images "
            "(a floppy A: and hard disks 80h/81h; read-only, guest writes kept "
            "in memory, unless --write): drive A: first, then hard disk 80h. "
            "Without --headless the screen is drawn in the terminal (Ctrl-] "
            "leaves). --wait, --type and --sleep run in command-line order; "
            "a headless run ends when "
            "they are done (exit 0), when the guest halts with interrupts off "
            "(0) or writes v to port 0xF4 ((v<<1)|1), on --max-instructions "
            "(3) or --timeout (4); a --wait whose text never appears is exit "
            "4; a bad image or arguments exit 2."
        ),
    )
    p.add_argument("image", metavar="IMAGE", nargs="?",
                   help="raw disk image: a floppy size (160K-2.88M) is drive A:, "
                   "anything else hard disk 80h")
    p.add_argument("--floppy", metavar="IMAGE", help="raw floppy image for drive A:")
    p.add_argument("--hda", metavar="IMAGE",
                   help="raw hard-disk image for disk 80h (C:), any multiple of 512 bytes")
    p.add_argument("--hdb", metavar="IMAGE", help="raw hard-disk image for disk 81h")
    p.add_argument("--cpu", choices=CPU_MODELS, default="386", help="CPU model (default 386)")
    p.add_argument(
        "--memory",
        metavar="MiB",
        type=_memory_mib,
        help="guest RAM in MiB (default 1 for the 8086, 16 for the 386)",
    )
    p.add_argument("--write", action="store_true",
                   help="write the guest's disk writes to the image files")
    p.add_argument("--bios", metavar="FILE",
                   help="boot another ROM image (64 or 128 KiB, mapped to end at 1 MiB "
                   "and at 4 GiB) instead of the hvmm BIOS; IMAGE is then optional")
    p.add_argument("--headless", action="store_true",
                   help="no console: run under the --wait/--type script "
                   "(without it: the interactive console, Ctrl-] leaves)")
    _add_serial_option(p)
    p.add_argument("--realtime", action=argparse.BooleanOptionalAction, default=None,
                   help="virtual time follows the host clock (the console's default); "
                   "--no-realtime: the deterministic clock (the --headless default)")
    p.add_argument(
        "--wait", metavar="TEXT", dest="script", action=_ScriptAction, const="wait",
        help="run until TEXT is new on the text screen (or on COM1) since keys "
        "were last typed; repeatable, in order with --type",
    )
    p.add_argument(
        "--type", metavar="TEXT", dest="script", action=_ScriptAction, const="type",
        help=r"type TEXT on the keyboard: \r Enter, \e Esc, \t Tab, \b Backspace, "
        r"\\ backslash, \xNN a character; repeatable",
    )
    p.add_argument(
        "--sleep", metavar="SECONDS", dest="script", action=_ScriptAction, const="sleep",
        help="run for SECONDS of virtual time (deterministic); repeatable, in order "
        "with --wait and --type",
    )
    _add_audio_option(p)
    p.add_argument("--print-screen", action="store_true",
                   help="print the final 80x25 text screen to stdout")
    _add_screenshot_option(p)
    p.add_argument("--timeout", metavar="SECONDS", type=_positive_float,
                   help="stop after SECONDS of wall time (exit status 4)")
    p.add_argument("--max-instructions", metavar="N", type=_positive_int,
                   help="stop after N instructions (exit status 3)")
    p.add_argument("--stats", action="store_true",
                   help="print the machine's statistics table to stderr")
    p.set_defaults(func=cmd_boot, script=None)

    p = sub.add_parser(
        "run",
        help="boot the bundled demo guest headless and print its screen and --stats",
        description=(
            "Boot a PC (our BIOS) from the bundled demo floppy (no files "
            "needed), headless: the demo shows the machine it found and "
            "counts timer interrupts for 2 s of virtual time, then ends "
            "itself. Prints its final text screen to stdout and the "
            "statistics table to stderr; exit status 0 when the demo ends "
            "normally. (The CPU benchmark: hvmm exec hvmm/guests/bench.bin "
            "--stats.)"
        ),
    )
    p.add_argument("--cpu", choices=CPU_MODELS, default="386", help="CPU model (default 386)")
    p.add_argument("--max-instructions", metavar="N", type=_positive_int, help=argparse.SUPPRESS)
    _add_screenshot_option(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "devices",
        help="list the installed Python devices (entry-point group hvmm.devices)",
        description="List the devices installed plugins register under the "
        "'hvmm.devices' entry-point group, usable as `--device NAME`.",
    )
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser(
        "conformance",
        help="run the SingleStepTests CPU conformance suite",
        description="Run single-instruction conformance tests from DIR "
        "(gzip'd JSON per opcode, e.g. SingleStepTests 8086).",
    )
    p.add_argument("dir", metavar="DIR", help="directory of <opcode>.json.gz files")
    p.add_argument("--cpu", choices=CPU_MODELS, default="8086", help="CPU model (default 8086)")
    p.add_argument(
        "--filter",
        metavar="OPCODE",
        help="only this opcode file, e.g. 00, 80.3 or F6",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_conformance)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.func(args)
    except (UsageError, ConfigError) as exc:
        _err(str(exc))
        return EXIT_USAGE
    except DeviceError as exc:
        _err(str(exc))
        return EXIT_GUEST_ERROR
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
