# Virtual-8086 mode (Intel SDM Vol. 3, ch. 20 "8086 Emulation", 20.2-20.3):
# real-mode code runs under protected mode, with paging, at CPL 3, while
# EFLAGS.VM is set. Everything here is out of line; the protected-mode
# paths (descriptor.pxi, privilege.pxi, idt.pxi, system.pxi) call in
# when they see VM, so real mode and protected mode pay nothing for it.
#
# What V86 mode is here:
# * Segments (20.2.1): every segment register loads real-mode style, base
#   = selector << 4, limit FFFF, a 16-bit writable data segment at DPL 3
#   (CS included, as Bochs and VMX's V86 guest state have it). The run
#   loop picks its 16-bit instantiation from CS's D bit as for any code.
# * CPL 3 (20.2.4): the TLB's user/supervisor checks apply, and the
#   privileged instructions (HLT, LGDT, MOV CRn/DRn...) raise #GP(0)
#   through priv_check; LLDT SLDT LTR STR LAR LSL VERR VERW ARPL are #UD
#   (the generated pm_only rows test VM).
# * IOPL-sensitive instructions (20.2.7): CLI STI PUSHF POPF INT n (CD;
#   not INT3, INTO, INT1) and IRET raise #GP(0) when IOPL < 3, so a
#   monitor can emulate them. With IOPL 3 they run as in real mode, but POPF and
#   IRET cannot change IOPL or VM.
# * I/O (20.2.8.1): IN/OUT/INS/OUTS always consult the TSS's I/O bitmap,
#   whatever IOPL is (io_check, privilege.pxi).
# * Entry (20.2.5) by an IRETD at CPL 0 whose EFLAGS image has VM set (the
#   frame then holds ESP SS ES DS FS GS too); exit (20.2.6, 20.3.1.1) by
#   an interrupt or exception through an interrupt or trap gate to a
#   non-conforming DPL-0 code segment (anything else is #GP(selector)),
#   which pushes GS FS DS ES on the ring-0 stack from the TSS and nulls
#   them. 16-bit gates push 16-bit images (as the SDM's INT pseudo-code,
#   Bochs and QEMU do). Task gates and task switches to a V86 task are
#   the task-switch code's.
# * Not built: CR4.VME and CR4.PVI (virtual interrupt flags, the
#   redirection bitmap); CPUID does not report VME.

cdef enum:
    V86_SEG_ATTR = 0xF3     # present, DPL 3, read/write data, accessed; D/B 0

# A segment register loaded in V86 mode (SDM 20.2.1): real-mode style.
cdef void v86_seg(CpuState* c, int s, uint32_t sel) noexcept nogil:
    cdef SegCache* g = &c.seg[s]
    g.sel = sel & 0xFFFF
    g.base = (sel & 0xFFFF) << 4
    g.limit = 0xFFFF
    g.attr = V86_SEG_ATTR
    seg_bounds(g)
    if s == S_CS:
        c.win_len = 0

# The IOPL-sensitive instructions at IOPL < 3: #GP(0) to the monitor
# (SDM 20.2.7; without CR4.VME).
cdef void v86_sensitive(CpuState* c) noexcept nogil:
    if (c.flags & F_IOPL) != F_IOPL:
        raise_exception(c, VEC_GP, 0)

# ---- entering: IRETD at CPL 0 with VM in the EFLAGS image ---------------------
# (SDM 20.2.5 and IRET's RETURN-TO-VIRTUAL-8086-MODE.) EIP, CS and EFLAGS
# were popped from `f`; the rest of the frame is ESP SS ES DS FS GS, each
# a dword. Every pop comes before any state changes (a #SS leaves the
# IRET restartable); EFLAGS is taken whole (CPL 0), EIP is cut to 16 bits.
cdef int v86_enter(CpuState* c, Frame* f, uint32_t eip, uint32_t cs, uint32_t fl) noexcept nogil:
    cdef uint32_t sel[6]
    cdef uint32_t nesp, old_db = c.seg[S_CS].attr & ATTR_DB
    cdef int s
    nesp = frame_pop(c, f, 4)
    sel[S_SS] = frame_pop(c, f, 4)
    sel[S_ES] = frame_pop(c, f, 4)
    sel[S_DS] = frame_pop(c, f, 4)
    sel[S_FS] = frame_pop(c, f, 4)
    sel[S_GS] = frame_pop(c, f, 4)
    sel[S_CS] = cs
    write_flags(c, fl, c.flags_writable32 | F_RF | F_VM)
    for s in range(6):
        v86_seg(c, s, sel[s])
    c.regs[R_ESP] = nesp                # all 32 bits (SS's B bit is 0 now)
    c.eip = eip & 0xFFFF
    c.cpl = 3
    cs_size_update(c, old_db)           # a 32-bit monitor: the chunk ends
    c.v86_entries += 1
    return PM_OK

# ---- inside: IRET, far transfers (real-mode style, with CS limit FFFF) -------
# IRET in V86 (IRET's RETURN-FROM-VIRTUAL-8086-MODE): #GP(0) at IOPL < 3;
# at IOPL 3 a real-mode IRET that leaves IOPL and VM alone.
cdef int v86_iret(CpuState* c, int o32) noexcept nogil:
    cdef uint32_t ip, cs, fl, writable
    v86_sensitive(c)
    stack_checkpoint(c)
    if o32:
        ip = pop32(c)
        cs = pop32(c) & 0xFFFF
        fl = pop32(c)
        writable = c.flags_writable32 | F_RF
    else:
        ip = pop16(c)
        cs = pop16(c)
        fl = pop16(c)
        writable = c.flags_writable16
    if ip > 0xFFFF:
        raise_exception(c, VEC_GP, 0)
    write_flags(c, fl, writable & ~(<uint32_t>F_IOPL))
    v86_seg(c, S_CS, cs)
    c.eip = ip
    return PM_OK

# Far JMP/CALL in V86 (far_pm branches here): the real-mode transfer.
cdef int v86_far(CpuState* c, uint32_t sel, uint32_t off, int call, int o32,
                 uint32_t ret) noexcept nogil:
    if off > 0xFFFF:
        raise_exception(c, VEC_GP, 0)
    if call:
        stack_checkpoint(c)
        pushv(c, c.seg[S_CS].sel, o32)
        pushv(c, ret, o32)
    v86_seg(c, S_CS, sel)
    c.eip = off
    return PM_OK

# RETF [release] in V86 (retf_pm branches here).
cdef void v86_retf(CpuState* c, uint32_t release, int o32) noexcept nogil:
    cdef uint32_t off, sel
    stack_checkpoint(c)
    off = popv(c, o32)
    sel = popv(c, o32) & 0xFFFF
    if off > 0xFFFF:
        raise_exception(c, VEC_GP, 0)
    set_sp(c, c.regs[R_ESP] + release, sp_mask(c))
    v86_seg(c, S_CS, sel)
    c.eip = off

# ---- leaving: an interrupt or exception (SDM 20.3.1.1) ------------------------
# pm_interrupt (idt.pxi) calls these while VM is set.
#
# Before the IDT is read: INT n (CD) at IOPL < 3 raises #GP(0) (the
# monitor emulates it: 20.3.3, and INT's pseudo-code); INT3, INTO and INT1
# are not IOPL-sensitive (as in Bochs and QEMU): they, exceptions and
# hardware interrupts go through the IDT (INT3 and INTO with the gate's
# DPL check).
cdef inline void v86_int_check(CpuState* c, int flags) noexcept nogil:
    if flags & DLV_INTN:
        v86_sensitive(c)

# The gate's code segment must be non-conforming with DPL 0 (a handler at
# CPL 0 on the TSS's ring-0 stack), else #GP(selector).
cdef void v86_handler_check(CpuState* c, uint32_t chi, uint32_t csel, uint32_t ext) noexcept nogil:
    if (chi & 0x400) or desc_dpl(chi) != 0:
        raise_exception(c, VEC_GP, (csel & 0xFFFC) + ext)

# The four data segment registers, first on the ring-0 frame (GS at the
# top), in the gate's size.
cdef void v86_push_segs(CpuState* c, Frame* f, int size) noexcept nogil:
    frame_push(c, f, c.seg[S_GS].sel, size)
    frame_push(c, f, c.seg[S_FS].sel, size)
    frame_push(c, f, c.seg[S_DS].sel, size)
    frame_push(c, f, c.seg[S_ES].sel, size)

# Once the frame is committed: the handler starts with them null.
cdef void v86_null_segs(CpuState* c) noexcept nogil:
    cache_null(&c.seg[S_ES], 0)
    cache_null(&c.seg[S_DS], 0)
    cache_null(&c.seg[S_FS], 0)
    cache_null(&c.seg[S_GS], 0)
