"""Firmware support: the hvmm BIOS ROM (guests/bios.asm, built to
hvmm/guests/bios.bin) and the Python devices it talks to.
See docs/firmware.md."""

from importlib.resources import files

from hvmm.firmware.disk_port import DiskPort


def bios_image() -> bytes:
    """The bundled 64 KiB BIOS ROM (for F0000-FFFFF)."""
    return files("hvmm").joinpath("guests/bios.bin").read_bytes()


__all__ = ["DiskPort", "bios_image"]
