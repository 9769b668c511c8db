# cython: language_level=3
"""hvmm._core: the kernel component.

The CPU interpreter, guest memory and (growing) the I/O bus, compiled
with Cython into one extension module. Instruction families live in
core/*.pxi and are textually included so that gcc can inline them into
the run loop; nothing in the loop touches a Python object.
"""

from cpython.bytearray cimport PyByteArray_AS_STRING
from libc.stdlib cimport calloc, free

include "core/state.pxi"
include "core/memory.pxi"
include "core/flags.pxi"
include "core/decode.pxi"
include "core/alu.pxi"
include "core/shift.pxi"
include "core/muldiv.pxi"
include "core/bcd.pxi"
include "core/stack.pxi"
include "core/control.pxi"
include "core/io.pxi"
include "core/string.pxi"
include "core/bits.pxi"
include "core/execute.pxi"

EXIT_REASONS = {
    EXIT_BUDGET: "budget",
    EXIT_HLT: "hlt",
    EXIT_BREAKPOINT: "breakpoint",
    EXIT_INVALID_OPCODE: "invalid_opcode",
    EXIT_UNIMPLEMENTED: "unimplemented",
    EXIT_TRIPLE_FAULT: "triple_fault",
}

_SEGMENTS = {"es": S_ES, "cs": S_CS, "ss": S_SS, "ds": S_DS, "fs": S_FS, "gs": S_GS}
_MODELS = {"8086": MODEL_8086, "386": MODEL_386}


cdef class Exit:
    """Why a run stopped, and where."""
    cdef readonly str reason
    cdef readonly int cs
    cdef readonly unsigned int eip
    cdef readonly unsigned int linear
    cdef readonly str detail

    def __init__(self, reason, cs, eip, linear, detail=""):
        self.reason = reason
        self.cs = cs
        self.eip = eip
        self.linear = linear
        self.detail = detail

    def __repr__(self):
        s = f"Exit({self.reason!r} at {self.cs:04X}:{self.eip:04X}"
        return s + (f", {self.detail!r})" if self.detail else ")")


cdef class Cpu:
    """An x86 CPU with its guest physical memory.

    model: "8086" (the original's quirks, 1 MiB wrap) or "386" (a 386/486
    in real mode: 32-bit registers and the 0x0F opcodes, an A20 gate).
    """
    cdef CpuState s
    cdef bytearray _ram
    cdef readonly object memory
    cdef readonly str model

    def __cinit__(self):
        self.s.pagekind = <uint8_t*>calloc(1 << 20, 1)
        if self.s.pagekind == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.s.pagekind)

    def __init__(self, memory_size=16 << 20, model="386"):
        if model not in _MODELS:
            raise ValueError(f"unknown CPU model {model!r} (choose 8086 or 386)")
        memory_size = int(memory_size)
        if memory_size < 4096 or memory_size % 4096 or memory_size > (1 << 32) - (1 << 20):
            raise ValueError("memory size must be a multiple of 4 KiB, at least 4 KiB")
        self.model = model
        self.s.model = _MODELS[model]
        # 16 bytes of slack past the end so multi-byte fast paths at the top
        # never read outside the buffer.
        self._ram = bytearray(memory_size + 16)
        self.memory = memoryview(self._ram)[:memory_size]
        self.s.mem = <uint8_t*>PyByteArray_AS_STRING(self._ram)
        self.s.mem_size = memory_size
        memset(self.s.pagekind, PG_UNMAPPED, 1 << 20)
        memset(self.s.pagekind, PG_RAM, memory_size >> 12)
        self._memory_map_changed()
        if self.s.model == MODEL_8086:
            self.s.prefixes = prefix_table_8086
            self.s.flags_fixed = 0xF002
            self.s.flags_writable16 = 0x0FD5
            self.s.flags_writable32 = 0x0FD5
            self.s.a20mask = 0xFFFFF
        else:
            self.s.prefixes = prefix_table_386
            self.s.flags_fixed = 0x0002
            self.s.flags_writable16 = 0x7FD5
            self.s.flags_writable32 = 0x247FD5      # + AC, ID (486)
            self.s.a20mask = 0xFFFFFFFF
        self.s.ud_exit = 1
        self.reset()

    cdef _memory_map_changed(self):
        # Recompute the hole-free RAM prefix and drop the fetch window.
        cdef uint32_t page = 0
        while page < (1 << 20) and self.s.pagekind[page] == PG_RAM:
            page += 1
        self.s.ram_top = page << 12 if page < (1 << 20) else 0xFFFFF000u
        self.s.win_len = 0

    def reset(self):
        """Processor reset: real mode, CS:IP = F000:FFF0 (base FFFF0)."""
        cdef int i
        for i in range(8):
            self.s.regs[i] = 0
        for i in range(6):
            self.s.seg[i].sel = 0
            self.s.seg[i].base = 0
            self.s.seg[i].limit = 0xFFFF
            self.s.seg[i].attr = 0x93
        self.s.seg[S_CS].sel = 0xF000
        self.s.seg[S_CS].base = 0xF0000
        self.s.seg[S_CS].attr = 0x9B
        self.s.eip = 0xFFF0
        self.s.flags = self.s.flags_fixed
        set_arith_flags(&self.s, 0)
        for i in range(5):
            self.s.cr[i] = 0
        self.s.cr[0] = 0x10 if self.s.model != MODEL_8086 else 0
        for i in range(8):
            self.s.dr[i] = 0
        self.s.gdtr.base = 0
        self.s.gdtr.limit = 0xFFFF
        self.s.idtr.base = 0
        self.s.idtr.limit = 0x3FF
        self.s.ipmask = 0xFFFF
        self.s.halted = 0
        self.s.win_len = 0

    # ---- running ------------------------------------------------------

    def run(self, budget=1 << 62):
        """Execute at most `budget` instructions; return an Exit."""
        cdef uint64_t b = budget
        cdef int r
        self.s.bp_skip = 1
        r = cpu_run(&self.s, b)
        return self._exit(r)

    def step(self):
        return self.run(1)

    cdef object _exit(self, int r):
        detail = ""
        if r == EXIT_UNIMPLEMENTED:
            detail = "protected mode is not implemented yet (CR0.PE set)"
        elif r == EXIT_INVALID_OPCODE:
            detail = "invalid opcode"
        elif r == EXIT_TRIPLE_FAULT:
            detail = "interrupt vector outside the IDT limit"
        return Exit(EXIT_REASONS.get(r, "unknown"), self.s.exit_cs, self.s.exit_eip,
                    (self.s.seg[S_CS].base + self.s.exit_eip) & 0xFFFFFFFF, detail)

    property instructions:
        def __get__(self):
            return self.s.icount
        def __set__(self, v):
            self.s.icount = v

    property halted:
        def __get__(self):
            return bool(self.s.halted)
        def __set__(self, v):
            self.s.halted = 1 if v else 0

    property invalid_opcode_exits:
        """True: an invalid opcode stops the run (exit 'invalid_opcode').
        False: it raises #UD (vector 6) in the guest, as hardware does."""
        def __get__(self):
            return bool(self.s.ud_exit)
        def __set__(self, v):
            self.s.ud_exit = 1 if v else 0

    # ---- breakpoints --------------------------------------------------

    def add_breakpoint(self, unsigned int linear):
        if self.s.nbp >= MAX_BREAKPOINTS:
            raise ValueError(f"at most {MAX_BREAKPOINTS} breakpoints")
        self.s.bp[self.s.nbp] = linear
        self.s.nbp += 1
        self.s.events |= EV_BREAKPOINTS

    def remove_breakpoint(self, unsigned int linear):
        cdef uint32_t i, j = 0
        for i in range(self.s.nbp):
            if self.s.bp[i] != linear:
                self.s.bp[j] = self.s.bp[i]
                j += 1
        self.s.nbp = j
        if j == 0:
            self.s.events &= ~(<uint32_t>EV_BREAKPOINTS)

    def clear_breakpoints(self):
        self.s.nbp = 0
        self.s.events &= ~(<uint32_t>EV_BREAKPOINTS)

    # ---- memory ---------------------------------------------------------

    def read_linear(self, unsigned int address, unsigned int length):
        """Bytes at a linear address, through the A20 gate and memory map."""
        cdef uint32_t i
        out = bytearray(length)
        for i in range(length):
            out[i] = phys_rd8(&self.s, lin2phys(&self.s, address + i))
        return bytes(out)

    def write_linear(self, unsigned int address, data):
        cdef uint32_t i
        for i in range(len(data)):
            phys_wr8(&self.s, lin2phys(&self.s, address + i), data[i])

    property a20:
        def __get__(self):
            return self.s.model != MODEL_8086 and self.s.a20mask == 0xFFFFFFFF
        def __set__(self, enabled):
            if self.s.model == MODEL_8086:
                if enabled:
                    raise ValueError("the 8086 has 20 address lines: no A20 gate")
                return
            self.s.a20mask = 0xFFFFFFFF if enabled else 0xFFEFFFFF
            self.s.win_len = 0

    def io_counts(self):
        return {"in": self.s.io_in, "out": self.s.io_out}

    # ---- registers --------------------------------------------------------

    def segment(self, name):
        """(selector, base, limit, attributes) of a segment register."""
        cdef int i = _SEGMENTS[name]
        return (self.s.seg[i].sel, self.s.seg[i].base, self.s.seg[i].limit, self.s.seg[i].attr)

    def set_segment(self, name, selector, base=None, limit=None, attributes=None):
        cdef int i = _SEGMENTS[name]
        self.s.seg[i].sel = selector & 0xFFFF
        self.s.seg[i].base = ((selector & 0xFFFF) << 4) if base is None else base
        if limit is not None:
            self.s.seg[i].limit = limit
        if attributes is not None:
            self.s.seg[i].attr = attributes
        self.s.win_len = 0

    cdef inline _getseg(self, int i):
        return self.s.seg[i].sel

    cdef inline _setseg(self, int i, v):
        load_seg_real(&self.s, i, v)

    property es:
        def __get__(self): return self._getseg(S_ES)
        def __set__(self, v): self._setseg(S_ES, v)
    property cs:
        def __get__(self): return self._getseg(S_CS)
        def __set__(self, v): self._setseg(S_CS, v)
    property ss:
        def __get__(self): return self._getseg(S_SS)
        def __set__(self, v): self._setseg(S_SS, v)
    property ds:
        def __get__(self): return self._getseg(S_DS)
        def __set__(self, v): self._setseg(S_DS, v)
    property fs:
        def __get__(self): return self._getseg(S_FS)
        def __set__(self, v): self._setseg(S_FS, v)
    property gs:
        def __get__(self): return self._getseg(S_GS)
        def __set__(self, v): self._setseg(S_GS, v)

    property eflags:
        def __get__(self):
            return get_eflags(&self.s) | self.s.flags_fixed
        def __set__(self, v):
            set_arith_flags(&self.s, v & F_ARITH)
            self.s.flags = (v & 0x3F7FD5 & ~F_ARITH) | self.s.flags_fixed

    property flags:
        def __get__(self):
            return (get_eflags(&self.s) | self.s.flags_fixed) & 0xFFFF
        def __set__(self, v):
            set_arith_flags(&self.s, v & F_ARITH)
            self.s.flags = (self.s.flags & 0xFFFF0000) | (v & 0x7FD5 & ~F_ARITH) | self.s.flags_fixed

    property eip:
        def __get__(self): return self.s.eip
        def __set__(self, v):
            self.s.eip = v
            self.s.halted = 0
    property ip:
        def __get__(self): return self.s.eip & 0xFFFF
        def __set__(self, v):
            self.s.eip = v & 0xFFFF
            self.s.halted = 0

    property cr0:
        def __get__(self): return self.s.cr[0]
        def __set__(self, v): self.s.cr[0] = v

    def get_reg32(self, int i):
        return self.s.regs[i]

    def set_reg32(self, int i, uint32_t v):
        self.s.regs[i] = v

    property eax:
        def __get__(self): return self.s.regs[0]
        def __set__(self, v): self.s.regs[0] = v
    property ecx:
        def __get__(self): return self.s.regs[1]
        def __set__(self, v): self.s.regs[1] = v
    property edx:
        def __get__(self): return self.s.regs[2]
        def __set__(self, v): self.s.regs[2] = v
    property ebx:
        def __get__(self): return self.s.regs[3]
        def __set__(self, v): self.s.regs[3] = v
    property esp:
        def __get__(self): return self.s.regs[4]
        def __set__(self, v): self.s.regs[4] = v
    property ebp:
        def __get__(self): return self.s.regs[5]
        def __set__(self, v): self.s.regs[5] = v
    property esi:
        def __get__(self): return self.s.regs[6]
        def __set__(self, v): self.s.regs[6] = v
    property edi:
        def __get__(self): return self.s.regs[7]
        def __set__(self, v): self.s.regs[7] = v

    property ax:
        def __get__(self): return self.s.regs[0] & 0xFFFF
        def __set__(self, v): set_r16(&self.s, 0, v)
    property cx:
        def __get__(self): return self.s.regs[1] & 0xFFFF
        def __set__(self, v): set_r16(&self.s, 1, v)
    property dx:
        def __get__(self): return self.s.regs[2] & 0xFFFF
        def __set__(self, v): set_r16(&self.s, 2, v)
    property bx:
        def __get__(self): return self.s.regs[3] & 0xFFFF
        def __set__(self, v): set_r16(&self.s, 3, v)
    property sp:
        def __get__(self): return self.s.regs[4] & 0xFFFF
        def __set__(self, v): set_r16(&self.s, 4, v)
    property bp:
        def __get__(self): return self.s.regs[5] & 0xFFFF
        def __set__(self, v): set_r16(&self.s, 5, v)
    property si:
        def __get__(self): return self.s.regs[6] & 0xFFFF
        def __set__(self, v): set_r16(&self.s, 6, v)
    property di:
        def __get__(self): return self.s.regs[7] & 0xFFFF
        def __set__(self, v): set_r16(&self.s, 7, v)

    property al:
        def __get__(self): return get_r8(&self.s, 0)
        def __set__(self, v): set_r8(&self.s, 0, v)
    property cl:
        def __get__(self): return get_r8(&self.s, 1)
        def __set__(self, v): set_r8(&self.s, 1, v)
    property dl:
        def __get__(self): return get_r8(&self.s, 2)
        def __set__(self, v): set_r8(&self.s, 2, v)
    property bl:
        def __get__(self): return get_r8(&self.s, 3)
        def __set__(self, v): set_r8(&self.s, 3, v)
    property ah:
        def __get__(self): return get_r8(&self.s, 4)
        def __set__(self, v): set_r8(&self.s, 4, v)
    property ch:
        def __get__(self): return get_r8(&self.s, 5)
        def __set__(self, v): set_r8(&self.s, 5, v)
    property dh:
        def __get__(self): return get_r8(&self.s, 6)
        def __set__(self, v): set_r8(&self.s, 6, v)
    property bh:
        def __get__(self): return get_r8(&self.s, 7)
        def __set__(self, v): set_r8(&self.s, 7, v)
