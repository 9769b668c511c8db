# The 686 model's system additions: CPUID (family 6), the time-stamp
# counter, model-specific registers, performance counters, SYSENTER and
# SYSEXIT.

cdef inline uint32_t cpl_now(CpuState* c) noexcept nogil:
    # the CPL protected mode keeps (0 in real mode; privilege.pxi)
    return c.cpl

# CPUID leaf 1 EDX: only what works in full. Still off: PAE (6), PSE36
# (17), APIC (9) with a local APIC (and an APIC_BASE that can enable it),
# PAT (16) with paging's memory types; MMX (23) is not planned.
cdef enum:
    CPUID_FPU = 1 << 0
    CPUID_VME = 1 << 1              # CR4.VME and PVI (v86.pxi)
    CPUID_DE = 1 << 2               # CR4.DE: I/O breakpoints, DR4/DR5 #UD (debugreg.pxi)
    CPUID_TSC = 1 << 4
    CPUID_PSE = 1 << 3              # 4 MiB pages (paging.pxi)
    CPUID_MSR = 1 << 5
    CPUID_MCE = 1 << 7              # CR4.MCE and the machine-check MSRs (below)
    CPUID_CX8 = 1 << 8
    CPUID_SEP = 1 << 11             # SYSENTER/SYSEXIT (below)
    CPUID_MTRR = 1 << 12
    CPUID_PGE = 1 << 13             # global pages (paging.pxi)
    CPUID_MCA = 1 << 14             # MCG_CAP and the banks (below)
    CPUID_CMOV = 1 << 15
    CPUID_FXSR = 1 << 24
    CPUID_686_EDX = CPUID_FPU | CPUID_VME | CPUID_DE | CPUID_PSE | CPUID_TSC | CPUID_MSR | CPUID_MCE | \
        CPUID_CX8 | CPUID_SEP | CPUID_MTRR | CPUID_PGE | CPUID_MCA | CPUID_CMOV | CPUID_FXSR
    CPUID_686_SIGNATURE = 0x0652     # family 6, model 5 (Pentium II), stepping 2

# "hvmm virtual Pentium Pro-class CPU", NUL-padded to 48 bytes: 0x80000002-4.
cdef char* CPUID_BRAND = b"hvmm virtual Pentium Pro-class CPU\0\0\0\0\0\0\0\0\0\0\0\0\0\0"

cdef inline void cpuid_set(CpuState* c, uint32_t a, uint32_t b, uint32_t cx, uint32_t dx) noexcept nogil:
    c.regs[R_EAX] = a
    c.regs[R_EBX] = b
    c.regs[R_ECX] = cx
    c.regs[R_EDX] = dx

cdef void cpuid_686(CpuState* c) noexcept nogil:
    cdef uint32_t leaf = c.regs[R_EAX]
    cdef const char* s
    if leaf == 0:
        cpuid_set(c, 2, 0x756E6547, 0x6C65746E, 0x49656E69)     # GenuineIntel
    elif leaf == 1:
        cpuid_set(c, CPUID_686_SIGNATURE, 0, 0, CPUID_686_EDX)
    elif leaf == 0x80000000u:
        cpuid_set(c, 0x80000004u, 0, 0, 0)
    elif leaf == 0x80000001u:
        cpuid_set(c, 0, 0, 0, 0)
    elif 0x80000002u <= leaf <= 0x80000004u:
        s = CPUID_BRAND + 16 * (leaf - 0x80000002u)
        cpuid_set(c, ld32(<const uint8_t*>s), ld32(<const uint8_t*>s + 4),
                  ld32(<const uint8_t*>s + 8), ld32(<const uint8_t*>s + 12))
    else:
        # Leaf 2 (cache and TLB descriptors of a 512 KiB-L2 Pentium II),
        # which is also what Intel parts return beyond the highest leaf.
        cpuid_set(c, 0x03020101, 0, 0, 0x0C040843)

# ---- time-stamp counter: virtual cycles at `ips` Hz -------------------------
cdef inline uint64_t tsc_now(CpuState* c, uint64_t* left) noexcept nogil:
    cdef uint64_t ns = now_in_loop(c, left[0])
    return muldiv(ns, c.ips, 1000000000u) + <uint64_t>c.tsc_offset

cdef inline void rdtsc(CpuState* c, Insn* d, uint32_t eip, uint64_t* left) noexcept nogil:
    cdef uint64_t t
    if (c.cr[4] & 4) and cpl_now(c) != 0:              # CR4.TSD
        raise_fault(c, d, eip, VEC_GP)
        return
    t = tsc_now(c, left)
    c.regs[R_EAX] = <uint32_t>t
    c.regs[R_EDX] = <uint32_t>(t >> 32)

cdef inline void rdpmc(CpuState* c, Insn* d, uint32_t eip, uint64_t* left) noexcept nogil:
    # Two counters (P6); they count nothing, so they hold what was written.
    cdef uint32_t n = c.regs[R_ECX]
    if n > 1 or (not (c.cr[4] & 0x100) and cpl_now(c) != 0):     # CR4.PCE
        raise_fault(c, d, eip, VEC_GP)
        return
    c.regs[R_EAX] = <uint32_t>c.perf_ctr[n]
    c.regs[R_EDX] = <uint32_t>(c.perf_ctr[n] >> 32) & 0xFF

# ---- model-specific registers -------------------------------------------------
cdef enum:
    MSR_TSC = 0x10
    MSR_PLATFORM_ID = 0x17
    MSR_APIC_BASE = 0x1B
    MSR_EBL_CR_POWERON = 0x2A
    MSR_BIOS_UPDT_TRIG = 0x79
    MSR_BIOS_SIGN_ID = 0x8B
    MSR_PERFCTR0 = 0xC1
    MSR_MTRRCAP = 0xFE
    MSR_SYSENTER_CS = 0x174
    MSR_SYSENTER_ESP = 0x175
    MSR_SYSENTER_EIP = 0x176
    MSR_PERFEVTSEL0 = 0x186
    MSR_DEBUGCTL = 0x1D9
    MSR_MTRR_DEF_TYPE = 0x2FF
    MSR_MCG_CAP = 0x179
    MSR_MCG_STATUS = 0x17A
    MSR_MCG_CTL = 0x17B
    MSR_MC0_CTL = 0x400
    APIC_BASE_RESET = 0xFEE00100    # bootstrap processor, APIC disabled

# Machine-check architecture (SDM Vol. 3B ch. 15), as a P6: MCG_CAP = 0x105
# (5 banks, MCG_CTL_P: MCG_CTL exists), read-only. hvmm models no hardware
# error, so no machine check is ever raised (CR4.MCE is kept and changes
# nothing), MCG_STATUS holds what software wrote (RIPV EIPV MCIP, bits 0-2;
# other bits #GP), and the banks log nothing: MCi_STATUS and MCi_ADDR read
# 0 and accept only 0 ("writing 1s to them causes a #GP", 15.3.2.2-3),
# MCi_CTL and MCG_CTL hold what was written, MCi_CTL only all 0s or all 1s
# (the P6 rule, 15.3.2.1), and MCi_MISC is #GP: the P6 does not implement
# it (SDM Vol. 4, the P6 family's MSR table). Banks at 0x400 + 4 * i.
cdef enum:
    MCG_CAP_P6 = 0x105
    MC_BANKS = 5

cdef uint64_t* msr_slot(CpuState* c, uint32_t n) noexcept nogil:
    # The storage of a read-write MSR, or NULL.
    if n == MSR_APIC_BASE:
        return &c.apic_base
    if n == MSR_SYSENTER_CS:
        return &c.sysenter_cs
    if n == MSR_SYSENTER_ESP:
        return &c.sysenter_esp
    if n == MSR_SYSENTER_EIP:
        return &c.sysenter_eip
    if n == MSR_PERFCTR0 or n == MSR_PERFCTR0 + 1:
        return &c.perf_ctr[n - MSR_PERFCTR0]
    if n == MSR_PERFEVTSEL0 or n == MSR_PERFEVTSEL0 + 1:
        return &c.perf_evtsel[n - MSR_PERFEVTSEL0]
    if n == MSR_DEBUGCTL:
        return &c.debugctl
    if 0x200 <= n <= 0x20F:
        return &c.mtrr_var[n - 0x200]
    if n == 0x250:
        return &c.mtrr_fixed[0]
    if n == 0x258 or n == 0x259:
        return &c.mtrr_fixed[1 + n - 0x258]
    if 0x268 <= n <= 0x26F:
        return &c.mtrr_fixed[3 + n - 0x268]
    if n == MSR_MTRR_DEF_TYPE:
        return &c.mtrr_def_type
    if n == MSR_MCG_STATUS:
        return &c.mcg_status
    if n == MSR_MCG_CTL:
        return &c.mcg_ctl
    if MSR_MC0_CTL <= n < MSR_MC0_CTL + 4 * MC_BANKS and (n & 3) == 0:
        return &c.mc_ctl[(n - MSR_MC0_CTL) >> 2]
    return NULL

# MCi_STATUS and MCi_ADDR: they exist, always 0.
cdef inline int mc_zero_msr(uint32_t n) noexcept nogil:
    return MSR_MC0_CTL <= n < MSR_MC0_CTL + 4 * MC_BANKS and ((n & 3) == 1 or (n & 3) == 2)

cdef void msr_reset(CpuState* c) noexcept nogil:
    cdef int i
    c.tsc_offset = 0
    c.apic_base = APIC_BASE_RESET
    c.sysenter_cs = c.sysenter_esp = c.sysenter_eip = 0
    for i in range(16):
        c.mtrr_var[i] = 0
    for i in range(11):
        c.mtrr_fixed[i] = 0
    c.mtrr_def_type = 0
    c.perf_evtsel[0] = c.perf_evtsel[1] = 0
    c.perf_ctr[0] = c.perf_ctr[1] = 0
    c.debugctl = 0
    c.mcg_status = c.mcg_ctl = 0
    for i in range(MC_BANKS):
        c.mc_ctl[i] = 0

cdef inline void rdmsr(CpuState* c, Insn* d, uint32_t eip, uint64_t* left) noexcept nogil:
    cdef uint32_t n = c.regs[R_ECX]
    cdef uint64_t v
    cdef uint64_t* p = msr_slot(c, n)
    if cpl_now(c) != 0:
        raise_fault(c, d, eip, VEC_GP)
        return
    if p != NULL:
        v = p[0]
    elif n == MSR_TSC:
        v = tsc_now(c, left)
    elif n == MSR_MTRRCAP:
        v = 0x508           # 8 variable ranges, fixed ranges, write-combining
    elif n == MSR_PLATFORM_ID or n == MSR_EBL_CR_POWERON or n == MSR_BIOS_SIGN_ID:
        v = 0               # no platform bits, no bus settings, no microcode
    elif n == MSR_MCG_CAP:
        v = MCG_CAP_P6
    elif mc_zero_msr(n):
        v = 0               # no error logged
    else:
        raise_fault(c, d, eip, VEC_GP)
        return
    c.regs[R_EAX] = <uint32_t>v
    c.regs[R_EDX] = <uint32_t>(v >> 32)

cdef inline int mtrr_type_ok(uint64_t t) noexcept nogil:
    return t == 0 or t == 1 or t == 4 or t == 5 or t == 6

cdef void wrmsr(CpuState* c, Insn* d, uint32_t eip, uint64_t* left) noexcept nogil:
    cdef uint32_t n = c.regs[R_ECX]
    cdef uint64_t v = (<uint64_t>c.regs[R_EDX] << 32) | c.regs[R_EAX]
    cdef uint64_t* p = msr_slot(c, n)
    cdef int bad = cpl_now(c) != 0
    cdef int i
    if n == MSR_TSC:
        if not bad:
            # The P6 writes the low 32 bits and clears the high ones.
            c.tsc_offset = <int64_t>((v & 0xFFFFFFFFu) - (tsc_now(c, left) - <uint64_t>c.tsc_offset))
    elif n == MSR_BIOS_UPDT_TRIG or n == MSR_BIOS_SIGN_ID or n == MSR_EBL_CR_POWERON:
        pass                # no microcode to load; bus settings are fixed
    elif mc_zero_msr(n):
        bad = bad or v != 0
    elif p == NULL:
        bad = 1
    elif n == MSR_APIC_BASE:
        # No local APIC yet: it cannot be enabled (bit 11), nor moved.
        bad = bad or (v & 0xFFFFFFFFFFFFF6FFu) != (APIC_BASE_RESET & 0xFFFFFFFFFFFFF6FFu) or (v & 0x800) != 0
    elif n == MSR_PERFCTR0 or n == MSR_PERFCTR0 + 1:
        v = <uint64_t><int64_t><int32_t><uint32_t>v & 0xFFFFFFFFFFu   # 40 bits, low 32 sign-extended
    elif n == MSR_MTRR_DEF_TYPE:
        bad = bad or (v & ~(<uint64_t>0xCFF)) != 0 or not mtrr_type_ok(v & 0xFF)
    elif 0x200 <= n <= 0x20F:
        # 36-bit physical addresses; PhysBase has a type, PhysMask a valid bit
        if n & 1:
            bad = bad or (v & ~(<uint64_t>0xFFFFFF800u)) != 0
        else:
            bad = bad or (v & ~(<uint64_t>0xFFFFFF0FFu)) != 0 or not mtrr_type_ok(v & 0xFF)
    elif 0x250 <= n <= 0x26F:
        for i in range(8):
            if not mtrr_type_ok((v >> (8 * i)) & 0xFF):
                bad = 1
    elif n == MSR_MCG_STATUS:
        bad = bad or (v & ~(<uint64_t>7)) != 0
    elif n >= MSR_MC0_CTL:                          # MCi_CTL
        bad = bad or (v != 0 and v != 0xFFFFFFFFFFFFFFFFu)
    if bad:
        raise_fault(c, d, eip, VEC_GP)
    elif p != NULL and n != MSR_APIC_BASE:
        p[0] = v

# ---- SYSENTER / SYSEXIT ----------------------------------------------------------
# Fast system calls between flat segments that the MSRs name (SDM Vol. 2B):
# the caches are loaded with fixed flat descriptors, the GDT is not read.
# #GP(0) in real mode and with SYSENTER_CS[15:2] = 0; SYSEXIT also at CPL > 0.
cdef enum:
    FLAT_LO = 0x0000FFFF            # base 0, limit FFFFF (with G: 4 GiB)
    FLAT_CODE_HI = 0x00CF9B00       # G D P S, execute/read accessed, DPL in bits 13-14
    FLAT_DATA_HI = 0x00CF9300       # G B P S, read/write accessed

cdef inline void sys_fast_transfer(CpuState* c, Insn* d, uint32_t* eip, uint64_t* left,
                                   uint32_t cs, uint32_t ss, uint32_t cpl,
                                   uint32_t new_esp, uint32_t new_eip) noexcept nogil:
    cdef uint32_t old_db = c.seg[S_CS].attr & ATTR_DB
    cache_load(&c.seg[S_CS], (cs & 0xFFFC) | cpl, FLAT_LO, FLAT_CODE_HI | (cpl << 13))
    cache_load(&c.seg[S_SS], (ss & 0xFFFC) | cpl, FLAT_LO, FLAT_DATA_HI | (cpl << 13))
    c.cpl = cpl
    c.win_len = 0
    cs_size_update(c, old_db)
    c.regs[R_ESP] = new_esp
    c.eip = new_eip
    jump_to(d, eip, new_eip)
    pm_after(c, d, left, 0)

cdef inline void sysenter(CpuState* c, Insn* d, uint32_t* eip, uint64_t* left) noexcept nogil:
    cdef uint32_t cs = <uint32_t>c.sysenter_cs & 0xFFFC
    if not (c.cr[0] & 1) or cs == 0:
        raise_fault(c, d, eip[0], VEC_GP)
        return
    c.flags &= ~(<uint32_t>(F_IF | 0x30000))      # IF, RF and VM
    sys_fast_transfer(c, d, eip, left, cs, (cs + 8) & 0xFFFF, 0,
                      <uint32_t>c.sysenter_esp, <uint32_t>c.sysenter_eip)

cdef inline void sysexit(CpuState* c, Insn* d, uint32_t* eip, uint64_t* left) noexcept nogil:
    cdef uint32_t cs = <uint32_t>c.sysenter_cs & 0xFFFC
    if not (c.cr[0] & 1) or cs == 0 or cpl_now(c) != 0:
        raise_fault(c, d, eip[0], VEC_GP)
        return
    sys_fast_transfer(c, d, eip, left, (cs + 16) & 0xFFFF, (cs + 24) & 0xFFFF, 3,
                      c.regs[R_ECX], c.regs[R_EDX])
