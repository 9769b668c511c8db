# Debugging in the core: watchpoints, the instruction trace, the interrupt
# log. Nothing here costs a run that uses none of them: Cpu.run takes
# debug_run (below) only while CpuState.events has a debugging bit set, and
# a watched page is the only page whose accesses reach watch_read8 /
# watch_write8 (its page kind is PG_WATCH, so the memory fast paths, the
# hole-free RAM prefix and the fetch window all leave it out).
#
# The state lives in a DebugState the Cpu allocates on first use
# (CpuState.dbg); CpuState.fetching tells a code fetch through
# fill_fetchbuf from a data read (watchpoints are data breakpoints).

cdef enum:
    PG_WATCH = 5            # a watched RAM or ROM page (its real kind: DebugState.wkind)
    EV_WATCH = 2            # CpuState.events: watchpoints exist
    EV_TRACE = 4            # record each instruction before it runs
    EV_INTLOG = 8           # log interrupts and exceptions at delivery
    EV_STEPPED = EV_BREAKPOINTS | EV_WATCH | EV_TRACE
    EXIT_WATCHPOINT = 11    # an access hit a watchpoint (after the instruction)
    EXIT_TRACE_FULL = 12    # the trace buffer is full: drain it, run again
    WP_WRITE = 1
    WP_READ = 2
    WP_ACCESS = 3
    MAX_WATCHPOINTS = 16
    MAX_WATCH_PAGES = 32
    TRACE_CAP = 4096
    INTLOG_CAP = 4096

ctypedef struct Watchpoint:
    uint32_t lin            # linear address gdb asked for
    uint32_t phys           # where it lies now (through paging and A20)
    uint32_t length
    uint32_t kind           # WP_WRITE, WP_READ or WP_ACCESS
    uint32_t present        # its page is present (else it watches nothing)

# One executed instruction, recorded before it runs (TraceRec in
# hvmm/trace.py unpacks it: keep the two in step).
ctypedef struct TraceRec:
    uint64_t icount
    uint32_t cs
    uint32_t eip
    uint32_t linear
    uint32_t eflags
    uint32_t cr0
    uint32_t sel[6]
    uint32_t regs[8]
    uint32_t csattr
    uint8_t code[16]

# One interrupt or exception taken (IntRec in hvmm/trace.py), with the
# state before delivery (as QEMU's -d int shows it).
ctypedef struct IntRec:
    uint64_t icount
    uint32_t vec
    int32_t error           # -1: no error code (always, in real mode)
    uint32_t cs             # where it happened: the instruction at CS:EIP
    uint32_t eip
    uint32_t pc             # its linear address (CS base + EIP)
    uint32_t ret_eip        # the EIP pushed (past a software interrupt)
    uint32_t new_cs
    uint32_t new_eip
    uint32_t cr0
    uint32_t cr2
    uint32_t ss             # SS:ESP before the pushes
    uint32_t esp
    uint32_t cpl

ctypedef struct DebugState:
    uint32_t nwp
    Watchpoint wp[MAX_WATCHPOINTS]
    uint32_t nwpage
    uint32_t wpage[MAX_WATCH_PAGES]     # watched physical page numbers
    uint8_t wkind[MAX_WATCH_PAGES]      # their page kind before watching
    int armed                           # inside a debug_run step
    int hit
    uint32_t hit_lin
    uint32_t hit_kind
    uint32_t trace_lo                   # trace [trace_lo, trace_hi] (linear)
    uint32_t trace_hi
    uint32_t tn
    TraceRec trace[TRACE_CAP]
    uint64_t int_n                      # interrupts logged since enabled
    IntRec ints[INTLOG_CAP]             # ring: entry n at n % INTLOG_CAP


cdef inline DebugState* dbg(CpuState* c) noexcept nogil:
    return <DebugState*>c.dbg

# ---- watchpoints ------------------------------------------------------------

cdef int watch_kind_of(DebugState* g, uint32_t phys) noexcept nogil:
    cdef uint32_t i, page = phys >> 12
    for i in range(g.nwpage):
        if g.wpage[i] == page:
            return g.wkind[i]
    return PG_UNMAPPED

cdef void watch_check(CpuState* c, uint32_t phys, uint32_t access) noexcept nogil:
    cdef DebugState* g = dbg(c)
    cdef uint32_t i
    cdef Watchpoint* w
    if not g.armed or g.hit:
        return
    for i in range(g.nwp):
        w = &g.wp[i]
        if (w.kind & access) and w.present and phys - w.phys < w.length:
            g.hit = 1
            g.hit_lin = w.lin + (phys - w.phys)
            g.hit_kind = w.kind
            return

cdef uint8_t watch_read8(CpuState* c, uint32_t phys) noexcept nogil:
    if not c.fetching:
        watch_check(c, phys, WP_READ)
    return c.mem[phys]

cdef void watch_write8(CpuState* c, uint32_t phys, uint32_t v) noexcept nogil:
    watch_check(c, phys, WP_WRITE)
    if watch_kind_of(dbg(c), phys) == PG_RAM:
        c.mem[phys] = <uint8_t>v

# Give every page under a present watchpoint the kind PG_WATCH, and the
# pages no longer watched their own kind back. -1: too many pages. The
# caller recomputes the RAM prefix and flushes the TLB (its entries hold
# page kinds).
cdef int watch_pages_set(CpuState* c, DebugState* g) noexcept nogil:
    cdef uint32_t i, page, last
    for i in range(g.nwpage):
        c.pagekind[g.wpage[i]] = g.wkind[i]
    g.nwpage = 0
    for i in range(g.nwp):
        if not g.wp[i].present:
            continue
        page = g.wp[i].phys >> 12
        last = (g.wp[i].phys + g.wp[i].length - 1) >> 12
        while page <= last:
            if c.pagekind[page] != PG_WATCH:
                if g.nwpage >= MAX_WATCH_PAGES:
                    return -1
                g.wpage[g.nwpage] = page
                g.wkind[g.nwpage] = c.pagekind[page]
                g.nwpage += 1
                c.pagekind[page] = PG_WATCH
            page += 1
    return 0

cdef void ram_top_update(CpuState* c) noexcept nogil:
    # the hole-free RAM prefix (memory.pxi's phys_rd8 fast test)
    cdef uint32_t page = 0
    while page < (1 << 20) and c.pagekind[page] == PG_RAM:
        page += 1
    c.ram_top = page << 12 if page < (1 << 20) else 0xFFFFF000u

# Watchpoints are on linear addresses; the core watches the physical bytes
# they map to. Before each stepped instruction the translations are
# checked again, so the watch follows the guest's remapping (CR3 loads,
# PTE changes, paging or the A20 gate turned on or off); a page that is
# not present, or mapped to a device or a hole, watches nothing until it
# is mapped to RAM or ROM again. (Another linear alias of the same
# physical bytes fires it too.)
cdef inline int watchable(CpuState* c, uint32_t phys) noexcept nogil:
    cdef uint8_t kind = c.pagekind[phys >> 12]
    return kind == PG_WATCH or kind <= PG_ROM

cdef void watch_follow(CpuState* c, DebugState* g) noexcept nogil:
    cdef uint32_t i, phys = 0
    cdef uint32_t present
    cdef int moved = 0
    for i in range(g.nwp):
        present = translate_probe(c, g.wp[i].lin, &phys)
        if present and not (watchable(c, phys) and watchable(c, phys + g.wp[i].length - 1)):
            present = 0
        if present != g.wp[i].present or (present and phys != g.wp[i].phys):
            g.wp[i].present = present
            g.wp[i].phys = phys
            moved = 1
    if moved:
        watch_pages_set(c, g)       # (16 watchpoints of 2 pages at most: fits)
        ram_top_update(c)
        tlb_flush(c, 0)

# A physical byte as the debugger sees it: no device side effect, no
# watchpoint.
cdef uint32_t peek_phys(CpuState* c, uint32_t lin) noexcept nogil:
    # not present: an unmapped address (reads FF)
    cdef uint32_t phys
    if translate_probe(c, lin, &phys):
        return phys
    return 0xFFFFFFFFu

cdef uint8_t peek8(CpuState* c, uint32_t phys) noexcept nogil:
    cdef uint8_t kind = c.pagekind[phys >> 12]
    if kind == PG_RAM or kind == PG_ROM or kind == PG_WATCH:
        return c.mem[phys]
    if kind == PG_ROM_ALIAS:
        return c.mem[phys - c.rom_alias_base + c.rom_alias_src]
    return 0xFF

# ---- the trace and the interrupt log ---------------------------------------------

cdef void trace_record(CpuState* c, DebugState* g, uint32_t lin) noexcept nogil:
    cdef TraceRec* t = &g.trace[g.tn]
    cdef int i
    g.tn += 1
    t.icount = c.icount
    t.cs = c.seg[S_CS].sel
    t.eip = c.eip
    t.linear = lin
    t.eflags = get_eflags(c) | c.flags_fixed
    t.cr0 = c.cr[0]
    for i in range(6):
        t.sel[i] = c.seg[i].sel
    for i in range(8):
        t.regs[i] = c.regs[i]
    t.csattr = c.seg[S_CS].attr
    for i in range(16):
        t.code[i] = peek8(c, peek_phys(c, c.seg[S_CS].base + ((c.eip + i) & c.ipmask)))

# Called from do_interrupt (control.pxi) when EV_INTLOG is set: begin
# fills the next slot with the state before delivery, add (once the new
# CS:EIP is known, before it is loaded) completes it and counts it. A
# delivery that faults never counts its slot: the fault's own reuses it.
cdef void intlog_begin(CpuState* c, uint32_t vec) noexcept nogil:
    cdef DebugState* g = dbg(c)
    cdef IntRec* r = &g.ints[g.int_n % INTLOG_CAP]
    # Instructions so far, the one raising it included. deliver (DLV_EXT:
    # exceptions, IRQs, NMI) runs between chunks, with c.icount up to date;
    # INT n runs inside its chunk, which adds to c.icount only at its end.
    r.icount = c.icount
    if not (c.deliver_flags & DLV_EXT):
        r.icount += c.chunk_len - c.insn_left
    r.vec = vec
    r.error = -1
    if (c.cr[0] & 1) and (c.deliver_flags & DLV_ERR):
        r.error = <int32_t>(c.fault_err & 0xFFFF)
    r.cs = c.seg[S_CS].sel
    r.eip = c.eip
    r.pc = c.seg[S_CS].base + c.eip
    r.cr0 = c.cr[0]
    r.cr2 = c.cr[2]
    r.ss = c.seg[S_SS].sel
    r.esp = c.regs[R_ESP]
    r.cpl = c.cpl

cdef void intlog_add(CpuState* c, uint32_t ret_eip, uint32_t new_cs,
                     uint32_t new_eip) noexcept nogil:
    cdef DebugState* g = dbg(c)
    cdef IntRec* r = &g.ints[g.int_n % INTLOG_CAP]
    g.int_n += 1
    r.ret_eip = ret_eip
    r.new_cs = new_cs
    r.new_eip = new_eip

# ---- the stepped run ----------------------------------------------------------

cdef inline int at_breakpoint(CpuState* c, uint32_t lin) noexcept nogil:
    cdef uint32_t i
    for i in range(c.nbp):
        if c.bp[i] == lin:
            return 1
    return 0

cdef inline int stop_here(CpuState* c, int reason) noexcept nogil:
    c.exit_cs = c.seg[S_CS].sel
    c.exit_eip = c.eip
    return reason

# Run with breakpoints, watchpoints or the trace on: one instruction per
# run_loop call. A zero-budget call first takes what is pending at the
# boundary (an interrupt moves CS:EIP to its handler), so a breakpoint or a
# trace line sees the instruction that really runs next; it is skipped in
# an interrupt shadow, where the loop takes nothing (and a zero-budget call
# would end the shadow without an instruction). A run resumes over a
# breakpoint at its first instruction.
cdef int debug_run(CpuState* c, uint64_t budget) noexcept nogil:
    cdef DebugState* g = dbg(c)
    cdef uint64_t done = 0
    cdef uint32_t lin
    cdef int r
    while done < budget:
        if not c.shadow and not c.halted:
            r = run_loop_for(c, 0)
            if r != EXIT_BUDGET:
                return r
        lin = c.seg[S_CS].base + c.eip
        if done and (c.events & EV_BREAKPOINTS) and at_breakpoint(c, lin):
            return stop_here(c, EXIT_BREAKPOINT)
        if (c.events & EV_TRACE) and not c.halted and lin - g.trace_lo <= g.trace_hi - g.trace_lo:
            if g.tn >= TRACE_CAP:
                return stop_here(c, EXIT_TRACE_FULL)
            trace_record(c, g, lin)
        g.hit = 0
        g.armed = (c.events & EV_WATCH) != 0
        if g.armed:
            watch_follow(c, g)
        c.fetching = 0
        r = run_loop_for(c, 1)
        g.armed = 0
        done += 1
        if g.hit:
            return stop_here(c, EXIT_WATCHPOINT)
        if r != EXIT_BUDGET:
            return r
    return EXIT_BUDGET
