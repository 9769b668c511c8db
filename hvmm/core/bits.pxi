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
