# ALU operations: ADD OR ADC SBB AND SUB XOR CMP (ModRM reg / opcode
# bits 3-5 order), INC, DEC, NEG. Flags are left lazy (flags.pxi).

cdef inline uint32_t width_mask(uint32_t msb) noexcept nogil:
    return (msb << 1) - 1

cdef inline uint32_t alu(CpuState* c, uint32_t op, uint32_t a, uint32_t b,
                         uint32_t msb) noexcept nogil:
    cdef uint32_t mask = width_mask(msb)
    cdef uint32_t r
    if op == 0:
        r = (a + b) & mask
        lazy_add(c, a, b, r, msb)
    elif op == 1:
        r = a | b
        lazy_logic(c, r, msb)
    elif op == 2:
        r = (a + b + get_cf(c)) & mask
        lazy_add(c, a, b, r, msb)
    elif op == 3:
        r = (a - b - get_cf(c)) & mask
        lazy_sub(c, a, b, r, msb)
    elif op == 4:
        r = a & b
        lazy_logic(c, r, msb)
    elif op == 6:
        r = a ^ b
        lazy_logic(c, r, msb)
    else:   # SUB, CMP
        r = (a - b) & mask
        lazy_sub(c, a, b, r, msb)
    return r

# INC/DEC keep CF; OF and AF follow from the result alone (INC overflows
# only into the sign bit, DEC only out of it).
cdef inline uint32_t alu_inc(CpuState* c, uint32_t a, uint32_t msb) noexcept nogil:
    cdef uint32_t r = (a + 1) & width_mask(msb)
    cdef uint32_t cf = c.lf_aux & LF_CF
    c.lf_aux = cf | ((cf >> 1) ^ (<uint32_t>(r == msb) << 30)) | (<uint32_t>((r & 0xF) == 0) << 3)
    c.lf_res = sext(r, msb)
    return r

cdef inline uint32_t alu_dec(CpuState* c, uint32_t a, uint32_t msb) noexcept nogil:
    cdef uint32_t r = (a - 1) & width_mask(msb)
    cdef uint32_t cf = c.lf_aux & LF_CF
    c.lf_aux = cf | ((cf >> 1) ^ (<uint32_t>(a == msb) << 30)) | (<uint32_t>((r & 0xF) == 0xF) << 3)
    c.lf_res = sext(r, msb)
    return r

cdef inline uint32_t alu_neg(CpuState* c, uint32_t a, uint32_t msb) noexcept nogil:
    cdef uint32_t r = (0 - a) & width_mask(msb)
    lazy_sub(c, 0, a, r, msb)
    return r
