"""A GDB remote stub: ``hvmm exec|boot ... --gdb [HOST:]PORT``.

    hvmm exec boot.bin --gdb 1234 &
    gdb -ex 'target remote :1234' -ex 'break *0x7c80' -ex continue

The stub listens before the run and waits for the debugger before the
first instruction.  It is the :class:`hvmm.runner.Runner`'s ``debugger``:
the runner asks it before each slice how many instructions to run (it
serves gdb's packets while the guest is stopped, and polls for Ctrl-C
while it runs) and shows it how each slice ended (a breakpoint, a
watchpoint, a finished single step become stop replies).

What gdb sees: the i386 register set (eax..edi, eip, eflags, cs..gs as
32-bit registers, the x87 registers from Cpu.fpu_image: st0-st7 in stack
order as 80-bit values, fstat with TOP, ftag as the full tag word (derived
from the contents, as FSTENV stores it), the instruction and operand
pointers and fop; gdb may write them too), cr0/cr2/cr3/cr4 in the
``system`` group), architecture i386 when the code segment is 32-bit at
connection and i8086 otherwise (real mode, 16-bit protected mode; ``set
architecture i386`` after a later switch), memory at linear addresses
through the current paging (no accessed or dirty bit set, no #PF; a page
that is not present is an error reply, "Cannot access memory"),
breakpoints (Z0/Z1) on the core's breakpoint list, watchpoints (Z2 write,
Z3 read, Z4 access) in the core on linear addresses (they follow the
guest's page tables), ``monitor stats``, ``monitor screen``.  As with
QEMU, gdb knows ``$pc`` as EIP: in real mode with CS != 0 it is an offset,
not the linear address.
"""

from __future__ import annotations

import select
import socket
import time

from hvmm.errors import ConfigError
from hvmm.runloop import Stop
from hvmm.status import ExitStatus

#: Instructions per slice while gdb lets the guest run (Ctrl-C is polled between slices).
RUN_SLICE = 200_000
SIGINT, SIGILL, SIGTRAP = 2, 4, 5
GENERAL = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi")
SEGMENTS = ("cs", "ss", "ds", "es", "fs", "gs")
# Registers in 'g' order: (name, size in bytes).
REGISTERS = ([(n, 4) for n in GENERAL] + [("eip", 4), ("eflags", 4)]
             + [(n, 4) for n in SEGMENTS] + [(f"st{i}", 10) for i in range(8)]
             + [(n, 4) for n in ("fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg",
                                 "fooff", "fop")]
             + [(n, 4) for n in ("cr0", "cr2", "cr3", "cr4")])
_EFLAGS = ("CF", 0), ("", 1), ("PF", 2), ("AF", 4), ("ZF", 6), ("SF", 7), ("TF", 8), \
    ("IF", 9), ("DF", 10), ("OF", 11), ("NT", 14), ("RF", 16), ("VM", 17), ("AC", 18), \
    ("VIF", 19), ("VIP", 20), ("ID", 21)


X87_WORDS = ("fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop")


def full_tag(image: bytes) -> int:
    """The FSTENV tag word from an FXSAVE image: 2 bits per physical register
    (0 valid, 1 zero, 2 special, 3 empty)."""
    top = (image[3] >> 3) & 7            # FSW bits 11-13
    tag = 0
    for phys in range(8):
        if not image[4] >> phys & 1:
            t = 3
        else:
            slot = 32 + 16 * ((phys - top) & 7)
            mant = int.from_bytes(image[slot:slot + 8], "little")
            exp = int.from_bytes(image[slot + 8:slot + 10], "little") & 0x7FFF
            if exp == 0x7FFF or (exp == 0 and mant) or (exp and not mant >> 63):
                t = 2
            else:
                t = 1 if exp == 0 else 0
        tag |= t << 2 * phys
    return tag


def x87_value(image: bytes, name: str) -> int:
    """An x87 register as gdb's i386 layout has it, from an FXSAVE image."""
    if name.startswith("st"):
        slot = 32 + 16 * int(name[2])
        return int.from_bytes(image[slot:slot + 10], "little")
    word = lambda off, n=2: int.from_bytes(image[off:off + n], "little")  # noqa: E731
    return {"fctrl": word(0), "fstat": word(2), "ftag": full_tag(image), "fiseg": word(12),
            "fioff": word(8, 4), "foseg": word(20), "fooff": word(16, 4),
            "fop": word(6) & 0x7FF}[name]


def x87_write(image: bytes, name: str, value: int) -> bytes:
    """The FXSAVE image with one x87 register written as gdb sends it."""
    img = bytearray(image)
    if name.startswith("st"):
        slot = 32 + 16 * int(name[2])
        img[slot:slot + 10] = (value & (1 << 80) - 1).to_bytes(10, "little")
    elif name == "ftag":            # the abridged tag: empty (3) or not
        img[4] = sum(1 << r for r in range(8) if (value >> 2 * r) & 3 != 3)
    else:
        off, size = {"fctrl": (0, 2), "fstat": (2, 2), "fiseg": (12, 2), "fioff": (8, 4),
                     "foseg": (20, 2), "fooff": (16, 4), "fop": (6, 2)}[name]
        img[off:off + size] = (value & ((1 << 8 * size) - 1)).to_bytes(size, "little")
    return bytes(img)


def target_xml(arch: str) -> str:
    fields = "".join(f'<field name="{n}" start="{b}" end="{b}"/>' for n, b in _EFLAGS)
    regs = []
    for i, (name, size) in enumerate(REGISTERS):
        if name.startswith("st"):
            kind = 'type="i387_ext" group="float"'
        elif name in X87_WORDS:
            kind = 'type="int" group="float"'
        elif name == "eip":
            kind = 'type="code_ptr"'
        elif name == "eflags":
            kind = 'type="i386_eflags"'
        elif name in ("esp", "ebp"):
            kind = 'type="data_ptr"'
        elif name.startswith("cr"):
            kind = 'type="int" group="system"'
        else:
            kind = 'type="int32"'
        if name == "cr0":
            regs.append('</feature><feature name="org.hvmm.system">')
        regs.append(f'<reg name="{name}" bitsize="{size * 8}" regnum="{i}" {kind}/>')
    return ('<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd">'
            f'<target version="1.0"><architecture>{arch}</architecture>'
            '<feature name="org.gnu.gdb.i386.core">'
            f'<flags id="i386_eflags" size="4">{fields}</flags>'
            + "".join(regs) + "</feature></target>")


def parse_address(text: str) -> tuple[str, int]:
    """``[HOST:]PORT`` -> (host, port); 127.0.0.1 by default; port 0 picks
    a free port (the "waiting for gdb" line names it)."""
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise ConfigError(f"--gdb {text}: expected [HOST:]PORT") from None
    if not 0 <= number < 65536:
        raise ConfigError(f"--gdb {text}: port out of range")
    return host or "127.0.0.1", number


class GdbStub:
    """Serves one gdb connection for a machine.  Listens when made (a port
    in use is a one-line :class:`ConfigError`)."""

    def __init__(self, machine, address: str, log=None):
        self.machine = machine
        self.cpu = machine.cpu
        host, port = parse_address(address)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self.listener.bind((host, port))
            self.listener.listen(1)
        except OSError as exc:
            self.listener.close()
            raise ConfigError(f"--gdb {host}:{port}: cannot listen: "
                              f"{exc.strerror or exc}") from None
        self.port = self.listener.getsockname()[1]
        self.log = log
        self.conn = None
        self.state = "waiting"       # stopped, stepping, running, detached
        self._buf = b""
        self._arch = "i386"

    # ---- the runner's side ----------------------------------------------------

    def wait(self, deadline: float | None) -> bool:
        """Wait for gdb to connect (False: the deadline passed first)."""
        if self.log:
            self.log(f"waiting for gdb on port {self.port} (target remote :{self.port})")
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            ready, _, _ = select.select([self.listener], [], [], min(left or 0.5, 0.5))
            if ready:
                self.conn, _ = self.listener.accept()
                self.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.state = "stopped"
                self._arch = "i386" if self.cpu.code32 else "i8086"
                return True

    def before_slice(self, budget: int, deadline: float | None):
        """How many instructions the next slice may run: serves gdb while
        the guest is stopped.  None: gdb killed the guest; 0: the deadline
        passed while stopped."""
        if self.state == "detached":
            return budget
        if self.state == "running" and self._interrupted():
            self._send(f"T{SIGINT:02x}")
            self.state = "stopped"
        while self.state == "stopped":
            packet = self._recv(deadline)
            if packet is None:
                if self.state == "stopped":      # timed out while stopped
                    return 0
                break
            if packet == "k" or packet.startswith("vKill"):
                self._close()
                return None
            self._handle(packet)
        if self.state == "stepping":
            return 1
        if self.state == "running":
            return min(budget, RUN_SLICE)
        return budget

    def after_slice(self, stop: Stop) -> Stop:
        """Turn the slice's end into a stop reply where gdb is waiting for
        one; the runner goes on (reason 'limit') unless the guest ended."""
        if self.state not in ("running", "stepping"):
            return stop
        if stop.reason == "breakpoint":
            self._send(f"T{SIGTRAP:02x}hwbreak:;")
        elif stop.reason == "watchpoint":
            address, kind = self.cpu.watchpoint_hit
            tag = {"write": "watch", "read": "rwatch", "access": "awatch"}[kind]
            self._send(f"T{SIGTRAP:02x}{tag}:{address:x};")
        elif stop.reason == "limit" and self.state == "stepping":
            self._send(f"T{SIGTRAP:02x}")
        elif stop.reason == "limit":
            return stop
        else:
            code = stop.status & 0xFF if stop.ok else None
            self._send(f"W{code:02x}" if code is not None else f"X{SIGILL:02x}")
            self._close()
            return stop
        self.state = "stopped"
        return Stop("limit", ExitStatus.LIMIT, stop.exit, stop.instructions, stop.seconds)

    def close(self) -> None:
        self._close()
        self.listener.close()

    # ---- packets ----------------------------------------------------------------

    def _handle(self, p: str) -> None:
        cpu = self.cpu
        kind = p[0]
        try:
            if kind == "?":
                reply = f"T{SIGTRAP:02x}"
            elif kind == "g":
                reply = "".join(self._reg_hex(i) for i in range(len(REGISTERS)))
            elif kind == "G":
                data = bytes.fromhex(p[1:])
                off = 0
                for i, (_, size) in enumerate(REGISTERS):
                    if off + size <= len(data):
                        self._set_reg(i, int.from_bytes(data[off:off + size], "little"))
                    off += size
                reply = "OK"
            elif kind == "p":
                reply = self._reg_hex(int(p[1:], 16))
            elif kind == "P":
                n, _, value = p[1:].partition("=")
                self._set_reg(int(n, 16), int.from_bytes(bytes.fromhex(value), "little"))
                reply = "OK"
            elif kind == "m":
                addr, length = (int(x, 16) for x in p[1:].split(","))
                data = cpu.peek(addr, min(length, 0x1000))
                reply = data.hex() if data or not length else "E14"  # not present
            elif kind in "MX":
                head, _, body = p[1:].partition(":")
                addr, length = (int(x, 16) for x in head.split(","))
                data = bytes.fromhex(body) if kind == "M" else body.encode("latin-1")
                written = cpu.write_linear(addr, data[:length])
                reply = "OK" if written == len(data[:length]) else "E14"
            elif kind in "zZ":
                reply = self._point(kind == "Z", p[1:])
            elif kind in "cs":
                if len(p) > 1:
                    cpu.eip = int(p[1:], 16)
                self.state = "running" if kind == "c" else "stepping"
                return
            elif kind == "D":
                self._send("OK")
                self._detach()
                return
            elif kind == "H" or kind == "T":
                reply = "OK"
            else:
                reply = self._query(p)
        except (ValueError, IndexError, OverflowError):
            reply = "E01"
        self._send(reply)

    def _query(self, p: str) -> str:
        if p.startswith("qSupported"):
            return "PacketSize=4000;qXfer:features:read+;hwbreak+"
        if p.startswith("qXfer:features:read:target.xml:"):
            offset, length = (int(x, 16) for x in p.rsplit(":", 1)[1].split(","))
            xml = target_xml(self._arch)
            chunk = xml[offset:offset + length]
            return ("m" if offset + length < len(xml) else "l") + chunk
        if p == "qAttached":
            return "1"
        if p == "qfThreadInfo":
            return "m1"
        if p == "qsThreadInfo":
            return "l"
        if p == "qC":
            return "QC1"
        if p.startswith("qRcmd,"):
            return self._monitor(bytes.fromhex(p[6:]).decode("latin-1").strip())
        return ""

    def _monitor(self, command: str) -> str:
        if command == "stats":
            text = self.machine.format_stats()
        elif command == "screen":
            text = self.machine.screen_text()
        elif command in ("", "help"):
            text = "monitor stats: hvmm's statistics; monitor screen: the text screen"
        else:
            text = f"unknown monitor command {command!r} (try: monitor help)"
        for i in range(0, len(text) + 1, 512):
            piece = (text[i:i + 512] if i < len(text) else "") + ("\n" if i + 512 >= len(text) else "")
            if piece:
                self._send("O" + piece.encode("latin-1", "replace").hex())
        return "OK"

    def _point(self, insert: bool, args: str) -> str:
        kind, addr, length = args.split(",")[:3]
        addr, length = int(addr, 16), int(length.split(";")[0], 16)
        cpu = self.cpu
        if kind in ("0", "1"):
            if insert:
                cpu.add_breakpoint(addr)
            else:
                cpu.remove_breakpoint(addr)
            return "OK"
        what = {"2": "write", "3": "read", "4": "access"}.get(kind)
        if what is None:
            return ""
        if insert:
            cpu.add_watchpoint(addr, max(1, length), what)
        else:
            cpu.remove_watchpoint(addr, max(1, length), what)
        return "OK"

    def _reg_value(self, i: int) -> int:
        name, _ = REGISTERS[i]
        cpu = self.cpu
        if name in GENERAL or name in SEGMENTS or name in ("eip", "eflags") \
                or name.startswith("cr"):
            return getattr(cpu, name)
        if name.startswith("st") or name in X87_WORDS:
            return x87_value(cpu.fpu_image, name)
        return 0

    def _reg_hex(self, i: int) -> str:
        return self._reg_value(i).to_bytes(REGISTERS[i][1], "little").hex()

    def _set_reg(self, i: int, value: int) -> None:
        name, _ = REGISTERS[i]
        if name in GENERAL or name in ("eip", "eflags") or name.startswith("cr"):
            if getattr(self.cpu, name) != value:
                setattr(self.cpu, name, value)
        elif name in SEGMENTS:
            if getattr(self.cpu, name) != value & 0xFFFF:
                setattr(self.cpu, name, value & 0xFFFF)
        elif name.startswith("st") or name in X87_WORDS:
            if x87_value(self.cpu.fpu_image, name) != value:
                self.cpu.fpu_image = x87_write(self.cpu.fpu_image, name, value)

    # ---- the wire -----------------------------------------------------------------

    def _interrupted(self) -> bool:
        if self.conn is None:
            return False
        ready, _, _ = select.select([self.conn], [], [], 0)
        if not ready:
            return False
        data = self._read()
        if data is None:
            return False
        self._buf += data
        if b"\x03" in self._buf:
            self._buf = self._buf.replace(b"\x03", b"")
            return True
        return False

    def _read(self):
        try:
            data = self.conn.recv(65536)
        except OSError:
            data = b""
        if not data:          # gdb went away: the guest runs on
            self._detach()
            return None
        return data

    def _recv(self, deadline):
        """The next packet's payload, or None (connection gone or deadline)."""
        while True:
            start = self._buf.find(b"$")
            if start >= 0:
                end = self._buf.find(b"#", start)
                if end >= 0 and len(self._buf) >= end + 3:
                    payload = self._buf[start + 1:end]
                    self._buf = self._buf[end + 3:]
                    self.conn.sendall(b"+")
                    return self._unescape(payload).decode("latin-1")
            elif b"\x03" in self._buf:
                self._buf = b""
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            ready, _, _ = select.select([self.conn], [], [], min(left or 0.5, 0.5))
            if ready:
                data = self._read()
                if data is None:
                    return None
                self._buf += data

    @staticmethod
    def _unescape(payload: bytes) -> bytes:
        if b"}" not in payload:
            return payload
        out, i = bytearray(), 0
        while i < len(payload):
            if payload[i] == 0x7D and i + 1 < len(payload):
                out.append(payload[i + 1] ^ 0x20)
                i += 2
            else:
                out.append(payload[i])
                i += 1
        return bytes(out)

    def _send(self, payload: str) -> None:
        if self.conn is None:
            return
        data = payload.encode("latin-1")
        data = data.replace(b"}", b"}]").replace(b"#", b"}\x03").replace(b"$", b"}\x04") \
            .replace(b"*", b"}\x0a")
        packet = b"$" + data + b"#" + f"{sum(data) & 0xFF:02x}".encode()
        try:
            self.conn.sendall(packet)
        except OSError:
            self._detach()

    def _detach(self) -> None:
        self.cpu.clear_breakpoints()
        self.cpu.clear_watchpoints()
        self.state = "detached"
        self._close()

    def _close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
            self.conn = None
