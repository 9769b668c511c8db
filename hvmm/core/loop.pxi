# The run loop: fetch, decode prefixes, dispatch on the opcode, retire.
#
# The opcode switch is generated from the instruction table (hvmm/isa,
# into core/execute_gen.pxi: execute_<model>). The loop below and
# execute_prefixed are templates taking the CPU model as a constant; the
# generated run_loop_<model> instantiate them and run_loop_for picks one
# once per entry, so nothing in the loop tests the model at run time.
# A later per-code-segment-size variant (CS.D) is one more constant
# parameter of the same templates, and a per-instruction checkpoint (start
# EIP and ESP, for faults restarted from the first byte) goes in one place:
# the top of the inner loop in run_loop.

cdef void fill_fetchbuf(CpuState* c, uint32_t eip) noexcept nogil:
    # Byte-wise fetch for instructions that may wrap the segment or cross
    # into a page that is not plain memory.
    cdef int k
    cdef uint32_t base = c.seg[S_CS].base
    c.fetching = 1                      # not a data read (debug.pxi's watchpoints)
    for k in range(32):
        c.fetchbuf[k] = <uint8_t>phys_rd8(c, lin2phys(c, base + ((eip + k) & c.ipmask)))
    c.fetching = 0

cdef inline int plain_page(CpuState* c, uint32_t lin, uint32_t phys) noexcept nogil:
    # The page at `lin` maps to `phys` and is RAM or ROM.
    return lin2phys(c, lin) == phys and c.pagekind[phys >> 12] <= PG_ROM

cdef void code_window(CpuState* c, uint32_t eip) noexcept nogil:
    # Find the largest run of plain-memory pages around CS:EIP that are
    # contiguous both linearly and physically, and let the loop fetch from
    # it directly. The last 16 bytes are left out so that an instruction
    # never runs off the window, and so is the segment's wrap point.
    cdef uint32_t lin = c.seg[S_CS].base + eip
    cdef uint32_t phys = lin2phys(c, lin)
    cdef uint32_t lo_lin, lo_phys, hi_lin, hi_phys
    cdef int64_t lo, hi
    cdef int n
    c.win_len = 0
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
    hi -= 16
    if hi > <int64_t>c.ipmask - 15:
        hi = <int64_t>c.ipmask - 15
    if lo < 0:          # the segment starts inside the first page
        lo_phys += <uint32_t>(-lo)
        lo = 0
    if <int64_t>eip < lo or <int64_t>eip >= hi:
        return
    c.win_host = c.mem + lo_phys
    c.win_lo = <uint32_t>lo
    c.win_len = <uint32_t>(hi - lo)


cdef const uint8_t* fetch_slow(CpuState* c, uint32_t eip) noexcept nogil:
    # EIP left the direct-fetch window: find a new one, else copy bytes.
    code_window(c, eip)
    if eip - c.win_lo < c.win_len:
        return c.win_host + (eip - c.win_lo)
    fill_fetchbuf(c, eip)
    return c.fetchbuf


# Instructions with prefixes (segment overrides, REP, operand and address
# size) are rare enough in real-mode code to run out of line, in two more
# copies of the switch (16- and 32-bit operands), which keeps the unprefixed
# loop small enough for gcc to hold its state in registers.
cdef inline void execute_prefixed(CpuState* c, Insn* d, uint32_t op, uint32_t* eip,
                                  uint64_t* left, int model) noexcept nogil:
    cdef int k = c.prefixes[op]
    while k:
        if k < PX_OPSIZE:
            d.ovr = k - PX_SEG
        elif k == PX_OPSIZE:
            d.o32 = 1
        elif k == PX_ADDRSIZE:
            d.a32 = 1
            d.amask = 0xFFFFFFFF
        elif k != PX_LOCK:
            d.rep = k
        op = d.p[0]
        d.p += 1
        k = c.prefixes[op]
    if model_o32(model) and d.o32:
        execute(c, d, op, 1, eip, left, model)
    else:
        execute(c, d, op, 0, eip, left, model)

cdef inline int run_loop(CpuState* c, uint64_t budget, int model) noexcept nogil:
    cdef Insn d
    cdef uint64_t left = 0, remaining = budget, chunk, executed, now, next_ev, skip
    cdef uint64_t left_tmp
    cdef uint32_t eip_tmp
    cdef Insn dp
    cdef uint32_t op, eip, t
    cdef int reason = 0, vec
    cdef uint32_t ipmask = c.ipmask
    cdef Devices* dv = devs(c)
    eip = c.eip
    d.o32 = 0
    d.a32 = 0
    d.amask = 0xFFFF
    d.ovr = -1
    d.rep = 0
    while True:
        # ---- an instruction boundary with time to look around -------------
        # Devices catch up with virtual time, a pending interrupt is taken,
        # a halted CPU sleeps until the next event, and the next chunk of
        # instructions runs up to the earliest device deadline.
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
                if do_interrupt(c, 2, eip):
                    reason = EXIT_TRIPLE_FAULT
                    break
                eip = c.eip
            if (c.flags & F_IF) and dv.pic.intr:
                vec = pic_ack(&dv.pic)
                c.halted = 0
                if do_interrupt(c, vec, eip):
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
        left = chunk

        while left:
            left -= 1
            # The one place for a per-instruction checkpoint (start EIP/ESP).
            t = eip - c.win_lo
            if t < c.win_len:
                d.p = c.win_host + t
            else:
                d.p = fetch_slow(c, eip)
            d.start = d.p
            op = d.p[0]
            d.p += 1
            if c.prefixes[op] == 0:
                # No prefix: d's prefix fields keep the defaults set before
                # the loop, and gcc folds them into this copy of the switch.
                execute(c, &d, op, 0, &eip, &left, model)
            else:
                # Prefixed instructions decode into a copy (d must not
                # escape: it would live in memory for the whole loop).
                dp = d
                eip_tmp = eip
                left_tmp = left
                execute_prefixed_for(c, &dp, op, &eip_tmp, &left_tmp, model)
                d.p = dp.p
                d.start = dp.start
                eip = eip_tmp
                left = left_tmp
            eip = (eip + insn_len(&d)) & ipmask

        # The chunk ran out, or an instruction stopped it (see stop_run).
        reason = c.stop_reason
        if reason:
            left = c.stop_left
            c.stop_reason = 0
        executed = chunk - left
        c.icount += executed
        remaining -= executed
        if reason == 0 or reason == STOP_EVENTS:
            continue
        if reason != STOP_FAULT:
            break
        if c.fault_vec == VEC_UD and c.ud_exit:
            c.icount -= 1           # not retired
            reason = EXIT_INVALID_OPCODE
            break
        # Faults return to the faulting instruction on the 386; the 8086's
        # divide error returns past it.
        t = eip
        if c.fault_vec == VEC_DE and model == MODEL_8086:
            t = c.fault_next
        c.eip = eip
        if do_interrupt(c, c.fault_vec, t & ipmask):
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
    # its first instruction.
    cdef uint64_t done = 0
    cdef uint32_t i, lin
    cdef int r
    if not (c.events & EV_BREAKPOINTS):
        return run_loop_for(c, budget)
    while done < budget:
        if done:
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
