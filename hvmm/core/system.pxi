# Flags, interrupts and system instructions: PUSHF/POPF, STI, HLT, IRET,
# CPUID, the descriptor-table registers, MSW and the control registers.
# Those that can unmask a pending interrupt stop the chunk so the loop
# takes it at the next boundary.

cdef inline void pushf(CpuState* c, int o32) noexcept nogil:
    if o32:
        push32(c, get_eflags(c) & 0x00FCFFFF)
    else:
        push16(c, flags_image(c) & 0xFFFF)

cdef inline void popf(CpuState* c, Insn* d, uint64_t* left, int o32) noexcept nogil:
    if o32:
        write_flags(c, pop32(c), c.flags_writable32)
    else:
        write_flags(c, pop16(c), c.flags_writable16)
    if (c.flags & F_IF) and devs(c).pic.intr:
        stop_run(c, d, left, STOP_EVENTS, 1)

cdef inline void sti(CpuState* c, Insn* d, uint64_t* left) noexcept nogil:
    if not (c.flags & F_IF):
        c.flags |= F_IF
        c.shadow = 1        # interrupts are recognised after the next insn
        if devs(c).pic.intr:
            stop_run(c, d, left, STOP_EVENTS, 1)

cdef inline void hlt(CpuState* c, Insn* d, uint64_t* left) noexcept nogil:
    c.halted = 1            # the loop's event check decides: wait or exit
    stop_run(c, d, left, STOP_EVENTS, 1)

cdef inline void iret(CpuState* c, Insn* d, uint32_t* eip, uint64_t* left, int o32) noexcept nogil:
    op_iret(c, o32)
    jump_to(d, eip, c.eip)
    if (c.flags & F_IF) and devs(c).pic.intr:
        stop_run(c, d, left, STOP_EVENTS, 1)

# CPUID: a 486DX4-like part without FPU.
cdef inline void cpuid(CpuState* c) noexcept nogil:
    if c.regs[R_EAX] == 0:
        c.regs[R_EAX] = 1
        c.regs[R_EBX] = 0x756E6547     # "GenuineIntel"
        c.regs[R_EDX] = 0x49656E69
        c.regs[R_ECX] = 0x6C65746E
    elif c.regs[R_EAX] == 1:
        c.regs[R_EAX] = 0x0480
        c.regs[R_EBX] = 0
        c.regs[R_ECX] = 0
        c.regs[R_EDX] = 0
    else:
        c.regs[R_EAX] = 0
        c.regs[R_EBX] = 0
        c.regs[R_ECX] = 0
        c.regs[R_EDX] = 0

# SGDT/SIDT and LGDT/LIDT: limit, then base (24 bits with 16-bit operands).
cdef inline void store_table_reg(CpuState* c, Insn* d, DescTable* t, int o32) noexcept nogil:
    wr16(c, d.seg, d.off, t.limit, d.amask)
    wr32(c, d.seg, (d.off + 2) & d.amask, t.base if o32 else (t.base & 0x00FFFFFF), d.amask)

cdef inline void load_table_reg(CpuState* c, Insn* d, DescTable* t, int o32) noexcept nogil:
    cdef uint32_t limit = mem_rd16_at(c, d, 0)
    cdef uint32_t base = rd32(c, d.seg, (d.off + 2) & d.amask, d.amask)
    if not o32:
        base &= 0x00FFFFFF
    t.base = base
    t.limit = limit

cdef inline void smsw(CpuState* c, Insn* d, int o32) noexcept nogil:
    if d.mod == 3:
        set_rv(c, d.rm, c.cr[0], o32)
    else:
        wr16(c, d.seg, d.off, c.cr[0], d.amask)

# LMSW: PE can be set, never cleared; setting it stops the run (protected
# mode is not implemented yet).
cdef inline void lmsw(CpuState* c, Insn* d, uint64_t* left) noexcept nogil:
    cdef uint32_t cr0 = (c.cr[0] & ~(<uint32_t>0xE)) | (rm16_read(c, d) & 0xF) | (c.cr[0] & 1)
    if cr0 & 1:
        stop_run(c, d, left, EXIT_UNIMPLEMENTED, 0)
    else:
        set_cr(c, 0, cr0)

cdef inline int bad_cr(uint32_t n) noexcept nogil:
    return n == 1 or n > 4

cdef inline void mov_r32_cr(CpuState* c, Insn* d, uint32_t eip, uint64_t* left) noexcept nogil:
    if bad_cr(d.reg):
        raise_fault(c, d, eip, VEC_UD)
    else:
        c.regs[d.rm] = c.cr[d.reg]

cdef inline void mov_cr_r32(CpuState* c, Insn* d, uint32_t eip, uint64_t* left) noexcept nogil:
    cdef uint32_t value = c.regs[d.rm]
    if bad_cr(d.reg):
        raise_fault(c, d, eip, VEC_UD)
    elif d.reg == 0 and (value & 1):
        stop_run(c, d, left, EXIT_UNIMPLEMENTED, 0)     # protected mode: not yet
    else:
        if d.reg == 0:
            value |= 0x10       # ET: 387-style coprocessor interface
        set_cr(c, d.reg, value)     # with its TLB effect (paging.pxi)

# INVLPG m: drop the TLB entry of the operand's linear page (no access is
# made, so no fault from the page itself).
cdef inline void invlpg(CpuState* c, Insn* d) noexcept nogil:
    tlb_invlpg(c, c.seg[d.seg].base + d.off)
