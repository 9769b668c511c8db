"""Exit statuses of the ``hvmm`` command: one table for every command.

A guest that writes ``v`` to the debug-exit port 0xF4 ends the run with
QEMU's status ``(v << 1) | 1`` (8 bits): always odd.  hvmm's own statuses
are even, so a script can always tell the guest's verdict from hvmm's.
"""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    """hvmm's own exit statuses (all even; guest statuses are odd)."""

    OK = 0                  # the guest halted (interrupts off), reset, the script ended, Ctrl-]
    USAGE = 2               # bad command line or input file, bad --device, unwritable output
    GUEST_FAULT = 4         # invalid opcode, unimplemented instruction or breakpoint
    TRIPLE_FAULT = 6        # the guest triple-faulted
    DEVICE_ERROR = 8        # a Python device failed
    LIMIT = 10              # --max-instructions reached
    TIMEOUT = 12            # --timeout reached
    WAIT_FAILED = 14        # a --wait text never appeared
    NO_BOOT = 16            # the BIOS found no bootable disk
    INTERNAL = 70           # an error inside hvmm (a bug: please report it)
    OUTPUT_ERROR = 74       # stdout or stderr could not be written (disk full, ...)
    INTERRUPTED = 130       # Ctrl-C, SIGTERM or SIGHUP


def guest_status(value: int) -> int:
    """The status for a guest that wrote ``value`` to port 0xF4."""
    return ((int(value) << 1) | 1) & 0xFF


#: The table as the README and ``hvmm --help`` show it.
TABLE = (
    ("0", "the guest halted with interrupts off or asked for a reset; a --wait/--type "
          "script finished; Ctrl-] left the console"),
    ("odd", "(v << 1) | 1: the guest wrote v to the debug-exit port 0xF4"),
    ("2", "bad usage: options, an unloadable or unsuitable file, a bad --device, "
          "an output file that cannot be written"),
    ("4", "the guest hit an invalid opcode, an unimplemented instruction or a breakpoint"),
    ("6", "the guest triple-faulted"),
    ("8", "a Python device failed"),
    ("10", "--max-instructions reached"),
    ("12", "--timeout reached"),
    ("14", "a --wait text never appeared"),
    ("16", "the BIOS found no bootable disk"),
    ("70", "an internal error in hvmm (a bug; --debug shows the traceback)"),
    ("74", "stdout or stderr could not be written (e.g. a full disk)"),
    ("130", "interrupted (Ctrl-C, SIGTERM, SIGHUP)"),
)


def table_text(indent: str = "  ") -> str:
    width = max(len(code) for code, _ in TABLE)
    return "\n".join(f"{indent}{code.rjust(width)}  {text}" for code, text in TABLE)
