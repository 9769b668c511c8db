# Instruction decoder: prefixes, ModRM/SIB effective addresses, operand
# access. The decoder reads from a pointer straight into guest memory
# when the instruction cannot cross a page or wrap, else from a copy.

ctypedef struct Insn:
    const uint8_t* p        # next byte to decode
    const uint8_t* start    # first byte of the instruction (after eip moves:
                            # see the run loop, jumps reset it)
    int o32                 # operand size is 32 bits
    int a32                 # address size is 32 bits
    uint32_t amask          # 0xFFFF or 0xFFFFFFFFu
    int ovr                 # segment override, or -1
    int rep                 # 0, PX_REP or PX_REPNE
    int seg                 # segment of the memory operand
    uint32_t off            # offset of the memory operand
    uint32_t mod
    uint32_t reg
    uint32_t rm

cdef inline uint32_t fetch8(Insn* d) noexcept nogil:
    cdef uint32_t v = d.p[0]
    d.p += 1
    return v

cdef inline uint32_t fetch16(Insn* d) noexcept nogil:
    cdef uint32_t v = ld16(d.p)
    d.p += 2
    return v

cdef inline uint32_t fetch32(Insn* d) noexcept nogil:
    cdef uint32_t v = ld32(d.p)
    d.p += 4
    return v

cdef inline uint32_t fetchv(Insn* d, int o32) noexcept nogil:
    if o32:
        return fetch32(d)
    return fetch16(d)

# Address-size offset of the moffs forms (A0-A3).
cdef inline uint32_t fetch_moffs(Insn* d) noexcept nogil:
    if d.a32:
        return fetch32(d)
    return fetch16(d)

cdef inline uint32_t sx8(uint32_t v) noexcept nogil:
    return <uint32_t><int32_t><int8_t><uint8_t>v

cdef inline uint32_t sx16(uint32_t v) noexcept nogil:
    return <uint32_t><int32_t><int16_t><uint16_t>v

# Operand size: sign bit, mask, bits and bytes of a 16/32-bit operand.
cdef inline uint32_t vmsb(int o32) noexcept nogil:
    return 0x80000000u if o32 else 0x8000

cdef inline uint32_t vmask(int o32) noexcept nogil:
    return 0xFFFFFFFFu if o32 else 0xFFFF

cdef inline uint32_t vbits(int o32) noexcept nogil:
    return 32 if o32 else 16

cdef inline uint32_t vsize(int o32) noexcept nogil:
    return 4 if o32 else 2

cdef inline int seg_of(Insn* d) noexcept nogil:
    # The segment of an operand without ModRM (moffs, XLAT): DS unless overridden.
    return d.ovr if d.ovr >= 0 else S_DS

# --- registers -----------------------------------------------------------

cdef inline uint32_t get_r8(CpuState* c, uint32_t r) noexcept nogil:
    if r < 4:
        return c.regs[r] & 0xFF
    return (c.regs[r - 4] >> 8) & 0xFF

cdef inline void set_r8(CpuState* c, uint32_t r, uint32_t v) noexcept nogil:
    if r < 4:
        c.regs[r] = (c.regs[r] & 0xFFFFFF00u) | (v & 0xFF)
    else:
        c.regs[r - 4] = (c.regs[r - 4] & 0xFFFF00FFu) | ((v & 0xFF) << 8)

cdef inline uint32_t get_r16(CpuState* c, uint32_t r) noexcept nogil:
    return c.regs[r] & 0xFFFF

cdef inline void set_r16(CpuState* c, uint32_t r, uint32_t v) noexcept nogil:
    c.regs[r] = (c.regs[r] & 0xFFFF0000u) | (v & 0xFFFF)

cdef inline uint32_t get_rv(CpuState* c, uint32_t r, int o32) noexcept nogil:
    if o32:
        return c.regs[r]
    return c.regs[r] & 0xFFFF

cdef inline void set_rv(CpuState* c, uint32_t r, uint32_t v, int o32) noexcept nogil:
    if o32:
        c.regs[r] = v
    else:
        c.regs[r] = (c.regs[r] & 0xFFFF0000u) | (v & 0xFFFF)

# Index register update by address size (CX in 16-bit addressing keeps
# its upper half).
cdef inline void set_ra(CpuState* c, uint32_t r, uint32_t v, Insn* d) noexcept nogil:
    c.regs[r] = (c.regs[r] & ~d.amask) | (v & d.amask)

# --- ModRM -----------------------------------------------------------------

cdef inline void modrm16(CpuState* c, Insn* d) noexcept nogil:
    cdef uint32_t off
    cdef int seg = S_DS
    cdef uint32_t rm = d.rm
    if rm == 0:
        off = c.regs[R_EBX] + c.regs[R_ESI]
    elif rm == 1:
        off = c.regs[R_EBX] + c.regs[R_EDI]
    elif rm == 2:
        off = c.regs[R_EBP] + c.regs[R_ESI]
        seg = S_SS
    elif rm == 3:
        off = c.regs[R_EBP] + c.regs[R_EDI]
        seg = S_SS
    elif rm == 4:
        off = c.regs[R_ESI]
    elif rm == 5:
        off = c.regs[R_EDI]
    elif rm == 6:
        if d.mod == 0:
            off = fetch16(d)
        else:
            off = c.regs[R_EBP]
            seg = S_SS
    else:
        off = c.regs[R_EBX]
    if d.mod == 1:
        off += sx8(fetch8(d))
    elif d.mod == 2:
        off += fetch16(d)
    d.off = off & 0xFFFF
    d.seg = d.ovr if d.ovr >= 0 else seg

cdef inline void modrm32(CpuState* c, Insn* d) noexcept nogil:
    cdef uint32_t off = 0
    cdef int seg = S_DS
    cdef uint32_t sib, base, index
    if d.rm == 4:
        sib = fetch8(d)
        base = sib & 7
        index = (sib >> 3) & 7
        if base == 5 and d.mod == 0:
            off = fetch32(d)
        else:
            off = c.regs[base]
            if base == R_ESP or base == R_EBP:
                seg = S_SS
        if index != 4:
            off += c.regs[index] << (sib >> 6)
    elif d.rm == 5 and d.mod == 0:
        off = fetch32(d)
    else:
        off = c.regs[d.rm]
        if d.rm == R_EBP:
            seg = S_SS
    if d.mod == 1:
        off += sx8(fetch8(d))
    elif d.mod == 2:
        off += fetch32(d)
    d.off = off
    d.seg = d.ovr if d.ovr >= 0 else seg

cdef inline void modrm(CpuState* c, Insn* d) noexcept nogil:
    cdef uint32_t m = d.p[0]
    d.p += 1
    d.mod = m >> 6
    d.reg = (m >> 3) & 7
    d.rm = m & 7
    if d.mod != 3:
        if d.a32:
            modrm32(c, d)
        else:
            modrm16(c, d)

# r/m operand access once modrm() has run.
cdef inline uint32_t rm8_read(CpuState* c, Insn* d) noexcept nogil:
    if d.mod == 3:
        return get_r8(c, d.rm)
    return rd8(c, d.seg, d.off)

# The read of a read-modify-write operand (memory.pxi's rd8w/rdvw).
cdef inline uint32_t rm8_read_w(CpuState* c, Insn* d) noexcept nogil:
    if d.mod == 3:
        return get_r8(c, d.rm)
    return rd8w(c, d.seg, d.off)

cdef inline uint32_t rmv_read_w(CpuState* c, Insn* d, int o32) noexcept nogil:
    if d.mod == 3:
        return get_rv(c, d.rm, o32)
    return rdvw(c, d.seg, d.off, o32, d.amask)

cdef inline void rm8_write(CpuState* c, Insn* d, uint32_t v) noexcept nogil:
    if d.mod == 3:
        set_r8(c, d.rm, v)
    else:
        wr8(c, d.seg, d.off, v)

cdef inline uint32_t rmv_read(CpuState* c, Insn* d, int o32) noexcept nogil:
    if d.mod == 3:
        return get_rv(c, d.rm, o32)
    return rdv(c, d.seg, d.off, o32, d.amask)

cdef inline void rmv_write(CpuState* c, Insn* d, uint32_t v, int o32) noexcept nogil:
    if d.mod == 3:
        set_rv(c, d.rm, v, o32)
    else:
        wrv(c, d.seg, d.off, v, o32, d.amask)

cdef inline uint32_t rm16_read(CpuState* c, Insn* d) noexcept nogil:
    if d.mod == 3:
        return get_r16(c, d.rm)
    return rd16(c, d.seg, d.off, d.amask)

# Memory operand at a displacement from the decoded one (far pointers,
# BOUND, LGDT): offset wraps with the address size.
cdef inline uint32_t mem_rd16_at(CpuState* c, Insn* d, uint32_t disp) noexcept nogil:
    return rd16(c, d.seg, (d.off + disp) & d.amask, d.amask)

cdef inline uint32_t mem_rdv_at(CpuState* c, Insn* d, uint32_t disp, int o32) noexcept nogil:
    return rdv(c, d.seg, (d.off + disp) & d.amask, o32, d.amask)

cdef inline uint32_t insn_len(Insn* d) noexcept nogil:
    return <uint32_t>(d.p - d.start)

# Stop the instruction loop from inside an instruction: the loop runs
# until `left` reaches zero, so an exit or fault zeroes it and parks the
# real remainder in the CPU state (no per-instruction test for either).
cdef inline void stop_run(CpuState* c, Insn* d, uint64_t* left, int reason,
                          int retired) noexcept nogil:
    c.stop_reason = reason
    c.stop_left = left[0] + (0 if retired else 1)
    left[0] = 0
    if not retired:
        d.start = d.p       # the epilogue leaves EIP on this instruction

# An exception raised by an instruction body (#UD, #DE, #BR, #NM): EIP
# past the instruction is kept for the 8086's divide error, which returns
# there; the unwind (raise_exception) does the rest.
cdef inline void raise_fault(CpuState* c, Insn* d, uint32_t eip, int vec) noexcept nogil:
    c.fault_next = eip + insn_len(d)
    raise_exception(c, vec, 0)
