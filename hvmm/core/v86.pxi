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
#   not INT3, INTO, INT1) and IRET raise #GP(0) when IOPL < 3 (without
#   CR4.VME: below), so a
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
# * CR4.VME (the 686 model; 20.3.2-20.3.3, the SDM's CLI STI PUSHF POPF
#   IRET INT pseudo-code, as Bochs has it): at IOPL < 3, CLI and STI
#   clear and set VIF; 16-bit PUSHF pushes IF from VIF and IOPL as 3;
#   16-bit POPF and IRET load VIF from the image's IF and leave IF and
#   IOPL alone. STI, POPF or IRET that would set VIF while VIP is set, and
#   POPF or IRET with TF in the image, raise #GP(0); so do PUSHFD, POPFD
#   and IRETD. INT n looks up the interrupt redirection bitmap (32 bytes
#   below the TSS's I/O map base): bit clear, it runs as in real mode
#   through the IVT at linear 0 (at IOPL < 3 the FLAGS image has IF from
#   VIF and IOPL 3, and VIF is cleared instead of IF); bit set, as without
#   VME. Exceptions, hardware interrupts, INT3, INTO and INT1 go through
#   the IDT as before.
# * CR4.PVI (20.4): CLI and STI at CPL 3 outside V86 with IOPL < 3 clear
#   and set VIF (STI with VIP set: #GP(0)); nothing else changes.
# * VIF and VIP exist on the 686 only: IRETD at CPL 0 (and a task switch)
#   loads them; POPF never does.

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

cdef enum:
    CR4_VME = 1
    CR4_PVI = 2
    # What POPF and IRET load in V86 at IOPL < 3 with VME: CF PF AF ZF SF
    # TF DF OF NT, and VIF from the image's IF.
    VME_FLAGS_WRITABLE = 0x4DD5 | F_VIF

cdef inline uint32_t vif_vip_bits(CpuState* c) noexcept nogil:
    return (F_VIF | F_VIP) if c.model == MODEL_686 else 0

# CLI/STI at CPL > IOPL (system.pxi). CPL > IOPL in V86 means IOPL < 3.
cdef inline int virtual_if(CpuState* c) noexcept nogil:
    if c.flags & F_VM:
        return (c.cr[4] & CR4_VME) != 0
    return c.cpl == 3 and (c.cr[4] & CR4_PVI) != 0

cdef void cli_virtual(CpuState* c) noexcept nogil:
    if not virtual_if(c):
        raise_exception(c, VEC_GP, 0)
    c.flags &= ~(<uint32_t>F_VIF)

cdef void sti_virtual(CpuState* c) noexcept nogil:
    if not virtual_if(c) or (c.flags & F_VIP):
        raise_exception(c, VEC_GP, 0)
    c.flags |= F_VIF        # (no interrupt shadow: nothing is unmasked)

# PUSHF in V86: 0 to go on as in real mode (IOPL 3); else #GP(0), or with
# VME a 16-bit PUSHF of IF from VIF and IOPL 3 (returns 1).
cdef int v86_pushf(CpuState* c, int o32) noexcept nogil:
    cdef uint32_t fl
    if (c.flags & F_IOPL) == F_IOPL:
        return 0
    if o32 or not (c.cr[4] & CR4_VME):
        raise_exception(c, VEC_GP, 0)
    fl = (flags_image(c) & 0xFDFF) | F_IOPL
    if c.flags & F_VIF:
        fl |= F_IF
    push16(c, fl)
    return 1

# A 16-bit FLAGS image popped by POPF or IRET in V86 at IOPL < 3 with VME.
cdef void vme_write_flags(CpuState* c, uint32_t fl) noexcept nogil:
    if (fl & F_TF) or ((fl & F_IF) and (c.flags & F_VIP)):
        raise_exception(c, VEC_GP, 0)
    if fl & F_IF:
        fl |= F_VIF
    write_flags(c, fl & 0xFFFFF, VME_FLAGS_WRITABLE)

# POPF in V86 (popf, system.pxi, at CPL 3): 0 to go on (IOPL 3); else
# #GP(0), or with VME a 16-bit POPF into VIF (returns 1).
cdef int v86_popf(CpuState* c, int o32) noexcept nogil:
    if (c.flags & F_IOPL) == F_IOPL:
        return 0
    if o32 or not (c.cr[4] & CR4_VME):
        raise_exception(c, VEC_GP, 0)
    stack_checkpoint(c)
    vme_write_flags(c, pop16(c))
    return 1

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
    write_flags(c, fl, c.flags_writable32 | F_RF | F_VM | vif_vip_bits(c))
    for s in range(6):
        v86_seg(c, s, sel[s])
    c.regs[R_ESP] = nesp                # all 32 bits (SS's B bit is 0 now)
    c.eip = eip & 0xFFFF
    c.cpl = 3
    cs_size_update(c, old_db)           # a 32-bit monitor: the chunk ends
    c.v86_entries += 1
    return PM_OK

# ---- inside: IRET, far transfers (real-mode style, with CS limit FFFF) -------
# IRET in V86 (IRET's RETURN-FROM-VIRTUAL-8086-MODE): #GP(0) at IOPL < 3
# (but a 16-bit IRET with VME loads VIF); at IOPL 3 a real-mode IRET that
# leaves IOPL and VM alone.
cdef int v86_iret(CpuState* c, int o32) noexcept nogil:
    cdef uint32_t ip, cs, fl, writable
    if (c.flags & F_IOPL) != F_IOPL:
        if o32 or not (c.cr[4] & CR4_VME):
            raise_exception(c, VEC_GP, 0)
        stack_checkpoint(c)
        ip = pop16(c)
        cs = pop16(c)
        vme_write_flags(c, pop16(c))
        v86_seg(c, S_CS, cs)
        c.eip = ip
        return PM_OK
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
# monitor emulates it: 20.3.3, and INT's pseudo-code), unless CR4.VME
# redirects it (below; returns 1). INT3, INTO and INT1 are not
# IOPL-sensitive (as in Bochs and QEMU): they, exceptions and hardware
# interrupts go through the IDT (INT3 and INTO with the gate's DPL check).
cdef inline int v86_int_check(CpuState* c, int flags, uint32_t vec, uint32_t ret_eip) noexcept nogil:
    if flags & DLV_INTN:
        if c.cr[4] & CR4_VME:
            return v86_redirect(c, vec, ret_eip)
        v86_sensitive(c)
    return 0

# INT n with CR4.VME (20.3.3.4-20.3.3.6, Bochs's v86_redirect_interrupt):
# bit n of the redirection bitmap clear, the V86 task's own IVT handles it
# as in real mode (returns 1); set, #GP(0) at IOPL < 3, else the IDT (0).
# A bitmap byte past the TSS's limit is #GP(0).
cdef int v86_redirect(CpuState* c, uint32_t vec, uint32_t ret_eip) noexcept nogil:
    cdef uint32_t a, ip, cs, fl
    cdef uint32_t iopl3 = (c.flags & F_IOPL) == F_IOPL
    if (c.tr.attr & ATTR_UNUSABLE) or c.tr.limit < 0x67:
        raise_exception(c, VEC_GP, 0)
    a = sys_rd16(c, c.tr.base + 0x66) - 32 + (vec >> 3)
    if a > c.tr.limit:
        raise_exception(c, VEC_GP, 0)
    if (sys_rd8(c, c.tr.base + a) >> (vec & 7)) & 1:
        if not iopl3:
            raise_exception(c, VEC_GP, 0)
        return 0
    fl = flags_image(c) & 0xFFFF
    if not iopl3:
        fl = (fl & ~(<uint32_t>F_IF)) | F_IOPL | (F_IF if c.flags & F_VIF else 0)
    ip = sys_rd16(c, vec * 4)
    cs = sys_rd16(c, vec * 4 + 2)
    push16(c, fl)
    push16(c, c.seg[S_CS].sel)
    push16(c, ret_eip)
    if c.events & EV_INTLOG:            # --trace-int (debug.pxi)
        intlog_add(c, ret_eip, cs, ip)
    v86_seg(c, S_CS, cs)
    c.eip = ip
    c.flags &= ~(<uint32_t>(F_TF | F_RF | (F_IF if iopl3 else F_VIF)))
    c.halted = 0
    return 1

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
