"""The PC: a Machine with the hvmm BIOS (or another ROM), the paravirtual
disk port and its floppy and hard-disk drives.  The scripting methods used
below (wait_for_text, type, screen_text, screenshot) are the Machine's.

    from hvmm.pc import PC
    pc = PC(floppy="dos.img", hda="c.img")    # paths, or hvmm.disks images
    pc.wait_for_text("A:\\>")                 # run until it is on screen
    pc.type("ver\\r")
    pc.wait_for_text("FreeDOS")
    print(pc.screen_text())

The CPU starts at F000:FFF0 in the BIOS ROM (guests/bios.asm), which runs
POST and boots drive A: or else hard disk 80h (INT 19h).  See docs/firmware.md.
"""

from __future__ import annotations

from hvmm.disks import CdImage, FloppyImage, HardDiskImage
from hvmm.errors import ConfigError
from hvmm.firmware import DiskPort, bios_image
from hvmm.machine import Machine, Stop, _DEFAULT
from hvmm.status import ExitStatus

#: The POST code (port 0x80) our BIOS writes before it halts for good
#: because nothing could be booted (guests/bios.asm, INT 18h).
POST_NO_BOOT = 0x18
ROM_SEGMENT = 0xF000

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


class PC(Machine):
    """A PC booting the hvmm BIOS.

    ``floppy``: drive A: (a path, opened read-only with writes kept in
    memory unless ``write=True``; or a ``hvmm.disks.FloppyImage``).
    ``hda``, ``hdb``: hard disks 80h and 81h (paths, opened the same way,
    or ``hvmm.disks.HardDiskImage``s).
    ``cpu``: ``"8086"``, ``"286"``, ``"386"`` or ``"686"``; ``memory_mb``:
    RAM (None: 1 MiB for the 8086, else 16 MiB).  ``bios``: another ROM image (64 or
    128 KiB, ending at 1 MiB and at 4 GiB) instead of ours.  ``ips``,
    ``debug_stream``, ``realtime``: as for Machine.  ``cdrom``: an ISO
    image (path or ``hvmm.disks.CdImage``) in an ATAPI drive, the secondary
    IDE master (for a kernel's driver; the BIOS does not boot it).  ``acpi``: the ACPI
    tables at E0000h (hvmm.firmware.acpi) and the SMBIOS tables
    (hvmm.firmware.smbios; with our BIOS, not on the 8086).
    """

    def __init__(self, floppy=None, cpu="386", memory_mb=None, *, hda=None, hdb=None, cdrom=None,
                 write=False, bios: bytes | None = None, ips=None, debug_stream=_DEFAULT,
                 realtime=False, acpi=True):
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
        super().__init__(cpu=cpu, memory_mb=memory_mb, ips=ips, debug_stream=debug_stream,
                         realtime=realtime)
        # The ROM ends at the top of the first megabyte and, on the 386, is
        # also decoded at the top of the 4 GiB space (the 8086 has no such
        # addresses).
        rom_base = (1 << 20) - len(rom)
        if acpi and bios is None and cpu != "8086" and len(self.cpu.memory) > 1 << 20:
            from hvmm.firmware import acpi as acpi_tables, smbios

            acpi_tables.install(self.cpu)
            rom = smbios.install(self.cpu, rom)     # its entry point is in the ROM
        self.cpu.map_rom(rom_base, rom)
        if cpu != "8086":
            self.cpu.alias_rom((1 << 32) - len(rom), rom_base, len(rom))
        # A BIOS is there: an invalid opcode is #UD to the guest (INT 6), as
        # on hardware (software probes for instructions this way).
        self.cpu.invalid_opcode_exits = False
        self.disk = DiskPort(drives, protect=[(rom_base, 1 << 20)])
        self.add_device(self.disk)
        # The same hard disks on the in-kernel IDE controller: hda the
        # primary master, hdb the primary slave (as QEMU's -hda/-hdb).
        for index, number in enumerate((0x80, 0x81)):
            if number in drives and hasattr(self.cpu, "ide_attach"):
                self._attach_ide(index, drives[number])
        self.cdrom = None
        if cdrom is not None:
            self.cdrom = cdrom if hasattr(cdrom, "geometry") else CdImage(cdrom)
            self.cpu.ide_attach(2, self.cdrom.data, cdrom=True)
        if (self.cpu.cs, self.cpu.ip) != (0xF000, 0xFFF0):
            self.cpu.reset()
        set_cmos_memory(self.cpu, len(self.cpu.memory))

    def _attach_ide(self, index, image) -> None:
        self.cpu.ide_attach(index, image.data)
        image.change_sources.append(lambda: self.cpu.ide_take_changed(index))

    def halt_stop(self, ex) -> Stop:
        """A halt in the BIOS ROM after INT 18h (POST code 18h) is the BIOS
        giving up: nothing bootable.  Any other halt is the guest's."""
        if self.cpu.post_code == POST_NO_BOOT and ex.cs == ROM_SEGMENT:
            return Stop("no_boot", ExitStatus.NO_BOOT, ex,
                        error="no bootable disk: the BIOS found nothing to boot (INT 18h)")
        return super().halt_stop(ex)
