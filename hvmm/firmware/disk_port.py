"""The paravirtual disk port: how the hvmm BIOS reaches disk images.

The BIOS (INT 13h) writes a request into eight 16-bit registers at ports
0x4A0-0x4AF and a command; the device does the whole transfer between the
image and guest memory at once (no data port, no DMA emulation) and leaves
a BIOS status code.  Register map (also in docs/firmware.md):

    0x4A0  write: COMMAND   read: STATUS (INT 13h status code, 0 = ok)
    0x4A2  DRIVE            BIOS drive number (00h, 01h floppies; 80h... disks)
    0x4A4  LBA low          GEOMETRY: cylinders
    0x4A6  LBA high         GEOMETRY: heads
    0x4A8  COUNT            sectors; after a transfer: sectors done
                            GEOMETRY: sectors per track; DRIVES: floppies
    0x4AA  BUFFER offset
    0x4AC  BUFFER segment
    0x4AE  INFO (read-only) GEOMETRY: floppy type (1-5, 0 disk);
                            DRIVES: hard disks

Commands: 1 READ, 2 WRITE, 3 VERIFY, 4 GEOMETRY, 5 DRIVES, 6 SIZE (total
sectors of DRIVE in LBA low/high, at most FFFFFFFFh).  READ/WRITE/VERIFY
take a 32-bit LBA, so the BIOS's CHS calls and the INT 13h extensions
(41h-48h) both reach every sector of a hard disk below 2 TiB.  Byte and word
accesses both work (a word at an odd port is two bytes); writing the
command register's low byte starts the command.
"""

from __future__ import annotations

from hvmm.devices import PortDevice

BASE = 0x4A0
SECTOR = 512

CMD_READ, CMD_WRITE, CMD_VERIFY, CMD_GEOMETRY, CMD_DRIVES, CMD_SIZE = 1, 2, 3, 4, 5, 6
CMD_KERNEL = 7      # INT 19h: a kernel loaded by the host (hvmm.firmware.linux_boot)

# INT 13h status codes the device reports.
ST_OK = 0x00
ST_BAD_COMMAND = 0x01
ST_SECTOR_NOT_FOUND = 0x04
ST_BAD_ADDRESS = 0x09  # the buffer is not in guest RAM
ST_NO_DRIVE = 0x80  # "timeout": no such drive

R_STATUS, R_DRIVE, R_LBA_LO, R_LBA_HI, R_COUNT, R_OFF, R_SEG, R_INFO = range(8)


class DiskPort(PortDevice):
    """``drives``: {BIOS drive number: image} (images as in hvmm.disks:
    ``geometry``, ``sectors``, ``read(lba, count)``, ``write(lba, data)``).
    ``protect``: physical (start, end) ranges a READ must not write (the
    ROM); bytes landing there are dropped, as the guest's own writes are."""

    name = "disk-port"

    def __init__(self, drives=None, base: int = BASE, protect=()):
        self.drives = dict(drives or {})
        self.base = base
        self.ports = [(base, base + 15)]
        self.protect = list(protect)
        self.regs = [0] * 8
        self.commands = 0
        self.sectors_read = 0
        self.sectors_written = 0
        self.kernel_entry = None    # (setup segment, SP) for CMD_KERNEL

    # ---- snapshots (hvmm.snapshot; the images' changes are saved apart) -----

    def get_state(self) -> dict:
        return {"regs": list(self.regs), "commands": self.commands,
                "sectors_read": self.sectors_read, "sectors_written": self.sectors_written}

    def set_state(self, state: dict) -> None:
        self.regs = list(state["regs"])
        self.commands = state["commands"]
        self.sectors_read = state["sectors_read"]
        self.sectors_written = state["sectors_written"]

    # ---- port access ------------------------------------------------------

    def io_read(self, port, size):
        value = 0
        for i in range(size):
            off = port - self.base + i
            if 0 <= off < 16:
                byte = (self.regs[off >> 1] >> (8 * (off & 1))) & 0xFF
            else:
                byte = 0xFF
            value |= byte << (8 * i)
        return value

    def io_write(self, port, size, value):
        start = False
        for i in range(size):
            off = port - self.base + i
            if not 0 <= off < 16 or off >> 1 == R_INFO:
                continue
            byte = (value >> (8 * i)) & 0xFF
            reg = off >> 1
            shift = 8 * (off & 1)
            self.regs[reg] = (self.regs[reg] & ~(0xFF << shift)) | (byte << shift)
            if off == 0:
                start = True
        if start:
            command = self.regs[R_STATUS] & 0xFF
            self.regs[R_STATUS] = self.execute(command)

    # ---- commands -----------------------------------------------------------

    def execute(self, command: int) -> int:
        """Run a command from the registers; return the status."""
        self.commands += 1
        r = self.regs
        if command == CMD_KERNEL:
            if self.kernel_entry is None:
                return ST_BAD_COMMAND
            r[R_LBA_LO], r[R_LBA_HI] = self.kernel_entry
            return ST_OK
        if command == CMD_DRIVES:
            r[R_COUNT] = sum(1 for d in self.drives if d < 0x80)
            r[R_INFO] = sum(1 for d in self.drives if d >= 0x80)
            return ST_OK
        image = self.drives.get(r[R_DRIVE] & 0xFF)
        if command not in (CMD_READ, CMD_WRITE, CMD_VERIFY, CMD_GEOMETRY, CMD_SIZE):
            return ST_BAD_COMMAND
        if image is None:
            if command not in (CMD_GEOMETRY, CMD_SIZE):
                r[R_COUNT] = 0
            return ST_NO_DRIVE
        if command == CMD_SIZE:
            total = min(image.sectors, 0xFFFFFFFF)
            r[R_LBA_LO], r[R_LBA_HI] = total & 0xFFFF, total >> 16
            return ST_OK
        if command == CMD_GEOMETRY:
            g = image.geometry
            r[R_LBA_LO], r[R_LBA_HI], r[R_COUNT] = g.cylinders, g.heads, g.sectors
            r[R_INFO] = getattr(g, "floppy_type", 0)
            return ST_OK

        lba = r[R_LBA_LO] | (r[R_LBA_HI] << 16)
        count = r[R_COUNT]
        r[R_COUNT] = 0
        if count == 0 or lba + count > image.sectors:
            return ST_SECTOR_NOT_FOUND
        if command == CMD_VERIFY:
            r[R_COUNT] = count
            return ST_OK
        memory = self.machine.cpu.memory
        linear = (r[R_SEG] << 4) + r[R_OFF]
        nbytes = count * SECTOR
        if linear + nbytes > len(memory):
            return ST_BAD_ADDRESS
        if command == CMD_READ:
            data = image.read(lba, count)
            self._store(memory, linear, data)
            self.sectors_read += count
        else:
            image.write(lba, bytes(memory[linear : linear + nbytes]))
            self.sectors_written += count
        r[R_COUNT] = count
        return ST_OK

    def _store(self, memory, linear: int, data: bytes) -> None:
        end = linear + len(data)
        pieces = [(linear, end)]
        for lo, hi in self.protect:  # cut the protected ranges out
            nxt = []
            for a, b in pieces:
                if b <= lo or a >= hi:
                    nxt.append((a, b))
                    continue
                if a < lo:
                    nxt.append((a, lo))
                if b > hi:
                    nxt.append((hi, b))
            pieces = nxt
        for a, b in pieces:
            memory[a:b] = data[a - linear : b - linear]

    def close(self) -> None:
        for image in self.drives.values():
            close = getattr(image, "close", None)
            if close is not None:
                close()
