"""The PC: a Machine with the hvmm BIOS, the paravirtual disk port and a
floppy drive, plus the screen and keyboard helpers tests and scripts use.

    from hvmm.pc import PC
    pc = PC(floppy="dos.img")                 # or a hvmm.disks.FloppyImage
    pc.wait_for_text("A:\\>")                 # run until it is on screen
    pc.type("ver\\r")
    pc.wait_for_text("FreeDOS")
    print(pc.screen_text())

The CPU starts at F000:FFF0 in the BIOS ROM (guests/bios.asm), which runs
POST and boots drive A: or else hard disk 80h (INT 19h).  See docs/firmware.md.
"""

from __future__ import annotations

from hvmm.disks import FloppyImage, HardDiskImage
from hvmm.errors import ConfigError
from hvmm.firmware import DiskPort, bios_image
from hvmm.machine import Machine, Stop, _DEFAULT

TEXT_BASE = 0xB8000
COLUMNS, ROWS = 80, 25

#: Virtual time between two typed keys: the 8042 holds 64 bytes, so keys
#: are fed one at a time on the virtual clock, not all at once.
KEY_INTERVAL_NS = 5_000_000

# US layout: character -> (set 2 make code, shift).
_SET2 = {}
for _chars, _codes in (
    ("abcdefghijklmnopqrstuvwxyz",
     [0x1C, 0x32, 0x21, 0x23, 0x24, 0x2B, 0x34, 0x33, 0x43, 0x3B, 0x42, 0x4B, 0x3A,
      0x31, 0x44, 0x4D, 0x15, 0x2D, 0x1B, 0x2C, 0x3C, 0x2A, 0x1D, 0x22, 0x35, 0x1A]),
    ("1234567890", [0x16, 0x1E, 0x26, 0x25, 0x2E, 0x36, 0x3D, 0x3E, 0x46, 0x45]),
    ("-=[]\\;',./`", [0x4E, 0x55, 0x54, 0x5B, 0x5D, 0x4C, 0x52, 0x41, 0x49, 0x4A, 0x0E]),
):
    for _c, _code in zip(_chars, _codes):
        _SET2[_c] = (_code, False)
for _plain, _shifted in zip("1234567890-=[]\\;',./`", "!@#$%^&*()_+{}|:\"<>?~"):
    _SET2[_shifted] = (_SET2[_plain][0], True)
for _c in "abcdefghijklmnopqrstuvwxyz":
    _SET2[_c.upper()] = (_SET2[_c][0], True)
_SET2.update({
    " ": (0x29, False), "\r": (0x5A, False), "\n": (0x5A, False),
    "\t": (0x0D, False), "\b": (0x66, False), "\x1b": (0x76, False),
})
LSHIFT = 0x12


def key_bytes(ch: str) -> bytes:
    """Set 2 make and break codes that type ``ch`` (US layout)."""
    try:
        code, shift = _SET2[ch]
    except KeyError:
        raise ValueError(f"cannot type {ch!r}: no key for it on a US keyboard") from None
    seq = [code, 0xF0, code]
    if shift:
        seq = [LSHIFT] + seq + [0xF0, LSHIFT]
    return bytes(seq)


def set_cmos_memory(cpu, size: int) -> None:
    """The memory size in the CMOS, where the BIOS (INT 12h, INT 15h AH=88h,
    E801h, E820h) finds it, with the values an AT BIOS setup keeps there:
    15h/16h base memory (640 KiB), 17h/18h and 30h/31h extended memory in
    KiB above 1 MiB (at most FFFFh), 34h/35h 64 KiB blocks above 16 MiB
    (at most FFFFh); then the checksum of 10h-2Dh."""
    base = min(size, 640 << 10) >> 10
    ext = min(max(size - (1 << 20), 0) >> 10, 0xFFFF)
    high = min(max(size - (16 << 20), 0) >> 16, 0xFFFF)
    for reg, value in ((0x15, base), (0x17, ext), (0x30, ext), (0x34, high)):
        cpu.cmos_write(reg, value & 0xFF)
        cpu.cmos_write(reg + 1, value >> 8)
    cpu.cmos_update_checksum()


class PC:
    """A PC booting the hvmm BIOS.

    ``floppy``: drive A: (a path, opened read-only with writes kept in
    memory unless ``write=True``; or a ``hvmm.disks.FloppyImage``).
    ``hda``, ``hdb``: hard disks 80h and 81h (paths, opened the same way,
    or ``hvmm.disks.HardDiskImage``s).
    ``cpu``: ``"386"`` or ``"8086"``; ``memory_mb``: RAM (None: 16 MiB
    for the 386, 1 MiB for the 8086).  ``bios``: another ROM image (64 or
    128 KiB, ending at 1 MiB and at 4 GiB) instead of ours.  ``ips``,
    ``debug_stream``, ``realtime``: as for Machine.
    """

    def __init__(self, floppy=None, cpu="386", memory_mb=None, *, hda=None, hdb=None,
                 write=False, bios: bytes | None = None, ips=None, debug_stream=_DEFAULT,
                 realtime=False):
        rom = bios_image() if bios is None else bytes(bios)
        if len(rom) not in (0x10000, 0x20000):
            raise ConfigError(f"BIOS image is {len(rom)} bytes, not 64 or 128 KiB")
        if hdb is not None and hda is None:
            raise ConfigError("hdb without hda: the second hard disk needs a first")
        drives = {}
        for number, image, kind in ((0x00, floppy, FloppyImage), (0x80, hda, HardDiskImage),
                                    (0x81, hdb, HardDiskImage)):
            if image is not None:
                drives[number] = image if hasattr(image, "geometry") else kind(image, write=write)
        self.machine = Machine(cpu=cpu, memory_mb=memory_mb, ips=ips, debug_stream=debug_stream,
                               realtime=realtime)
        self.cpu = self.machine.cpu
        # The ROM ends at the top of the first megabyte and, on the 386, is
        # also decoded at the top of the 4 GiB space (the 8086 has no such
        # addresses).
        rom_base = (1 << 20) - len(rom)
        self.cpu.map_rom(rom_base, rom)
        if cpu != "8086":
            self.cpu.alias_rom((1 << 32) - len(rom), rom_base, len(rom))
        self.disk = DiskPort(drives, protect=[(rom_base, 1 << 20)])
        self.machine.add_device(self.disk)
        if (self.cpu.cs, self.cpu.ip) != (0xF000, 0xFFF0):
            self.cpu.reset()
        set_cmos_memory(self.cpu, len(self.cpu.memory))
        self._keys: list[bytes] = []
        self._key_timer = None
        self.stop: Stop | None = None

    # ---- running --------------------------------------------------------------

    def run(self, max_instructions: int | None = None, max_ns: int | None = None) -> Stop:
        """Run until the guest stops (or ``max_instructions``, or ``max_ns``
        of virtual time): a Stop."""
        self.stop = self.machine.run(max_instructions, max_ns=max_ns)
        return self.stop

    def run_until(self, predicate, max_instructions: int = 2_000_000_000,
                  chunk: int = 20_000) -> bool:
        """Run until ``predicate()`` is true (checked every ``chunk``
        instructions): True; False if the guest stopped first (``self.stop``
        says why) or ``max_instructions`` ran out."""
        done = 0
        while not predicate():
            if done >= max_instructions:
                return False
            # (realtime: an idle guest retires almost nothing, bound the time too)
            stop = self.run(min(chunk, max_instructions - done),
                            max_ns=10_000_000 if self.machine.realtime else None)
            done += stop.instructions
            if stop.reason != "limit":
                return bool(predicate())
        return True

    def wait_for_text(self, text: str, max_instructions: int = 2_000_000_000) -> bool:
        """Run until ``text`` is on the text screen."""
        return self.run_until(lambda: text in self.screen_text(), max_instructions)

    # ---- screen and keyboard -------------------------------------------------

    def screen_text(self) -> str:
        """The 80x25 text screen at B8000 (characters only, code page 437),
        one line per row, trailing blanks removed."""
        raw = bytes(self.cpu.memory[TEXT_BASE : TEXT_BASE + COLUMNS * ROWS * 2:2])
        text = raw.replace(b"\0", b" ").decode("cp437")
        return "\n".join(text[i : i + COLUMNS].rstrip() for i in range(0, len(text), COLUMNS))

    def screenshot(self, path=None):
        """The screen as a Pillow image, saved to ``path`` (PNG) if given:
        :meth:`hvmm.machine.Machine.screenshot`."""
        return self.machine.screenshot(path)

    def type(self, text: str) -> None:
        """Type ``text`` on the keyboard (US layout; ``\\r`` is Enter).  The
        keys go in one every KEY_INTERVAL_NS of virtual time while the
        machine runs."""
        self.press(*[key_bytes(ch) for ch in text])  # all or nothing

    def press(self, *keys: bytes) -> None:
        """Queue keys given as set 2 scancodes (each one key's make and
        break codes, modifiers included), delivered like typed ones."""
        self._keys.extend(bytes(k) for k in keys)
        if self._key_timer is None or not self._key_timer.active:
            self._key_timer = self.machine.clock.call_every(KEY_INTERVAL_NS, self._next_key)

    def _next_key(self) -> None:
        if self._keys:
            self.cpu.keyboard_input(self._keys.pop(0))
        if not self._keys and self._key_timer is not None:
            self._key_timer.cancel()

    @property
    def typing(self) -> bool:
        """Keys typed but not yet delivered to the keyboard."""
        return bool(self._keys)

    def close(self) -> None:
        self.machine.close()
