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
    uint32_t phys           # where it lies now (real mode: through A20)
    uint32_t length
    uint32_t kind           # WP_WRITE, WP_READ or WP_ACCESS

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

# One interrupt or exception taken (IntRec in hvmm/trace.py).
ctypedef struct IntRec:
    uint64_t icount
    uint32_t vec
    int32_t error           # -1: no error code (always, in real mode)
    uint32_t cs             # where it happened: the instruction at CS:EIP
    uint32_t eip
    uint32_t ret_eip        # the EIP pushed (past a software interrupt)
    uint32_t new_cs
    uint32_t new_eip
    uint32_t cr0
    uint32_t cr2
    uint32_t esp

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
        if (w.kind & access) and phys - w.phys < w.length:
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

# Called from do_interrupt (control.pxi) when EV_INTLOG is set, once the
# new CS:IP is known and before it is loaded.
cdef void intlog_add(CpuState* c, uint32_t vec, uint32_t ret_eip, uint32_t new_cs,
                     uint32_t new_eip) noexcept nogil:
    cdef DebugState* g = dbg(c)
    cdef IntRec* r = &g.ints[g.int_n % INTLOG_CAP]
    g.int_n += 1
    r.icount = c.icount
    r.vec = vec
    r.error = -1
    r.cs = c.seg[S_CS].sel
    r.eip = c.eip
    r.ret_eip = ret_eip
    r.new_cs = new_cs
    r.new_eip = new_eip
    r.cr0 = c.cr[0]
    r.cr2 = c.cr[2]
    r.esp = c.regs[R_ESP]

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
        c.fetching = 0
        r = run_loop_for(c, 1)
        g.armed = 0
        done += 1
        if g.hit:
            return stop_here(c, EXIT_WATCHPOINT)
        if r != EXIT_BUDGET:
            return r
    return EXIT_BUDGET
