# Data transfer forms: XCHG, CBW/CWD, MOV to and from segment registers,
# far-pointer loads (LES LDS LSS LFS LGS). ModRM is decoded already.

cdef inline void xchg_eb_gb(CpuState* c, Insn* d) noexcept nogil:
    cdef uint32_t old = rm8_read_w(c, d)
    rm8_write(c, d, get_r8(c, d.reg))
    set_r8(c, d.reg, old)

cdef inline void xchg_ev_gv(CpuState* c, Insn* d, int o32) noexcept nogil:
    cdef uint32_t old = rmv_read_w(c, d, o32)
    rmv_write(c, d, get_rv(c, d.reg, o32), o32)
    set_rv(c, d.reg, old, o32)

cdef inline void xchg_eax(CpuState* c, uint32_t r, int o32) noexcept nogil:
    cdef uint32_t old = get_rv(c, r, o32)
    set_rv(c, r, get_rv(c, R_EAX, o32), o32)
    set_rv(c, R_EAX, old, o32)

cdef inline void cbw(CpuState* c, int o32) noexcept nogil:
    if o32:
        c.regs[R_EAX] = sx16(c.regs[R_EAX])
    else:
        set_r16(c, R_EAX, sx8(c.regs[R_EAX]))

cdef inline void cwd(CpuState* c, int o32) noexcept nogil:
    if o32:
        c.regs[R_EDX] = 0xFFFFFFFFu if (c.regs[R_EAX] & 0x80000000u) else 0
    else:
        set_r16(c, R_EDX, 0xFFFF if (c.regs[R_EAX] & 0x8000) else 0)

# MOV Ev,Sw (8C): a register destination takes the selector at the operand
# size, memory takes 16 bits. `sreg` is the reg field as the model decodes it.
cdef inline void mov_ev_sreg(CpuState* c, Insn* d, uint32_t eip, uint64_t* left,
                             uint32_t sreg, int o32) noexcept nogil:
    if sreg > 5:
        raise_fault(c, d, eip, VEC_UD)
    elif d.mod == 3:
        set_rv(c, d.rm, c.seg[sreg].sel, o32)
    else:
        wr16(c, d.seg, d.off, c.seg[sreg].sel, d.amask)

# MOV Sw,Ew (8E). Loading SS holds off interrupts for one instruction;
# loading CS (the 8086 only: `cs_ok`) is a jump.
cdef inline void mov_sreg_ew(CpuState* c, Insn* d, uint32_t* eip, uint64_t* left,
                             uint32_t sreg, int cs_ok) noexcept nogil:
    if sreg > 5 or (sreg == S_CS and not cs_ok):
        raise_fault(c, d, eip[0], VEC_UD)
    else:
        load_seg(c, sreg, rm16_read(c, d))
        if sreg == S_SS:
            c.shadow = SHADOW_SS
            c.shadow_at = insn_serial(c)
        if sreg == S_CS:
            jump_to(d, eip, eip[0] + insn_len(d))

# LES LDS LSS LFS LGS: offset, then the selector after it.
cdef inline void load_far_pointer(CpuState* c, Insn* d, int sreg, int o32) noexcept nogil:
    cdef uint32_t offset = mem_rdv_at(c, d, 0, o32)
    cdef uint32_t sel = mem_rd16_at(c, d, vsize(o32))
    load_seg(c, sreg, sel)
    set_rv(c, d.reg, offset, o32)
