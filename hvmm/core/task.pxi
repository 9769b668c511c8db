# Hardware task switching (Intel SDM Vol. 3A, chapter 7): JMP and CALL to
# a TSS or a task gate (privilege.pxi: far_pm), INT n, exceptions and
# interrupts through a task gate in the IDT (idt.pxi: pm_interrupt), IRET
# with EFLAGS.NT (privilege.pxi: iret_pm). Out of line and never on the
# hot path.
#
# A switch has two halves (SDM 7.3). Before the commit point every check
# raises with nothing changed (docs/faults.md): the TSS limits, and every
# page the switch will touch is translated first, so the writes to the old
# TSS and the GDT cannot fault half-way. After the commit (TR, registers,
# EFLAGS, CR3, LDTR and the selectors are the new task's), the descriptor
# checks of the new segments raise in the context of the new task: the
# switch points the fault checkpoint at the new EIP and ESP (insn_eip,
# esp_saved_at) and sets c.task_committed for `deliver` (exception.pxi).

cdef enum:
    TS_JMP = 0      # old task's busy bit cleared; no back-link
    TS_CALL = 1     # CALL, INT n, exceptions, interrupts: nested (NT, back-link)
    TS_IRET = 2     # back to the back-link: old busy bit cleared, NT cleared

cdef enum:
    DR6_BT = 0x8000         # debug trap on a task switch (the TSS's T bit)
    DR7_LOCAL = 0x155       # L0-L3 and LE: cleared by a switch (SDM 17.2.4)

# 32-bit TSS layout (SDM 7.2.1, figure 7-2) and the 16-bit one (figure 7-11).
cdef enum:
    TSS32_CR3 = 0x1C
    TSS32_EIP = 0x20
    TSS32_EFLAGS = 0x24
    TSS32_REGS = 0x28       # EAX ECX EDX EBX ESP EBP ESI EDI, 4 bytes each
    TSS32_SEGS = 0x48       # ES CS SS DS FS GS, 4 bytes each
    TSS32_LDT = 0x60
    TSS32_TRAP = 0x64       # bit 0: T
    TSS32_MIN_LIMIT = 0x67
    TSS16_IP = 0x0E
    TSS16_FLAGS = 0x10
    TSS16_REGS = 0x12       # AX CX DX BX SP BP SI DI, 2 bytes each
    TSS16_SEGS = 0x22       # ES CS SS DS, 2 bytes each
    TSS16_LDT = 0x2A
    TSS16_MIN_LIMIT = 0x2B

cdef inline int tss_is32(uint32_t attr_or_type) noexcept nogil:
    return (attr_or_type & 8) != 0

# The descriptor of a TSS named by a task gate (JMP/CALL through a gate,
# INT through an IDT task gate): in the GDT, an available TSS, present
# (SDM JMP/CALL/INT pseudocode: #GP/#NP with the TSS selector).
cdef void gate_tss(CpuState* c, uint32_t tsel, uint32_t ext, uint32_t* lo,
                   uint32_t* hi) noexcept nogil:
    cdef uint32_t err = (tsel & 0xFFFC) | ext
    cdef uint32_t t
    if (tsel & 4) or (tsel & 0xFFF8) + 7 > c.gdtr.limit:
        raise_exception(c, VEC_GP, err)
    lo[0] = sys_rd32(c, c.gdtr.base + (tsel & 0xFFF8))
    hi[0] = sys_rd32(c, c.gdtr.base + (tsel & 0xFFF8) + 4)
    t = desc_type(hi[0])
    if desc_is_seg(hi[0]) or (t != DESC_TSS16 and t != DESC_TSS32):
        raise_exception(c, VEC_GP, err)
    if not desc_present(hi[0]):
        raise_exception(c, VEC_NP, err)

# Far JMP (call = 0) or CALL to a TSS or task gate, whose descriptor far_pm
# has read: the checks of the JMP/CALL pseudocode, then the switch. `ret`
# is the EIP saved in the old TSS (the next instruction).
cdef int task_far(CpuState* c, uint32_t sel, uint32_t lo, uint32_t hi, int call,
                  uint32_t ret) noexcept nogil:
    cdef uint32_t t = desc_type(hi)
    cdef uint32_t dpl = desc_dpl(hi)
    if dpl < <uint32_t>c.cpl or dpl < (sel & 3):
        raise_exception(c, VEC_GP, sel & 0xFFFC)
    if t == DESC_TASK_GATE:
        if not desc_present(hi):
            raise_exception(c, VEC_NP, sel & 0xFFFC)
        sel = lo >> 16
        gate_tss(c, sel, 0, &lo, &hi)
    else:
        # a TSS descriptor itself: only in the GDT, and not busy
        if (sel & 4) or t == DESC_TSS16_BUSY or t == DESC_TSS32_BUSY:
            raise_exception(c, VEC_GP, sel & 0xFFFC)
        if not desc_present(hi):
            raise_exception(c, VEC_NP, sel & 0xFFFC)
    task_switch(c, sel, lo, hi, TS_CALL if call else TS_JMP, ret, 0, 0, 0)
    return PM_OK

# IRET with NT set: back to the task in the current TSS's back-link, which
# must be a busy TSS in the GDT (SDM IRET, TASK-RETURN). `ret` is the EIP
# after the IRET, saved in the TSS being left.
cdef int task_iret(CpuState* c, uint32_t ret) noexcept nogil:
    cdef uint32_t link = sys_rd16(c, c.tr.base)
    cdef uint32_t lo, hi, t
    if (link & 4) or (link & 0xFFF8) + 7 > c.gdtr.limit:
        raise_exception(c, VEC_TS, link & 0xFFFC)
    lo = sys_rd32(c, c.gdtr.base + (link & 0xFFF8))
    hi = sys_rd32(c, c.gdtr.base + (link & 0xFFF8) + 4)
    t = desc_type(hi)
    if desc_is_seg(hi) or (t != DESC_TSS16_BUSY and t != DESC_TSS32_BUSY):
        raise_exception(c, VEC_TS, link & 0xFFFC)
    if not desc_present(hi):
        raise_exception(c, VEC_NP, link & 0xFFFC)
    task_switch(c, link, lo, hi, TS_IRET, ret, 0, 0, 0)
    return PM_OK

# An interrupt or exception through a task gate of the IDT (pm_interrupt
# checked the gate): a nested switch, then the error code, if the vector
# has one, pushed on the new task's stack (SDM 6.12.2, INT n TASK-GATE).
cdef void task_interrupt(CpuState* c, uint32_t tsel, uint32_t ret_eip, int flags) noexcept nogil:
    cdef uint32_t ext = 1 if (flags & DLV_EXT) else 0
    cdef uint32_t err = c.fault_err
    cdef uint32_t lo, hi
    gate_tss(c, tsel, ext, &lo, &hi)
    task_switch(c, tsel, lo, hi, TS_CALL, ret_eip, ext, flags & DLV_ERR, err)

# Translate [lin, lin + size) for a system access before anything is
# written, so a #PF comes before the commit (SDM 7.3 step 5; at most two
# pages: every range here is shorter than a page).
cdef inline void touch(CpuState* c, uint32_t lin, uint32_t size, int write) noexcept nogil:
    translate_sys(c, lin, write)
    translate_sys(c, lin + size - 1, write)

# The busy bit (type bit 1) of the TSS descriptor of `sel` in the GDT.
cdef inline uint32_t busy_byte_at(CpuState* c, uint32_t sel) noexcept nogil:
    return c.gdtr.base + (sel & 0xFFF8) + 5

cdef void set_busy(CpuState* c, uint32_t sel, int busy) noexcept nogil:
    cdef uint32_t a = busy_byte_at(c, sel)
    cdef uint32_t v = sys_rd8(c, a)
    sys_wr8(c, a, (v | 2) if busy else (v & ~2u))

# The switch (SDM 7.3): to the TSS `sel` with descriptor lo/hi (its checks
# by the caller done), saving the old task with EIP `old_eip`. `ext`: the
# EXT bit of the error codes raised before the commit. With push_err, `err`
# is pushed on the new stack afterwards.
cdef void task_switch(CpuState* c, uint32_t sel, uint32_t lo, uint32_t hi, int source,
                      uint32_t old_eip, uint32_t ext, int push_err, uint32_t err) noexcept nogil:
    cdef uint32_t nbase = desc_base(lo, hi)
    cdef int n32 = tss_is32(desc_type(hi))
    cdef int o32 = tss_is32(c.tr.attr)
    cdef uint32_t obase = c.tr.base
    cdef uint32_t old_sel = c.tr.sel
    cdef uint32_t regs[8]
    cdef uint32_t segs[6]
    cdef uint32_t fl, eip, cr3 = 0, ldt, trap = 0, i
    cdef Frame f
    sel &= 0xFFFF
    # ---- checks, nothing changed yet
    if desc_limit(lo, hi) < <uint32_t>(TSS32_MIN_LIMIT if n32 else TSS16_MIN_LIMIT):
        raise_exception(c, VEC_TS, (sel & 0xFFFC) | ext)
    # the old TSS must hold the state saved into it (as Bochs checks)
    if (c.tr.attr & ATTR_UNUSABLE) or c.tr.limit < <uint32_t>(TSS32_SEGS + 23 if o32 else TSS16_SEGS + 7):
        raise_exception(c, VEC_TS, old_sel & 0xFFFC)
    touch(c, nbase, (TSS32_MIN_LIMIT if n32 else TSS16_MIN_LIMIT) + 1, 0)
    if source == TS_CALL:
        touch(c, nbase, 2, 1)                           # the back-link
    if o32:
        touch(c, obase + TSS32_EIP, TSS32_SEGS + 24 - TSS32_EIP, 1)
    else:
        touch(c, obase + TSS16_IP, TSS16_SEGS + 8 - TSS16_IP, 1)
    if source != TS_CALL and (old_sel & 0xFFFC):
        touch(c, busy_byte_at(c, old_sel), 1, 1)
    if source != TS_IRET:
        touch(c, busy_byte_at(c, sel), 1, 1)
    # ---- the old task: busy bit (JMP, IRET), its state saved (SDM 7.3 steps 6-8)
    fl = get_eflags(c) | c.flags_fixed
    if source == TS_IRET:
        fl &= ~(<uint32_t>F_NT)
    if source != TS_CALL and (old_sel & 0xFFFC):
        set_busy(c, old_sel, 0)
    if o32:
        sys_wr32(c, obase + TSS32_EIP, old_eip)
        sys_wr32(c, obase + TSS32_EFLAGS, fl)
        for i in range(8):
            sys_wr32(c, obase + TSS32_REGS + i * 4, c.regs[i])
        for i in range(6):
            sys_wr16(c, obase + TSS32_SEGS + i * 4, c.seg[i].sel)
    else:
        sys_wr16(c, obase + TSS16_IP, old_eip & 0xFFFF)
        sys_wr16(c, obase + TSS16_FLAGS, fl & 0xFFFF)
        for i in range(8):
            sys_wr16(c, obase + TSS16_REGS + i * 2, c.regs[i] & 0xFFFF)
        for i in range(4):
            sys_wr16(c, obase + TSS16_SEGS + i * 2, c.seg[i].sel)
    if source == TS_CALL:
        sys_wr16(c, nbase, old_sel)                     # the back-link
    # ---- the new task's state (read after the save: a switch to the same
    # TSS, an IRET to itself, loads what was just saved)
    if n32:
        cr3 = sys_rd32(c, nbase + TSS32_CR3)
        eip = sys_rd32(c, nbase + TSS32_EIP)
        fl = sys_rd32(c, nbase + TSS32_EFLAGS)
        for i in range(8):
            regs[i] = sys_rd32(c, nbase + TSS32_REGS + i * 4)
        for i in range(6):
            segs[i] = sys_rd16(c, nbase + TSS32_SEGS + i * 4)
        ldt = sys_rd16(c, nbase + TSS32_LDT)
        trap = sys_rd16(c, nbase + TSS32_TRAP) & 1
    else:
        # a 16-bit TSS: the registers' upper halves read as FFFF (as Bochs
        # and QEMU load them), EFLAGS' as 0, FS and GS null
        eip = sys_rd16(c, nbase + TSS16_IP)
        fl = sys_rd16(c, nbase + TSS16_FLAGS)
        for i in range(8):
            regs[i] = 0xFFFF0000u | sys_rd16(c, nbase + TSS16_REGS + i * 2)
        for i in range(4):
            segs[i] = sys_rd16(c, nbase + TSS16_SEGS + i * 2)
        segs[S_FS] = segs[S_GS] = 0
        ldt = sys_rd16(c, nbase + TSS16_LDT)
    if source != TS_IRET:
        set_busy(c, sel, 1)
    # ---- commit (SDM 7.3 steps 9-12): from here on a fault is the new task's
    cache_load(&c.tr, sel, lo, hi | 0x200)
    c.cr[0] |= 8                                        # CR0.TS
    c.dr[7] &= ~(<uint32_t>DR7_LOCAL)
    if source == TS_CALL:
        fl |= F_NT
    c.eip = eip
    for i in range(8):
        c.regs[i] = regs[i]
    write_flags(c, fl, c.flags_writable32 | 0x30000 | vif_vip_bits(c))   # + RF, VM
    for i in range(6):
        cache_null(&c.seg[i], segs[i])                  # until loaded below
    cache_null(&c.ldtr, ldt)
    c.win_len = 0
    c.insn_eip = eip                # a fault from here on restarts at the new
    c.esp_saved_at = NO_SERIAL      # task's first instruction, with its ESP
    c.task_committed = 1
    c.task_switches += 1
    c.cs_size_changed = 1           # end the chunk: CS, CR3, IF may all change
    if n32 and (c.cr[0] & CR0_PG):
        set_cr(c, 3, cr3)           # flushes the TLB but for global pages
    task_load_segments(c, segs, ldt)
    if push_err:
        frame_init(&f, &c.seg[S_SS], c.regs[R_ESP], ext)
        frame_push(c, &f, err, 4 if n32 else 2)
        commit_esp(c, &f)
    if c.eip > c.seg[S_CS].limit:
        raise_exception(c, VEC_GP, ext)
    if trap:
        c.dr[6] |= DR6_BT           # #DB before the new task's first instruction
        raise_exception(c, VEC_DB, 0)

# LDTR and the segment registers of the new task, with the checks of SDM
# table "Exception Conditions Checked During a Task Switch" (#TS with the
# selector; #NP, or #SS for SS, when not present).
# CS first (its RPL is the new CPL the others are checked against), as
# QEMU orders them. Until CS is loaded the CPL is 3, so a fault on the LDT
# takes a stack from the new TSS (as Bochs does).
cdef void task_load_segments(CpuState* c, uint32_t* segs, uint32_t ldt) noexcept nogil:
    cdef uint32_t lo, hi, sel, dpl, rpl
    cdef int s
    c.cpl = 3
    if ldt & 0xFFFC:
        if ldt & 4:
            raise_exception(c, VEC_TS, ldt & 0xFFFC)
        read_desc(c, ldt, &lo, &hi, VEC_TS)
        if desc_is_seg(hi) or desc_type(hi) != DESC_LDT or not desc_present(hi):
            raise_exception(c, VEC_TS, ldt & 0xFFFC)
        cache_load(&c.ldtr, ldt, lo, hi)
    if c.flags & 0x20000:
        task_enter_v86(c, segs)
        return
    sel = segs[S_CS]
    rpl = sel & 3
    if (sel & 0xFFFC) == 0:
        raise_exception(c, VEC_TS, 0)
    read_desc(c, sel, &lo, &hi, VEC_TS)
    dpl = desc_dpl(hi)
    if not desc_is_code(hi) or ((hi & 0x400) and dpl > rpl) or (not (hi & 0x400) and dpl != rpl):
        raise_exception(c, VEC_TS, sel & 0xFFFC)
    if not desc_present(hi):
        raise_exception(c, VEC_NP, sel & 0xFFFC)
    load_cs_pm(c, sel, lo, hi, rpl)
    sel = segs[S_SS]
    if (sel & 0xFFFC) == 0:
        raise_exception(c, VEC_TS, 0)
    read_desc(c, sel, &lo, &hi, VEC_TS)
    check_stack_desc(c, sel, hi, rpl, VEC_TS)
    desc_set_accessed(c, sel, &hi)
    cache_load(&c.seg[S_SS], sel, lo, hi)
    for s in range(6):
        if s != S_CS and s != S_SS:
            task_load_data_seg(c, s, segs[s])

# DS ES FS GS: null is allowed; else data or readable code, DPL >= CPL and
# RPL unless conforming code (#TS), present (#NP).
cdef void task_load_data_seg(CpuState* c, int s, uint32_t sel) noexcept nogil:
    cdef uint32_t lo, hi, dpl
    if (sel & 0xFFFC) == 0:
        return
    read_desc(c, sel, &lo, &hi, VEC_TS)
    dpl = desc_dpl(hi)
    if not desc_is_seg(hi) or (hi & 0xA00) == 0x800:
        raise_exception(c, VEC_TS, sel & 0xFFFC)
    if (hi & 0xC00) != 0xC00 and ((sel & 3) > dpl or <uint32_t>c.cpl > dpl):
        raise_exception(c, VEC_TS, sel & 0xFFFC)
    if not desc_present(hi):
        raise_exception(c, VEC_NP, sel & 0xFFFC)
    desc_set_accessed(c, sel, &hi)
    cache_load(&c.seg[s], sel, lo, hi)

# A task whose EFLAGS has VM: its segments are real-mode style (base =
# selector * 16, 64 KiB), CPL 3 (SDM 20.2.5). Running it is virtual-8086
# mode's (core/v86.pxi, once merged: its segment loader goes here).
cdef void task_enter_v86(CpuState* c, uint32_t* segs) noexcept nogil:
    cdef uint32_t old = c.seg[S_CS].attr & ATTR_DB
    cdef int s
    for s in range(6):
        c.seg[s].sel = segs[s] & 0xFFFF
        c.seg[s].base = (segs[s] & 0xFFFF) << 4
        c.seg[s].limit = 0xFFFF
        c.seg[s].attr = 0xF3            # present, DPL 3, writable data, accessed
        seg_bounds(&c.seg[s])
    c.cpl = 3
    cs_size_update(c, old)
