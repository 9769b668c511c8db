# Interrupts and exceptions in protected mode: the IDT's interrupt, trap
# and task gates (SDM Vol. 3A 6.10-6.13; a task gate switches tasks,
# task.pxi), with the stack switch from the TSS
# for a handler in an inner ring and the error code of the exceptions
# that have one; from virtual-8086 mode with the checks and the frame of
# v86.pxi (SDM 20.3.1.1). do_interrupt (control.pxi) branches here when CR0.PE is
# set; it runs under a guard (deliver, or the instruction loop for INT n),
# so a fault here is delivered by deliver's double-fault rules.
#
# Error codes of a fault during delivery: the IDT entry (vector * 8 + 2),
# or the selector; bit 0 (EXT) when an external event or an exception
# is being delivered rather than INT n.

cdef enum:
    DLV_ERR = 1         # push c.fault_err
    DLV_EXT = 2         # an external event or exception (EXT bit)
    DLV_SOFT = 4        # INT n / INT3 / INTO: the gate's DPL is checked
    DLV_INTN = 8        # INT n (CD): IOPL-sensitive in V86, redirected by VME (v86.pxi)

cdef void pm_interrupt(CpuState* c, uint32_t vec, uint32_t ret_eip, int flags) noexcept nogil:
    cdef uint32_t ext = 1 if (flags & DLV_EXT) else 0
    cdef uint32_t idx = vec * 8
    cdef uint32_t lo, hi, t, csel, clo, chi, dpl, off, nesp, fl
    cdef int size
    cdef Frame f
    cdef SegCache nss
    cdef uint32_t vm = c.flags & F_VM
    if vm and v86_int_check(c, flags, vec, ret_eip):
        return                          # INT n: #GP(0), or redirected (v86.pxi)
    if idx + 7 > c.idtr.limit:
        raise_exception(c, VEC_GP, idx + 2 + ext)
    lo = sys_rd32(c, c.idtr.base + idx)
    hi = sys_rd32(c, c.idtr.base + idx + 4)
    desc_as_286(c, &hi)
    t = desc_type(hi)
    if desc_is_seg(hi) or not (t == DESC_INT16 or t == DESC_TRAP16 or t == DESC_INT32 or
                               t == DESC_TRAP32 or t == DESC_TASK_GATE):
        raise_exception(c, VEC_GP, idx + 2 + ext)
    if (flags & DLV_SOFT) and desc_dpl(hi) < <uint32_t>c.cpl:
        raise_exception(c, VEC_GP, idx + 2)
    if not desc_present(hi):
        raise_exception(c, VEC_NP, idx + 2 + ext)
    if t == DESC_TASK_GATE:
        task_interrupt(c, lo >> 16, ret_eip, flags)
        if c.events & EV_INTLOG:
            intlog_add(c, ret_eip, c.seg[S_CS].sel, c.eip)
        c.halted = 0
        return
    size = 4 if t >= DESC_INT32 else 2
    csel = lo >> 16
    off = (lo & 0xFFFF) | ((hi & 0xFFFF0000u) if size == 4 else 0)
    if (csel & 0xFFFC) == 0:
        raise_exception(c, VEC_GP, ext)
    read_desc(c, csel, &clo, &chi, VEC_GP)
    dpl = desc_dpl(chi)
    if not desc_is_code(chi) or dpl > <uint32_t>c.cpl:
        raise_exception(c, VEC_GP, (csel & 0xFFFC) + ext)
    if not desc_present(chi):
        raise_exception(c, VEC_NP, (csel & 0xFFFC) + ext)
    if vm:
        v86_handler_check(c, chi, csel, ext)
    if off > desc_limit(clo, chi):
        raise_exception(c, VEC_GP, 0)
    fl = get_eflags(c) | c.flags_fixed
    if not (chi & 0x400) and dpl < <uint32_t>c.cpl:
        # to an inner ring: the handler's stack from the TSS
        inner_stack(c, dpl, &nss, &nesp)
        frame_init(&f, &nss, nesp, (nss.sel & 0xFFFC) + ext)
        if vm:
            v86_push_segs(c, &f, size)  # GS FS DS ES
        frame_push(c, &f, c.seg[S_SS].sel, size)
        frame_push(c, &f, c.regs[R_ESP], size)
        frame_push(c, &f, fl, size)
        frame_push(c, &f, c.seg[S_CS].sel, size)
        frame_push(c, &f, ret_eip, size)
        if flags & DLV_ERR:
            frame_push(c, &f, c.fault_err, size)
        c.seg[S_SS] = nss
        c.regs[R_ESP] = 0
        commit_esp(c, &f)
        if vm:
            v86_null_segs(c)
    else:
        dpl = c.cpl
        frame_init(&f, &c.seg[S_SS], c.regs[R_ESP], ext)
        frame_push(c, &f, fl, size)
        frame_push(c, &f, c.seg[S_CS].sel, size)
        frame_push(c, &f, ret_eip, size)
        if flags & DLV_ERR:
            frame_push(c, &f, c.fault_err, size)
        commit_esp(c, &f)
    if c.events & EV_INTLOG:            # --trace-int (debug.pxi)
        intlog_add(c, ret_eip, csel, off)
    load_cs_pm(c, csel, clo, chi, dpl)
    c.flags &= ~(<uint32_t>(F_TF | F_NT | F_RF | F_VM))
    if t == DESC_INT16 or t == DESC_INT32:
        c.flags &= ~(<uint32_t>F_IF)
    c.eip = off
    c.halted = 0
