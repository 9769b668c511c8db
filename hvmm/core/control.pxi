# Control transfer: segment loads, far jumps/calls/returns, interrupts
# and exceptions through the real-mode IVT (at IDTR.base), IRET.

# Real mode: the selector alone gives the base; limit and attributes stay
# as they are (what "unreal mode" relies on).
cdef inline void load_seg_real(CpuState* c, int s, uint32_t sel) noexcept nogil:
    c.seg[s].sel = sel & 0xFFFF
    c.seg[s].base = (sel & 0xFFFF) << 4
    if s == S_CS:
        c.win_len = 0

# Any segment register load but CS: the descriptor's in protected mode.
cdef inline void load_seg(CpuState* c, int s, uint32_t sel) noexcept nogil:
    if c.cr[0] & 1:
        load_seg_pm(c, s, sel)
    else:
        load_seg_real(c, s, sel)

# After a protected-mode transfer: a change of CS's default size ends the
# chunk (the loop is compiled per size; run_chunk then takes the target
# from c.eip, which its own 16-bit mask would cut), and so does a task switch.
cdef inline void pm_after(CpuState* c, Insn* d, uint64_t* left, int r) noexcept nogil:
    if __builtin_expect(r != 0, 0):
        stop_run(c, d, left, EXIT_UNIMPLEMENTED, 0)
    elif c.cs_size_changed:
        stop_run(c, d, left, STOP_EVENTS, 1)

# The FLAGS image pushed by PUSHF/INT: the 8086 reads bits 12-15 as 1.
cdef inline uint32_t flags_image(CpuState* c) noexcept nogil:
    return get_eflags(c) | c.flags_fixed

cdef inline void write_flags(CpuState* c, uint32_t v, uint32_t writable) noexcept nogil:
    set_arith_flags(c, v & F_ARITH)
    writable &= ~(<uint32_t>F_ARITH)
    c.flags = (c.flags & ~writable) | (v & writable) | c.flags_fixed

# Take interrupt `vec` through the real-mode IVT, returning to ret_eip.
# A vector outside the IDT limit raises #GP(0) (SDM Vol. 3A, 20.1.4), and
# so does its delivery in turn: with IDTR.limit = 0, the usual way to reset
# a 386, that ends in a triple fault. A push outside SS's limit raises
# #SS(0). The caller runs it under a guard (exception.pxi: deliver, or
# the instruction loop for INT n).
cdef void do_interrupt(CpuState* c, uint32_t vec, uint32_t ret_eip) noexcept nogil:
    cdef uint32_t entry = vec * 4
    cdef uint32_t ip, cs
    if c.events & EV_INTLOG:            # --trace-int: the state before (debug.pxi)
        intlog_begin(c, vec)
    if c.cr[0] & 1:
        pm_interrupt(c, vec, ret_eip, c.deliver_flags)
        return
    if entry + 3 > c.idtr.limit:
        raise_exception(c, VEC_GP, 0)
    push16(c, flags_image(c) & 0xFFFF)
    push16(c, c.seg[S_CS].sel)
    push16(c, ret_eip)
    c.flags &= ~(<uint32_t>(F_IF | F_TF | F_AC))
    ip = phys_rd8(c, lin2phys(c, c.idtr.base + entry)) | (phys_rd8(c, lin2phys(c, c.idtr.base + entry + 1)) << 8)
    cs = phys_rd8(c, lin2phys(c, c.idtr.base + entry + 2)) | (phys_rd8(c, lin2phys(c, c.idtr.base + entry + 3)) << 8)
    if c.events & EV_INTLOG:            # --trace-int (debug.pxi)
        intlog_add(c, ret_eip, cs, ip)
    load_seg_real(c, S_CS, cs)
    c.eip = ip
    c.halted = 0

cdef void far_jump(CpuState* c, uint32_t sel, uint32_t off) noexcept nogil:
    load_seg_real(c, S_CS, sel)
    c.eip = off

cdef void op_iret(CpuState* c, int o32) noexcept nogil:
    cdef uint32_t ip, cs, fl
    stack_checkpoint(c)
    if o32:
        ip = pop32(c)
        cs = pop32(c) & 0xFFFF
        fl = pop32(c)
        write_flags(c, fl, c.flags_writable32)
    else:
        ip = pop16(c)
        cs = pop16(c)
        fl = pop16(c)
        write_flags(c, fl, c.flags_writable16)
    far_jump(c, cs, ip)

# ---- the instruction forms ----------------------------------------------
# Bodies get the instruction's EIP by pointer; a transfer sets it and marks
# the instruction fully consumed, so the loop's epilogue (EIP += length)
# adds nothing.
cdef inline void jump_to(Insn* d, uint32_t* eip, uint32_t target) noexcept nogil:
    eip[0] = target
    d.start = d.p

# A relative jump: `rel` is fetched (as the argument) before the length is
# taken. A 16-bit operand size truncates the target to 16 bits (0x66 in a
# 32-bit code segment; in 16-bit code the loop's IP mask does the same).
cdef inline void jump_rel(Insn* d, uint32_t* eip, uint32_t rel) noexcept nogil:
    cdef uint32_t target = eip[0] + insn_len(d) + rel
    jump_to(d, eip, target if d.o32 else target & 0xFFFF)

cdef inline void jcc_short(CpuState* c, Insn* d, uint32_t* eip, uint32_t cc) noexcept nogil:
    cdef uint32_t rel = sx8(fetch8(d))
    if cond(c, cc):
        jump_rel(d, eip, rel)

cdef inline void jcc_near(CpuState* c, Insn* d, uint32_t* eip, uint32_t cc, int o32) noexcept nogil:
    cdef uint32_t rel = fetch32(d) if o32 else sx16(fetch16(d))
    if cond(c, cc):
        jump_rel(d, eip, rel)

cdef enum:
    LOOP_WHILE_NZ = 0       # LOOPNE (E0)
    LOOP_WHILE_Z = 1        # LOOPE (E1)
    LOOP_ALWAYS = 2         # LOOP (E2)

cdef inline void loop_short(CpuState* c, Insn* d, uint32_t* eip, int kind) noexcept nogil:
    cdef uint32_t rel = sx8(fetch8(d))
    cdef uint32_t count = (c.regs[R_ECX] - 1) & d.amask
    set_ra(c, R_ECX, count, d)
    if count != 0 and (kind == LOOP_ALWAYS or (kind == LOOP_WHILE_Z) == (get_zf(c) != 0)):
        jump_rel(d, eip, rel)

cdef inline void jcxz(CpuState* c, Insn* d, uint32_t* eip) noexcept nogil:
    cdef uint32_t rel = sx8(fetch8(d))
    if (c.regs[R_ECX] & d.amask) == 0:
        jump_rel(d, eip, rel)

cdef inline void call_rel(CpuState* c, Insn* d, uint32_t* eip, uint32_t rel, int o32) noexcept nogil:
    cdef uint32_t ret = eip[0] + insn_len(d)
    pushv(c, ret, o32)
    jump_to(d, eip, ret + rel if o32 else (ret + rel) & 0xFFFF)

cdef inline void call_abs(CpuState* c, Insn* d, uint32_t* eip, uint32_t target, int o32) noexcept nogil:
    pushv(c, eip[0] + insn_len(d), o32)
    jump_to(d, eip, target)

cdef inline void ret_near(CpuState* c, Insn* d, uint32_t* eip, uint32_t release,
                          int o32) noexcept nogil:
    cdef uint32_t target = popv(c, o32)
    set_sp(c, c.regs[R_ESP] + release, sp_mask(c))
    jump_to(d, eip, target)

cdef inline void ret_far(CpuState* c, Insn* d, uint32_t* eip, uint64_t* left, uint32_t release,
                         int o32) noexcept nogil:
    cdef uint32_t target, sel
    if c.cr[0] & 1:
        retf_pm(c, release, o32)
        jump_to(d, eip, c.eip)
        pm_after(c, d, left, 0)
        return
    stack_checkpoint(c)
    target = popv(c, o32)
    sel = popv(c, o32) & 0xFFFF
    set_sp(c, c.regs[R_ESP] + release, sp_mask(c))
    load_seg_real(c, S_CS, sel)
    jump_to(d, eip, target)

# CALL/JMP ptr16:16/32 (9A, EA).
cdef inline void call_far_ptr(CpuState* c, Insn* d, uint32_t* eip, uint64_t* left, int o32) noexcept nogil:
    cdef uint32_t target = fetchv(d, o32)
    cdef uint32_t sel = fetch16(d)
    if c.cr[0] & 1:
        far_pm_insn(c, d, eip, left, sel, target, 1, o32)
        return
    stack_checkpoint(c)
    pushv(c, c.seg[S_CS].sel, o32)
    pushv(c, eip[0] + insn_len(d), o32)
    load_seg_real(c, S_CS, sel)
    jump_to(d, eip, target)

cdef inline void jmp_far_ptr(CpuState* c, Insn* d, uint32_t* eip, uint64_t* left, int o32) noexcept nogil:
    cdef uint32_t target = fetchv(d, o32)
    cdef uint32_t sel = fetch16(d)
    if c.cr[0] & 1:
        far_pm_insn(c, d, eip, left, sel, target, 0, o32)
        return
    load_seg_real(c, S_CS, sel)
    jump_to(d, eip, target)

# CALL/JMP m16:16/32 (FF /3, /5).
cdef inline void far_mem(CpuState* c, Insn* d, uint32_t* eip, uint64_t* left, int call,
                         int o32) noexcept nogil:
    cdef uint32_t target = mem_rdv_at(c, d, 0, o32)
    cdef uint32_t sel = mem_rd16_at(c, d, vsize(o32))
    if c.cr[0] & 1:
        far_pm_insn(c, d, eip, left, sel, target, call, o32)
        return
    if call:
        stack_checkpoint(c)
        pushv(c, c.seg[S_CS].sel, o32)
        pushv(c, eip[0] + insn_len(d), o32)
    load_seg_real(c, S_CS, sel)
    jump_to(d, eip, target)

cdef inline void far_pm_insn(CpuState* c, Insn* d, uint32_t* eip, uint64_t* left, uint32_t sel,
                             uint32_t target, int call, int o32) noexcept nogil:
    cdef int r = far_pm(c, sel, target, call, o32, eip[0] + insn_len(d))
    if r == PM_OK:
        jump_to(d, eip, c.eip)
    pm_after(c, d, left, r)

# POP CS (the 8086's 0F).
cdef inline void pop_cs(CpuState* c, Insn* d, uint32_t* eip) noexcept nogil:
    load_seg_real(c, S_CS, pop16(c))
    jump_to(d, eip, eip[0] + insn_len(d))

# INT n, INT3, INTO, INT1: the return address is the next instruction.
# A fault while pushing the frame or reading the vector is the INT
# instruction's own. `flags`: DLV_SOFT (INT n, INT3, INTO: the gate's DPL
# is checked), DLV_INTN (INT n: IOPL-sensitive in V86), or 0 (INT1).
cdef inline void soft_int(CpuState* c, Insn* d, uint32_t* eip, uint64_t* left,
                          uint32_t vec, int flags) noexcept nogil:
    c.eip = eip[0]
    stack_checkpoint(c)
    c.deliver_flags = flags
    do_interrupt(c, vec, eip[0] + insn_len(d))
    jump_to(d, eip, c.eip)
    if c.cr[0] & 1:
        pm_after(c, d, left, 0)

cdef inline void bound(CpuState* c, Insn* d, uint32_t eip, uint64_t* left, int o32) noexcept nogil:
    cdef uint32_t index = get_rv(c, d.reg, o32)
    cdef uint32_t lower = mem_rdv_at(c, d, 0, o32)
    cdef uint32_t upper = mem_rdv_at(c, d, vsize(o32), o32)
    if o32:
        if <int32_t>index < <int32_t>lower or <int32_t>index > <int32_t>upper:
            raise_fault(c, d, eip, VEC_BR)
    elif <int16_t>index < <int16_t>lower or <int16_t>index > <int16_t>upper:
        raise_fault(c, d, eip, VEC_BR)
