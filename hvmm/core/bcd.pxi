# Decimal adjust: DAA DAS AAA AAS AAM AAD. The 8086 adjusts AL and AH
# separately in AAA/AAS (no carry from AL into AH); the 386 adds 0x106.
# `i8086` selects the 8086's behaviour (a constant of the table's row).

# DAA/DAS. The 8086 compares the original AL with 0x9F rather than 0x99
# when AF was set, and its low-digit step never sets CF (measured on a
# real 8086 by the SingleStepTests suite); the 386 follows the SDM.
cdef void op_daa_das(CpuState* c, int sub, int i8086) noexcept nogil:
    cdef uint32_t al = c.regs[R_EAX] & 0xFF
    cdef uint32_t old_al = al
    cdef uint32_t old_cf = get_cf(c), old_af = get_af(c)
    cdef uint32_t cf = 0, f = 0
    cdef uint32_t limit = 0x99
    if (al & 0x0F) > 9 or old_af:
        if not i8086:
            cf = old_cf | ((al < 6) if sub else (al > 0xF9))
        al = ((al - 6) if sub else (al + 6)) & 0xFF
        f |= F_AF
    if i8086 and old_af:
        limit = 0x9F
    if old_al > limit or old_cf:
        al = ((al - 0x60) if sub else (al + 0x60)) & 0xFF
        cf = 1
    elif not sub:
        cf = 0
    if cf:
        f |= F_CF
    set_flags_masked(c, F_ARITH, f | szp(al, 0x80))
    set_r8(c, 0, al)

cdef void op_aaa(CpuState* c, int i8086) noexcept nogil:
    cdef uint32_t ax = c.regs[R_EAX] & 0xFFFF
    cdef uint32_t al = ax & 0xFF, ah = ax >> 8
    cdef uint32_t f = 0
    if (al & 0x0F) > 9 or get_af(c):
        if i8086:
            al = (al + 6) & 0xFF
            ah = (ah + 1) & 0xFF
        else:
            ax = (ax + 0x106) & 0xFFFF
            al = ax & 0xFF
            ah = ax >> 8
        f = F_AF | F_CF
    al &= 0x0F
    set_flags_masked(c, F_ARITH, f | szp(al, 0x80))
    set_r16(c, R_EAX, (ah << 8) | al)

cdef void op_aas(CpuState* c, int i8086) noexcept nogil:
    cdef uint32_t ax = c.regs[R_EAX] & 0xFFFF
    cdef uint32_t al = ax & 0xFF, ah = ax >> 8
    cdef uint32_t f = 0
    if (al & 0x0F) > 9 or get_af(c):
        if i8086:
            al = (al - 6) & 0xFF
            ah = (ah - 1) & 0xFF
        else:
            ax = (ax - 6) & 0xFFFF
            al = ax & 0xFF
            ah = ((ax >> 8) - 1) & 0xFF
        f = F_AF | F_CF
    al &= 0x0F
    set_flags_masked(c, F_ARITH, f | szp(al, 0x80))
    set_r16(c, R_EAX, (ah << 8) | al)

# AAM: returns 1 for a divide error (base 0). The 8086's microcode sets
# SF, ZF and PF as for a zero result before it takes the divide error
# (SingleStepTests 8086 captures); later models leave the flags alone.
cdef int op_aam(CpuState* c, uint32_t base, int i8086) noexcept nogil:
    cdef uint32_t al = c.regs[R_EAX] & 0xFF
    if base == 0:
        if i8086:
            set_flags_masked(c, F_SF | F_ZF | F_PF, F_ZF | F_PF)
        return 1
    set_r16(c, R_EAX, ((al / base) << 8) | (al % base))
    al = al % base
    set_flags_masked(c, F_ARITH, szp(al, 0x80))
    return 0

cdef void op_aad(CpuState* c, uint32_t base) noexcept nogil:
    cdef uint32_t al = c.regs[R_EAX] & 0xFF, ah = (c.regs[R_EAX] >> 8) & 0xFF
    cdef uint32_t prod = (ah * base) & 0xFF
    # The 8086 microcode does an ADD of AH*base to AL: flags follow it.
    cdef uint32_t r = alu(c, 0, al, prod, 0x80)
    set_r16(c, R_EAX, r)
