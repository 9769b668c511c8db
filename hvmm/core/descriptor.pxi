# Protected-mode descriptors: reading them from the GDT or LDT, the checks
# of a segment register load (SDM Vol. 3A 5.5-5.10, the MOV/POP Sreg
# pages), and loading the segment caches. Out of line: real mode never
# comes here (load_seg tests CR0.PE and takes load_seg_real).
#
# Error codes are the selector with its RPL bits cleared (TI kept); a
# check fails with raise_exception before anything is written (rule 3 of
# docs/faults.md).

cdef enum:
    DESC_TSS16 = 1
    DESC_LDT = 2
    DESC_TSS16_BUSY = 3
    DESC_CALL16 = 4
    DESC_TASK_GATE = 5
    DESC_INT16 = 6
    DESC_TRAP16 = 7
    DESC_TSS32 = 9
    DESC_TSS32_BUSY = 11
    DESC_CALL32 = 12
    DESC_INT32 = 14
    DESC_TRAP32 = 15

# Linear accesses of the system structures (descriptor tables, TSS, IDT):
# bytewise, as implicit supervisor accesses (CPL 0 rights at any CPL, no
# U/S in a #PF's error code: translate_sys, paging.pxi).
cdef uint32_t sys_rd8(CpuState* c, uint32_t lin) noexcept nogil:
    return phys_rd8(c, translate_sys(c, lin, 0))

cdef uint32_t sys_rd16(CpuState* c, uint32_t lin) noexcept nogil:
    return sys_rd8(c, lin) | (sys_rd8(c, lin + 1) << 8)

cdef uint32_t sys_rd32(CpuState* c, uint32_t lin) noexcept nogil:
    return sys_rd16(c, lin) | (sys_rd16(c, lin + 2) << 16)

cdef void sys_wr8(CpuState* c, uint32_t lin, uint32_t v) noexcept nogil:
    phys_wr8(c, translate_sys(c, lin, 1), v)

cdef void sys_wr16(CpuState* c, uint32_t lin, uint32_t v) noexcept nogil:
    sys_wr8(c, lin, v & 0xFF)
    sys_wr8(c, lin + 1, (v >> 8) & 0xFF)

cdef void sys_wr32(CpuState* c, uint32_t lin, uint32_t v) noexcept nogil:
    sys_wr16(c, lin, v & 0xFFFF)
    sys_wr16(c, lin + 2, v >> 16)

# Linear address of the descriptor of `sel`, or raise `vec`(sel) when it
# lies outside the GDT or LDT (an LDT selector with no LDT loaded too).
cdef uint32_t desc_addr(CpuState* c, uint32_t sel, int vec) noexcept nogil:
    cdef uint32_t index = sel & 0xFFF8
    if sel & 4:
        if (c.ldtr.attr & ATTR_UNUSABLE) or index + 7 > c.ldtr.limit:
            raise_exception(c, vec, sel & 0xFFFC)
        return c.ldtr.base + index
    if index + 7 > c.gdtr.limit:
        raise_exception(c, vec, sel & 0xFFFC)
    return c.gdtr.base + index

# The two dwords of a descriptor.
# The 286's descriptors are 6 bytes (a 24-bit base, a 16-bit limit): it
# ignores the last word, where the 386 keeps limit 16-19, G, D/B and base
# 24-31 (and a gate offset's high half), and the 386's system types (bit 3
# set) are undefined to it: they read as type 0, which every check rejects.
cdef inline void desc_as_286(CpuState* c, uint32_t* hi) noexcept nogil:
    if c.model == MODEL_286:
        hi[0] &= 0xFFFF
        if (hi[0] & 0x1800) == 0x0800:
            hi[0] &= ~(<uint32_t>0xF00)

cdef void read_desc(CpuState* c, uint32_t sel, uint32_t* lo, uint32_t* hi, int vec) noexcept nogil:
    cdef uint32_t a = desc_addr(c, sel, vec)
    lo[0] = sys_rd32(c, a)
    hi[0] = sys_rd32(c, a + 4)
    desc_as_286(c, hi)

# Descriptor fields, in the segment cache's layout (attr: the access byte
# in bits 0-7, G D/B L AVL in bits 12-15).
cdef inline uint32_t desc_attr(uint32_t hi) noexcept nogil:
    return (hi >> 8) & 0xF0FF

cdef inline uint32_t desc_dpl(uint32_t hi) noexcept nogil:
    return (hi >> 13) & 3

cdef inline uint32_t desc_type(uint32_t hi) noexcept nogil:
    return (hi >> 8) & 0xF

cdef inline int desc_present(uint32_t hi) noexcept nogil:
    return (hi >> 15) & 1

cdef inline int desc_is_seg(uint32_t hi) noexcept nogil:
    return (hi >> 12) & 1

cdef inline int desc_is_code(uint32_t hi) noexcept nogil:
    return desc_is_seg(hi) and (hi & 0x800) != 0

cdef inline uint32_t desc_base(uint32_t lo, uint32_t hi) noexcept nogil:
    return (lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF000000u)

cdef inline uint32_t desc_limit(uint32_t lo, uint32_t hi) noexcept nogil:
    cdef uint32_t limit = (lo & 0xFFFF) | (hi & 0xF0000)
    if hi & 0x800000:
        limit = (limit << 12) | 0xFFF
    return limit

# The accessed bit is set in the table on a load (SDM 3.4.5.1).
cdef void desc_set_accessed(CpuState* c, uint32_t sel, uint32_t* hi) noexcept nogil:
    if not (hi[0] & 0x100):
        hi[0] |= 0x100
        sys_wr8(c, desc_addr(c, sel, VEC_GP) + 5, (hi[0] >> 8) & 0xFF)

cdef void cache_load(SegCache* s, uint32_t sel, uint32_t lo, uint32_t hi) noexcept nogil:
    s.sel = sel & 0xFFFF
    s.base = desc_base(lo, hi)
    s.limit = desc_limit(lo, hi)
    s.attr = desc_attr(hi)
    seg_bounds(s)

cdef void cache_null(SegCache* s, uint32_t sel) noexcept nogil:
    s.sel = sel & 0xFFFF
    s.base = 0
    s.limit = 0
    s.attr = ATTR_UNUSABLE
    seg_bounds(s)

# The checks of a stack segment for privilege level `rpl` (MOV SS, and
# the stacks of ring changes): `vec` is #GP for a load, #TS for a stack
# taken from the TSS; not present is #SS either way.
cdef void check_stack_desc(CpuState* c, uint32_t sel, uint32_t hi, uint32_t rpl,
                           int vec) noexcept nogil:
    if (sel & 3) != rpl or desc_dpl(hi) != rpl or not desc_is_seg(hi) or \
            (hi & 0xA00) != 0x200:          # writable data
        raise_exception(c, vec, sel & 0xFFFC)
    if not desc_present(hi):
        raise_exception(c, VEC_SS, sel & 0xFFFC)

# MOV/POP Sreg, LDS... in protected mode (CS is loaded by the transfers in
# privilege.pxi); in virtual-8086 mode they load as in real mode.
cdef void load_seg_pm(CpuState* c, int s, uint32_t sel) noexcept nogil:
    cdef uint32_t lo, hi, dpl
    sel &= 0xFFFF
    if c.flags & F_VM:
        v86_seg(c, s, sel)              # real-mode style (v86.pxi)
        return
    if (sel & 0xFFFC) == 0:
        if s == S_SS:
            raise_exception(c, VEC_GP, 0)
        cache_null(&c.seg[s], sel)
        return
    read_desc(c, sel, &lo, &hi, VEC_GP)
    if s == S_SS:
        check_stack_desc(c, sel, hi, c.cpl, VEC_GP)
    else:
        dpl = desc_dpl(hi)
        # data, or readable code
        if not desc_is_seg(hi) or (hi & 0xA00) == 0x800:
            raise_exception(c, VEC_GP, sel & 0xFFFC)
        # data and non-conforming code: DPL >= CPL and RPL
        if (hi & 0xC00) != 0xC00 and ((sel & 3) > dpl or <uint32_t>c.cpl > dpl):
            raise_exception(c, VEC_GP, sel & 0xFFFC)
        if not desc_present(hi):
            raise_exception(c, VEC_NP, sel & 0xFFFC)
    desc_set_accessed(c, sel, &hi)
    cache_load(&c.seg[s], sel, lo, hi)

# Load CS from a checked descriptor at privilege level `cpl` (the RPL of
# the selector becomes the CPL). A change of the default size ends the
# chunk: the run loop is compiled per code-segment size (loop.pxi).
cdef void load_cs_pm(CpuState* c, uint32_t sel, uint32_t lo, uint32_t hi, int cpl) noexcept nogil:
    cdef uint32_t old = c.seg[S_CS].attr & ATTR_DB
    desc_set_accessed(c, sel, &hi)
    cache_load(&c.seg[S_CS], (sel & 0xFFFC) | cpl, lo, hi)
    c.cpl = cpl
    c.win_len = 0
    cs_size_update(c, old)

cdef inline void cs_size_update(CpuState* c, uint32_t old_db) noexcept nogil:
    if (c.seg[S_CS].attr & ATTR_DB) != old_db:
        c.cs_size_changed = 1
    c.ipmask = 0xFFFFFFFFu if (c.seg[S_CS].attr & ATTR_DB) else 0xFFFF

# The checks of a code segment reached directly (far JMP/CALL, not through
# a gate): conforming DPL <= CPL, non-conforming RPL <= CPL and DPL = CPL.
cdef void check_code_direct(CpuState* c, uint32_t sel, uint32_t hi) noexcept nogil:
    cdef uint32_t dpl = desc_dpl(hi)
    if not desc_is_code(hi):
        raise_exception(c, VEC_GP, sel & 0xFFFC)
    if hi & 0x400:
        if dpl > <uint32_t>c.cpl:
            raise_exception(c, VEC_GP, sel & 0xFFFC)
    elif (sel & 3) > <uint32_t>c.cpl or dpl != <uint32_t>c.cpl:
        raise_exception(c, VEC_GP, sel & 0xFFFC)
    if not desc_present(hi):
        raise_exception(c, VEC_NP, sel & 0xFFFC)

# Data segment registers a return to an outer ring (RETF, IRET) nulls:
# data or non-conforming code with DPL below the new CPL.
cdef void null_outer_segs(CpuState* c) noexcept nogil:
    cdef int s
    cdef uint32_t a
    for s in range(6):
        if s == S_CS or s == S_SS:
            continue
        a = c.seg[s].attr
        if a & ATTR_UNUSABLE:
            continue
        if ((a & 0x0C) != 0x0C or not (a & ATTR_CODE)) and ((a >> 5) & 3) < <uint32_t>c.cpl:
            cache_null(&c.seg[s], 0)


# Reset: CPL 0, LDTR and TR as the SDM's power-on caches.
cdef void pm_reset(CpuState* c) noexcept nogil:
    c.cpl = 0
    cache_null(&c.ldtr, 0)
    cache_null(&c.tr, 0)
    c.ldtr.attr = 0x82              # LDT at base 0, limit FFFF
    c.ldtr.limit = 0xFFFF
    c.tr.attr = 0x8B                # busy 32-bit TSS at base 0
    c.tr.limit = 0xFFFF
