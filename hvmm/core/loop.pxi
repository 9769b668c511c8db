# The run loop: fetch, decode prefixes, dispatch on the opcode, retire.
#
# The opcode switch is generated from the instruction table (hvmm/isa,
# into core/execute_gen.pxi: execute_<model>). The loops below and
# execute_prefixed are templates taking the CPU model as a constant; the
# generated run_chunk_<model>/run_loop_<model> instantiate them and
# run_loop_for picks one once per entry, so nothing in the loop tests the
# model at run time. The 386's are instantiated twice more, per default
# operand and address size (CS.D: 16- and 32-bit code segments), so that
# unprefixed 32-bit code runs the same folded switch as 16-bit code; the
# run loop picks the instantiation per chunk, and a CS load that changes
# the size ends the chunk (pm_after, control.pxi).
#
# Faults (docs/faults.md): run_loop runs each chunk's instruction loop,
# run_chunk, under a setjmp guard (hvmm_guarded, exception.pxi); run_chunk
# stores a checkpoint before every instruction, and a raise_exception
# anywhere in the instruction returns to run_loop, which restores it and
# delivers the exception.

cdef void fill_fetchbuf(CpuState* c, uint32_t eip) noexcept nogil:
    # Byte-wise fetch for instructions that may wrap the segment or cross
    # into a page that is not plain memory. Only the instruction's own
    # bytes may fault: bytes on a later page that does not translate read
    # as 0, and the page is translated for real (#PF, CR2 at its first
    # byte) only if the instruction turns out to reach it.
    cdef int k, n = 32
    cdef uint32_t base = c.seg[S_CS].base, lin, first = base + eip, ph
    c.fetching = 1                      # not a data read (debug.pxi's watchpoints)
    for k in range(32):
        lin = base + ((eip + k) & c.ipmask)
        if k and ((lin ^ first) & 0xFFFFF000u) and (c.cr[0] & CR0_PG) and n == 32:
            n = k                       # the first byte on another page
        if n < 32:
            if not translate_probe(c, lin, &ph):
                c.fetchbuf[k] = 0
                continue
        else:
            ph = translate(c, lin, 0)
        c.fetchbuf[k] = <uint8_t>phys_rd8(c, ph)
    if n < 32 and insn_length(c, c.fetchbuf) > n:
        translate(c, base + ((eip + <uint32_t>n) & c.ipmask), 0)
    c.fetching = 0

cdef inline int plain_page(CpuState* c, uint32_t lin, uint32_t phys) noexcept nogil:
    # The page at `lin` maps to `phys` and is RAM or ROM: with paging off,
    # by the A20 mask; with paging on, only an entry already in the TLB
    # counts (a neighbour is not walked before code reaches it).
    cdef TlbEntry* e = &c.tlb[(lin >> 12) & TLB_MASK]
    if not (c.cr[0] & CR0_PG):
        return (lin & c.a20mask) == phys and c.pagekind[phys >> 12] <= PG_ROM
    return e.rtag == ((lin & 0xFFFFF000u) | c.cpl) and (e.phys & 0xFFFFF000u) == phys

cdef void code_window(CpuState* c, uint32_t eip) noexcept nogil:
    # Find the largest run of plain-memory pages around CS:EIP that are
    # contiguous both linearly and physically, and let the loop fetch from
    # it directly. The last 32 bytes are left out so that an instruction
    # (at most 27 bytes are read: see prefix_run_long) never runs off the
    # window, and so are the segment's wrap point and CS's limit. The
    # window is a translation: every TLB flush drops it (paging.pxi).
    cdef uint32_t lin = c.seg[S_CS].base + eip
    cdef uint32_t phys
    cdef uint32_t lo_lin, lo_phys, hi_lin, hi_phys, top
    cdef int64_t lo, hi, lo0
    cdef int n
    c.win_len = 0
    c.fetching = 1
    phys = translate(c, lin, 0)         # may raise #PF (a fetch)
    c.fetching = 0
    if c.pagekind[phys >> 12] > PG_ROM:
        return
    lo = <int64_t>eip - (lin & 0xFFF)           # EIP at the page's start
    hi = lo + 0x1000                            # EIP past the page's end
    lo_lin = lin & ~(<uint32_t>0xFFF)
    lo_phys = phys & ~(<uint32_t>0xFFF)
    hi_lin = lo_lin + 0x1000
    hi_phys = lo_phys + 0x1000
    n = 0
    while n < 256 and hi <= c.ipmask and hi_lin != 0 and hi_phys != 0 and plain_page(c, hi_lin, hi_phys):
        hi += 0x1000
        hi_lin += 0x1000
        hi_phys += 0x1000
        n += 1
    n = 0
    while (n < 256 and lo > 0 and lo_lin >= 0x1000 and lo_phys >= 0x1000
           and plain_page(c, lo_lin - 0x1000, lo_phys - 0x1000)):
        lo -= 0x1000
        lo_lin -= 0x1000
        lo_phys -= 0x1000
        n += 1
    hi -= 32
    top = c.ipmask if c.ipmask < c.seg[S_CS].limit else c.seg[S_CS].limit
    if hi > <int64_t>top - 31:
        hi = <int64_t>top - 31
    if lo < 0:          # the segment starts inside the first page
        lo_phys += <uint32_t>(-lo)
        lo = 0
    if c.dr_exec:       # instruction breakpoints stay outside (debugreg.pxi)
        lo0 = lo
        dr_window_cut(c, eip, &lo, &hi)
        lo_phys += <uint32_t>(lo - lo0)
    if <int64_t>eip < lo or <int64_t>eip >= hi:
        return
    c.win_host = c.mem + lo_phys
    c.win_lo = <uint32_t>lo
    c.win_len = <uint32_t>(hi - lo)


cdef const uint8_t* fetch_slow(CpuState* c, uint32_t eip) noexcept nogil:
    # EIP left the direct-fetch window: find a new one, else copy bytes.
    # The window ends 32 bytes short of CS's limit, so only here can an
    # instruction cross it: #GP(0) before it runs (the 8086 wraps instead).
    cdef uint32_t limit = c.seg[S_CS].limit
    if c.dr_exec:
        dr_exec_check(c, eip)           # an instruction breakpoint: #DB
    code_window(c, eip)
    if eip - c.win_lo < c.win_len:
        return c.win_host + (eip - c.win_lo)
    fill_fetchbuf(c, eip)
    if c.limit_checks and (eip > limit or (limit - eip < 31 and
                           <uint32_t>insn_length(c, c.fetchbuf) - 1 > limit - eip)):
        raise_exception(c, VEC_GP, 0)
    return c.fetchbuf

# The current instruction is still a run of prefixes after 15 bytes: the
# 386 faults (an instruction is at most 15 bytes); the 8086 has no limit,
# so the prefixes decoded so far are kept and fetching goes on from a
# fresh buffer (the instruction's EIP moves past them, as the 8086's own
# return address after an interrupt does). Nothing reads past the 32-byte
# fetch buffer or the window's end, which stops 32 bytes short.
cdef void prefix_run_long(CpuState* c, Insn* d, uint32_t* eip) noexcept nogil:
    cdef uint32_t t
    if c.insn_limit:
        raise_exception(c, VEC_GP, 0)
    eip[0] = (eip[0] + insn_len(d)) & c.ipmask
    t = eip[0] - c.win_lo
    if t < c.win_len:
        d.p = c.win_host + t
    else:
        d.p = fetch_slow(c, eip[0])
    d.start = d.p

# Length of the instruction at p, prefixes included (16 for a run of 15
# prefixes or more), from the model's instruction shapes (generated from
# the table: ModRM, immediates, lockable). Out of line: it runs only for
# long prefixed instructions, fetches near the CS limit and LOCK.
cdef int insn_length(CpuState* c, const uint8_t* p) noexcept nogil:
    cdef int n = 0, o32 = 0, a32 = 0, k
    cdef uint32_t op, m, mod, rm, s
    while True:
        k = c.prefixes[p[n]]
        if k == 0:
            break
        if k == PX_OPSIZE:
            o32 = 1
        elif k == PX_ADDRSIZE:
            a32 = 1
        n += 1
        if n >= 15:
            return 16
    op = p[n]
    n += 1
    s = c.shapes[op << 3]
    if s & SHAPE_ESCAPE:
        op = 0x100 | p[n]
        n += 1
        s = c.shapes[op << 3]
    if s & SHAPE_MODRM:
        m = p[n]
        n += 1
        s = c.shapes[(op << 3) | ((m >> 3) & 7)]
        mod = m >> 6
        rm = m & 7
        if mod != 3:
            if a32:
                if rm == 4:
                    if mod == 0 and (p[n] & 7) == 5:
                        n += 4
                    n += 1
                elif mod == 0 and rm == 5:
                    n += 4
                n += 1 if mod == 1 else (4 if mod == 2 else 0)
            else:
                if mod == 0 and rm == 6:
                    n += 2
                n += mod if mod < 3 else 0
    n += (s & 7) + ((s >> 3) & 3) * (4 if o32 else 2) + ((s >> 5) & 1) * (4 if a32 else 2)
    return n

# LOCK before an instruction that is not a lockable memory form: #UD (386).
cdef void check_lock(CpuState* c, const uint8_t* start) noexcept nogil:
    cdef int n = 0
    cdef uint32_t op, m, s
    while c.prefixes[start[n]]:
        n += 1
    op = start[n]
    s = c.shapes[op << 3]
    if s & SHAPE_ESCAPE:
        n += 1
        op = 0x100 | start[n]
        s = c.shapes[op << 3]
    if s & SHAPE_MODRM:
        m = start[n + 1]
        s = c.shapes[(op << 3) | ((m >> 3) & 7)]
        if (s & SHAPE_LOCK) and (m >> 6) != 3:
            return
    raise_exception(c, VEC_UD, 0)


# Instructions with prefixes (segment overrides, REP, operand and address
# size) are rare enough in real-mode code to run out of line, in two more
# copies of the switch (16- and 32-bit operands), which keeps the unprefixed
# loop small enough for gcc to hold its state in registers.
cdef inline void execute_prefixed(CpuState* c, Insn* d, uint32_t op, uint32_t* eip,
                                  uint64_t* left, int model, int d32) noexcept nogil:
    cdef int k = c.prefixes[op]
    cdef int lock = 0
    while k:
        if k < PX_OPSIZE:
            d.ovr = k - PX_SEG
        elif k == PX_OPSIZE:
            d.o32 = d32 ^ 1
        elif k == PX_ADDRSIZE:
            d.a32 = d32 ^ 1
            d.amask = 0xFFFF if d32 else 0xFFFFFFFF
        elif k == PX_LOCK:
            lock = 1
        else:
            d.rep = k
        if d.p - d.start >= 15:
            prefix_run_long(c, d, eip)
        op = d.p[0]
        d.p += 1
        k = c.prefixes[op]
    # at most 12 bytes follow the prefixes (6 on the 286): only 4 or more
    # can make the instruction longer than 15 (5 longer than 10)
    if model_insn_limit(model) and d.p - d.start > 4 and insn_length(c, d.start) > model_insn_limit(model):
        raise_exception(c, VEC_GP, 0)
    if model_lock_ud(model) and lock:
        check_lock(c, d.start)
    if model_o32(model) and d.o32:
        execute(c, d, op, 1, eip, left, model)
    else:
        execute(c, d, op, 0, eip, left, model)

# The instructions of one chunk (up to the next device deadline). Returns
# the stop reason (0: the chunk ran out) with the chunk's remaining count
# in c.stop_left and EIP in c.eip. A raise_exception returns through the
# guard around it instead (run_loop).
cdef inline int run_chunk(CpuState* c, uint64_t chunk, int model, int d32) noexcept nogil:
    # The chunk's count lives in c.insn_left, not in a register: a fault
    # finds it there (one memory decrement per instruction is cheaper than
    # a register and a store).
    cdef Insn d
    cdef Insn dp
    cdef uint32_t op, t, eip_tmp
    cdef uint32_t ipmask = 0xFFFFFFFFu if d32 else 0xFFFF
    cdef uint32_t eip = c.eip
    cdef int reason
    d.o32 = d32
    d.a32 = d32
    d.amask = 0xFFFFFFFFu if d32 else 0xFFFF
    d.ovr = -1
    d.rep = 0
    c.insn_left = chunk
    while c.insn_left:
        c.insn_left -= 1
        # The checkpoint a fault restarts the instruction from.
        c.insn_eip = eip
        t = eip - c.win_lo
        if t < c.win_len:
            d.p = c.win_host + t
        else:
            d.p = fetch_slow(c, eip)
        d.start = d.p
        op = d.p[0]
        d.p += 1
        # No prefix: d's prefix fields keep the defaults set before the
        # loop, and gcc folds them into this copy of the switch. A prefix
        # byte is a case of the switch that returns 1.
        if execute(c, &d, op, d32, &eip, &c.insn_left, model):
            # Prefixed instructions decode into a copy (d must not escape:
            # it would live in memory for the whole loop).
            dp = d
            eip_tmp = eip
            execute_prefixed_for(c, &dp, op, &eip_tmp, &c.insn_left, d32, model)
            d.p = dp.p
            d.start = dp.start
            eip = eip_tmp
        eip = (eip + insn_len(&d)) & ipmask
    # The chunk ran out, or an instruction stopped it (see stop_run).
    if __builtin_expect(c.cs_size_changed, 0):
        # a transfer to code of the other size (pm_after): its target in
        # full (a 16-bit loop masks EIP to 16 bits, a 32-bit handler of an
        # interrupt from 16-bit or V86 code may lie above 64 KiB)
        c.cs_size_changed = 0
        eip = c.eip
    c.eip = eip
    reason = c.stop_reason
    if reason:
        c.stop_reason = 0
    else:
        c.stop_left = 0
    if __builtin_expect(c.db_stop, 0):
        # a data breakpoint ended the chunk early (debugreg.pxi)
        c.db_stop = 0
        c.stop_left += c.db_left
    return reason

cdef inline int run_loop(CpuState* c, uint64_t budget, int model,
                         hvmm_guarded_fn chunk16, hvmm_guarded_fn chunk32) noexcept nogil:
    cdef uint64_t left = 0, remaining = budget, chunk, executed, now, next_ev, skip
    cdef uint32_t eip, t
    cdef int reason = 0, vec
    cdef uint32_t ipmask, tf
    cdef hvmm_guarded_fn chunk_fn
    cdef Devices* dv = devs(c)
    eip = c.eip
    c.esp_saved_at = NO_SERIAL
    while True:
        # ---- an instruction boundary with time to look around -------------
        # Devices catch up with virtual time, a pending interrupt is taken,
        # a halted CPU sleeps until the next event, and the next chunk of
        # instructions runs up to the earliest device deadline. (A REP
        # string instruction stopped between iterations is such a boundary.)
        c.eip = eip
        now = time_at(c, c.icount)
        devices_advance(c, now)
        if c.shadow and not c.halted:
            # STI/MOV SS: one more instruction before interrupts. (The flag
            # can be stale, set by an STI long ago: that only delays an
            # interrupt by one instruction; a HLT since then ends it.)
            c.shadow = 0
            chunk = 1
        else:
            c.shadow = 0
            if c.nmi_pending and not dv.rtc.nmi_masked:
                # NMI: vector 2, whatever IF says; it wakes a halted CPU.
                c.nmi_pending = 0
                c.halted = 0
                c.rep_partial = 0
                if deliver(c, VEC_NMI, eip, 0):
                    reason = EXIT_TRIPLE_FAULT
                    break
                eip = c.eip
            if (c.flags & F_IF) and dv.pic.intr:
                vec = pic_ack(&dv.pic)
                c.halted = 0
                c.rep_partial = 0
                if deliver(c, vec, eip, 0):
                    reason = EXIT_TRIPLE_FAULT
                    break
                eip = c.eip
            if now >= c.py_deadline:
                reason = EXIT_TIMER
                break
            next_ev = devices_next_event(c, now)
            if c.halted:
                if c.nmi_pending or not (c.flags & F_IF) or next_ev == 0xFFFFFFFFFFFFFFFFULL:
                    reason = EXIT_HLT       # nothing in the machine can wake it
                    break
                if remaining == 0:
                    reason = EXIT_BUDGET
                    break
                if next_ev <= now:
                    next_ev = now + 1
                # Skip the idle time; it counts against the budget (as the
                # instructions a busy CPU would have run) so a run always ends.
                skip = insns_until(c, next_ev)
                c.idle_ns += next_ev - now
                remaining = remaining - skip if skip < remaining else 0
                continue
            chunk = remaining
            if next_ev != 0xFFFFFFFFFFFFFFFFULL:
                chunk = insns_until(c, next_ev)
        if remaining == 0:
            reason = EXIT_BUDGET
            break
        if chunk > remaining:
            chunk = remaining
        c.chunk_len = chunk
        c.stop_reason = 0
        c.cs_size_changed = 0
        # The trap flag: one instruction, then #DB (a trap: EIP past it).
        # POPF and IRET that set TF end their chunk, so the next one is
        # stepped; nothing in the chunk tests TF. RF (IRET) steps one
        # instruction too, with instruction breakpoints off, and is
        # cleared as it starts (debugreg.pxi).
        tf = c.flags & (F_TF | F_RF)
        if tf:
            chunk = 1
            c.chunk_len = 1
            if tf & F_RF:
                c.flags &= ~(<uint32_t>F_RF)
                c.rf_skip = 1
        chunk_fn = chunk32 if (model_o32(model) and (c.seg[S_CS].attr & ATTR_DB)) else chunk16

        c.in_chunk = 1
        reason = hvmm_guarded(c.fault_jmp, &c.guarded, chunk_fn, c, chunk)
        c.in_chunk = 0
        if reason >= 0:
            left = c.stop_left
            eip = c.eip
        else:
            # An exception: back to the checkpoint of the faulting
            # instruction (it counts as run: a fault loop uses the budget).
            left = c.insn_left
            eip = c.insn_eip
            if c.db_stop:               # a data breakpoint hit before the fault
                left += c.db_left
                c.db_stop = 0
            c.db_hits = 0               # (the faulting instruction reports none)
            if c.esp_saved_at == insn_serial(c):
                c.regs[R_ESP] = c.esp_saved         # a stack sequence moved it
            c.esp_saved_at = NO_SERIAL
            c.stop_reason = 0
            c.rep_partial = 0
            c.fetching = 0              # a fetch's translation faulted
            if model == MODEL_286:
                fault_state_286(c, eip)     # what a 286 leaves behind (cpu286.pxi)
        executed = chunk - left
        c.icount += executed
        remaining -= executed
        if tf:
            c.rf_skip = 0
        if (tf or c.db_hits) and executed and reason >= 0 and (
                reason == 0 or reason == STOP_EVENTS or reason == EXIT_IO or reason == EXIT_TIMER
                or reason == EXIT_BUDGET):
            # single-step, data and I/O breakpoint traps (not after MOV/POP
            # SS: they wait one more instruction; c.shadow alone may be
            # left from earlier in a chunk of many); EXIT_BUDGET here is a
            # device's stop (a full debug console), the run resumes
            if not (c.shadow == SHADOW_SS and c.shadow_at == c.icount) and dr_trap_bits(c, tf):
                c.eip = eip
                if deliver(c, VEC_DB, eip, 1):
                    reason = EXIT_TRIPLE_FAULT
                    break
                eip = c.eip
        if reason >= 0:
            if reason == 0 or reason == STOP_EVENTS:
                continue
            break
        if c.fault_vec == VEC_UD and c.ud_exit:
            c.icount -= 1           # not retired
            reason = EXIT_INVALID_OPCODE
            break
        # Faults return to the faulting instruction on the 386; the 8086's
        # divide error returns past it.
        t = eip
        ipmask = c.ipmask
        if c.fault_vec == VEC_DE and model == MODEL_8086:
            t = c.fault_next
        c.eip = eip
        if deliver(c, c.fault_vec, t & ipmask, 1):
            reason = EXIT_TRIPLE_FAULT
            break
        eip = c.eip

    c.eip = eip
    c.exit_cs = c.seg[S_CS].sel
    c.exit_eip = c.eip
    return reason


cdef int cpu_run(CpuState* c, uint64_t budget) noexcept nogil:
    # Breakpoints are checked between single-instruction runs, so the hot
    # loop carries no test for them. A run resumes over a breakpoint at
    # its first instruction (and a REP stopped between iterations on one).
    cdef uint64_t done = 0
    cdef uint32_t i, lin
    cdef int r
    if not (c.events & EV_BREAKPOINTS):
        return run_loop_for(c, budget)
    while done < budget:
        if done and not c.rep_partial:
            lin = c.seg[S_CS].base + c.eip
            for i in range(c.nbp):
                if c.bp[i] == lin:
                    c.exit_cs = c.seg[S_CS].sel
                    c.exit_eip = c.eip
                    return EXIT_BREAKPOINT
        r = run_loop_for(c, 1)
        done += 1
        if r != EXIT_BUDGET:
            return r
    return EXIT_BUDGET

# One whole instruction: a REP string instruction runs to its end (each
# iteration is one step of the budget, so a run of 1 stops after the first).
cdef int cpu_step(CpuState* c) noexcept nogil:
    cdef int r = cpu_run(c, 1)
    while r == EXIT_BUDGET and c.rep_partial:
        r = cpu_run(c, 1)
    return r
