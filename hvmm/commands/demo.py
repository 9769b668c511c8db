"""``hvmm run``: boot the bundled demo guest headless (no files needed)."""

from __future__ import annotations

from hvmm.commands.common import finish
from hvmm.status import ExitStatus

# The demo guest on a 1.44 MB floppy, and a safety limit (the demo itself
# retires about 170,000 instructions).
DEMO_FLOPPY_SIZE = 1_474_560
DEMO_MAX_INSTRUCTIONS = 100_000_000


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
    from hvmm.headless import format_screen
    from hvmm.pc import PC
    from hvmm.runner import Runner

    pc = PC(demo_floppy(), cpu=args.cpu, memory_mb=args.memory)
    pc.cpu.io_timing = True         # the stats table times in-kernel accesses
    result = Runner(pc, timeout=args.timeout,
                    max_instructions=args.max_instructions or DEMO_MAX_INSTRUCTIONS).run()
    stop = result.stop
    if stop is not None and stop.reason == "debug_exit" and stop.value == 0:
        result.status = ExitStatus.OK
        message = (f"the demo ended itself (port 0xF4) after {result.instructions} "
                   f"instructions on the {args.cpu} model")
    else:
        if result.status == ExitStatus.OK:
            result.status = ExitStatus.GUEST_FAULT
        message = f"the demo did not finish: {result.message or result.reason}"
    screen = None if result.reason == "device_error" else format_screen(pc)
    return finish(pc, args, result, message=message, screen=screen, stats=True)
