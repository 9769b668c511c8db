# Lazy arithmetic flags.
#
# A flag-setting operation stores (op, a, b, result, sign bit); the six
# arithmetic flags are computed from that only when something reads them.
# Carry and overflow come from the carry chain, so ADC/SBB share the
# ADD/SUB formulas: the carry-in is already folded into the result.

cdef inline void set_lazy(CpuState* c, uint32_t op, uint32_t a, uint32_t b,
                          uint32_t res, uint32_t msb) noexcept nogil:
    c.lf_op = op
    c.lf_a = a
    c.lf_b = b
    c.lf_res = res
    c.lf_msb = msb

cdef inline uint32_t get_cf(CpuState* c) noexcept nogil:
    cdef uint32_t op = c.lf_op
    cdef uint32_t a = c.lf_a, b = c.lf_b, r = c.lf_res
    if op == LF_ADD:
        return ((a & b) | ((a | b) & ~r)) & c.lf_msb != 0
    elif op == LF_SUB:
        return ((~a & b) | (~(a ^ b) & r)) & c.lf_msb != 0
    elif op == LF_LOGIC:
        return 0
    return c.flags & F_CF

cdef inline uint32_t get_zf(CpuState* c) noexcept nogil:
    if c.lf_op != LF_NONE:
        return c.lf_res == 0
    return (c.flags >> 6) & 1

cdef inline uint32_t get_sf(CpuState* c) noexcept nogil:
    if c.lf_op != LF_NONE:
        return (c.lf_res & c.lf_msb) != 0
    return (c.flags >> 7) & 1

cdef inline uint32_t get_pf(CpuState* c) noexcept nogil:
    if c.lf_op != LF_NONE:
        return __builtin_parity(c.lf_res & 0xFF) ^ 1
    return (c.flags >> 2) & 1

cdef inline uint32_t get_of(CpuState* c) noexcept nogil:
    cdef uint32_t op = c.lf_op
    cdef uint32_t a = c.lf_a, b = c.lf_b, r = c.lf_res
    if op == LF_ADD or op == LF_INC:
        return ((a ^ r) & (b ^ r) & c.lf_msb) != 0
    elif op == LF_SUB or op == LF_DEC:
        return ((a ^ b) & (a ^ r) & c.lf_msb) != 0
    elif op == LF_LOGIC:
        return 0
    return (c.flags >> 11) & 1

cdef inline uint32_t get_af(CpuState* c) noexcept nogil:
    if c.lf_op == LF_LOGIC:
        return 0
    if c.lf_op != LF_NONE:
        return ((c.lf_a ^ c.lf_b ^ c.lf_res) & 0x10) != 0
    return (c.flags >> 4) & 1

# Write the six arithmetic flags into c.flags and leave lazy mode.
cdef inline void materialize(CpuState* c) noexcept nogil:
    if c.lf_op == LF_NONE:
        return
    c.flags = ((c.flags & ~(<uint32_t>F_ARITH)) | get_cf(c) | (get_pf(c) << 2)
               | (get_af(c) << 4) | (get_zf(c) << 6) | (get_sf(c) << 7)
               | (get_of(c) << 11))
    c.lf_op = LF_NONE

cdef inline uint32_t get_eflags(CpuState* c) noexcept nogil:
    materialize(c)
    return c.flags

# Set the arithmetic flags eagerly (shifts, multiplies, BCD): bits in
# `mask` are replaced by those of `value`.
cdef inline void set_flags_masked(CpuState* c, uint32_t mask, uint32_t value) noexcept nogil:
    materialize(c)
    c.flags = (c.flags & ~mask) | (value & mask)

# SF, ZF and PF of a result of the given width.
cdef inline uint32_t szp(uint32_t res, uint32_t msb) noexcept nogil:
    cdef uint32_t f = 0
    if res & msb:
        f |= F_SF
    if res == 0:
        f |= F_ZF
    if not __builtin_parity(res & 0xFF):
        f |= F_PF
    return f

# Jcc/SETcc/CMOVcc condition codes 0-15.
cdef inline int cond(CpuState* c, uint32_t cc) noexcept nogil:
    cdef int r
    cdef uint32_t k = cc >> 1
    if k == 0:
        r = get_of(c)
    elif k == 1:
        r = get_cf(c)
    elif k == 2:
        r = get_zf(c)
    elif k == 3:
        r = get_cf(c) | get_zf(c)
    elif k == 4:
        r = get_sf(c)
    elif k == 5:
        r = get_pf(c)
    elif k == 6:
        r = get_sf(c) != get_of(c)
    else:
        r = get_zf(c) | (get_sf(c) != get_of(c))
    return r ^ (cc & 1)
