# ALU operations: ADD OR ADC SBB AND SUB XOR CMP (ModRM reg / opcode
# bits 3-5 order), INC, DEC, NEG, NOT. Flags are left lazy.

cdef inline uint32_t width_mask(uint32_t msb) noexcept nogil:
    return (msb << 1) - 1

cdef inline uint32_t alu(CpuState* c, uint32_t op, uint32_t a, uint32_t b,
                         uint32_t msb) noexcept nogil:
    cdef uint32_t mask = width_mask(msb)
    cdef uint32_t r
    if op == 0:
        r = (a + b) & mask
        set_lazy(c, LF_ADD, a, b, r, msb)
    elif op == 1:
        r = a | b
        set_lazy(c, LF_LOGIC, a, b, r, msb)
    elif op == 2:
        r = (a + b + get_cf(c)) & mask
        set_lazy(c, LF_ADD, a, b, r, msb)
    elif op == 3:
        r = (a - b - get_cf(c)) & mask
        set_lazy(c, LF_SUB, a, b, r, msb)
    elif op == 4:
        r = a & b
        set_lazy(c, LF_LOGIC, a, b, r, msb)
    elif op == 6:
        r = a ^ b
        set_lazy(c, LF_LOGIC, a, b, r, msb)
    else:   # SUB, CMP
        r = (a - b) & mask
        set_lazy(c, LF_SUB, a, b, r, msb)
    return r

# INC/DEC keep CF: materialise it first, then go lazy.
cdef inline uint32_t alu_inc(CpuState* c, uint32_t a, uint32_t msb) noexcept nogil:
    cdef uint32_t r = (a + 1) & width_mask(msb)
    if c.lf_op != LF_INC and c.lf_op != LF_DEC:
        c.flags = (c.flags & ~(<uint32_t>F_CF)) | get_cf(c)
    set_lazy(c, LF_INC, a, 1, r, msb)
    return r

cdef inline uint32_t alu_dec(CpuState* c, uint32_t a, uint32_t msb) noexcept nogil:
    cdef uint32_t r = (a - 1) & width_mask(msb)
    if c.lf_op != LF_INC and c.lf_op != LF_DEC:
        c.flags = (c.flags & ~(<uint32_t>F_CF)) | get_cf(c)
    set_lazy(c, LF_DEC, a, 1, r, msb)
    return r

cdef inline uint32_t alu_neg(CpuState* c, uint32_t a, uint32_t msb) noexcept nogil:
    cdef uint32_t r = (0 - a) & width_mask(msb)
    set_lazy(c, LF_SUB, 0, a, r, msb)
    return r
