# One counter of the Intel 8254 programmable interval timer (the chip, its
# ports and IRQ0 are in kernel/pit.pxi, which includes a PitChannel per
# counter and is included after this file).
#
# Nothing is counted per instruction. A counter is a small model (the tick
# at which its counting element was loaded, the reload value, the mode);
# the count and OUT at any time are computed from it, the tick number being
# derived from the virtual clock: tick(now) = floor(now * 1193182 / 1e9),
# in exact integer arithmetic. Counter 0's next rising OUT edge is what
# pit_next_event returns, so the core only calls pit_advance when IRQ0 is
# due. Behaviour follows the Intel 82C54 datasheet (order no. 231244).

cdef enum:
    PIT_HZ = 1193182                # input clock
    PIT_NS_PER_SEC = 1000000000

    # Control word: SC1 SC0 RW1 RW0 M2 M1 M0 BCD
    PIT_CW_SC_SHIFT = 6
    PIT_CW_SC_READBACK = 3
    PIT_CW_RW_SHIFT = 4
    PIT_CW_MODE_SHIFT = 1
    PIT_CW_BCD = 0x01
    PIT_RW_LATCH = 0                # counter latch command
    PIT_RW_LSB = 1                  # read/load least significant byte only
    PIT_RW_MSB = 2                  # most significant byte only
    PIT_RW_WORD = 3                 # LSB then MSB

    # Status byte: OUT, NULL COUNT, RW1 RW0 M2 M1 M0 BCD
    PIT_ST_OUT = 0x80
    PIT_ST_NULL = 0x40

# "Never" for ticks and event times (the core's NO_EVENT has the same value).
cdef uint64_t PIT_NEVER = 0xFFFFFFFFFFFFFFFFULL

ctypedef struct PitChannel:
    # programming
    uint8_t mode            # effective mode 0-5 (6 and 7 are 2 and 3)
    uint8_t mode_bits       # M2-M0 as written, for the status byte
    uint8_t rw              # PIT_RW_LSB / _MSB / _WORD
    uint8_t bcd
    uint8_t gate            # GATE input level
    # write side: count register (CR)
    uint8_t wr_msb          # RW_WORD: the next write is the MSB
    uint8_t wr_lsb          # the LSB written before it
    uint8_t cr_valid        # a complete count was written since the control word
    uint32_t cr_n           # that count in clocks (1..65536, BCD 1..10000)
    # read side
    uint8_t rd_msb          # RW_WORD, unlatched: the next read is the MSB
    uint8_t latch_left      # bytes of the latched count still to be read
    uint16_t latch_value
    uint8_t status_latched
    uint8_t status
    # the counting element (CE)
    uint64_t base           # tick at which CE holds `start` (PIT_NEVER: none loaded)
    int64_t start           # CE at `base` in clocks; once past terminal count
                            # modes 0/1/4/5 go negative (shown modulo 2^16 / 10^4);
                            # when frozen (run = 0) the CE value
    uint32_t n              # reload value in clocks (modes 2/3 period)
    uint8_t run             # counting enabled by GATE (modes 0, 2, 3, 4)
    uint8_t start_low       # mode 3: the sequence at `base` starts with the low half
    int64_t idle_ce         # CE before `base`, or with no count loaded
    uint8_t idle_out        # OUT before `base`
    # modes 2/3: a count written while counting is loaded at the end of
    # the current cycle (mode 2) or half-cycle (mode 3)
    uint8_t pending
    uint8_t pending_low
    uint32_t pending_n
    uint64_t pending_tick
    uint64_t load_tick      # NULL COUNT reads 1 until this tick (CR -> CE)

# --- time base ------------------------------------------------------------

cdef inline uint64_t pit_ticks(uint64_t now) noexcept nogil:
    # Input clocks elapsed at `now` ns: floor(now * HZ / 1e9), exactly.
    # Split at whole seconds so that nothing overflows 64 bits.
    cdef uint64_t q = now // PIT_NS_PER_SEC
    cdef uint64_t r = now % PIT_NS_PER_SEC
    return q * PIT_HZ + (r * PIT_HZ) // PIT_NS_PER_SEC


cdef inline uint64_t pit_tick_ns(uint64_t tick) noexcept nogil:
    # The first nanosecond at which pit_ticks() reaches `tick`.
    cdef uint64_t q, r
    if tick == PIT_NEVER:
        return PIT_NEVER
    q = tick // PIT_HZ
    r = tick % PIT_HZ
    return q * PIT_NS_PER_SEC + (r * PIT_NS_PER_SEC + PIT_HZ - 1) // PIT_HZ


# --- counter model --------------------------------------------------------

cdef inline uint32_t pit_modulus(PitChannel* c) noexcept nogil:
    return 10000 if c.bcd else 65536


cdef uint32_t pit_count_clocks(PitChannel* c, uint32_t raw) noexcept nogil:
    # The written count as a number of clocks; 0 is the largest count.
    cdef uint32_t v = raw
    if c.bcd:
        v = ((raw >> 12) & 15) * 1000 + ((raw >> 8) & 15) * 100 + ((raw >> 4) & 15) * 10 + (raw & 15)
    if v == 0:
        v = pit_modulus(c)
    return v


cdef uint16_t pit_display(PitChannel* c, int64_t ce) noexcept nogil:
    # CE as the guest reads it: modulo the counter size, BCD if selected.
    cdef int64_t m = pit_modulus(c)
    cdef int64_t v = ce % m
    if v < 0:
        v += m
    if c.bcd:
        return <uint16_t>(((v // 1000) << 12) | (((v // 100) % 10) << 8) |
                          (((v // 10) % 10) << 4) | (v % 10))
    return <uint16_t>v


cdef void pit_model_eval(PitChannel* c, uint64_t t, int64_t* ce, int* out) noexcept nogil:
    # CE and OUT at tick t, ignoring a pending count.
    cdef uint64_t k, pos, j, hi, n
    cdef int64_t r
    if c.base == PIT_NEVER or t < c.base:
        ce[0] = c.idle_ce
        out[0] = c.idle_out
        return
    k = t - c.base
    n = c.n
    if c.mode == 2:
        # Rate generator: N, N-1, ..., 1, N, ...; OUT low while CE is 1.
        if not c.run:
            ce[0] = c.start
            out[0] = 1          # GATE low forces OUT high
            return
        pos = k % n
        ce[0] = <int64_t>(n - pos)
        out[0] = not (n > 1 and pos == n - 1)
    elif c.mode == 3:
        # Square wave: high for ceil(N/2) clocks, low for floor(N/2). Even N
        # counts down by 2 each half. Odd N: the high half loads N, then
        # N-1, then steps by 2; the low half loads N, then N-3, then by 2.
        if not c.run:
            ce[0] = c.start
            out[0] = 1
            return
        hi = (n + 1) // 2
        pos = (k + (hi if c.start_low else 0)) % n
        if pos < hi:
            j = pos
            out[0] = 1
            ce[0] = <int64_t>(n + 1 - 2 * j) if (n & 1) and j > 0 else <int64_t>(n - 2 * j)
        else:
            j = pos - hi
            out[0] = 0
            ce[0] = <int64_t>(n - 1 - 2 * j) if (n & 1) and j > 0 else <int64_t>(n - 2 * j)
    else:
        # One-shot modes count down through 0 and wrap, OUT changing once.
        r = c.start - <int64_t>k if c.run else c.start
        ce[0] = r
        if c.mode == 0 or c.mode == 1:
            out[0] = r <= 0             # high from terminal count on
        else:
            out[0] = r != 0             # modes 4/5: low for the one clock at 0


cdef inline void pit_apply_pending(PitChannel* c) noexcept nogil:
    c.base = c.pending_tick
    c.n = c.pending_n
    c.start = c.pending_n
    c.start_low = c.pending_low
    c.pending = 0


cdef inline void pit_catch_up(PitChannel* c, uint64_t t) noexcept nogil:
    if c.pending and t >= c.pending_tick:
        pit_apply_pending(c)


cdef void pit_eval(PitChannel* c, uint64_t t, int64_t* ce, int* out) noexcept nogil:
    cdef PitChannel tmp
    if c.pending and t >= c.pending_tick:
        tmp = c[0]
        pit_apply_pending(&tmp)
        pit_model_eval(&tmp, t, ce, out)
    else:
        pit_model_eval(c, t, ce, out)


cdef uint64_t pit_model_rise(PitChannel* c, uint64_t t) noexcept nogil:
    # First tick > t at which OUT goes low to high, ignoring a pending count.
    cdef uint64_t k, n, off
    cdef int64_t ce
    cdef int out
    if c.base == PIT_NEVER:
        return PIT_NEVER
    if t < c.base:
        pit_model_eval(c, c.base, &ce, &out)
        if c.idle_out == 0 and out:
            return c.base
        k = 0
    else:
        k = t - c.base
    n = c.n
    if c.mode == 0 or c.mode == 1:
        if c.run and c.start > <int64_t>k:
            return c.base + <uint64_t>c.start         # terminal count
    elif c.mode == 4 or c.mode == 5:
        if c.run and c.start + 1 > <int64_t>k:
            return c.base + <uint64_t>c.start + 1     # end of the strobe
    elif c.mode == 2:
        if c.run and n > 1:
            return c.base + (k // n + 1) * n          # reload
    else:
        if c.run and n > 1:
            off = (n + 1) // 2 if c.start_low else 0
            return c.base + ((k + off) // n + 1) * n - off
    return PIT_NEVER


cdef uint64_t pit_next_rise(PitChannel* c, uint64_t t) noexcept nogil:
    cdef PitChannel tmp
    cdef uint64_t r
    if not c.pending:
        return pit_model_rise(c, t)
    tmp = c[0]
    pit_apply_pending(&tmp)
    if t < c.pending_tick:
        r = pit_model_rise(c, t)
        if r <= c.pending_tick:
            return r
        return pit_model_rise(&tmp, c.pending_tick)
    return pit_model_rise(&tmp, t)


# --- programming ----------------------------------------------------------

cdef void pit_latch_count(PitChannel* c, uint64_t t) noexcept nogil:
    # Counter latch: a second latch before the first is read is ignored.
    cdef int64_t ce
    cdef int out
    if c.latch_left:
        return
    pit_eval(c, t, &ce, &out)
    c.latch_value = pit_display(c, ce)
    c.latch_left = 2 if c.rw == PIT_RW_WORD else 1


cdef void pit_latch_status(PitChannel* c, uint64_t t) noexcept nogil:
    cdef int64_t ce
    cdef int out
    if c.status_latched:
        return
    pit_eval(c, t, &ce, &out)
    c.status = ((PIT_ST_OUT if out else 0) | (PIT_ST_NULL if t < c.load_tick else 0) |
                (c.rw << PIT_CW_RW_SHIFT) | (c.mode_bits << PIT_CW_MODE_SHIFT) | c.bcd)
    c.status_latched = 1


cdef void pit_set_mode(PitChannel* c, uint32_t v, uint64_t t) noexcept nogil:
    # Control word: the counter's control logic is reset at once; OUT goes
    # to its initial level (low in mode 0, high otherwise) and the counter
    # waits for a count. The CE keeps its value meanwhile.
    cdef int64_t ce
    cdef int out
    pit_eval(c, t, &ce, &out)
    c.mode_bits = (v >> PIT_CW_MODE_SHIFT) & 7
    c.mode = c.mode_bits - 4 if c.mode_bits >= 6 else c.mode_bits
    c.rw = (v >> PIT_CW_RW_SHIFT) & 3
    c.bcd = v & PIT_CW_BCD
    c.idle_ce = ce
    c.idle_out = 0 if c.mode == 0 else 1
    c.base = PIT_NEVER
    c.start = 0
    c.n = 0
    c.run = c.gate
    c.start_low = 0
    c.pending = 0
    c.cr_valid = 0
    c.load_tick = PIT_NEVER
    c.wr_msb = 0
    c.rd_msb = 0
    c.latch_left = 0
    c.status_latched = 0


cdef void pit_load(PitChannel* c, uint32_t raw, uint64_t t) noexcept nogil:
    # A complete count was written into CR at tick t.
    cdef uint32_t n = pit_count_clocks(c, raw)
    cdef uint64_t k, hi, off, pos
    cdef int64_t ce
    cdef int out
    c.cr_n = n
    c.cr_valid = 1
    if c.mode == 1 or c.mode == 5:
        # Hardware-triggered: CR goes to CE on the next GATE rising edge.
        c.load_tick = PIT_NEVER
    elif c.mode == 0 or c.mode == 4 or c.base == PIT_NEVER or t < c.base:
        # Loaded on the next CLK pulse, which does not decrement: so N+1
        # clocks after the write until terminal count. In modes 0 and 4 a
        # new count restarts counting at once; in modes 2/3 this is the
        # first count after the control word.
        if c.base == PIT_NEVER or t >= c.base:
            pit_eval(c, t, &ce, &out)
            c.idle_out = 0 if c.mode == 0 else out
        # Until that pulse the CE still holds its old value, but no ISA
        # read (about 1 us) comes sooner than one clock (838 ns) after the
        # write; here an IN takes one instruction, so a read in the window
        # shows the new count (Linux's quick TSC calibration reads MSB FFh
        # at once after loading FFFFh, and gives up on anything else).
        c.idle_ce = n
        c.base = t + 1
        c.start = n
        c.n = n
        c.run = c.gate
        c.start_low = 0
        c.pending = 0
        c.load_tick = t + 1
    elif not c.run:
        # Modes 2/3 with GATE low: the trigger (GATE rising) loads CR.
        c.load_tick = PIT_NEVER
    else:
        # Modes 2/3 while counting: the current sequence is not disturbed;
        # the new count is loaded at the end of the cycle (mode 2) or of the
        # half-cycle (mode 3).
        k = t - c.base
        if c.mode == 2:
            c.pending_tick = c.base + (k // c.n + 1) * c.n
            c.pending_low = 0
        else:
            hi = (c.n + 1) // 2
            off = hi if c.start_low else 0
            pos = (k + off) % c.n
            if pos < hi:
                c.pending_tick = t + (hi - pos)     # OUT falls there
                c.pending_low = 1
            else:
                c.pending_tick = t + (c.n - pos)    # OUT rises there
                c.pending_low = 0
        c.pending = 1
        c.pending_n = n
        c.load_tick = c.pending_tick


cdef void pit_write_count(PitChannel* c, uint32_t v, uint64_t t) noexcept nogil:
    cdef int64_t ce
    cdef int out
    if c.rw == PIT_RW_LSB:
        pit_load(c, v, t)
    elif c.rw == PIT_RW_MSB:
        pit_load(c, v << 8, t)
    elif not c.wr_msb:
        c.wr_lsb = v
        c.wr_msb = 1
        if c.mode == 0:
            # Mode 0: writing the first byte disables counting and sets OUT
            # low at once; the second byte loads the new count.
            pit_eval(c, t, &ce, &out)
            c.idle_ce = ce
            c.idle_out = 0
            c.base = PIT_NEVER
            c.load_tick = PIT_NEVER
    else:
        c.wr_msb = 0
        pit_load(c, c.wr_lsb | (v << 8), t)


cdef uint32_t pit_read_counter(PitChannel* c, uint64_t t) noexcept nogil:
    cdef int64_t ce
    cdef int out
    cdef uint32_t v
    if c.status_latched:
        c.status_latched = 0
        return c.status
    if c.latch_left:
        if c.rw == PIT_RW_WORD and c.latch_left == 2:
            c.latch_left = 1
            return c.latch_value & 0xFF
        c.latch_left = 0
        if c.rw == PIT_RW_LSB:
            return c.latch_value & 0xFF
        return c.latch_value >> 8
    pit_eval(c, t, &ce, &out)
    v = pit_display(c, ce)
    if c.rw == PIT_RW_LSB:
        return v & 0xFF
    if c.rw == PIT_RW_MSB:
        return v >> 8
    c.rd_msb ^= 1
    return (v >> 8) if not c.rd_msb else (v & 0xFF)


cdef void pit_set_gate(PitChannel* c, int g, uint64_t t) noexcept nogil:
    # GATE level change at tick t (only counter 2's GATE is not tied high).
    cdef int64_t ce
    cdef int out
    pit_catch_up(c, t)
    g = g != 0
    if g == c.gate:
        return
    c.gate = g
    if c.mode == 1 or c.mode == 5:
        # Trigger: CR is loaded into CE on the next CLK; retriggerable.
        if g and c.cr_valid:
            pit_eval(c, t, &ce, &out)
            c.idle_ce = ce
            c.idle_out = out
            c.base = t + 1
            c.start = c.cr_n
            c.n = c.cr_n
            c.run = 1
            if c.load_tick > t + 1:
                c.load_tick = t + 1
    elif c.mode == 0 or c.mode == 4:
        # GATE low suspends counting; high resumes it from where it stopped.
        if c.base != PIT_NEVER and t >= c.base:
            if not g and c.run:
                c.start -= <int64_t>(t - c.base)
                c.base = t
            elif g and not c.run:
                c.base = t
        c.run = g
    else:
        if not g:
            # Modes 2/3: GATE low stops counting and forces OUT high; a
            # count waiting for the end of the cycle now waits for the trigger.
            if c.base != PIT_NEVER and c.run:
                if t >= c.base:
                    pit_eval(c, t, &ce, &out)
                    c.start = ce
                    c.base = t
                else:
                    c.start = c.n
            if c.pending:
                c.pending = 0
                c.load_tick = PIT_NEVER
            c.run = 0
        elif c.cr_valid:
            # Trigger: reload CR on the next CLK and start a new cycle.
            pit_eval(c, t, &ce, &out)
            c.idle_ce = ce
            c.idle_out = out
            c.base = t + 1
            c.n = c.cr_n
            c.start = c.cr_n
            c.start_low = 0
            c.run = 1
            c.pending = 0
            if c.load_tick > t + 1:
                c.load_tick = t + 1
        else:
            c.run = 1
