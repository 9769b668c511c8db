# Python-facing pieces of the Cpu class (_core.pyx): the Exit record a run
# returns, and the register view, a base class of Cpu holding its CpuState.
# Register reads and writes go straight to the state; a segment register
# written here is loaded as in real mode.

cdef class Exit:
    """Why a run stopped, and where. For 'io' exits: port, size, direction
    ('in'/'out'), value (written), count (REP INS/OUTS elements) and data
    (REP OUTS bytes); for 'debug_exit': value."""
    cdef readonly str reason
    cdef readonly int cs
    cdef readonly unsigned int eip
    cdef readonly unsigned int linear
    cdef readonly str detail
    cdef public object port, size, direction, value, count, data

    def __init__(self, reason, cs, eip, linear, detail=""):
        self.reason = reason
        self.cs = cs
        self.eip = eip
        self.linear = linear
        self.detail = detail
        self.port = self.size = self.direction = self.value = self.count = self.data = None

    def __repr__(self):
        s = f"Exit({self.reason!r} at {self.cs:04X}:{self.eip:04X}"
        return s + (f", {self.detail!r})" if self.detail else ")")


cdef class CpuRegisters:
    """Registers of a Cpu: eax..edi, ax..di, al..bh, es..gs (selectors,
    loaded as in real mode), segment() for the hidden part, eip/ip,
    eflags/flags, cr0."""
    cdef CpuState s

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
        seg_bounds(&self.s.seg[i])
        self.s.win_len = 0
        if i == S_CS and self.s.model != MODEL_8086:
            self.s.ipmask = 0xFFFFFFFFu if (self.s.seg[i].attr & ATTR_DB) else 0xFFFF

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

    # Control registers; writes have their TLB effect (core/paging.pxi).
    # No mode checks here: a test sets CR0 = PE|PG directly.
    property cr0:
        def __get__(self): return self.s.cr[0]
        def __set__(self, v): set_cr(&self.s, 0, v)

    property cr2:
        def __get__(self): return self.s.cr[2]
        def __set__(self, v): self.s.cr[2] = v

    property cr3:
        def __get__(self): return self.s.cr[3]
        def __set__(self, v): set_cr(&self.s, 3, v)

    property cr4:
        def __get__(self): return self.s.cr[4]
        def __set__(self, v): set_cr(&self.s, 4, v)

    property cpl:
        """Current privilege level (protected mode sets it on CS loads; a
        test may set it): part of every TLB tag."""
        def __get__(self): return self.s.cpl
        def __set__(self, v):
            if not 0 <= v <= 3:
                raise ValueError("CPL is 0 to 3")
            self.s.cpl = v
            self.s.win_len = 0      # the window was checked at the old CPL

    # Descriptor-table registers as (base, limit).
    property gdtr:
        def __get__(self): return (self.s.gdtr.base, self.s.gdtr.limit)
        def __set__(self, v): self.s.gdtr.base, self.s.gdtr.limit = v

    property idtr:
        def __get__(self): return (self.s.idtr.base, self.s.idtr.limit)
        def __set__(self, v): self.s.idtr.base, self.s.idtr.limit = v

    def invlpg(self, unsigned int linear):
        """Drop the TLB entry of a linear page (as INVLPG does)."""
        tlb_invlpg(&self.s, linear)

    # ---- memory at linear addresses (through paging) ----------------------

    def read_linear(self, unsigned int address, unsigned int length):
        """Bytes at a linear address, through paging, the A20 gate and the
        memory map. No #PF, no accessed/dirty bits, no TLB fill: the bytes up
        to the first page that is not present (fewer than asked, maybe none)."""
        cdef uint32_t i, phys
        out = bytearray()
        for i in range(length):
            if not translate_probe(&self.s, address + i, &phys):
                break
            out.append(phys_rd8(&self.s, phys))
        return bytes(out)

    def write_linear(self, unsigned int address, data):
        """Write bytes at linear addresses (as a debugger does: no
        protection check, no #PF). Bytes on pages that are not present are
        skipped; returns how many were written."""
        cdef uint32_t i, phys, n = 0
        for i in range(len(data)):
            if translate_probe(&self.s, address + i, &phys):
                phys_wr8(&self.s, phys, data[i])
                n += 1
        return n

    def translate(self, unsigned int address):
        """Physical address of a linear one (None: not present), as the
        debugger sees it (no side effect)."""
        cdef uint32_t phys
        if translate_probe(&self.s, address, &phys):
            return phys
        return None

    def tlb_stats(self):
        """TLB misses (walks or fills), whole flushes and INVLPGs so far."""
        return {"misses": self.s.tlb_misses, "flushes": self.s.tlb_flushes,
                "invlpg": self.s.tlb_invlpgs}

    property last_exception:
        """Vector of the last exception delivered (a fault or trap the CPU
        raised, not an interrupt or INT n), -1 for none; writable (reset
        it to tell the next one)."""
        def __get__(self): return self.s.last_exception
        def __set__(self, v): self.s.last_exception = v

    property exceptions_delivered:
        def __get__(self): return self.s.exceptions

    property exceptions_by_vector:
        """{vector: count} of the exceptions delivered (vectors 0-31)."""
        def __get__(self):
            return {v: self.s.exc_by_vec[v] for v in range(32) if self.s.exc_by_vec[v]}

    property mode_switches:
        """How many times CR0.PE changed."""
        def __get__(self): return self.s.mode_switches

    property task_switches:
        """How many hardware task switches were made."""
        def __get__(self): return self.s.task_switches

    property protected_mode:
        def __get__(self): return bool(self.s.cr[0] & 1)

    property v86:
        """Virtual-8086 mode: CR0.PE and EFLAGS.VM (core/v86.pxi)."""
        def __get__(self): return bool((self.s.cr[0] & 1) and (self.s.flags & F_VM))

    property v86_entries:
        """How many times an IRET entered virtual-8086 mode."""
        def __get__(self): return self.s.v86_entries

    property code32:
        """CS's default size is 32 bits (its D bit)."""
        def __get__(self): return bool(self.s.seg[S_CS].attr & ATTR_DB)

    def system_segment(self, name):
        """(selector, base, limit, attributes) of 'ldtr' or 'tr'."""
        cdef SegCache* s = &self.s.ldtr if name == "ldtr" else &self.s.tr
        return (s.sel, s.base, s.limit, s.attr)

    def set_system_segment(self, name, selector, base, limit, attributes):
        cdef SegCache* s = &self.s.ldtr if name == "ldtr" else &self.s.tr
        s.sel, s.base, s.limit, s.attr = selector, base, limit, attributes

    property last_error_code:
        """Error code of the last exception raised (the real-mode IVT
        pushes none; protected mode pushes it for 8, 10-14 and 17)."""
        def __get__(self): return self.s.fault_err

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

    # ---- x87 (386 and 686 models) --------------------------------------

    property fpu_image:
        """The x87 state as 160 bytes in FXSAVE layout (control, status,
        abridged tag, opcode, pointers, ST(0)..ST(7) in 16-byte slots)."""
        def __get__(self):
            return bytes((<char*>&self.s.fpu)[:160])
        def __set__(self, data):
            data = bytes(data)
            if len(data) != 160:
                raise ValueError("the x87 image is 160 bytes")
            memcpy(&self.s.fpu, <char*>data, 160)
            self.s.fpu.mxcsr = 0x1F80
