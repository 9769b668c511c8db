# Protected-mode control transfers and privilege: far JMP/CALL (code
# segments, call gates with the stack switch from the TSS), RETF and IRET
# to the same or an outer ring, the I/O permission checks, the privileged
# instructions. Out of line; the instruction bodies (control.pxi,
# system.pxi) branch here when CR0.PE is set.
#
# A transfer builds its new stack frame with a local ESP (a Frame) and
# commits SS, ESP, CS, EIP and CPL only after its last access that can
# fault, so a fault leaves the state as it was (docs/faults.md).

cdef enum:
    PM_OK = 0
    PM_UNIMPLEMENTED = 1    # a transfer not modelled (none is left today)

# A stack being written or read before the transfer commits it: accesses
# outside the segment raise #SS(err).
ctypedef struct Frame:
    SegCache* ss
    uint32_t esp
    uint32_t mask
    uint32_t err

cdef inline void frame_init(Frame* f, SegCache* ss, uint32_t esp, uint32_t err) noexcept nogil:
    f.ss = ss
    f.mask = 0xFFFFFFFFu if (ss.attr & ATTR_DB) else 0xFFFF
    f.esp = esp & f.mask
    f.err = err

cdef void frame_push(CpuState* c, Frame* f, uint32_t v, int size) noexcept nogil:
    cdef uint32_t sp = (f.esp - size) & f.mask
    if not seg_access_ok(f.ss, sp, size):
        raise_exception(c, VEC_SS, f.err)
    if size == 4:
        sys_wr32(c, f.ss.base + sp, v)
    else:
        sys_wr16(c, f.ss.base + sp, v)
    f.esp = sp

cdef uint32_t frame_pop(CpuState* c, Frame* f, int size) noexcept nogil:
    cdef uint32_t v
    if not seg_access_ok(f.ss, f.esp, size):
        raise_exception(c, VEC_SS, f.err)
    if size == 4:
        v = sys_rd32(c, f.ss.base + f.esp)
    else:
        v = sys_rd16(c, f.ss.base + f.esp)
    f.esp = (f.esp + size) & f.mask
    return v

cdef inline void commit_esp(CpuState* c, Frame* f) noexcept nogil:
    c.regs[R_ESP] = (c.regs[R_ESP] & ~f.mask) | (f.esp & f.mask)

# SS:ESP for ring `dpl` from the current TSS.
cdef void tss_stack(CpuState* c, uint32_t dpl, uint32_t* ss, uint32_t* esp) noexcept nogil:
    cdef uint32_t t = c.tr.attr & 0xF
    cdef uint32_t off
    if c.tr.attr & ATTR_UNUSABLE:
        raise_exception(c, VEC_TS, 0)
    if t == DESC_TSS32 or t == DESC_TSS32_BUSY:
        off = 4 + dpl * 8
        if off + 5 > c.tr.limit:
            raise_exception(c, VEC_TS, c.tr.sel & 0xFFFC)
        esp[0] = sys_rd32(c, c.tr.base + off)
        ss[0] = sys_rd16(c, c.tr.base + off + 4)
    else:
        off = 2 + dpl * 4
        if off + 3 > c.tr.limit:
            raise_exception(c, VEC_TS, c.tr.sel & 0xFFFC)
        esp[0] = sys_rd16(c, c.tr.base + off)
        ss[0] = sys_rd16(c, c.tr.base + off + 2)

# The inner stack of a ring change to `dpl`: its descriptor, checked (#TS).
cdef void inner_stack(CpuState* c, uint32_t dpl, SegCache* ss, uint32_t* esp) noexcept nogil:
    cdef uint32_t sel, lo, hi
    tss_stack(c, dpl, &sel, esp)
    if (sel & 0xFFFC) == 0:
        raise_exception(c, VEC_TS, sel & 0xFFFC)
    read_desc(c, sel, &lo, &hi, VEC_TS)
    check_stack_desc(c, sel, hi, dpl, VEC_TS)
    desc_set_accessed(c, sel, &hi)
    cache_load(ss, sel, lo, hi)

# Far JMP (call = 0) or CALL to sel:off in protected mode; `ret` is the
# return EIP. Sets c.eip. Returns PM_OK. A TSS or task gate switches tasks
# (task.pxi).
cdef int far_pm(CpuState* c, uint32_t sel, uint32_t off, int call, int o32,
                uint32_t ret) noexcept nogil:
    cdef uint32_t lo, hi, t, dpl, tsel, tlo, thi, nesp, count, i, oesp
    cdef int size = 4 if o32 else 2
    cdef Frame f, old
    cdef SegCache nss
    sel &= 0xFFFF
    if c.flags & F_VM:
        return v86_far(c, sel, off, call, o32, ret)
    if (sel & 0xFFFC) == 0:
        raise_exception(c, VEC_GP, 0)
    read_desc(c, sel, &lo, &hi, VEC_GP)
    if desc_is_seg(hi):
        check_code_direct(c, sel, hi)
        if not o32:
            off &= 0xFFFF
        if off > desc_limit(lo, hi):
            raise_exception(c, VEC_GP, 0)
        if call:
            frame_init(&f, &c.seg[S_SS], c.regs[R_ESP], 0)
            frame_push(c, &f, c.seg[S_CS].sel, size)
            frame_push(c, &f, ret, size)
            commit_esp(c, &f)
        load_cs_pm(c, sel, lo, hi, c.cpl)
        c.eip = off
        return PM_OK
    t = desc_type(hi)
    dpl = desc_dpl(hi)
    if t == DESC_TSS16 or t == DESC_TSS32 or t == DESC_TASK_GATE or \
            t == DESC_TSS16_BUSY or t == DESC_TSS32_BUSY:
        return task_far(c, sel, lo, hi, call, ret)
    if t != DESC_CALL16 and t != DESC_CALL32:
        raise_exception(c, VEC_GP, sel & 0xFFFC)
    # a call gate
    if dpl < <uint32_t>c.cpl or dpl < (sel & 3):
        raise_exception(c, VEC_GP, sel & 0xFFFC)
    if not desc_present(hi):
        raise_exception(c, VEC_NP, sel & 0xFFFC)
    tsel = lo >> 16
    off = (lo & 0xFFFF) | ((hi & 0xFFFF0000u) if t == DESC_CALL32 else 0)
    size = 4 if t == DESC_CALL32 else 2
    if (tsel & 0xFFFC) == 0:
        raise_exception(c, VEC_GP, 0)
    read_desc(c, tsel, &tlo, &thi, VEC_GP)
    dpl = desc_dpl(thi)
    if not desc_is_code(thi) or dpl > <uint32_t>c.cpl:
        raise_exception(c, VEC_GP, tsel & 0xFFFC)
    if not call and not (thi & 0x400) and dpl != <uint32_t>c.cpl:
        raise_exception(c, VEC_GP, tsel & 0xFFFC)
    if not desc_present(thi):
        raise_exception(c, VEC_NP, tsel & 0xFFFC)
    if off > desc_limit(tlo, thi):
        raise_exception(c, VEC_GP, 0)
    if call and not (thi & 0x400) and dpl < <uint32_t>c.cpl:
        # to an inner ring: the stack from the TSS, the parameters copied
        inner_stack(c, dpl, &nss, &nesp)
        frame_init(&f, &nss, nesp, nss.sel & 0xFFFC)
        frame_init(&old, &c.seg[S_SS], c.regs[R_ESP], 0)
        oesp = old.esp
        frame_push(c, &f, c.seg[S_SS].sel, size)
        frame_push(c, &f, c.regs[R_ESP] & old.mask, size)
        count = lo_count(hi)
        for i in range(count):
            old.esp = (oesp + (count - 1 - i) * size) & old.mask
            frame_push(c, &f, frame_pop(c, &old, size), size)
        frame_push(c, &f, c.seg[S_CS].sel, size)
        frame_push(c, &f, ret, size)
        c.seg[S_SS] = nss
        c.regs[R_ESP] = 0
        commit_esp(c, &f)
        load_cs_pm(c, tsel, tlo, thi, dpl)
    else:
        if call:
            frame_init(&f, &c.seg[S_SS], c.regs[R_ESP], 0)
            frame_push(c, &f, c.seg[S_CS].sel, size)
            frame_push(c, &f, ret, size)
            commit_esp(c, &f)
        load_cs_pm(c, tsel, tlo, thi, c.cpl)
    c.eip = off
    return PM_OK

cdef inline uint32_t lo_count(uint32_t hi) noexcept nogil:
    return hi & 0x1F

# The CS a RETF or IRET returns to: checked against the CPL (SDM RET/IRET).
cdef void check_return_cs(CpuState* c, uint32_t sel, uint32_t* lo, uint32_t* hi) noexcept nogil:
    if (sel & 0xFFFC) == 0:
        raise_exception(c, VEC_GP, 0)
    read_desc(c, sel, lo, hi, VEC_GP)
    if not desc_is_code(hi[0]) or (sel & 3) < <uint32_t>c.cpl:
        raise_exception(c, VEC_GP, sel & 0xFFFC)
    if hi[0] & 0x400:
        if desc_dpl(hi[0]) > (sel & 3):
            raise_exception(c, VEC_GP, sel & 0xFFFC)
    elif desc_dpl(hi[0]) != (sel & 3):
        raise_exception(c, VEC_GP, sel & 0xFFFC)
    if not desc_present(hi[0]):
        raise_exception(c, VEC_NP, sel & 0xFFFC)

# The outer stack of a return to ring `rpl`.
cdef void outer_stack(CpuState* c, Frame* f, int size, SegCache* nss, uint32_t* nesp,
                      uint32_t rpl) noexcept nogil:
    cdef uint32_t sel, lo, hi
    nesp[0] = frame_pop(c, f, size)
    sel = frame_pop(c, f, size) & 0xFFFF
    if (sel & 0xFFFC) == 0:
        raise_exception(c, VEC_GP, 0)
    read_desc(c, sel, &lo, &hi, VEC_GP)
    check_stack_desc(c, sel, hi, rpl, VEC_GP)
    desc_set_accessed(c, sel, &hi)
    cache_load(nss, sel, lo, hi)

# RETF [release] in protected mode. Sets c.eip.
cdef void retf_pm(CpuState* c, uint32_t release, int o32) noexcept nogil:
    cdef int size = 4 if o32 else 2
    cdef uint32_t off, sel, lo, hi, rpl, nesp
    cdef Frame f
    cdef SegCache nss
    if c.flags & F_VM:
        v86_retf(c, release, o32)
        return
    frame_init(&f, &c.seg[S_SS], c.regs[R_ESP], 0)
    off = frame_pop(c, &f, size)
    sel = frame_pop(c, &f, size) & 0xFFFF
    check_return_cs(c, sel, &lo, &hi)
    if off > desc_limit(lo, hi):
        raise_exception(c, VEC_GP, 0)
    rpl = sel & 3
    f.esp = (f.esp + release) & f.mask
    if rpl == <uint32_t>c.cpl:
        commit_esp(c, &f)
        load_cs_pm(c, sel, lo, hi, rpl)
    else:
        outer_stack(c, &f, size, &nss, &nesp, rpl)
        c.seg[S_SS] = nss
        frame_init(&f, &c.seg[S_SS], nesp + release, 0)
        c.regs[R_ESP] = 0
        commit_esp(c, &f)
        load_cs_pm(c, sel, lo, hi, rpl)
        null_outer_segs(c)
    c.eip = off

# IRET in protected mode, in and into virtual-8086 mode (v86.pxi). With NT
# set (and not in V86), a return to the task in the back-link (task.pxi);
# `ret` is the EIP after the IRET, which that saves. Sets c.eip.
cdef int iret_pm(CpuState* c, int o32, uint32_t ret) noexcept nogil:
    cdef int size = 4 if o32 else 2
    cdef uint32_t off, sel, fl, lo, hi, rpl, nesp, writable
    cdef uint32_t iopl = (c.flags >> 12) & 3
    cdef Frame f
    cdef SegCache nss
    if c.flags & F_VM:
        return v86_iret(c, o32)         # (NT is not looked at in V86)
    if c.flags & F_NT:
        return task_iret(c, ret)
    frame_init(&f, &c.seg[S_SS], c.regs[R_ESP], 0)
    off = frame_pop(c, &f, size)
    sel = frame_pop(c, &f, size) & 0xFFFF
    fl = frame_pop(c, &f, size)
    if o32 and (fl & F_VM) and c.cpl == 0:
        return v86_enter(c, &f, off, sel, fl)
    check_return_cs(c, sel, &lo, &hi)
    if off > desc_limit(lo, hi):
        raise_exception(c, VEC_GP, 0)
    rpl = sel & 3
    writable = (c.flags_writable32 | F_RF) if o32 else c.flags_writable16
    if c.cpl > 0:
        writable &= ~(<uint32_t>F_IOPL)
    elif o32:
        writable |= vif_vip_bits(c)     # IRETD at CPL 0 loads VIF and VIP
    if <uint32_t>c.cpl > iopl:
        writable &= ~(<uint32_t>F_IF)
    if rpl == <uint32_t>c.cpl:
        commit_esp(c, &f)
        load_cs_pm(c, sel, lo, hi, rpl)
    else:
        outer_stack(c, &f, size, &nss, &nesp, rpl)
        c.seg[S_SS] = nss
        frame_init(&f, &c.seg[S_SS], nesp, 0)
        c.regs[R_ESP] = 0
        commit_esp(c, &f)
        load_cs_pm(c, sel, lo, hi, rpl)
        null_outer_segs(c)
    write_flags(c, fl, writable)
    c.eip = off
    return PM_OK

# ---- IOPL and the I/O permission bitmap ------------------------------------
# IN/OUT/INS/OUTS at CPL > IOPL (or in V86): every bit of the accessed ports must be
# clear in the TSS's bitmap (a 32-bit TSS; bits past its limit deny).
cdef void io_permission(CpuState* c, uint32_t port, uint32_t size) noexcept nogil:
    cdef uint32_t t = c.tr.attr & 0xF
    cdef uint32_t a, bits
    if (c.tr.attr & ATTR_UNUSABLE) or (t != DESC_TSS32 and t != DESC_TSS32_BUSY) or \
            c.tr.limit < 0x67:
        raise_exception(c, VEC_GP, 0)
    a = sys_rd16(c, c.tr.base + 0x66) + (port >> 3)
    if a + 1 > c.tr.limit:
        raise_exception(c, VEC_GP, 0)
    bits = sys_rd16(c, c.tr.base + a)
    if (bits >> (port & 7)) & ((1u << size) - 1):
        raise_exception(c, VEC_GP, 0)

# In virtual-8086 mode the bitmap is consulted whatever IOPL is (SDM
# 20.2.8.1): VM (bit 17) shifted to bit 2 makes the CPL look above any IOPL.
cdef inline void io_check(CpuState* c, uint32_t port, uint32_t size) noexcept nogil:
    if __builtin_expect((c.cpl | ((c.flags >> 15) & 4)) > ((c.flags >> 12) & 3), 0):
        io_permission(c, port, size)

# Privileged instructions: #GP(0) outside ring 0 (real mode is ring 0).
cdef inline void priv_check(CpuState* c) noexcept nogil:
    if __builtin_expect(c.cpl != 0, 0):
        raise_exception(c, VEC_GP, 0)
