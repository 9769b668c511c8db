# Shifts and rotates (ROL ROR RCL RCR SHL SHR SAL/SETMO SAR) and
# SHLD/SHRD. Flags are set eagerly. The 8086 does not mask the count
# (it loops up to 255 times); the 386 masks it to 5 bits.

# SHL, SHR, SAR set all six arithmetic flags (AF is undefined: cleared);
# they and ROL/ROR are common, so they are inlined; RCL/RCR and the
# 8086's SETMO are out of line.
# `i8086`: 1 for the 8086's behaviour, 2 for the 286's SHR (OF from the
# last 1-bit step: 0 for counts above 1), 0 for the 386's (a constant from
# the instruction table).
cdef inline uint32_t shift_op(CpuState* c, uint32_t op, uint32_t v, uint32_t n,
                              uint32_t bits, int i8086) noexcept nogil:
    cdef uint32_t msb, mask, r, cf, of
    cdef int32_t sv
    if i8086 != 1:
        n &= 0x1F
    if n == 0:
        return v
    msb = 1u << (bits - 1)
    mask = (msb << 1) - 1
    if op < 2:          # ROL, ROR: only CF and OF change
        n &= bits - 1
        r = v
        if op == 0:
            if n:
                r = ((v << n) | (v >> (bits - n))) & mask
            cf = r & 1
            of = ((r & msb) != 0) ^ cf
        else:
            if n:
                r = ((v >> n) | (v << (bits - n))) & mask
            cf = (r & msb) != 0
            of = cf ^ ((r & (msb >> 1)) != 0)
        c.lf_aux = (c.lf_aux & ~(<uint32_t>(LF_CF | LF_PO))) | (cf << 31) | ((cf ^ of) << 30)
        return r
    if op < 4 or (op == 6 and i8086 == 1):
        return rotate_op(c, op, v, n, bits)
    if op == 5:         # SHR
        r = (v >> n) if n < bits else 0
        cf = ((v >> (n - 1)) & 1) if n <= bits else 0
        of = (v & msb) != 0 if (i8086 != 2 or n == 1) else 0
    elif op == 7:       # SAR
        sv = <int32_t>(v << (32 - bits))    # sign to bit 31
        if n < bits:
            r = (<uint32_t>(sv >> (32 - bits + n))) & mask
            cf = (<uint32_t>(sv >> (32 - bits + n - 1))) & 1
        else:
            r = mask if (v & msb) else 0
            cf = (v & msb) != 0
        of = 0
    else:               # SHL/SAL (and 6, its alias on the 386)
        r = ((v << n) & mask) if n < bits else 0
        cf = ((v >> (bits - n)) & 1) if n <= bits else 0
        of = ((r & msb) != 0) ^ cf
    lazy_result_cf_of(c, r, msb, cf, of)
    return r

# RCL/RCR change only CF and OF. The 8086 loops the count (up to 255),
# hence the modulo; the 386 has masked it to 5 bits already. (ROL/ROR are
# handled inline in shift_op.)
cdef uint32_t rotate_op(CpuState* c, uint32_t op, uint32_t v, uint32_t n,
                        uint32_t bits) noexcept nogil:
    cdef uint32_t msb = 1u << (bits - 1)
    cdef uint32_t mask = (msb << 1) - 1
    cdef uint32_t r = v, cf, of, k
    cdef uint64_t wide
    cf = get_cf(c)
    if op == 2:         # RCL: rotate the (bits+1)-bit value CF:v
        k = n % (bits + 1)
        if k:
            wide = (<uint64_t>cf << bits) | v
            wide = ((wide << k) | (wide >> (bits + 1 - k))) & ((<uint64_t>mask << 1) | 1)
            r = <uint32_t>(wide & mask)
            cf = <uint32_t>(wide >> bits) & 1
        of = ((r & msb) != 0) ^ cf
    elif op == 3:       # RCR
        k = n % (bits + 1)
        if k:
            wide = (<uint64_t>cf << bits) | v
            wide = ((wide >> k) | (wide << (bits + 1 - k))) & ((<uint64_t>mask << 1) | 1)
            r = <uint32_t>(wide & mask)
            cf = <uint32_t>(wide >> bits) & 1
        of = ((r & msb) != 0) ^ ((r & (msb >> 1)) != 0)
    else:               # 8086 SETMO/SETMOC: all ones, flags as for OR
        r = mask
        lazy_logic(c, r, msb)
        return r
    # Only CF and OF change: keep the result-derived flags and AF.
    c.lf_aux = (c.lf_aux & ~(<uint32_t>(LF_CF | LF_PO))) | (cf << 31) | ((cf ^ of) << 30)
    return r

# SHLD/SHRD: count masked to 5 bits. For 16-bit operands a count above
# 16 is undefined; we shift the 48-bit value dst:src:dst as Intel parts do.
cdef uint32_t shiftd_op(CpuState* c, int left, uint32_t dst, uint32_t src,
                        uint32_t n, uint32_t bits) noexcept nogil:
    cdef uint32_t msb = 1u << (bits - 1)
    cdef uint32_t mask = (msb << 1) - 1
    cdef uint64_t wide
    cdef uint32_t r, cf, of
    n &= 0x1F
    if n == 0:
        return dst
    if bits == 32:
        if left:
            wide = (<uint64_t>dst << 32) | src
            r = <uint32_t>((wide << n) >> 32)
            cf = (dst >> (32 - n)) & 1
        else:
            wide = (<uint64_t>src << 32) | dst
            r = <uint32_t>(wide >> n)
            cf = (dst >> (n - 1)) & 1
    else:
        if left:
            wide = (<uint64_t>dst << 32) | (<uint64_t>src << 16) | dst
            r = <uint32_t>((wide << n) >> 32) & 0xFFFF
            cf = <uint32_t>((wide >> (48 - n)) & 1)
        else:
            wide = (<uint64_t>dst << 32) | (<uint64_t>src << 16) | dst
            r = <uint32_t>(wide >> n) & 0xFFFF
            cf = <uint32_t>((wide >> (n - 1)) & 1)
    of = ((r ^ dst) & msb) != 0
    lazy_result_cf_of(c, r, msb, cf, of)
    return r

# SHLD/SHRD Ev,Gv by `count` (an immediate or CL).
cdef inline void shiftd_ev_gv(CpuState* c, Insn* d, int left, uint32_t count,
                              int o32) noexcept nogil:
    cdef uint32_t dst = rmv_read_w(c, d, o32)
    rmv_write(c, d, shiftd_op(c, left, dst, get_rv(c, d.reg, o32), count, vbits(o32)), o32)
