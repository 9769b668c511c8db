"""Snapshots: a machine's whole state in one file, restored into a machine
built the same way (same CPU model, memory, BIOS, disks and devices).

    pc.save_state("dos.hvmmstate")         # Machine.save_state
    pc2 = PC(floppy="dos.img")
    pc2.load_state("dos.hvmmstate")        # runs on exactly as pc would

The file: ``HVMMSNAP``, the format version (u32), then sections, each
``name`` (u16 length + UTF-8), ``length`` (u64), ``crc32`` (u32) and the
zlib-compressed data; the last is ``end``.  A file of another format, of a
core with other struct layouts, or truncated is refused with one line.

Sections: ``meta`` (JSON: format, hvmm version, the core's struct layout,
CPU model, memory size, ips, disks), ``cpu`` (JSON: registers, lazy flags,
segment caches, control registers, run state: halted, interrupt shadow,
NMI, instruction count, idle time), ``ram``, ``kernel`` (the in-kernel
devices' C struct, raw: its layout is in ``meta``), ``machine`` (JSON: keys
being typed, the Python devices' states), ``disk:NN`` (the sectors the guest
changed on BIOS drive NN: u32 LBA + 512 bytes each).

Python devices take part through a state protocol: ``get_state() -> dict``
(JSON values; ``bytes`` allowed) and ``set_state(dict)``, which re-arms the
device's timers and IRQ lines.  A device without it makes save_state fail
with a one-line :class:`ConfigError` naming it.  The virtual clock is the
CPU's (instructions and idle time); Python timers belong to their devices.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib

from hvmm.errors import ConfigError
from hvmm.keyboard import KEY_INTERVAL_NS

MAGIC = b"HVMMSNAP"
FORMAT = 3       # 2: the run state keeps rep_partial, the exception counters, fault_err;
                 # 3: the machine-check MSRs (cpu.msr: mcg_status, mcg_ctl, mc_ctl)


def _encode(value):
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode(value):
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return base64.b64decode(value["$bytes"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("hvmm")
    except Exception:
        return "unknown"


def _drives(machine) -> dict:
    disk = getattr(machine, "disk", None)
    return dict(getattr(disk, "drives", {}) or {})


def _meta(machine) -> dict:
    cpu = machine.cpu
    return {
        "format": FORMAT, "hvmm": _version(), "layout": cpu.kernel_layout(),
        "model": cpu.model, "memory": len(cpu.memory), "ips": cpu.ips,
        "disks": {f"{n:02x}": image.sectors for n, image in _drives(machine).items()},
    }


def save_state(machine, path) -> None:
    """Write ``machine``'s state to ``path`` (ConfigError, one line, on failure)."""
    cpu = machine.cpu
    devices = {}
    for device in machine.devices:
        get = getattr(device, "get_state", None)
        if get is None or getattr(device, "set_state", None) is None:
            raise ConfigError(f"cannot save the machine: device '{device.name}' "
                              f"({type(device).__name__}) has no get_state()/set_state()")
        devices[device.name] = get()
    timer = getattr(machine, "_key_timer", None)
    keys = {"pending": [k.hex() for k in machine._keys],
            "next": timer.when if timer is not None and timer.active else None}
    sections = [
        ("meta", json.dumps(_meta(machine)).encode()),
        ("cpu", json.dumps(cpu.get_cpu_state()).encode()),
        ("ram", bytes(cpu.memory)),
        ("kernel", cpu.get_kernel_state()),
        ("machine", json.dumps(_encode({"keys": keys, "devices": devices})).encode()),
    ]
    for number, image in _drives(machine).items():
        sectors = image.overlay()
        sections.append((f"disk:{number:02x}", b"".join(
            struct.pack("<I", lba) + data for lba, data in sorted(sectors.items()))))
    sections.append(("end", b""))
    try:
        with open(path, "wb") as f:
            f.write(MAGIC + struct.pack("<I", FORMAT))
            for name, data in sections:
                packed = zlib.compress(data, 1)
                raw = name.encode()
                f.write(struct.pack("<H", len(raw)) + raw)
                f.write(struct.pack("<QI", len(packed), zlib.crc32(packed)) + packed)
    except OSError as exc:
        raise ConfigError(f"cannot write snapshot {path}: {exc.strerror or exc}") from None


def read_sections(path) -> dict:
    """The sections of a snapshot file, checked (ConfigError, one line)."""
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError as exc:
        raise ConfigError(f"cannot read snapshot {path}: {exc.strerror or exc}") from None
    if blob[:8] != MAGIC:
        raise ConfigError(f"{path}: not an hvmm snapshot")
    if len(blob) < 12:
        raise ConfigError(f"{path}: truncated snapshot")
    (fmt,) = struct.unpack_from("<I", blob, 8)
    if fmt != FORMAT:
        raise ConfigError(f"{path}: snapshot format {fmt}, this hvmm reads format {FORMAT}")
    sections, pos = {}, 12
    try:
        while True:
            (n,) = struct.unpack_from("<H", blob, pos)
            name = blob[pos + 2:pos + 2 + n].decode()
            length, crc = struct.unpack_from("<QI", blob, pos + 2 + n)
            pos += 2 + n + 12
            packed = blob[pos:pos + length]
            if len(packed) != length or zlib.crc32(packed) != crc:
                raise ValueError
            pos += length
            if name == "end":
                break
            sections[name] = zlib.decompress(packed)
    except (struct.error, ValueError, UnicodeDecodeError, zlib.error):
        raise ConfigError(f"{path}: truncated or damaged snapshot") from None
    meta = json.loads(sections.get("meta", b"{}"))
    return sections | {"meta": meta}


def load_state(machine, path) -> None:
    """Restore a snapshot into ``machine`` (built like the saved one)."""
    s = read_sections(path)
    meta, cpu = s["meta"], machine.cpu
    if meta.get("layout") != cpu.kernel_layout():
        raise ConfigError(f"{path}: written by another build of hvmm's core "
                          f"(hvmm {meta.get('hvmm')}); its state does not fit this one")
    have = (cpu.model, len(cpu.memory), cpu.ips)
    want = (meta["model"], meta["memory"], meta["ips"])
    if have != want:
        raise ConfigError(f"{path}: a snapshot of a {want[0]} with {want[1] >> 20} MiB at "
                          f"{want[2]} ips; this machine is a {have[0]} with {have[1] >> 20} MiB "
                          f"at {have[2]} ips")
    drives = _drives(machine)
    disks = {f"{n:02x}": image.sectors for n, image in drives.items()}
    if disks != meta["disks"]:
        raise ConfigError(f"{path}: the snapshot's disks (sectors by BIOS drive: "
                          f"{meta['disks']}) differ from this machine's ({disks})")
    state = _decode(json.loads(s["machine"]))
    missing = [d.name for d in machine.devices if d.name not in state["devices"]
               or getattr(d, "set_state", None) is None]
    if missing:
        raise ConfigError(f"{path}: cannot restore device '{missing[0]}' "
                          "(not in the snapshot, or it has no set_state())")
    cpu.set_cpu_state(json.loads(s["cpu"]))
    cpu.memory[:] = s["ram"]
    cpu.set_kernel_state(s["kernel"])
    for number, image in drives.items():
        blob = s.get(f"disk:{number:02x}", b"")
        image.restore_overlay({struct.unpack_from("<I", blob, i)[0]: blob[i + 4:i + 516]
                               for i in range(0, len(blob), 516)})
    for device in machine.devices:
        device.set_state(state["devices"][device.name])
    timer = getattr(machine, "_key_timer", None)
    if timer is not None:
        timer.cancel()
        machine._key_timer = None
    machine._keys[:] = [bytes.fromhex(k) for k in state["keys"]["pending"]]
    machine.clock.resync()
    if state["keys"]["next"] is not None:
        machine._key_timer = machine.clock.schedule(
            state["keys"]["next"], machine._next_key, period=KEY_INTERVAL_NS)
    machine.stop = None
