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

# The ALU encodings, `aluop` from the opcode (bits 3-5) or the ModRM reg
# field (group 1); CMP (7) writes nothing back. ModRM is decoded already.
cdef inline void alu_eb_gb(CpuState* c, Insn* d, uint32_t aluop) noexcept nogil:
    cdef uint32_t result = alu(c, aluop, rm8_read(c, d) if aluop == 7 else rm8_read_w(c, d),
                                get_r8(c, d.reg), 0x80)
    if aluop != 7:
        rm8_write(c, d, result)

cdef inline void alu_ev_gv(CpuState* c, Insn* d, uint32_t aluop, int o32) noexcept nogil:
    cdef uint32_t result = alu(c, aluop, rmv_read(c, d, o32) if aluop == 7 else rmv_read_w(c, d, o32),
                                get_rv(c, d.reg, o32), vmsb(o32))
    if aluop != 7:
        rmv_write(c, d, result, o32)

cdef inline void alu_gb_eb(CpuState* c, Insn* d, uint32_t aluop) noexcept nogil:
    cdef uint32_t result = alu(c, aluop, get_r8(c, d.reg), rm8_read(c, d), 0x80)
    if aluop != 7:
        set_r8(c, d.reg, result)

cdef inline void alu_gv_ev(CpuState* c, Insn* d, uint32_t aluop, int o32) noexcept nogil:
    cdef uint32_t result = alu(c, aluop, get_rv(c, d.reg, o32), rmv_read(c, d, o32), vmsb(o32))
    if aluop != 7:
        set_rv(c, d.reg, result, o32)

cdef inline void alu_al_ib(CpuState* c, Insn* d, uint32_t aluop) noexcept nogil:
    cdef uint32_t result = alu(c, aluop, c.regs[R_EAX] & 0xFF, fetch8(d), 0x80)
    if aluop != 7:
        set_r8(c, 0, result)

cdef inline void alu_eax_iz(CpuState* c, Insn* d, uint32_t aluop, int o32) noexcept nogil:
    cdef uint32_t imm = fetchv(d, o32)
    cdef uint32_t result = alu(c, aluop, get_rv(c, R_EAX, o32), imm, vmsb(o32))
    if aluop != 7:
        set_rv(c, R_EAX, result, o32)

cdef inline void alu_eb_ib(CpuState* c, Insn* d, uint32_t aluop) noexcept nogil:
    cdef uint32_t dst = rm8_read(c, d) if aluop == 7 else rm8_read_w(c, d)
    cdef uint32_t result = alu(c, aluop, dst, fetch8(d), 0x80)
    if aluop != 7:
        rm8_write(c, d, result)

cdef inline void alu_ev_iz(CpuState* c, Insn* d, uint32_t aluop, int o32) noexcept nogil:
    cdef uint32_t dst = rmv_read(c, d, o32) if aluop == 7 else rmv_read_w(c, d, o32)
    cdef uint32_t result = alu(c, aluop, dst, fetchv(d, o32), vmsb(o32))
    if aluop != 7:
        rmv_write(c, d, result, o32)

cdef inline void alu_ev_ib(CpuState* c, Insn* d, uint32_t aluop, int o32) noexcept nogil:
    cdef uint32_t dst = rmv_read(c, d, o32) if aluop == 7 else rmv_read_w(c, d, o32)
    cdef uint32_t result = alu(c, aluop, dst, sx8(fetch8(d)) & vmask(o32), vmsb(o32))
    if aluop != 7:
        rmv_write(c, d, result, o32)
