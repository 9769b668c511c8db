# String instructions: MOVS CMPS STOS LODS SCAS INS OUTS, byte/word/
# dword, with REP/REPE/REPNE. The source segment (DS) can be overridden;
# ES:DI cannot. SI/DI/CX follow the address size.
#
# A REP instruction is interruptible, as on hardware: every iteration is
# one step of the instruction budget (and of the deterministic clock, as
# in Bochs and QEMU's icount), and when the chunk's budget runs out between
# iterations the instruction stops there unretired (EIP stays on it, ECX
# ESI EDI hold the progress, c.rep_partial is set): the run loop takes
# pending interrupts, checks the timeout and the budget, and runs it on.
# ECX ESI EDI are committed after each iteration, so a fault in iteration
# k restarts the instruction with k iterations done (docs/faults.md).

cdef enum:
    STR_MOVS = 0
    STR_CMPS = 1
    STR_STOS = 2
    STR_LODS = 3
    STR_SCAS = 4
    STR_INS = 5
    STR_OUTS = 6

cdef inline uint32_t str_rd(CpuState* c, int seg, uint32_t off, uint32_t size,
                            uint32_t amask) noexcept nogil:
    if size == 1:
        return rd8(c, seg, off)
    elif size == 2:
        return rd16(c, seg, off, amask)
    return rd32(c, seg, off, amask)

cdef inline void str_wr(CpuState* c, int seg, uint32_t off, uint32_t v,
                        uint32_t size, uint32_t amask) noexcept nogil:
    if size == 1:
        wr8(c, seg, off, v)
    elif size == 2:
        wr16(c, seg, off, v, amask)
    else:
        wr32(c, seg, off, v, amask)

cdef inline void acc_write(CpuState* c, uint32_t v, uint32_t size) noexcept nogil:
    if size == 1:
        set_r8(c, 0, v)
    elif size == 2:
        set_r16(c, R_EAX, v)
    else:
        c.regs[R_EAX] = v

cdef int op_string(CpuState* c, uint32_t op, uint32_t size, uint32_t amask, int ovr,
                   int rep, uint64_t* left) noexcept nogil:
    # Out of line, so it takes the decoded prefixes by value: the Insn
    # struct of the run loop must not escape (gcc keeps it in registers).
    # `left` (REP only) is the chunk's budget after this instruction's
    # first iteration. Returns 1 when the REP stopped between iterations.
    cdef int src_seg = ovr if ovr >= 0 else S_DS
    cdef uint32_t si = c.regs[R_ESI] & amask
    cdef uint32_t di = c.regs[R_EDI] & amask
    cdef uint32_t delta = (0 - size) if (c.flags & F_DF) else size
    cdef uint32_t msb = 1u << (size * 8 - 1)
    cdef uint32_t vmask = (msb << 1) - 1
    cdef uint32_t acc = c.regs[R_EAX] & vmask
    cdef uint32_t cnt = 1, v
    if rep:
        cnt = c.regs[R_ECX] & amask
    while cnt:
        if op == STR_MOVS:
            str_wr(c, S_ES, di, str_rd(c, src_seg, si, size, amask), size, amask)
            si = (si + delta) & amask
            di = (di + delta) & amask
        elif op == STR_STOS:
            str_wr(c, S_ES, di, acc, size, amask)
            di = (di + delta) & amask
        elif op == STR_LODS:
            acc = str_rd(c, src_seg, si, size, amask)
            si = (si + delta) & amask
        elif op == STR_CMPS:
            v = str_rd(c, src_seg, si, size, amask)
            alu(c, 7, v, str_rd(c, S_ES, di, size, amask), msb)
            si = (si + delta) & amask
            di = (di + delta) & amask
        elif op == STR_SCAS:
            alu(c, 7, acc, str_rd(c, S_ES, di, size, amask), msb)
            di = (di + delta) & amask
        cnt -= 1
        if not rep:
            break
        # the iteration is done: commit it
        c.regs[R_ECX] = (c.regs[R_ECX] & ~amask) | cnt
        c.regs[R_ESI] = (c.regs[R_ESI] & ~amask) | si
        c.regs[R_EDI] = (c.regs[R_EDI] & ~amask) | di
        if op == STR_LODS:
            acc_write(c, acc, size)
        if op == STR_CMPS or op == STR_SCAS:
            if (rep == PX_REP) != (c.lf_res == 0):
                break
        if cnt:
            if left[0] == 0:
                c.rep_partial = 1
                return 1
            left[0] -= 1        # (c.insn_left: a fault restarts with this)
    c.rep_partial = 0
    if not rep:
        c.regs[R_ESI] = (c.regs[R_ESI] & ~amask) | si
        c.regs[R_EDI] = (c.regs[R_EDI] & ~amask) | di
        if op == STR_LODS:
            acc_write(c, acc, size)
    return 0

# INS/OUTS. An in-kernel device gets every element (what it declines reads
# as all ones) until it asks to stop the run (a full debug console, a debug
# exit, a reset); a port only Python claimed gets up to IO_BLOCK_MAX elements
# in one 'io' exit: OUTS data travels with the exit, INS data comes back
# through complete_io(). Returns a BUS_* code for the loop, with BUS_MORE
# when a REP has elements left: ECX/ESI/EDI hold its progress and EIP stays
# on it, so the next run carries on where this one stopped.
cdef int op_string_io(CpuState* c, int out, uint32_t size, uint32_t amask, int ovr,
                      int rep, uint64_t now, uint32_t max_count) noexcept nogil:
    cdef Devices* dv = devs(c)
    cdef int src_seg = ovr if ovr >= 0 else S_DS
    cdef uint32_t port = c.regs[R_EDX] & 0xFFFF
    cdef uint32_t si = c.regs[R_ESI] & amask
    cdef uint32_t di = c.regs[R_EDI] & amask
    cdef uint32_t delta = (0 - size) if (c.flags & F_DF) else size
    cdef uint32_t cnt = 1, i, v, watch
    cdef int dev = dv.port_dev[port]
    cdef int w
    cdef int result = BUS_DONE
    if rep:
        cnt = c.regs[R_ECX] & amask
        if cnt == 0:
            return BUS_DONE
    if dev == DEV_NONE and dv.port_py[port]:
        if cnt > IO_BLOCK_MAX:
            cnt = IO_BLOCK_MAX      # the rest after the next run()
            result = BUS_MORE
        if cnt > max_count:
            cnt = max_count         # the chunk's budget, as below
            result = BUS_MORE
        if __builtin_expect(c.dr_io != 0, 0) and dr_io_check(c, port, size) and cnt > 1:
            cnt = 1                 # an I/O breakpoint: #DB after one element
            result = BUS_MORE
        dv.stats[dev][PATH_PYTHON] += 1
        dv.io.port = port
        dv.io.size = size
        dv.io.count = cnt
        dv.io.rep = rep
        if out:
            for i in range(cnt):
                v = str_rd(c, src_seg, si, size, amask)
                memcpy(&dv.block[i * size], &v, size)
                si = (si + delta) & amask
                if c.db_stop and i + 1 < cnt:
                    cnt = i + 1     # a data breakpoint on the source: the block ends here
                    dv.io.count = cnt
                    result = BUS_MORE
                    break
            c.regs[R_ESI] = (c.regs[R_ESI] & ~amask) | si
            if rep:
                c.regs[R_ECX] = (c.regs[R_ECX] & ~amask) | ((c.regs[R_ECX] - cnt) & amask)
            dv.io.out = 1
            dv.io.pending_in = 0
        else:
            dv.io.out = 0
            dv.io.pending_in = 1
            dv.io.di = di
            dv.io.amask = amask
            dv.io.down = (c.flags & F_DF) != 0
        return BUS_PYTHON | result
    if cnt > max_count:
        cnt = max_count         # the chunk's budget: see string_io
    watch = c.dr_io | c.dr_data     # a breakpoint stops a REP after the element that hit
    while cnt:
        if out:
            v = str_rd(c, src_seg, si, size, amask)
            w = kernel_write(c, dev, port, size, v, now) if dev else -1
            if w < 0:
                dv.stats[dev][PATH_UNCLAIMED] += 1
                c.io_out += 1
            else:
                dv.stats[dev][PATH_KERNEL] += 1
            si = (si + delta) & amask
            if w == BUS_STOP:
                result = BUS_STOP   # after this element is committed, below
        else:
            if not (dev and kernel_read(c, dev, port, size, &v, now)):
                v = ones(size)
                dv.stats[dev][PATH_UNCLAIMED] += 1
                c.io_in += 1
            else:
                dv.stats[dev][PATH_KERNEL] += 1
            str_wr(c, S_ES, di, v, size, amask)
            di = (di + delta) & amask
        # committed per element: a fault in the next restarts from there
        if rep:
            c.regs[R_ECX] = (c.regs[R_ECX] & ~amask) | ((c.regs[R_ECX] - 1) & amask)
        c.regs[R_ESI] = (c.regs[R_ESI] & ~amask) | si
        c.regs[R_EDI] = (c.regs[R_EDI] & ~amask) | di
        cnt -= 1
        if __builtin_expect(watch != 0, 0):
            if c.dr_io:
                dr_io_check(c, port, size)
            if c.db_stop:           # this element hit a breakpoint
                break
        if not rep or result == BUS_STOP:
            break
    if result == BUS_STOP:
        return BUS_STOP | BUS_MORE if rep and (c.regs[R_ECX] & amask) else BUS_STOP
    if dev != DEV_NONE:
        result = BUS_EVENTS
    return result

# ---- the instruction forms ----------------------------------------------
# Without a REP prefix the common LODS/STOS/MOVS (in loops) run inline;
# REP forms and the rest go to op_string.
cdef inline void string_once(CpuState* c, Insn* d, uint32_t op, uint32_t size) noexcept nogil:
    cdef uint32_t amask = d.amask
    cdef uint32_t delta = (0 - size) if (c.flags & F_DF) else size
    cdef uint32_t si, di
    cdef int src_seg
    if op == STR_LODS:
        src_seg = d.ovr if d.ovr >= 0 else S_DS
        si = c.regs[R_ESI] & amask
        acc_write(c, str_rd(c, src_seg, si, size, amask), size)
        c.regs[R_ESI] = (c.regs[R_ESI] & ~amask) | ((si + delta) & amask)
    elif op == STR_STOS:
        di = c.regs[R_EDI] & amask
        str_wr(c, S_ES, di, c.regs[R_EAX], size, amask)
        c.regs[R_EDI] = (c.regs[R_EDI] & ~amask) | ((di + delta) & amask)
    else:   # MOVS
        src_seg = d.ovr if d.ovr >= 0 else S_DS
        si = c.regs[R_ESI] & amask
        di = c.regs[R_EDI] & amask
        str_wr(c, S_ES, di, str_rd(c, src_seg, si, size, amask), size, amask)
        c.regs[R_ESI] = (c.regs[R_ESI] & ~amask) | ((si + delta) & amask)
        c.regs[R_EDI] = (c.regs[R_EDI] & ~amask) | ((di + delta) & amask)

# A REP stopped between iterations is not retired: EIP stays on it.
cdef inline void string_rep(CpuState* c, Insn* d, uint64_t* left, uint32_t op,
                            uint32_t size) noexcept nogil:
    if op_string(c, op, size, d.amask, d.ovr, d.rep, left):
        d.start = d.p

# MOVS STOS LODS: inline once, out of line with REP. (Without REP, `left`
# is not passed on: in the unprefixed loop it must not escape.)
cdef inline void string_op(CpuState* c, Insn* d, uint64_t* left, uint32_t op,
                           uint32_t size) noexcept nogil:
    if d.rep:
        string_rep(c, d, left, op, size)
    else:
        string_once(c, d, op, size)

# CMPS SCAS: always out of line.
cdef inline void string_rep_op(CpuState* c, Insn* d, uint64_t* left, uint32_t op,
                               uint32_t size) noexcept nogil:
    if d.rep:
        string_rep(c, d, left, op, size)
    else:
        op_string(c, op, size, d.amask, d.ovr, 0, NULL)

# REP INS/OUTS run at most the chunk's budget of elements, each one step,
# and stop between elements as the other string instructions do (and
# after an element that hit a data or I/O breakpoint); the elements for a
# Python port go out as one exit (a block), counted the same way.
cdef inline void string_io(CpuState* c, Insn* d, uint64_t* left, int out,
                           uint32_t size) noexcept nogil:
    cdef Devices* dv = devs(c)
    cdef uint32_t port = c.regs[R_EDX] & 0xFFFF
    cdef uint32_t before = c.regs[R_ECX] & d.amask
    cdef uint32_t most = 0xFFFFFFFFu, done
    cdef int r, more
    io_check(c, port, size)
    if d.rep and left[0] < 0xFFFFFFFFu:
        most = <uint32_t>left[0] + 1
    r = op_string_io(c, out, size, d.amask, d.ovr, d.rep, now_in_loop(c, left[0]), most)
    more = r & BUS_MORE
    r &= ~BUS_MORE
    if d.rep:
        # each element is one step against the budget, as for the other
        # REPs (a Python port's INS block updates ECX when it is answered)
        done = dv.io.count if r == BUS_PYTHON else before - (c.regs[R_ECX] & d.amask)
        if done and c.db_stop:
            # a breakpoint ended the chunk (dr_hit, debugreg.pxi) after the
            # element that hit: the steps come out of the count it kept
            c.db_left -= done - 1
            c.chunk_len += done - 1
        elif done:
            left[0] -= done - 1
        c.rep_partial = 0
        if r != BUS_PYTHON and (done == most or r == BUS_STOP or c.db_stop) and (c.regs[R_ECX] & d.amask):
            c.rep_partial = 1
            d.start = d.p       # not retired: EIP stays on it
    if r == BUS_PYTHON:
        # a block with elements left is not retired: the next run goes on
        # (its elements still count, so no step is given back)
        stop_run(c, d, left, EXIT_IO, not more)
        if more and d.rep:
            c.stop_left -= 1
    elif r == BUS_EVENTS:
        stop_run(c, d, left, STOP_EVENTS, 1)
    elif r == BUS_STOP:
        stop_run(c, d, left, c.stop_reason, 1)
