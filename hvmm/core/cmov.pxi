# P6 integer additions: CMOVcc and CMPXCHG8B.

cdef inline void cmov(CpuState* c, Insn* d, uint32_t cc, int o32) noexcept nogil:
    # The source is read (and may fault) whatever the condition.
    cdef uint32_t v = rmv_read(c, d, o32)
    if cond(c, cc):
        set_rv(c, d.reg, v, o32)

cdef void cmpxchg8b(CpuState* c, Insn* d) noexcept nogil:
    # EDX:EAX == m64: ZF = 1 and m64 = ECX:EBX; else ZF = 0 and EDX:EAX =
    # m64, which is written back unchanged (the locked cycle always writes).
    cdef uint32_t lo = rd32(c, d.seg, d.off, d.amask)
    cdef uint32_t hi = rd32(c, d.seg, (d.off + 4) & d.amask, d.amask)
    if lo == c.regs[R_EAX] and hi == c.regs[R_EDX]:
        wr32(c, d.seg, d.off, c.regs[R_EBX], d.amask)
        wr32(c, d.seg, (d.off + 4) & d.amask, c.regs[R_ECX], d.amask)
        set_flags_masked(c, F_ZF, F_ZF)
    else:
        wr32(c, d.seg, d.off, lo, d.amask)
        wr32(c, d.seg, (d.off + 4) & d.amask, hi, d.amask)
        c.regs[R_EAX] = lo
        c.regs[R_EDX] = hi
        set_flags_masked(c, F_ZF, 0)
