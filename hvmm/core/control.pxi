# Control transfer: segment loads, far jumps/calls/returns, interrupts
# and exceptions through the real-mode IVT (at IDTR.base), IRET.

cdef enum:
    VEC_DE = 0      # divide error
    VEC_DB = 1
    VEC_BP = 3
    VEC_OF = 4
    VEC_BR = 5      # BOUND range exceeded
    VEC_UD = 6

# Real mode: the selector alone gives the base; limit and attributes stay
# as they are (what "unreal mode" relies on).
cdef inline void load_seg_real(CpuState* c, int s, uint32_t sel) noexcept nogil:
    c.seg[s].sel = sel & 0xFFFF
    c.seg[s].base = (sel & 0xFFFF) << 4
    if s == S_CS:
        c.win_len = 0

# The FLAGS image pushed by PUSHF/INT: the 8086 reads bits 12-15 as 1.
cdef inline uint32_t flags_image(CpuState* c) noexcept nogil:
    return get_eflags(c) | c.flags_fixed

cdef inline void write_flags(CpuState* c, uint32_t v, uint32_t writable) noexcept nogil:
    set_arith_flags(c, v & F_ARITH)
    writable &= ~(<uint32_t>F_ARITH)
    c.flags = (c.flags & ~writable) | (v & writable) | c.flags_fixed

# Deliver interrupt `vec`, returning to ret_eip. Returns 0, or 1 when the
# vector lies outside the IDT limit (a triple fault in real mode, as on
# a 386 with IDTR.limit = 0: the usual way to reset the machine).
cdef int do_interrupt(CpuState* c, uint32_t vec, uint32_t ret_eip) noexcept nogil:
    cdef uint32_t entry = vec * 4
    cdef uint32_t ip, cs
    if entry + 3 > c.idtr.limit:
        return 1
    push16(c, flags_image(c) & 0xFFFF)
    push16(c, c.seg[S_CS].sel)
    push16(c, ret_eip)
    c.flags &= ~(<uint32_t>(F_IF | F_TF | F_AC))
    ip = phys_rd8(c, lin2phys(c, c.idtr.base + entry)) | (phys_rd8(c, lin2phys(c, c.idtr.base + entry + 1)) << 8)
    cs = phys_rd8(c, lin2phys(c, c.idtr.base + entry + 2)) | (phys_rd8(c, lin2phys(c, c.idtr.base + entry + 3)) << 8)
    load_seg_real(c, S_CS, cs)
    c.eip = ip
    c.halted = 0
    return 0

cdef void far_jump(CpuState* c, uint32_t sel, uint32_t off) noexcept nogil:
    load_seg_real(c, S_CS, sel)
    c.eip = off

cdef void op_iret(CpuState* c, int o32) noexcept nogil:
    cdef uint32_t ip, cs, fl
    if o32:
        ip = pop32(c)
        cs = pop32(c) & 0xFFFF
        fl = pop32(c)
        write_flags(c, fl, c.flags_writable32)
    else:
        ip = pop16(c)
        cs = pop16(c)
        fl = pop16(c)
        write_flags(c, fl, c.flags_writable16)
    far_jump(c, cs, ip)
