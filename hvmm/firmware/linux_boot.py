"""Direct kernel boot: a Linux bzImage (and an initrd and a command line)
placed in guest memory by the Linux x86 boot protocol
(Documentation/arch/x86/boot.rst), as QEMU's -kernel/-initrd/-append do.

    from hvmm.firmware.linux_boot import load_linux
    layout = load_linux(pc, kernel_bytes, initrd_bytes, "console=ttyS0")

The real-mode setup code goes to SETUP_BASE (0x90000, the protocol's
classic address: our BIOS has no EBDA, so the 64 KiB up to 0xA0000 are
free), with its heap up to HEAP_END and the command line after it; the
protected-mode kernel to 1 MiB; the initrd as high as the kernel's
`initrd_addr_max` and the RAM allow. The BIOS runs its POST as usual and,
at INT 19h, asks the disk port for the loaded kernel (CMD_KERNEL) and enters
the setup code at setup segment + 20h : 0 with DS = ES = FS = GS = SS = the
setup segment: the setup code then has the BIOS's INT 10h, 15h (E820) and
16h, as from any boot loader. Bad input is a one-line ConfigError.
"""

from __future__ import annotations

from dataclasses import dataclass

from hvmm.errors import ConfigError

SETUP_BASE = 0x90000
HEAP_END = 0xE000           # setup-segment offset where the heap (and stack) end
CMDLINE_OFFSET = 0xE000     # the command line: setup base + 0xE000
KERNEL_BASE = 0x100000
MIN_PROTOCOL = 0x0202       # cmd_line_ptr; older kernels want the 0x9000 layout
LOADER_TYPE = 0xFF          # "undefined" (no assigned ID)

# setup header fields (offsets in the file)
SETUP_SECTS, BOOT_FLAG, HEADER, VERSION = 0x1F1, 0x1FE, 0x202, 0x206
TYPE_OF_LOADER, LOADFLAGS, RAMDISK_IMAGE, RAMDISK_SIZE = 0x210, 0x211, 0x218, 0x21C
HEAP_END_PTR, CMD_LINE_PTR, INITRD_ADDR_MAX, CMDLINE_SIZE = 0x224, 0x228, 0x22C, 0x238
INIT_SIZE = 0x260
LOADED_HIGH, CAN_USE_HEAP = 0x01, 0x80


@dataclass
class LinuxLayout:
    """Where the loader put things, and the header values it read."""
    protocol: int
    setup_sects: int
    setup_base: int
    setup_size: int
    kernel_base: int
    kernel_size: int
    init_size: int
    cmdline_addr: int
    cmdline: bytes
    initrd_addr: int | None
    initrd_size: int
    initrd_addr_max: int
    heap_end_ptr: int
    entry: tuple[int, int]      # (CS, IP) of the real-mode entry
    stack: tuple[int, int]      # (SS, SP)


def _u16(b, off):
    return int.from_bytes(b[off:off + 2], "little")


def _u32(b, off):
    return int.from_bytes(b[off:off + 4], "little")


def parse_header(kernel: bytes, name: str = "kernel") -> dict:
    """The setup header's fields; ConfigError for what is not a bzImage we
    can boot."""
    if len(kernel) < 0x400 or _u16(kernel, BOOT_FLAG) != 0xAA55 or kernel[HEADER:HEADER + 4] != b"HdrS":
        raise ConfigError(f"{name}: not a Linux kernel image (no HdrS setup header)")
    version = _u16(kernel, VERSION)
    if version < MIN_PROTOCOL:
        raise ConfigError(f"{name}: Linux boot protocol {version >> 8}.{version & 0xFF:02d} is "
                          "too old (2.02 or later needed)")
    if not kernel[LOADFLAGS] & LOADED_HIGH:
        raise ConfigError(f"{name}: a zImage (loaded low), not a bzImage")
    setup_sects = kernel[SETUP_SECTS] or 4
    setup_size = (setup_sects + 1) * 512
    if len(kernel) <= setup_size:
        raise ConfigError(f"{name}: truncated: {len(kernel)} bytes, the setup code alone "
                          f"is {setup_size}")
    return {
        "protocol": version,
        "setup_sects": setup_sects,
        "setup_size": setup_size,
        "initrd_addr_max": _u32(kernel, INITRD_ADDR_MAX) if version >= 0x0203 else 0x37FFFFFF,
        "cmdline_size": _u32(kernel, CMDLINE_SIZE) if version >= 0x0206 else 255,
        "init_size": _u32(kernel, INIT_SIZE) if version >= 0x020A else 0,
        "loadflags": kernel[LOADFLAGS],
    }


def plan(kernel: bytes, initrd: bytes | None, cmdline: str, memory_size: int,
         name: str = "kernel") -> LinuxLayout:
    """Check everything fits in `memory_size` bytes of RAM; the layout."""
    h = parse_header(kernel, name)
    if h["setup_size"] > HEAP_END - 0x200:
        raise ConfigError(f"{name}: {h['setup_size']} bytes of setup code do not fit below "
                          "its heap")
    line = cmdline.encode("latin-1", "replace")
    if len(line) > min(h["cmdline_size"], 0x7FF):
        raise ConfigError(f"--append: {len(line)} bytes, the kernel takes at most "
                          f"{min(h['cmdline_size'], 0x7FF)}")
    kernel_size = len(kernel) - h["setup_size"]
    kernel_end = KERNEL_BASE + max(kernel_size, h["init_size"])
    if kernel_end > memory_size:
        raise ConfigError(f"{name}: the kernel needs {kernel_end >> 20} MiB of RAM or more "
                          f"(--memory is {memory_size >> 20})")
    initrd_addr = None
    if initrd is not None:
        top = min(h["initrd_addr_max"] + 1, memory_size)
        initrd_addr = (top - len(initrd)) & ~0xFFF
        if initrd_addr < kernel_end:
            raise ConfigError(f"initrd: {len(initrd)} bytes do not fit between the kernel "
                              f"(ending at {kernel_end:#x}) and {top:#x} (RAM top or the "
                              "kernel's initrd_addr_max); give more --memory")
    seg = SETUP_BASE >> 4
    return LinuxLayout(
        protocol=h["protocol"], setup_sects=h["setup_sects"], setup_base=SETUP_BASE,
        setup_size=h["setup_size"], kernel_base=KERNEL_BASE, kernel_size=kernel_size,
        init_size=h["init_size"], cmdline_addr=SETUP_BASE + CMDLINE_OFFSET, cmdline=line,
        initrd_addr=initrd_addr, initrd_size=len(initrd) if initrd is not None else 0,
        initrd_addr_max=h["initrd_addr_max"], heap_end_ptr=HEAP_END - 0x200,
        entry=(seg + 0x20, 0), stack=(seg, HEAP_END))


def load_linux(pc, kernel: bytes, initrd: bytes | None = None, cmdline: str = "",
               name: str = "kernel") -> LinuxLayout:
    """Place the kernel in `pc`'s memory and tell the BIOS to enter it at
    INT 19h (pc.disk.kernel_entry)."""
    mem = pc.cpu.memory
    lay = plan(kernel, initrd, cmdline, len(mem), name)
    setup = bytearray(kernel[:lay.setup_size])
    setup[TYPE_OF_LOADER] = LOADER_TYPE
    setup[LOADFLAGS] |= CAN_USE_HEAP
    setup[HEAP_END_PTR:HEAP_END_PTR + 2] = lay.heap_end_ptr.to_bytes(2, "little")
    setup[CMD_LINE_PTR:CMD_LINE_PTR + 4] = lay.cmdline_addr.to_bytes(4, "little")
    if lay.initrd_addr is not None:
        setup[RAMDISK_IMAGE:RAMDISK_IMAGE + 4] = lay.initrd_addr.to_bytes(4, "little")
        setup[RAMDISK_SIZE:RAMDISK_SIZE + 4] = lay.initrd_size.to_bytes(4, "little")
        mem[lay.initrd_addr:lay.initrd_addr + lay.initrd_size] = initrd
    mem[SETUP_BASE:SETUP_BASE + lay.setup_size] = bytes(setup)
    mem[lay.cmdline_addr:lay.cmdline_addr + len(lay.cmdline) + 1] = lay.cmdline + b"\0"
    mem[KERNEL_BASE:KERNEL_BASE + lay.kernel_size] = kernel[lay.setup_size:]
    pc.disk.kernel_entry = (SETUP_BASE >> 4, HEAP_END)
    return lay


def read_file(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except IsADirectoryError:
        raise ConfigError(f"{what} {path}: is a directory") from None
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot read: {exc.strerror or exc}") from None
