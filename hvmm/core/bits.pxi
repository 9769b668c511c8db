# Bit instructions of the 386: BT BTS BTR BTC, BSF BSR, BSWAP, and the
# CMPXCHG/XADD pair of the 486.

# BT family: op 0 BT, 1 BTS, 2 BTR, 3 BTC. Returns the new value.
cdef inline uint32_t bt_op(CpuState* c, uint32_t op, uint32_t v, uint32_t bit) noexcept nogil:
    cdef uint32_t m = 1u << bit
    set_cf(c, (v & m) != 0)
    if op == 1:
        return v | m
    elif op == 2:
        return v & ~m
    elif op == 3:
        return v ^ m
    return v

# BSF/BSR: ZF=1 and destination unchanged for a zero source.
cdef inline int bs_op(CpuState* c, int reverse, uint32_t v, uint32_t* out) noexcept nogil:
    if v == 0:
        set_flags_masked(c, F_ZF, F_ZF)
        return 0
    set_flags_masked(c, F_ZF, 0)
    if reverse:
        out[0] = 31 - __builtin_clz(v)
    else:
        out[0] = __builtin_ctz(v)
    return 1

# ---- the instruction forms (ModRM decoded) ------------------------------

# BT/BTS/BTR/BTC Ev,Gv: a memory operand is addressed by the signed bit
# offset, not just its low bits.
cdef inline void bt_ev_gv(CpuState* c, Insn* d, uint32_t kind, int o32) noexcept nogil:
    cdef uint32_t bit = get_rv(c, d.reg, o32)
    cdef uint32_t value, result
    cdef int64_t skip
    if d.mod == 3:
        value = get_rv(c, d.rm, o32)
        result = bt_op(c, kind, value, bit & (vbits(o32) - 1))
        if kind:
            set_rv(c, d.rm, result, o32)
        return
    if o32:
        skip = (<int64_t><int32_t>bit >> 5) * 4
        bit &= 31
    else:
        skip = (<int64_t><int16_t>bit >> 4) * 2
        bit &= 15
    d.off = (d.off + <uint32_t>skip) & d.amask
    value = rdvw(c, d.seg, d.off, o32, d.amask) if kind else rdv(c, d.seg, d.off, o32, d.amask)
    result = bt_op(c, kind, value, bit)
    if kind:
        wrv(c, d.seg, d.off, result, o32, d.amask)

cdef inline void bt_ev_ib(CpuState* c, Insn* d, uint32_t kind, int o32) noexcept nogil:
    cdef uint32_t value = rmv_read_w(c, d, o32) if kind else rmv_read(c, d, o32)
    cdef uint32_t result = bt_op(c, kind, value, fetch8(d) & (vbits(o32) - 1))
    if kind:
        rmv_write(c, d, result, o32)

cdef inline void bit_scan(CpuState* c, Insn* d, int reverse, int o32) noexcept nogil:
    cdef uint32_t index
    if bs_op(c, reverse, rmv_read(c, d, o32), &index):
        set_rv(c, d.reg, index, o32)

cdef inline void cmpxchg_eb_gb(CpuState* c, Insn* d) noexcept nogil:
    cdef uint32_t dst = rm8_read_w(c, d)
    alu(c, 7, c.regs[R_EAX] & 0xFF, dst, 0x80)
    if c.lf_res == 0:
        rm8_write(c, d, get_r8(c, d.reg))
    else:
        rm8_write(c, d, dst)
        set_r8(c, 0, dst)

cdef inline void cmpxchg_ev_gv(CpuState* c, Insn* d, int o32) noexcept nogil:
    cdef uint32_t dst = rmv_read_w(c, d, o32)
    alu(c, 7, get_rv(c, R_EAX, o32), dst, vmsb(o32))
    if c.lf_res == 0:
        rmv_write(c, d, get_rv(c, d.reg, o32), o32)
    else:
        rmv_write(c, d, dst, o32)
        set_rv(c, R_EAX, dst, o32)

cdef inline void xadd_eb_gb(CpuState* c, Insn* d) noexcept nogil:
    cdef uint32_t dst = rm8_read_w(c, d)
    cdef uint32_t total = alu(c, 0, dst, get_r8(c, d.reg), 0x80)
    set_r8(c, d.reg, dst)
    rm8_write(c, d, total)

cdef inline void xadd_ev_gv(CpuState* c, Insn* d, int o32) noexcept nogil:
    cdef uint32_t dst = rmv_read_w(c, d, o32)
    cdef uint32_t total = alu(c, 0, dst, get_rv(c, d.reg, o32), vmsb(o32))
    set_rv(c, d.reg, dst, o32)
    rmv_write(c, d, total, o32)

# BSWAP: undefined for 16 bits; 486 parts clear the word.
cdef inline void bswap(CpuState* c, uint32_t r, int o32) noexcept nogil:
    if o32:
        c.regs[r] = __builtin_bswap32(c.regs[r])
    else:
        set_r16(c, r, 0)
