"""``hvmm boot``: a PC with our BIOS (or another ROM) booting disk images,
in the console or headless under a --wait/--type/--sleep script."""

from __future__ import annotations

import argparse
import os
import stat
import sys

from hvmm.commands.common import UsageError, err, finish, progress_bar, seconds
from hvmm.errors import ConfigError

BIOS_SIZES = (0x10000, 0x20000)


class ScriptAction(argparse.Action):
    """--wait/--type/--send/--sleep: append (kind, text) to one list, in command-line order."""

    def __call__(self, parser, namespace, values, option_string=None):
        steps = list(getattr(namespace, self.dest, None) or [])
        steps.append((self.const, values))
        setattr(namespace, self.dest, steps)


def script_steps(script) -> list:
    """The --wait/--type/--send/--sleep steps checked and decoded (UsageError)."""
    from hvmm.headless import decode_keys

    steps = []
    for kind, text in script or ():
        if kind == "type":
            try:
                text = decode_keys(text)
            except ValueError as exc:
                raise UsageError(f"--type {text!r}: {exc}") from None
        elif kind == "send":
            try:
                text = decode_keys(text, keyboard=False).encode("latin-1")
            except UnicodeEncodeError:
                raise UsageError(f"--send {text!r}: only characters 0-255 go down a serial line") from None
        elif kind == "sleep":
            try:
                text = seconds(text)
            except argparse.ArgumentTypeError as exc:
                raise UsageError(f"--sleep: {exc}") from None
        elif not text:
            raise UsageError("--wait needs a non-empty TEXT")
        steps.append((kind, text))
    return steps


def read_bios(path: str) -> bytes:
    """--bios FILE: a 64 or 128 KiB ROM image (one-line errors; the size is
    checked before anything is read)."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise ConfigError(f"{path}: a BIOS image must be a regular file")
            if st.st_size not in BIOS_SIZES:
                raise ConfigError(f"{path}: a BIOS image is 64 or 128 KiB, "
                                  f"this one is {st.st_size} bytes")
            rom = f.read(st.st_size + 1)
    except IsADirectoryError:
        raise ConfigError(f"cannot read BIOS image {path}: is a directory") from None
    except OSError as exc:
        raise ConfigError(f"cannot read BIOS image {path}: {exc.strerror or exc}") from None
    if len(rom) not in BIOS_SIZES:  # changed while we looked
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
    if (args.initrd or args.append is not None) and not args.kernel:
        raise UsageError("--initrd and --append need --kernel")
    if not disks and not args.bios and not args.kernel:
        raise UsageError("boot: no disk: give IMAGE, --floppy, --hda or a --bios that needs none "
                         "(or --kernel)")
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


def cmd_boot(args) -> int:
    from hvmm.commands.tools import Tools
    from hvmm.machine import _DEFAULT, write_bytes
    from hvmm.pc import PC
    from hvmm.plugins import create_device

    disks = boot_disks(args)
    bios = read_bios(args.bios) if args.bios else None
    steps = script_steps(args.script)
    serial = args.serial == "stdio"
    console = not args.headless
    if console:
        # With --serial stdio the terminal is COM1's line (no screen drawn).
        if args.gdb:
            raise UsageError("--gdb needs --headless (the console owns the terminal)")
        if any(kind in ("wait", "sleep", "send") for kind, _ in steps):
            raise UsageError("--wait, --send and --sleep need --headless")
        if not serial and not (os.isatty(0) and os.isatty(1)):
            raise UsageError("the console needs a terminal on stdin and stdout; "
                             "use --headless (with --wait/--type/--print-screen)")
    realtime = console if args.realtime is None else args.realtime
    # Port 0xE9 output would scribble over the drawn screen: its last MiB is
    # kept and written to stdout once the console has left.
    from hvmm.frontends.console import OutputTail

    debug_kept = OutputTail() if console and not serial else None
    images = open_boot_disks(disks, args.write)
    try:
        pc = PC(**images, cpu=args.cpu, memory_mb=args.memory, bios=bios, realtime=realtime,
                acpi=args.acpi, cdrom=args.cdrom,
                debug_stream=debug_kept if debug_kept is not None else _DEFAULT)
        for spec in args.device or ():
            pc.add_device(create_device(spec))
        if args.kernel:
            _load_kernel(pc, args)
    except BaseException:
        for image in images.values():
            image.close()
        raise
    pc.cpu.io_timing = args.stats     # time each in-kernel access for the table
    try:
        if args.load_state:
            pc.load_state(args.load_state)
        tools = Tools(pc, args)
        try:
            run = _boot_console if console else _boot_headless
            result = run(pc, args, steps, serial, tools.stub)
        finally:
            tools.close()
        if args.save_state:
            pc.save_state(args.save_state)
    finally:
        if debug_kept is not None and debug_kept.getvalue():
            write_bytes(sys.stdout, debug_kept.getvalue())
            if debug_kept.dropped:
                err(f"port 0xE9 output: the first {debug_kept.dropped} bytes were dropped "
                    f"(the console keeps the last {debug_kept.limit >> 20} MiB)")
        sys.stdout.flush()
        pc.disk.close()
        if pc.cdrom is not None:
            pc.cdrom.close()
    from hvmm.headless import format_screen

    return finish(pc, args, result, screen=format_screen(pc) if args.print_screen else None)


def _load_kernel(pc, args) -> None:
    """--kernel/--initrd/--append: the Linux boot protocol (one-line errors)."""
    from hvmm.firmware.linux_boot import load_linux, read_file

    if args.cpu in ("8086", "286"):
        raise UsageError("--kernel needs the 386 or 686 CPU model (Linux's setup code is 386 code)")
    kernel = read_file(args.kernel, "kernel")
    initrd = read_file(args.initrd, "initrd") if args.initrd else None
    load_linux(pc, kernel, initrd, args.append or "", name=f"kernel {args.kernel}")


def _boot_headless(pc, args, steps, serial, debugger=None):
    """`hvmm boot --headless`: the --wait/--type/--sleep script."""
    from hvmm.runner import Runner

    bar, on_progress = progress_bar(args.max_instructions)
    serial_io = None
    try:
        if serial:
            from hvmm.frontends.console import SerialStdio

            serial_io = SerialStdio(pc.cpu).__enter__()
        return Runner(pc, steps=steps, timeout=args.timeout,
                      max_instructions=args.max_instructions, progress=on_progress,
                      debugger=debugger, on_slice=serial_io.pump if serial_io else None).run()
    finally:
        if bar is not None:
            bar.close()
        if serial_io is not None:
            serial_io.__exit__(None, None, None)


def _boot_console(pc, args, steps, serial, debugger=None):
    """`hvmm boot` without --headless: the interactive console
    (hvmm.frontends.console), or COM1 on the terminal with --serial stdio."""
    from hvmm.frontends.console import Console

    for _, keys in steps:                   # only --type steps are left
        pc.type(keys)
    return Console(pc, serial=serial, timeout=args.timeout,
                   max_instructions=args.max_instructions, save_path=args.save_state).run()


def add_boot_parser(sub, parents) -> None:
    p = sub.add_parser(
        "boot", parents=parents,
        help="boot a PC (our BIOS) from floppy or hard-disk images, in the console or headless",
        description=(
            "Boot a PC with the hvmm BIOS (or --bios FILE) from raw disk images "
            "(a floppy A: and hard disks 80h/81h; read-only, guest writes kept "
            "in memory, unless --write): drive A: first, then hard disk 80h. "
            "Without --headless the screen is drawn in the terminal (Ctrl-] "
            "leaves, Ctrl-\\ saves the state). --wait, --type and --sleep run in command-line order; "
            "a headless run without them ends when the guest stops, with them "
            "when they are done (exit status 0). See `hvmm --help` for the "
            "exit statuses."
        ),
    )
    p.add_argument("image", metavar="IMAGE", nargs="?",
                   help="raw disk image: a floppy size (160K-2.88M) is drive A:, "
                   "anything else hard disk 80h")
    p.add_argument("--floppy", metavar="IMAGE", help="raw floppy image for drive A:")
    p.add_argument("--hda", metavar="IMAGE",
                   help="raw hard-disk image for disk 80h (C:), any multiple of 512 bytes")
    p.add_argument("--hdb", metavar="IMAGE", help="raw hard-disk image for disk 81h")
    p.add_argument("--cdrom", metavar="ISO",
                   help="an ISO image in an ATAPI CD-ROM drive, the secondary IDE master "
                   "(read only; for the guest's driver, the BIOS does not boot it)")
    p.add_argument("--write", action="store_true",
                   help="write the guest's disk writes to the image files")
    p.add_argument("--bios", metavar="FILE",
                   help="boot another ROM image (64 or 128 KiB, mapped to end at 1 MiB "
                   "and at 4 GiB) instead of the hvmm BIOS; IMAGE is then optional")
    g = p.add_argument_group("direct kernel boot (the Linux x86 boot protocol)")
    g.add_argument("--kernel", metavar="FILE",
                   help="a Linux bzImage to start at INT 19h instead of a disk's boot sector "
                   "(disks stay attached)")
    g.add_argument("--initrd", metavar="FILE", help="an initial ramdisk for --kernel")
    g.add_argument("--append", metavar="TEXT", help="the kernel command line for --kernel")
    p.add_argument("--acpi", action=argparse.BooleanOptionalAction, default=True,
                   help="ACPI tables (RSDP, RSDT, FADT, FACS, DSDT with S5, the PCI bus "
                   "and the ISA devices: the PM timer, power-off, PnP) and SMBIOS "
                   "tables for the guest; --no-acpi leaves them out")
    p.add_argument("--headless", action="store_true",
                   help="no console: run under the --wait/--type script "
                   "(without it: the interactive console, Ctrl-] leaves, Ctrl-\\ saves the state)")
    p.add_argument("--realtime", action=argparse.BooleanOptionalAction, default=None,
                   help="virtual time follows the host clock (the console's default); "
                   "--no-realtime: the deterministic clock (the --headless default)")
    g = p.add_argument_group("script (--headless)")
    g.add_argument("--wait", metavar="TEXT", dest="script", action=ScriptAction, const="wait",
                   help="run until TEXT is new on the text screen (or on COM1) since keys "
                   "were last typed; repeatable, in order with --type (exit status 14 if "
                   "the guest stops first)")
    g.add_argument("--type", metavar="TEXT", dest="script", action=ScriptAction, const="type",
                   help=r"type TEXT on the keyboard: \r Enter, \e Esc, \t Tab, \b Backspace, "
                   r"\\ backslash, \xNN a character (\x01-\x1a: Ctrl-A..Z), \{up} a named "
                   r"key (down left right home end insert delete pageup pagedown f1-f12); "
                   r"repeatable")
    g.add_argument("--send", metavar="TEXT", dest="script", action=ScriptAction, const="send",
                   help="send TEXT to COM1 as a terminal on its line would (the escapes of "
                   "--type; \\r is Enter); repeatable, in order with --wait")
    g.add_argument("--sleep", metavar="SECONDS", dest="script", action=ScriptAction,
                   const="sleep",
                   help="run for SECONDS of virtual time (deterministic); repeatable, in order "
                   "with --wait and --type")
    g = p.add_argument_group("snapshots (docs/debugging.md)")
    g.add_argument("--load-state", metavar="FILE",
                   help="start from a snapshot saved by --save-state (same disks, --cpu, "
                   "--memory and --bios)")
    g.add_argument("--save-state", metavar="FILE",
                   help="save the machine's state to FILE when the run ends (and, in the "
                   "console, when Ctrl-\\ is typed; without this option Ctrl-\\ writes "
                   "hvmm-<instructions>.hvmmstate)")
    p.add_argument("--print-screen", action="store_true",
                   help="print the final 80x25 text screen to stdout")
    p.set_defaults(func=cmd_boot, script=None)
