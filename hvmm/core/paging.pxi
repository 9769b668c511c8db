# Paging and the software TLB (386 two-level paging, CR4.PSE 4 MiB pages,
# CR4.PGE global pages; no PAE).
#
# Every linear access goes through the TLB, in real mode too (then each
# entry is the identity through the A20 mask): one path, no test of the
# mode on the fast path. The TLB is direct-mapped, TLB_SIZE entries indexed
# by the low bits of the linear page (16 MiB of linear space, 128 KiB per
# CPU; a per-page array as v86's would be 2^20 entries, 16-32 MiB per CPU).
# An entry's tags are `linear page | CPL`, one per access kind:
#   rtag  reads may go straight to host memory (RAM and ROM pages),
#   wtag  writes may (RAM, writable at this CPL, dirty bit already set),
#   tag   the translation itself is valid (the slow paths use it for MMIO,
#         ROM, ROM-alias, unmapped and watched pages: not a second lookup).
# So a hit is one index and one compare (memory.pxi), and an entry grants
# only what its walk checked: a read fills rtag, and a later write misses
# and walks again, which sets D. A different CPL misses too (user and
# supervisor rights differ; CPL 3 code accessing a page cached at CPL 0
# refills the entry).
#
# A flush walks the list of entries filled since the last one (tlb_list),
# not the whole array. The direct-fetch code window (loop.pxi) holds a
# host pointer from a translation, so every flush drops it too.

cdef enum:
    CR0_PE = 0x1
    CR0_WP = 0x10000
    CR0_PG = 0x80000000
    CR4_PSE = 0x10
    CR4_PGE = 0x80
    PTE_P = 0x1
    PTE_RW = 0x2
    PTE_US = 0x4
    PTE_A = 0x20
    PTE_D = 0x40
    PTE_PS = 0x80
    PTE_G = 0x100
    PF_P = 1            # #PF error code: a protection violation (else not present)
    PF_W = 2            # the access was a write
    PF_U = 4            # the access was made at CPL 3
    TLBP_W = 1          # TlbEntry.phys: writes allowed without a walk
    TLBF_GLOBAL = 1
    TLBF_LISTED = 2
    TLB_NONE = 0xFFF    # never equal to a page | CPL

# A page-table entry (a physical dword; tables in RAM are read directly).
cdef inline uint32_t pt_rd32(CpuState* c, uint32_t phys) noexcept nogil:
    if phys < c.ram_top - 3:
        return ld32(c.mem + phys)
    return (phys_rd8(c, phys) | (phys_rd8(c, phys + 1) << 8) | (phys_rd8(c, phys + 2) << 16)
            | (phys_rd8(c, phys + 3) << 24))

cdef inline void pt_set_bits(CpuState* c, uint32_t phys, uint32_t entry, uint32_t bits) noexcept nogil:
    # Set A/D: only the low byte changes.
    if (entry & bits) != bits:
        phys_wr8(c, phys, (entry | bits) & 0xFF)

# The walk (SDM Vol. 3A 4.3). mode 0: an access; sets A (and D for a write)
# and raises #PF. mode 1: a probe (the debugger): no side effect, returns
# 0 for a page that is not present; permissions are not checked.
# out[0] = physical address, out[1] = writable at this privilege, out[2] =
# dirty, out[3] = global.
cdef int page_walk(CpuState* c, uint32_t lin, int write, int user, int mode,
                   uint32_t* out) noexcept nogil:
    cdef uint32_t pde_at = (c.cr[3] & 0xFFFFF000u) | ((lin >> 20) & 0xFFC)
    cdef uint32_t pde = pt_rd32(c, pde_at)
    cdef uint32_t pte_at = 0, pte, rights, bits
    cdef int big = 0
    cdef uint32_t err = (PF_W if write else 0) | (PF_U if user else 0)
    out[0] = out[1] = out[2] = out[3] = 0
    if not (pde & PTE_P):
        if mode:
            return 0
        raise_page_fault(c, lin, err)
        return 0
    if (pde & PTE_PS) and (c.cr[4] & CR4_PSE):
        big = 1
        pte = pde
        rights = pde
        out[0] = (pde & 0xFFC00000u) | (lin & 0x3FF000)
    else:
        pte_at = (pde & 0xFFFFF000u) | ((lin >> 10) & 0xFFC)
        pte = pt_rd32(c, pte_at)
        if not (pte & PTE_P):
            if mode:
                return 0
            raise_page_fault(c, lin, err)
            return 0
        rights = pde & pte
        out[0] = pte & 0xFFFFF000u
    # user: U/S and R/W of both levels; supervisor: R/W only with CR0.WP
    if user:
        out[1] = (rights & PTE_RW) != 0
        if not (rights & PTE_US) or (write and not out[1]):
            if mode:
                return 1
            raise_page_fault(c, lin, err | PF_P)
    else:
        out[1] = (rights & PTE_RW) != 0 or not (c.cr[0] & CR0_WP)
        if write and not out[1]:
            if mode:
                return 1
            raise_page_fault(c, lin, err | PF_P)
    out[3] = (pte & PTE_G) != 0 and (c.cr[4] & CR4_PGE) != 0
    if mode:
        out[2] = (pte & PTE_D) != 0
        return 1
    bits = PTE_A | (PTE_D if write else 0)
    if big:
        pt_set_bits(c, pde_at, pde, bits)
    else:
        pt_set_bits(c, pde_at, pde, PTE_A)
        pt_set_bits(c, pte_at, pte, bits)
    out[2] = write or (pte & PTE_D) != 0
    return 1

# A TLB miss, out of line: walk (or the identity with PG off), fill the
# entry with what was checked, return the physical address.
cdef uint32_t tlb_miss(CpuState* c, uint32_t lin, int write, uint32_t cpl) noexcept nogil:
    cdef uint32_t out[4]
    cdef uint32_t page = lin & 0xFFFFF000u, phys, tag, kind
    cdef TlbEntry* e = &c.tlb[(lin >> 12) & TLB_MASK]
    c.tlb_misses += 1
    if c.cr[0] & CR0_PG:
        if not page_walk(c, lin, write, cpl == 3, 0, out):
            return lin      # a #PF outside a guard (recorded): nothing to fill
        phys = out[0] & c.a20mask
    else:
        phys = page & c.a20mask
        out[1] = 1
        out[2] = 1
        out[3] = 0
    tag = page | cpl
    kind = c.pagekind[phys >> 12]
    e.tag = tag
    e.phys = phys | (TLBP_W if out[1] and out[2] else 0)
    e.addend = <size_t>(c.mem + phys) - page
    e.rtag = tag if kind <= PG_ROM else TLB_NONE
    e.wtag = tag if kind == PG_RAM and out[1] and out[2] else TLB_NONE
    if c.dr_data:                       # a data breakpoint's page (debugreg.pxi)
        kind = dr_page_kinds(c, page)
        if kind & 1:
            e.wtag = TLB_NONE
        if kind & 2:
            e.rtag = TLB_NONE
    if not (e.gflags & TLBF_LISTED):
        c.tlb_list[c.tlb_n] = <uint16_t>((lin >> 12) & TLB_MASK)
        c.tlb_n += 1
    e.gflags = TLBF_LISTED | (TLBF_GLOBAL if out[3] else 0)
    return phys | (lin & 0xFFF)

# Linear to physical for an access with the rights of `cpl` (may raise
# #PF). translate: the current CPL. translate_sys: the implicit supervisor
# accesses (descriptor tables, TSS, IDT), which have CPL 0 rights at any
# CPL (and a #PF error code without U/S).
cdef inline uint32_t translate_at(CpuState* c, uint32_t lin, int write, uint32_t cpl) noexcept nogil:
    cdef TlbEntry* e = tlb_at(c, lin)
    if e.tag == ((lin & 0xFFFFF000u) | cpl) and (not write or (e.phys & TLBP_W)):
        return (e.phys & 0xFFFFF000u) | (lin & 0xFFF)
    return tlb_miss(c, lin, write, cpl)

cdef inline uint32_t translate(CpuState* c, uint32_t lin, int write) noexcept nogil:
    return translate_at(c, lin, write, c.cpl)

cdef inline uint32_t translate_sys(CpuState* c, uint32_t lin, int write) noexcept nogil:
    return translate_at(c, lin, write, 0)

# For the debugger and the Python API: no #PF, no A/D side effect, no
# permission check. Returns 0 for a page that is not present.
cdef int translate_probe(CpuState* c, uint32_t lin, uint32_t* phys) noexcept nogil:
    cdef uint32_t out[4]
    if not (c.cr[0] & CR0_PG):
        phys[0] = lin & c.a20mask
        return 1
    if not page_walk(c, lin, 0, 0, 1, out):
        return 0
    phys[0] = (out[0] & c.a20mask) | (lin & 0xFFF)
    return 1

# Flushes. keep_global: a CR3 load keeps the global pages (CR4.PGE).
cdef void tlb_flush(CpuState* c, int keep_global) noexcept nogil:
    cdef uint32_t i, n = 0, idx
    cdef TlbEntry* e
    for i in range(c.tlb_n):
        idx = c.tlb_list[i]
        e = &c.tlb[idx]
        if keep_global and (e.gflags & TLBF_GLOBAL):
            c.tlb_list[n] = <uint16_t>idx
            n += 1
        else:
            e.rtag = e.wtag = e.tag = TLB_NONE
            e.gflags = 0
    c.tlb_n = n
    c.tlb_flushes += 1
    c.win_len = 0

cdef void tlb_init(CpuState* c) noexcept nogil:
    cdef int i
    for i in range(TLB_SIZE):
        c.tlb[i].rtag = c.tlb[i].wtag = c.tlb[i].tag = TLB_NONE
        c.tlb[i].gflags = 0
    c.tlb_n = 0
    c.win_len = 0

# INVLPG: the entry of that linear page, whatever CPL filled it.
cdef void tlb_invlpg(CpuState* c, uint32_t lin) noexcept nogil:
    cdef TlbEntry* e = &c.tlb[(lin >> 12) & TLB_MASK]
    if (e.tag & 0xFFFFF000u) == (lin & 0xFFFFF000u):
        e.rtag = e.wtag = e.tag = TLB_NONE
        e.gflags &= ~(<uint32_t>TLBF_GLOBAL)
    c.tlb_invlpgs += 1
    c.win_len = 0

# Control-register writes with their effect on the TLB (MOV CRn, the
# Python setters). CR0.PE and its checks belong to protected mode proper.
cdef void set_cr(CpuState* c, int n, uint32_t value) noexcept nogil:
    cdef uint32_t old = c.cr[n]
    c.cr[n] = value
    if n == 0:
        if (old ^ value) & (CR0_PG | CR0_WP | CR0_PE):
            tlb_flush(c, 0)
    elif n == 3:
        tlb_flush(c, 1)
    elif n == 4:
        if (old ^ value) & (CR4_PSE | CR4_PGE):
            tlb_flush(c, 0)
        if (old ^ value) & CR4_DE:
            dr_update(c)            # arms or disarms I/O breakpoints (debugreg.pxi)

if sizeof(TlbEntry) != 1 << TLB_ENTRY_SHIFT:
    raise ImportError("hvmm._core: TlbEntry is not 32 bytes (tlb_at scales by shifting)")
