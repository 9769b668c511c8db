# Lazy arithmetic flags, in the form Bochs uses.
#
# The six arithmetic flags are never stored as bits. Every flag-setting
# operation leaves two words:
#   lf_res  its result, sign-extended to 32 bits: ZF = (res == 0), SF = bit 31,
#           PF = parity of the low byte
#   lf_aux  bit 31 = CF, bit 30 = CF ^ OF, bit 3 = AF: the carry (borrow)
#           vector's top two bits and bit 3, so ADD/ADC/SUB/SBB/INC/DEC/NEG
#           need no per-operation case when a flag is read. Bit 4 (SF flip)
#           and bits 8-15 (parity delta) let any flag combination be stored
#           (POPF, SAHF), which results alone could not express.
# CpuState.flags holds every other EFLAGS bit; its arithmetic bits are 0.

cdef enum:
    LF_CF = 0x80000000u
    LF_PO = 0x40000000u
    LF_AF = 0x08
    LF_SD = 0x10
    LF_PDB_SHIFT = 8

# Width helpers, by the operation's sign bit (0x80, 0x8000, 0x80000000).
cdef inline uint32_t sext(uint32_t r, uint32_t msb) noexcept nogil:
    return (r ^ msb) - msb

cdef inline uint32_t vec_shift(uint32_t msb) noexcept nogil:
    if msb == 0x80:
        return 24
    elif msb == 0x8000:
        return 16
    return 0

# Normalise a carry/borrow vector of the given width into lf_aux form.
cdef inline uint32_t aux_of_vector(uint32_t cv, uint32_t msb) noexcept nogil:
    return ((cv << vec_shift(msb)) & (LF_CF | LF_PO)) | (cv & LF_AF)

cdef inline void lazy_add(CpuState* c, uint32_t a, uint32_t b, uint32_t r,
                          uint32_t msb) noexcept nogil:
    c.lf_res = sext(r, msb)
    c.lf_aux = aux_of_vector((a & b) | ((a | b) & ~r), msb)

cdef inline void lazy_sub(CpuState* c, uint32_t a, uint32_t b, uint32_t r,
                          uint32_t msb) noexcept nogil:
    c.lf_res = sext(r, msb)
    c.lf_aux = aux_of_vector((~a & b) | (~(a ^ b) & r), msb)

cdef inline void lazy_logic(CpuState* c, uint32_t r, uint32_t msb) noexcept nogil:
    c.lf_res = sext(r, msb)
    c.lf_aux = 0

# A result with CF and OF given explicitly (shifts, multiplies), AF = 0.
cdef inline void lazy_result_cf_of(CpuState* c, uint32_t r, uint32_t msb,
                                   uint32_t cf, uint32_t of) noexcept nogil:
    c.lf_res = sext(r, msb)
    c.lf_aux = (cf << 31) | ((cf ^ of) << 30)

cdef inline uint32_t get_cf(CpuState* c) noexcept nogil:
    return c.lf_aux >> 31

cdef inline uint32_t get_of(CpuState* c) noexcept nogil:
    return ((c.lf_aux >> 31) ^ (c.lf_aux >> 30)) & 1

cdef inline uint32_t get_af(CpuState* c) noexcept nogil:
    return (c.lf_aux >> 3) & 1

cdef inline uint32_t get_zf(CpuState* c) noexcept nogil:
    return c.lf_res == 0

cdef inline uint32_t get_sf(CpuState* c) noexcept nogil:
    return ((c.lf_res >> 31) ^ (c.lf_aux >> 4)) & 1

cdef inline uint32_t get_pf(CpuState* c) noexcept nogil:
    return __builtin_parity((c.lf_res ^ (c.lf_aux >> LF_PDB_SHIFT)) & 0xFF) ^ 1

cdef inline uint32_t arith_flags(CpuState* c) noexcept nogil:
    return (get_cf(c) | (get_pf(c) << 2) | (get_af(c) << 4) | (get_zf(c) << 6)
            | (get_sf(c) << 7) | (get_of(c) << 11))

# Store arbitrary arithmetic flags (bits of F_ARITH in f).
cdef inline void set_arith_flags(CpuState* c, uint32_t f) noexcept nogil:
    cdef uint32_t cf = f & 1, of = (f >> 11) & 1, sf = (f >> 7) & 1
    cdef uint32_t aux = (cf << 31) | ((cf ^ of) << 30) | (f & F_AF) >> 1
    if f & F_ZF:
        c.lf_res = 0
        aux |= sf << 4                  # SF from the flip bit
    else:
        c.lf_res = 0x80000000u if sf else 0x100
    if not (f & F_PF):
        aux |= 1 << LF_PDB_SHIFT        # the result's low byte is 0: flip it
    c.lf_aux = aux

cdef inline uint32_t get_eflags(CpuState* c) noexcept nogil:
    return c.flags | arith_flags(c)

# Replace the flags selected by `mask` (arithmetic or not) with `value`.
cdef inline void set_flags_masked(CpuState* c, uint32_t mask, uint32_t value) noexcept nogil:
    if mask & F_ARITH:
        set_arith_flags(c, (arith_flags(c) & ~mask) | (value & mask & F_ARITH))
    mask &= ~(<uint32_t>F_ARITH)
    c.flags = (c.flags & ~mask) | (value & mask)

# CF alone (CLC STC CMC BT...): flip bits 31 and 30 together keeps OF.
cdef inline void set_cf(CpuState* c, uint32_t cf) noexcept nogil:
    if (c.lf_aux >> 31) != cf:
        c.lf_aux ^= LF_CF | LF_PO

# SF, ZF and PF of a result of the given width, as EFLAGS bits.
cdef inline uint32_t szp(uint32_t res, uint32_t msb) noexcept nogil:
    cdef uint32_t f = 0
    if res & msb:
        f |= F_SF
    if res == 0:
        f |= F_ZF
    if not __builtin_parity(res & 0xFF):
        f |= F_PF
    return f

# Jcc/SETcc condition codes 0-15.
cdef inline int cond(CpuState* c, uint32_t cc) noexcept nogil:
    cdef int r
    cdef uint32_t k = cc >> 1
    if k == 0:
        r = get_of(c)
    elif k == 1:
        r = get_cf(c)
    elif k == 2:
        r = c.lf_res == 0
    elif k == 3:
        r = get_cf(c) | (c.lf_res == 0)
    elif k == 4:
        r = get_sf(c)
    elif k == 5:
        r = get_pf(c)
    elif k == 6:
        r = get_sf(c) != get_of(c)
    else:
        r = (c.lf_res == 0) | (get_sf(c) != get_of(c))
    return r ^ (cc & 1)
