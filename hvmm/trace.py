"""Instruction and interrupt traces: ``--trace FILE``, ``--trace-int``.

    from hvmm.trace import Tracer
    tracer = Tracer(machine, open("run.trace", "w"), instructions=True,
                    registers=False, interrupts=True)
    machine.run()            # the machine flushes the tracer as it goes
    tracer.close()

The core records (core/debug.pxi): each instruction before it runs, into a
buffer of TRACE_CAP records (a full buffer ends the run with exit
``'trace_full'``, the machine calls :meth:`Tracer.flush` and runs on), and
each interrupt or exception at delivery, into a ring.  This module formats
the records in batches: no Python call per instruction in the core, and
nothing at all when tracing is off.

An instruction line::

    0000:00007C80 00007C80  FF 06 40 7C          inc word [7C40h]

(CS:EIP, linear address, bytes, iced-x86's disassembly in the mode of the
code segment: 16-bit in real mode, CS's D bit in protected mode); with
``registers``, the registers before it follow on the same line.  An
interrupt line, as QEMU's ``-d int``::

    INT      1: v=60 e=---- i=1 cpl=0 IP=0000:00007C90 pc=00007C90 SP=0000:00007C00 -> 0000:00007CAA icount=37
    INT      2: v=0e e=0002 i=0 cpl=0 IP=0008:C0001018 pc=C0001018 SP=0010:00100000 CR2=C0004000 -> 0008:001000B5 icount=8234

(``i=1``: a software interrupt; ``e``: the error code; ``IP``, ``pc``
(linear) and ``SP`` are the state before delivery, as QEMU prints them;
``CR2=`` in protected mode; ``icount``: instructions run, the one that
raised it included).  A change of mode between records (CR0.PE, EFLAGS.VM)
is logged as a line ``MODE real -> protected``, ``MODE protected -> v86``...
"""

from __future__ import annotations

import struct

# core/debug.pxi's TraceRec and IntRec.
_TRACE = struct.Struct("<Q5I6I8II16s")
_INT = struct.Struct("<QIiIIIIIIIIIII4x")      # (4x: the C struct's tail padding)
_REGS = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi")


EFLAGS_VM = 1 << 17


def _mode_name(cr0: int, eflags: int) -> str:
    """"real", "protected" or "v86" (virtual-8086: PE and EFLAGS.VM)."""
    if not cr0 & 1:
        return "real"
    return "v86" if eflags & EFLAGS_VM else "protected"


def code_bits(cr0: int, cs_attr: int) -> int:
    """16 or 32: the default operand size of code in this segment (real
    mode: 16; protected mode: the descriptor's D bit, bit 14 of the cached
    attributes)."""
    return 32 if (cr0 & 1) and (cs_attr >> 14) & 1 else 16


def parse_range(text: str) -> tuple[int, int]:
    """``START-END`` (linear, hex with or without 0x): [START, END)."""
    start, sep, end = text.partition("-")
    try:
        lo, hi = int(start, 16), int(end, 16)
    except ValueError:
        raise ValueError(f"--trace-range {text!r}: expected START-END in hex") from None
    if not sep or hi <= lo or hi > 1 << 32:
        raise ValueError(f"--trace-range {text!r}: expected START-END with START < END")
    return lo, hi


class Tracer:
    """Writes the machine's instruction trace and interrupt log to
    ``stream`` (text).  ``address_range``: (start, end) linear, end
    exclusive; ``limit``: at most that many instruction lines."""

    def __init__(self, machine, stream, *, instructions: bool = True, registers: bool = False,
                 interrupts: bool = False, address_range=None, limit: int | None = None):
        cpu = machine.cpu
        if cpu.trace_record_size() != _TRACE.size or cpu.interrupt_record_size() != _INT.size:
            raise RuntimeError("hvmm.trace does not match the core's trace records")
        self.machine = machine
        self.cpu = cpu
        self.stream = stream
        self.registers = registers
        self.limit = limit
        self.lines = 0
        self.interrupts = 0
        self._mode_now = _mode_name(cpu.cr0, cpu.eflags)
        self._decoders = {}
        self._instructions = instructions
        if instructions:
            lo, hi = address_range or (0, 1 << 32)
            cpu.trace_start(lo, hi - 1)
        if interrupts:
            cpu.interrupt_log = True
        machine.tracer = self

    def flush(self) -> None:
        """Format what the core recorded since the last flush."""
        cpu = self.cpu
        insns = cpu.trace_take()
        ints, lost = cpu.interrupt_log_take()
        if not insns and not ints:
            return
        events = [(rec[0], 1, rec) for rec in _TRACE.iter_unpack(insns)]
        events += [(rec[0], 0, rec) for rec in _INT.iter_unpack(ints)]
        events.sort(key=lambda e: (e[0], e[1]))
        out = []
        if lost:
            out.append(f"({lost} interrupts not logged: the ring overflowed)")
        for _, kind, rec in events:
            if kind:
                if self.limit is not None and self.lines >= self.limit:
                    continue
                self._mode(rec[5], out, rec[4])
                out.append(self._insn_line(rec))
                self.lines += 1
                if self.limit is not None and self.lines >= self.limit:
                    cpu.trace_stop()
                    out.append(f"(trace limit of {self.limit} instructions reached)")
            else:
                self._mode(rec[9], out)          # its CR0
                out.append(self._int_line(rec))
        if out:
            self.stream.write("\n".join(out) + "\n")

    def close(self) -> None:
        self.flush()
        self.cpu.trace_stop()
        self.cpu.interrupt_log = False
        if self.machine.tracer is self:
            self.machine.tracer = None
        self.stream.flush()

    # ---- formatting ---------------------------------------------------------------

    def _mode(self, cr0: int, out: list, eflags: int | None = None) -> None:
        # (an interrupt record has no EFLAGS: V86 is left as it was)
        if eflags is None:
            eflags = EFLAGS_VM if self._mode_now == "v86" else 0
        mode = _mode_name(cr0, eflags)
        if mode != self._mode_now:
            out.append(f"MODE {self._mode_now} -> {mode} (CR0={cr0:08X})")
            self._mode_now = mode

    def _disassemble(self, bits: int, code: bytes, eip: int):
        from iced_x86 import Code, Decoder, Formatter, FormatterSyntax

        decoder = Decoder(bits, code, ip=eip)
        instr = decoder.decode()
        if instr.code == Code.INVALID:
            return 1, "(bad)"
        formatter = self._decoders.get("fmt")
        if formatter is None:
            formatter = self._decoders["fmt"] = Formatter(FormatterSyntax.NASM)
        return instr.len, formatter.format(instr)

    def _insn_line(self, rec) -> str:
        icount, cs, eip, linear, eflags, cr0 = rec[:6]
        sel = rec[6:12]
        regs = rec[12:20]
        attr, code = rec[20], rec[21]
        length, text = self._disassemble(code_bits(cr0, attr), code, eip)
        raw = " ".join(f"{b:02X}" for b in code[:length])
        line = f"{cs:04X}:{eip:08X} {linear:08X}  {raw:<30} {text}"
        if self.registers:
            line += "  ; " + " ".join(f"{n}={v:08X}" for n, v in zip(_REGS, regs))
            line += f" eflags={eflags:08X} " + " ".join(
                f"{n}={v:04X}" for n, v in zip(("es", "cs", "ss", "ds", "fs", "gs"), sel))
        return line

    def _int_line(self, rec) -> str:
        (icount, vec, error, cs, eip, pc, ret_eip, new_cs, new_eip, cr0, cr2, ss, esp,
         cpl) = rec
        self.interrupts += 1
        soft = 1 if ret_eip != eip else 0
        err = "----" if error < 0 else f"{error:04x}"
        line = (f"INT {self.interrupts:6d}: v={vec:02x} e={err} i={soft} cpl={cpl} "
                f"IP={cs:04X}:{eip:08X} pc={pc:08X} SP={ss:04X}:{esp:08X}")
        if cr0 & 1:
            line += f" CR2={cr2:08X}"
        return line + f" -> {new_cs:04X}:{new_eip:08X} icount={icount}"
