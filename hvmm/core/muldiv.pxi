# MUL, IMUL, DIV, IDIV (group 3), and the flags of the two- and
# three-operand IMUL forms. The 8086 quirks: a REP prefix negates the
# IMUL product and the IDIV quotient, and IDIV's quotient range excludes
# the most negative value.

# Flags after a multiply: CF = OF = `overflow`; SF ZF PF from the low
# half (undefined on Intel parts), AF cleared.
cdef inline void mul_flags(CpuState* c, uint32_t overflow, uint32_t low,
                           uint32_t msb) noexcept nogil:
    lazy_result_cf_of(c, low, msb, overflow != 0, overflow != 0)

cdef void mul8(CpuState* c, uint32_t src, int signed_, int negate) noexcept nogil:
    cdef uint32_t al = c.regs[R_EAX] & 0xFF
    cdef uint32_t r
    cdef int32_t sr
    if signed_:
        sr = <int32_t><int8_t>al * <int32_t><int8_t>src
        if negate:
            sr = -sr
        r = <uint32_t>sr & 0xFFFF
        mul_flags(c, sr != <int32_t><int8_t>(r & 0xFF), r & 0xFF, 0x80)
    else:
        r = al * src
        mul_flags(c, (r & 0xFF00) != 0, r & 0xFF, 0x80)
    set_r16(c, R_EAX, r)

cdef void mul16(CpuState* c, uint32_t src, int signed_, int negate) noexcept nogil:
    cdef uint32_t ax = c.regs[R_EAX] & 0xFFFF
    cdef uint32_t r
    cdef int32_t sr
    if signed_:
        sr = <int32_t><int16_t>ax * <int32_t><int16_t>src
        if negate:
            sr = -sr
        r = <uint32_t>sr
        mul_flags(c, sr != <int32_t><int16_t>(r & 0xFFFF), r & 0xFFFF, 0x8000)
    else:
        r = ax * src
        mul_flags(c, (r >> 16) != 0, r & 0xFFFF, 0x8000)
    set_r16(c, R_EAX, r & 0xFFFF)
    set_r16(c, R_EDX, r >> 16)

cdef void mul32(CpuState* c, uint32_t src, int signed_) noexcept nogil:
    cdef uint64_t r
    cdef int64_t sr
    if signed_:
        sr = <int64_t><int32_t>c.regs[R_EAX] * <int64_t><int32_t>src
        r = <uint64_t>sr
        mul_flags(c, sr != <int64_t><int32_t>(r & 0xFFFFFFFFu), <uint32_t>r, 0x80000000u)
    else:
        r = <uint64_t>c.regs[R_EAX] * src
        mul_flags(c, (r >> 32) != 0, <uint32_t>r, 0x80000000u)
    c.regs[R_EAX] = <uint32_t>r
    c.regs[R_EDX] = <uint32_t>(r >> 32)

# Two/three-operand IMUL: truncated product of width `bits`.
cdef uint32_t imul_trunc(CpuState* c, uint32_t a, uint32_t b, int o32) noexcept nogil:
    cdef int64_t p
    cdef uint32_t r
    if o32:
        p = <int64_t><int32_t>a * <int64_t><int32_t>b
        r = <uint32_t>p
        mul_flags(c, p != <int64_t><int32_t>r, r, 0x80000000u)
    else:
        p = <int64_t><int16_t>a * <int64_t><int16_t>b
        r = <uint32_t>p & 0xFFFF
        mul_flags(c, p != <int64_t><int16_t>r, r, 0x8000)
    return r

# Division: return 1 for a divide error (#DE), registers untouched.
cdef int div8(CpuState* c, uint32_t src, int signed_, int negate, int i8086) noexcept nogil:
    cdef uint32_t ax = c.regs[R_EAX] & 0xFFFF
    cdef uint32_t q, r
    cdef int32_t sq, sr, sa, sd, lo
    if src == 0:
        return 1
    if signed_:
        sa = <int16_t>ax
        sd = <int8_t>src
        sq = sa / sd
        sr = sa % sd
        lo = -127 if i8086 else -128
        if sq > 127 or sq < lo:
            return 1
        if negate:
            sq = -sq
        q = <uint32_t>sq & 0xFF
        r = <uint32_t>sr & 0xFF
    else:
        q = ax / src
        r = ax % src
        if q > 0xFF:
            return 1
    set_r16(c, R_EAX, q | (r << 8))
    return 0

cdef int div16(CpuState* c, uint32_t src, int signed_, int negate, int i8086) noexcept nogil:
    cdef uint32_t n = ((c.regs[R_EDX] & 0xFFFF) << 16) | (c.regs[R_EAX] & 0xFFFF)
    cdef uint32_t q, r
    cdef int32_t sq, sr, sa, sd, lo
    if src == 0:
        return 1
    if signed_:
        sa = <int32_t>n
        sd = <int16_t>src
        if sa == <int32_t>0x80000000u and sd == -1:
            return 1
        sq = sa / sd
        sr = sa % sd
        lo = -32767 if i8086 else -32768
        if sq > 32767 or sq < lo:
            return 1
        if negate:
            sq = -sq
        q = <uint32_t>sq & 0xFFFF
        r = <uint32_t>sr & 0xFFFF
    else:
        q = n / src
        r = n % src
        if q > 0xFFFF:
            return 1
    set_r16(c, R_EAX, q)
    set_r16(c, R_EDX, r)
    return 0

cdef int div32(CpuState* c, uint32_t src, int signed_) noexcept nogil:
    cdef uint64_t n = (<uint64_t>c.regs[R_EDX] << 32) | c.regs[R_EAX]
    cdef uint64_t q
    cdef int64_t sq, sa, sd
    if src == 0:
        return 1
    if signed_:
        sa = <int64_t>n
        sd = <int32_t>src
        if n == 0x8000000000000000ULL and sd == -1:
            return 1
        sq = sa / sd
        if sq > 0x7FFFFFFF or sq < -0x7FFFFFFF - 1:
            return 1
        c.regs[R_EAX] = <uint32_t>sq
        c.regs[R_EDX] = <uint32_t>(sa % sd)
    else:
        q = n / src
        if q > 0xFFFFFFFFu:
            return 1
        c.regs[R_EAX] = <uint32_t>q
        c.regs[R_EDX] = <uint32_t>(n % src)
    return 0

# Group 3 on a word/dword operand. divv returns 1 for a divide error.
cdef inline void mulv(CpuState* c, uint32_t src, int signed_, int negate, int o32) noexcept nogil:
    if o32:
        mul32(c, src, signed_)
    else:
        mul16(c, src, signed_, negate)

cdef inline int divv(CpuState* c, uint32_t src, int signed_, int negate, int i8086,
                     int o32) noexcept nogil:
    if o32:
        return div32(c, src, signed_)
    return div16(c, src, signed_, negate, i8086)
