"""The ``hvmm`` command: the parser, and the one error boundary every
subcommand runs inside.

    hvmm exec BINARY [--load-address SEG:OFF] [--regs] [machine, limit, output options]
    hvmm boot [IMAGE] [--floppy IMAGE] [--hda IMAGE] [--hdb IMAGE] [--bios FILE] [--write]
              [--headless] [--wait TEXT] [--type TEXT] [--sleep SECONDS] ... [--print-screen]
              [--realtime | --no-realtime] [machine, limit, output options]
    hvmm run [--cpu 8086|286|386|686] [--screenshot FILE.png] [...]

The CPU model defaults to the 686 for ``boot`` and ``run`` (a PC), to the
386 for ``exec`` (raw test binaries, the real-mode benchmark).
    hvmm devices
    hvmm conformance DIR [--cpu 8086|286|386|686] [--filter OPCODE] [--by-file] [--json FILE]

The subcommands live in :mod:`hvmm.commands`; the exit statuses are one
table, :class:`hvmm.status.ExitStatus` (hvmm's own are even, a guest's
``(v << 1) | 1`` odd).  Any error becomes one line ``hvmm: ...`` on stderr
and a non-zero status; ``--debug`` (or ``HVMM_DEBUG=1``) shows tracebacks.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys

from hvmm.commands.common import (  # noqa: F401  (re-exported)
    CPU_MODELS,
    UsageError,
    device_options,
    err,
    machine_options,
    output_options,
    run_options,
)
from hvmm.commands.demo import DEMO_FLOPPY_SIZE, demo_floppy  # noqa: F401
from hvmm.commands.tools import debug_options
from hvmm.commands.execute import DEFAULT_LOAD, format_registers, load_image  # noqa: F401
from hvmm.errors import ConfigError, DeviceError, exc_line
from hvmm.runloop import disassemble_at, fmt_addr  # noqa: F401  (re-exported)
from hvmm.status import ExitStatus, table_text

# The bench guest's checksum (DX, BX) at its HLT; tests/test_bench_guest.py
# derives it from a Python model of guests/bench.asm.
BENCH_CHECKSUM = (0x93F6, 0x8F0A)

#: Errors writing the output: the disk is full, the reader went away...
OUTPUT_ERRNOS = {errno.ENOSPC, errno.EPIPE, errno.EIO, errno.EFBIG, errno.EDQUOT}


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
            f"bad address {text!r}: expected SEG:OFF in hex, e.g. 0000:7C00") from None
    if not (0 <= seg <= 0xFFFF and 0 <= off <= 0xFFFF):
        raise argparse.ArgumentTypeError(f"bad address {text!r}: segment and offset are 16-bit")
    return seg, off


def cmd_devices(args) -> int:
    from hvmm.plugins import ENTRY_POINT_GROUP, device_entry_points

    eps = device_entry_points()
    if not eps:
        print(f"no devices installed (entry-point group '{ENTRY_POINT_GROUP}'); "
              "use --device package.module:Class")
        return ExitStatus.OK
    width = max(len(n) for n in eps)
    for name in sorted(eps):
        ep = eps[name]
        dist = getattr(getattr(ep, "dist", None), "name", None)
        print(f"{name.ljust(width)}  {ep.value}" + (f"  ({dist})" if dist else ""))
    return ExitStatus.OK


def cmd_conformance(args) -> int:
    from hvmm.conformance import run_conformance

    return int(
        run_conformance(
            args.dir,
            cpu_model=args.cpu,
            opcode_filter=args.filter,
            out=sys.stdout,
            progress=not args.no_progress,
            by_file=args.by_file,
            json_path=args.json,
        )
    )


def build_parser() -> argparse.ArgumentParser:
    from hvmm import __version__
    from hvmm.commands.boot import add_boot_parser
    from hvmm.commands.demo import cmd_run
    from hvmm.commands.execute import cmd_exec

    parser = argparse.ArgumentParser(
        prog="hvmm",
        description="hvmm: a hybrid virtual machine monitor for x86 PCs.",
        epilog="exit statuses (every command):\n" + table_text()
        + "\n\nErrors are one line on stderr; --debug or HVMM_DEBUG=1 shows tracebacks.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"hvmm {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error (also: HVMM_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # exec runs raw test binaries on the 386 by default; boot and run boot a
    # PC, whose default is the 686 (what Linux and memtest86+ require).
    machine, runs, devices = machine_options("386"), run_options(), device_options()
    pc_machine = machine_options("686")

    p = sub.add_parser(
        "exec", parents=[machine, runs, output_options(), devices, debug_options()],
        help="run a raw real-mode binary without a BIOS",
        description=(
            "Load a raw binary at SEG:OFF and run it from there, without a "
            "BIOS, with the in-kernel devices and any --device, until it "
            "stops. Port 0xE9 output goes to stdout. Exit status: 0 halted, "
            "(v<<1)|1 the guest wrote v to port 0xF4; see `hvmm --help` for "
            "hvmm's own (even) statuses."
        ),
    )
    p.add_argument("binary", metavar="BINARY", help="raw binary image (e.g. nasm -f bin)")
    p.add_argument("--load-address", metavar="SEG:OFF", type=parse_seg_off,
                   default=DEFAULT_LOAD,
                   help="where to load and start it, hex (default 0000:7C00); "
                   "DS=ES=SS=SEG, SP=OFF")
    p.add_argument("--regs", action="store_true", help="print the registers at the end")
    p.add_argument("--protected", action="store_true",
                   help="start a raw 32-bit binary in flat protected mode: loaded and "
                   "started at 0x100000, CS=0x08 DS=ES=FS=GS=SS=0x10 (base 0, 4 GiB) from "
                   "a GDT at 0x1000, ESP=0x100000, no IDT (see docs/protected-mode.md)")
    p.add_argument("--deliver-ud", action="store_true",
                   help="deliver an invalid opcode to the guest as #UD (INT 6), as "
                   "hardware does, instead of ending the run")
    p.set_defaults(func=cmd_exec)

    add_boot_parser(sub, [pc_machine, runs, output_options(), devices, debug_options()])

    p = sub.add_parser(
        "run", parents=[pc_machine, runs, output_options(serial=False)],
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
        "(gzip'd JSON per opcode, e.g. SingleStepTests 8086: use --cpu 8086).",
    )
    p.add_argument("dir", metavar="DIR", help="directory of <opcode>.json.gz files")
    p.add_argument(
        "--cpu",
        choices=("8086", "286", "386", "686"),
        default="386",
        help="CPU model (default 386, as for exec)",
    )
    p.add_argument(
        "--filter",
        metavar="OPCODE",
        help="only these opcode files, e.g. 00, 80.3, F6 or 00,F6.7",
    )
    p.add_argument("--by-file", action="store_true", help="print the counts of every opcode file")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON to FILE")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_conformance)
    return parser


def main(argv=None) -> int:
    """Run the command; returns the exit status (the console script's
    SystemExit takes it).  The one error boundary: nothing escapes as a
    traceback unless --debug or HVMM_DEBUG=1."""
    debug = os.environ.get("HVMM_DEBUG", "") not in ("", "0")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:           # --help, --version, or a usage error (status 2)
        return exc.code if isinstance(exc.code, int) else ExitStatus.USAGE
    debug = debug or args.debug
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return ExitStatus.USAGE
    try:
        status = int(args.func(args))
        sys.stdout.flush()
        return status
    except (UsageError, ConfigError) as exc:
        return _fail(debug, str(exc), ExitStatus.USAGE)
    except DeviceError as exc:
        return _fail(debug, str(exc), ExitStatus.DEVICE_ERROR)
    except KeyboardInterrupt:
        return _fail(debug, "interrupted", ExitStatus.INTERRUPTED)
    except OSError as exc:
        if exc.errno in OUTPUT_ERRNOS and exc.filename is None:
            _silence_stdout()
            if exc.errno == errno.EPIPE:    # the reader left: nothing more to say
                return ExitStatus.OUTPUT_ERROR
            return _fail(debug, f"cannot write the output: {exc.strerror}",
                         ExitStatus.OUTPUT_ERROR)
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(debug, f"{where}{exc.strerror or exc}", ExitStatus.USAGE)
    except Exception as exc:
        return _fail(debug, f"internal error: {exc_line(exc)} "
                     "(HVMM_DEBUG=1 shows the traceback)", ExitStatus.INTERNAL)


def _fail(debug: bool, message: str, status: int) -> int:
    if debug:
        import traceback

        traceback.print_exc()
    try:
        err(message)
    except OSError:
        pass
    return status


def _silence_stdout() -> None:
    """After a failed write to stdout: send what is still buffered to
    /dev/null, so that the interpreter's last flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
