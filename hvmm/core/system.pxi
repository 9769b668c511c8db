# Flags, interrupts and system instructions: PUSHF/POPF, STI, HLT, IRET,
# CPUID, the descriptor-table registers, MSW and the control registers.
# Those that can unmask a pending interrupt stop the chunk so the loop
# takes it at the next boundary.

cdef inline void pushf(CpuState* c, int o32) noexcept nogil:
    if __builtin_expect(c.flags & F_VM, 0):
        if v86_pushf(c, o32):   # IOPL < 3: #GP(0), or VIF with VME (v86.pxi)
            return
    if o32:
        push32(c, get_eflags(c) & 0x00FCFFFF)
    else:
        push16(c, flags_image(c) & 0xFFFF)

cdef inline void popf(CpuState* c, Insn* d, uint64_t* left, int o32) noexcept nogil:
    cdef uint32_t writable = c.flags_writable32 if o32 else c.flags_writable16
    if __builtin_expect(c.cpl != 0, 0):
        if (c.flags & F_VM) and v86_popf(c, o32):   # VIF with VME (v86.pxi)
            return
        writable = popf_writable(c, writable)
    if o32:
        write_flags(c, pop32(c), writable)
    else:
        write_flags(c, pop16(c), writable)
    if ((c.flags & F_IF) and devs(c).pic.intr) or (c.flags & F_TF):
        stop_run(c, d, left, STOP_EVENTS, 1)

# Outside ring 0, POPF leaves IOPL alone, and IF too at CPL > IOPL (VM,
# VIF and VIP are never writable; V86 at IOPL < 3 is v86_popf's).
cdef uint32_t popf_writable(CpuState* c, uint32_t writable) noexcept nogil:
    writable &= ~(<uint32_t>F_IOPL)
    if <uint32_t>c.cpl > ((c.flags >> 12) & 3):
        writable &= ~(<uint32_t>F_IF)
    return writable

# CLI/STI at CPL > IOPL: VIF with CR4.VME in V86 or CR4.PVI at CPL 3,
# else #GP(0) (v86.pxi).
cdef inline void cli(CpuState* c) noexcept nogil:
    if __builtin_expect(<uint32_t>c.cpl > ((c.flags >> 12) & 3), 0):
        cli_virtual(c)
        return
    c.flags &= ~(<uint32_t>F_IF)

cdef inline void sti(CpuState* c, Insn* d, uint64_t* left) noexcept nogil:
    if __builtin_expect(<uint32_t>c.cpl > ((c.flags >> 12) & 3), 0):
        sti_virtual(c)
        return
    if not (c.flags & F_IF):
        c.flags |= F_IF
        c.shadow = 1        # interrupts are recognised after the next insn
        if devs(c).pic.intr:
            stop_run(c, d, left, STOP_EVENTS, 1)

cdef inline void hlt(CpuState* c, Insn* d, uint64_t* left) noexcept nogil:
    priv_check(c)
    c.halted = 1            # the loop's event check decides: wait or exit
    stop_run(c, d, left, STOP_EVENTS, 1)

cdef inline void iret(CpuState* c, Insn* d, uint32_t* eip, uint64_t* left, int o32) noexcept nogil:
    if c.cr[0] & 1:
        iret_pm_insn(c, d, eip, left, o32)
        return
    op_iret(c, o32)
    jump_to(d, eip, c.eip)
    if ((c.flags & F_IF) and devs(c).pic.intr) or (c.flags & F_TF):
        stop_run(c, d, left, STOP_EVENTS, 1)

cdef inline void iret_pm_insn(CpuState* c, Insn* d, uint32_t* eip, uint64_t* left, int o32) noexcept nogil:
    cdef int r = iret_pm(c, o32, eip[0] + insn_len(d))
    if r == PM_OK:
        jump_to(d, eip, c.eip)
    pm_after(c, d, left, r)
    if ((c.flags & F_IF) and devs(c).pic.intr) or (c.flags & (F_TF | F_RF)):
        stop_run(c, d, left, STOP_EVENTS, 1)    # (RF: the next chunk is stepped)

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

# SGDT/SIDT and LGDT/LIDT: limit, then base (24 bits with 16-bit operands,
# `high` above them: 0, or FFh on the 286).
cdef inline void store_table_reg(CpuState* c, Insn* d, DescTable* t, int o32,
                                 uint32_t high) noexcept nogil:
    wr16(c, d.seg, d.off, t.limit, d.amask)
    wr32(c, d.seg, (d.off + 2) & d.amask, t.base if o32 else (t.base & 0x00FFFFFF) | high, d.amask)

cdef inline void load_table_reg(CpuState* c, Insn* d, DescTable* t, int o32) noexcept nogil:
    cdef uint32_t limit
    priv_check(c)
    limit = mem_rd16_at(c, d, 0)
    cdef uint32_t base = rd32(c, d.seg, (d.off + 2) & d.amask, d.amask)
    if not o32:
        base &= 0x00FFFFFF
    t.base = base
    t.limit = limit

# SMSW: CR0's low word; `ones` are bits that read as 1 (the 286's 4-15).
cdef inline void smsw(CpuState* c, Insn* d, int o32, uint32_t ones) noexcept nogil:
    if d.mod == 3:
        set_rv(c, d.rm, c.cr[0] | ones, o32)
    else:
        wr16(c, d.seg, d.off, c.cr[0] | ones, d.amask)

# LMSW: loads PE MP EM TS; PE can be set, never cleared.
cdef inline void lmsw(CpuState* c, Insn* d, uint64_t* left) noexcept nogil:
    cdef uint32_t v
    priv_check(c)
    v = rm16_read(c, d)
    set_cr0(c, (c.cr[0] & ~(<uint32_t>0xE)) | (v & 0xF) | (c.cr[0] & 1))

cdef inline int bad_cr(uint32_t n) noexcept nogil:
    return n == 1 or n > 4

cdef inline void mov_r32_cr(CpuState* c, Insn* d, uint32_t eip, uint64_t* left) noexcept nogil:
    priv_check(c)
    if bad_cr(d.reg):
        raise_fault(c, d, eip, VEC_UD)
    else:
        c.regs[d.rm] = c.cr[d.reg]

# CR4's bits a model implements; MOV CR4 setting any other raises #GP(0)
# (SDM Vol. 3A 2.5, reserved bits). The 686: VME PVI (v86.pxi) TSD DE PSE
# MCE PGE PCE OSFXSR (no PAE OSXMMEXCPT). The "386" model, a 486DX4-like part whose
# CPUID reports no features, keeps the two its paging has always honoured,
# PSE and PGE (guests and tests use them on it); its TSD, DE, PCE, VME and
# PVI #GP. The 286 and 8086 have no CR4 (MOV CRn is #UD there).
cdef enum:
    CR4_VALID_686 = 0x3DF
    CR4_VALID_386 = 0x090

cdef inline uint32_t cr4_valid(CpuState* c) noexcept nogil:
    return CR4_VALID_686 if c.model == MODEL_686 else CR4_VALID_386

cdef inline void mov_cr_r32(CpuState* c, Insn* d, uint32_t eip, uint64_t* left) noexcept nogil:
    cdef uint32_t value = c.regs[d.rm]
    priv_check(c)
    if bad_cr(d.reg):
        raise_fault(c, d, eip, VEC_UD)
    elif d.reg == 4 and (value & ~cr4_valid(c)):
        raise_fault(c, d, eip, VEC_GP)
    elif d.reg == 0:
        set_cr0(c, value)
    else:
        set_cr(c, d.reg, value)     # with its TLB effect (paging.pxi)

# CR0: PE MP EM TS ET NE WP AM NW CD PG (ET reads as 1: a 387-style
# interface). PG without PE and NW without CD are #GP(0). Changing PE is a
# mode switch; CPL is 0 on either side (CS keeps its cache).
cdef void set_cr0(CpuState* c, uint32_t value) noexcept nogil:
    if ((value & 0x80000000u) and not (value & 1)) or ((value & 0x20000000) and not (value & 0x40000000)):
        raise_exception(c, VEC_GP, 0)
    value = (value & 0xE005003Fu) | 0x10
    if (value ^ c.cr[0]) & 1:
        c.mode_switches += 1
        c.cpl = 0
        if c.model == MODEL_286:    # real mode: POPF/IRET cannot set IOPL, NT
            c.flags_writable16 = 0x7FD5 if value & 1 else 0x0FD5
    set_cr(c, 0, value)         # PE, PG, WP changes flush the TLB (paging.pxi)
    c.win_len = 0

cdef inline void clts(CpuState* c) noexcept nogil:
    priv_check(c)
    c.cr[0] &= ~(<uint32_t>8)

# MOV DRn: the aliases, GD and DR7's effect in debugreg.pxi.
cdef inline void mov_r32_dr(CpuState* c, Insn* d) noexcept nogil:
    priv_check(c)
    c.regs[d.rm] = dr_read(c, d.reg)

cdef inline void mov_dr_r32(CpuState* c, Insn* d) noexcept nogil:
    priv_check(c)
    dr_write(c, d.reg, c.regs[d.rm])

# INVLPG m: drop the TLB entry of the operand's linear page (no access is
# made, so no fault from the page itself). #GP(0) at CPL > 0.
cdef inline void invlpg(CpuState* c, Insn* d) noexcept nogil:
    priv_check(c)
    tlb_invlpg(c, c.seg[d.seg].base + d.off)
