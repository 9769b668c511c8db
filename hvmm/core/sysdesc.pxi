# The system instructions on descriptors and selectors: LLDT SLDT LTR STR
# (0F 00 /0-/3), VERR VERW (0F 00 /4 /5), LAR LSL (0F 02, 0F 03), ARPL
# (63). Protected mode only: the table rows are `pm_only` (#UD in real
# mode). ModRM is decoded already.

cdef inline void store_selector(CpuState* c, Insn* d, uint32_t sel, int o32) noexcept nogil:
    if d.mod == 3:
        set_rv(c, d.rm, sel, o32)
    else:
        wr16(c, d.seg, d.off, sel, d.amask)

# (Out of line, so they take the operand, not the Insn: the run loop's
# decoded instruction must not escape to memory.)
cdef void op_lldt(CpuState* c, uint32_t sel) noexcept nogil:
    cdef uint32_t lo, hi
    priv_check(c)
    if (sel & 0xFFFC) == 0:
        cache_null(&c.ldtr, sel)
        return
    if sel & 4:
        raise_exception(c, VEC_GP, sel & 0xFFFC)
    read_desc(c, sel, &lo, &hi, VEC_GP)
    if desc_is_seg(hi) or desc_type(hi) != DESC_LDT:
        raise_exception(c, VEC_GP, sel & 0xFFFC)
    if not desc_present(hi):
        raise_exception(c, VEC_NP, sel & 0xFFFC)
    cache_load(&c.ldtr, sel, lo, hi)

# LTR: an available TSS, marked busy in the GDT.
cdef void op_ltr(CpuState* c, uint32_t sel) noexcept nogil:
    cdef uint32_t lo, hi, t
    priv_check(c)
    if (sel & 0xFFFC) == 0:
        raise_exception(c, VEC_GP, 0)
    if sel & 4:
        raise_exception(c, VEC_GP, sel & 0xFFFC)
    read_desc(c, sel, &lo, &hi, VEC_GP)
    t = desc_type(hi)
    if desc_is_seg(hi) or (t != DESC_TSS16 and t != DESC_TSS32):
        raise_exception(c, VEC_GP, sel & 0xFFFC)
    if not desc_present(hi):
        raise_exception(c, VEC_NP, sel & 0xFFFC)
    hi |= 0x200
    sys_wr8(c, desc_addr(c, sel, VEC_GP) + 5, (hi >> 8) & 0xFF)
    cache_load(&c.tr, sel, lo, hi)

# The descriptor of `sel` for LAR LSL VERR VERW: 0 when the selector is
# null or outside its table (those set ZF = 0 instead of faulting).
cdef int desc_lookup(CpuState* c, uint32_t sel, uint32_t* lo, uint32_t* hi) noexcept nogil:
    cdef uint32_t index = sel & 0xFFF8
    cdef uint32_t a
    if (sel & 0xFFFC) == 0:
        return 0
    if sel & 4:
        if (c.ldtr.attr & ATTR_UNUSABLE) or index + 7 > c.ldtr.limit:
            return 0
        a = c.ldtr.base + index
    else:
        if index + 7 > c.gdtr.limit:
            return 0
        a = c.gdtr.base + index
    lo[0] = sys_rd32(c, a)
    hi[0] = sys_rd32(c, a + 4)
    desc_as_286(c, hi)
    return 1

# Visible at CPL and RPL: DPL >= both, except conforming code.
cdef inline int desc_visible(CpuState* c, uint32_t sel, uint32_t hi) noexcept nogil:
    if desc_is_code(hi) and (hi & 0x400):
        return 1
    return desc_dpl(hi) >= <uint32_t>c.cpl and desc_dpl(hi) >= (sel & 3)

cdef inline void set_zf(CpuState* c, int z) noexcept nogil:
    set_flags_masked(c, F_ZF, F_ZF if z else 0)

# VERR (write = 0) and VERW (write = 1).
cdef void op_verify(CpuState* c, uint32_t sel, int write) noexcept nogil:
    cdef uint32_t lo, hi
    cdef int ok = desc_lookup(c, sel, &lo, &hi) and desc_is_seg(hi) and desc_visible(c, sel, hi)
    if ok:
        if write:
            ok = (hi & 0xA00) == 0x200                  # writable data
        else:
            ok = (hi & 0xA00) != 0x800                  # data, readable code
    set_zf(c, ok)

# System descriptor types LAR (lsl = 0) and LSL (lsl = 1) accept.
cdef inline int lar_type_ok(uint32_t t, int lsl) noexcept nogil:
    if t == DESC_TSS16 or t == DESC_LDT or t == DESC_TSS16_BUSY or t == DESC_TSS32 or \
            t == DESC_TSS32_BUSY:
        return 1
    return not lsl and (t == DESC_CALL16 or t == DESC_TASK_GATE or t == DESC_CALL32)

cdef void op_lar_lsl(CpuState* c, uint32_t sel, uint32_t reg, int lsl, int o32) noexcept nogil:
    cdef uint32_t lo, hi
    cdef int ok = desc_lookup(c, sel, &lo, &hi) and desc_visible(c, sel, hi)
    if ok and not desc_is_seg(hi):
        ok = lar_type_ok(desc_type(hi), lsl)
    if ok:
        if lsl:
            set_rv(c, reg, desc_limit(lo, hi), o32)
        else:
            set_rv(c, reg, hi & (0x00FFFF00u if o32 else 0xFF00), o32)
    set_zf(c, ok)

# ARPL Ew,Gw: raise the RPL of the destination to that of the source.
cdef inline void op_arpl(CpuState* c, Insn* d) noexcept nogil:
    cdef uint32_t dst
    cdef uint32_t src = get_r16(c, d.reg)
    if d.mod == 3:
        dst = get_r16(c, d.rm)
    else:
        seg_check_w(c, d.seg, d.off, 2)
        dst = rd16(c, d.seg, d.off, d.amask)
    if (dst & 3) < (src & 3):
        dst = (dst & 0xFFFC) | (src & 3)
        if d.mod == 3:
            set_r16(c, d.rm, dst)
        else:
            wr16(c, d.seg, d.off, dst, d.amask)
        set_zf(c, 1)
    else:
        set_zf(c, 0)
