"""The tools for OS and bootloader authors on the command line: --gdb,
--trace*, and for ``boot`` --save-state/--load-state (options and their
setup around a run)."""

from __future__ import annotations

import argparse

from hvmm.commands.common import UsageError, err, positive_int
from hvmm.errors import ConfigError


def trace_range(text: str) -> tuple[int, int]:
    from hvmm.trace import parse_range

    try:
        return parse_range(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def debug_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("debugging (docs/debugging.md)")
    g.add_argument("--gdb", metavar="[HOST:]PORT",
                   help="wait for gdb (`target remote :PORT`) before the first instruction; "
                   "HOST defaults to 127.0.0.1")
    g.add_argument("--trace", metavar="FILE",
                   help="write every executed instruction (CS:EIP, linear address, bytes, "
                   "disassembly) to FILE ('-': stderr)")
    g.add_argument("--trace-regs", action="store_true",
                   help="with --trace: the registers before each instruction")
    g.add_argument("--trace-range", metavar="START-END", type=trace_range,
                   help="with --trace: only instructions at linear addresses in [START, END) (hex)")
    g.add_argument("--trace-limit", metavar="N", type=positive_int,
                   help="with --trace: at most N instruction lines")
    g.add_argument("--trace-int", action="store_true",
                   help="log interrupts and exceptions (vector, error code, CS:EIP before "
                   "and after) like QEMU's -d int, to the --trace FILE or stderr")
    return p


class Tools:
    """What the debugging options set up around one run; ``close()`` after it."""

    def __init__(self, machine, args, log=err):
        self.stub = self.tracer = self._file = None
        if (args.trace_regs or args.trace_range or args.trace_limit) and not args.trace:
            raise UsageError("--trace-regs, --trace-range and --trace-limit need --trace FILE")
        try:
            if args.trace or args.trace_int:
                import sys

                from hvmm.trace import Tracer

                if args.trace and args.trace != "-":
                    try:
                        self._file = open(args.trace, "w")
                    except OSError as exc:
                        raise UsageError(f"cannot write --trace {args.trace}: "
                                         f"{exc.strerror or exc}") from None
                self.tracer = Tracer(machine, self._file or sys.stderr,
                                     instructions=bool(args.trace), registers=args.trace_regs,
                                     interrupts=args.trace_int, address_range=args.trace_range,
                                     limit=args.trace_limit)
            if args.gdb:
                from hvmm.gdbstub import GdbStub

                self.stub = GdbStub(machine, args.gdb, log=log)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.tracer is not None:
            self.tracer.close()
        if self._file is not None:
            self._file.close()
        if self.stub is not None:
            self.stub.close()
