# Motorola MC146818 real-time clock and 128 bytes of CMOS RAM, at 0x70
# (index; bit 7 masks NMI) and 0x71 (data), interrupting on IRQ 8.
#
# The clock is never ticked. Its reading at virtual time `now` (ns) is
#
#     seconds = base_epoch + floor((now - base_ns) / 1e9)
#
# where base_ns is an instant at which the divider chain crossed a second
# boundary and base_epoch the clock's reading then (seconds since
# 1970-01-01 00:00:00 on the guest's calendar: the registers show the UTC
# calendar of that number, so a core wanting local time adds its UTC
# offset). The core sets both fields: host time in realtime mode, a fixed
# start in deterministic mode. The time registers are computed from them
# when read; a guest write to a time register moves base_epoch and keeps
# the sub-second phase (base_ns), as the divider chain keeps running.
#
# While SET (register B bit 7) is 1, or the divider is stopped (register A
# DV != 010), the time registers are frozen: they live in cmos[] as plain
# bytes the guest can rewrite one by one, and are parsed back into
# base_epoch when the clock runs again.
#
# Interrupt flags (register C) are evaluated lazily too: `flags_ns` is the
# time up to which PF/AF/UF are known; reading register C, any write and
# advance() bring them up to `now`. next_event() returns the next instant
# at which an *enabled* flag would raise IRQF, so a guest that only polls
# register C (or uses no interrupts) costs the run loop nothing. Once IRQF
# is set the line stays high until register C is read, so no further
# event is reported until then.
#
# Timing model (32.768 kHz time base): UIP reads 1 during the 244 us
# before each second boundary; at the boundary the registers show the new
# second, UF is set and the alarm compared. Periodic ticks come every
# 2^(rate-1) cycles of 32768 Hz (rates 1 and 2: 256 and 128 Hz), phase
# locked to the same divider chain.
#
# Not modelled: daylight saving (DSE is stored, never applied, as on every
# PC that matters), the square-wave pin (SQWE stored), the 4.194304 and
# 1.048576 MHz time bases (DV other than 010 stops the clock).
#
# Needs, from the including module: libc.stdint types, memset, PicState
# and pic_set_irq (kernel/pic.pxi).

cdef enum:
    RTC_PORT_INDEX = 0x70
    RTC_PORT_DATA = 0x71
    RTC_INDEX_NMI_MASK = 0x80   # bit 7 of an index write: 1 = NMI disabled
    RTC_IRQ = 8

    # Register indices.
    RTC_SECONDS = 0x00
    RTC_SECONDS_ALARM = 0x01
    RTC_MINUTES = 0x02
    RTC_MINUTES_ALARM = 0x03
    RTC_HOURS = 0x04
    RTC_HOURS_ALARM = 0x05
    RTC_DAY_OF_WEEK = 0x06      # 1 = Sunday .. 7
    RTC_DAY_OF_MONTH = 0x07
    RTC_MONTH = 0x08
    RTC_YEAR = 0x09             # 0-99
    RTC_REG_A = 0x0A
    RTC_REG_B = 0x0B
    RTC_REG_C = 0x0C
    RTC_REG_D = 0x0D
    RTC_CHECKSUM_FIRST = 0x10   # the AT BIOS checksum covers 0x10-0x2D
    RTC_CHECKSUM_LAST = 0x2D
    RTC_CHECKSUM_HI = 0x2E
    RTC_CHECKSUM_LO = 0x2F
    RTC_CENTURY = 0x32          # CMOS RAM by the chip, kept with the clock here
    RTC_CMOS_SIZE = 128

    # Register A.
    RTC_A_UIP = 0x80            # update in progress (read only)
    RTC_A_DV_MASK = 0x70        # divider control
    RTC_A_DV_32K = 0x20         # 010: 32.768 kHz time base, running
    RTC_A_RS_MASK = 0x0F        # periodic rate select
    RTC_A_DEFAULT = 0x26        # 32.768 kHz, 1024 Hz periodic rate (AT BIOS value)

    # Register B.
    RTC_B_SET = 0x80            # halt updates so the time can be set
    RTC_B_PIE = 0x40            # periodic interrupt enable
    RTC_B_AIE = 0x20            # alarm interrupt enable
    RTC_B_UIE = 0x10            # update-ended interrupt enable
    RTC_B_SQWE = 0x08           # square wave enable
    RTC_B_DM = 0x04             # data mode: 1 = binary, 0 = BCD
    RTC_B_24H = 0x02            # 1 = 24-hour, 0 = 12-hour (bit 7 of hours = PM)
    RTC_B_DSE = 0x01            # daylight saving enable
    RTC_B_DEFAULT = 0x02        # BCD, 24-hour, no interrupts

    # Register C (read only; reading clears it).
    RTC_C_IRQF = 0x80           # = PF.PIE + AF.AIE + UF.UIE; drives IRQ 8
    RTC_C_PF = 0x40             # periodic
    RTC_C_AF = 0x20             # alarm
    RTC_C_UF = 0x10             # update ended

    # Register D.
    RTC_D_VRT = 0x80            # valid RAM and time: the battery is fine

    RTC_ALARM_DONT_CARE = 0xC0  # an alarm byte with both top bits set matches all

    RTC_NS_PER_SEC = 1000000000
    RTC_HALF_SEC_NS = 500000000     # first update after the divider leaves reset
    RTC_UIP_NS = 244141             # 8 cycles of 32768 Hz (tBUC = 244 us)
    # One 32768 Hz cycle is 1e9/32768 = 1953125/64 ns.
    RTC_CYCLE_NUM = 1953125
    RTC_CYCLE_DEN = 64


ctypedef struct RtcState:
    PicState* pic               # set at init
    # --- the clock: set by the core (see the top of this file)
    int64_t base_epoch          # clock reading (s since 1970) at base_ns
    int64_t base_ns             # virtual ns of a second boundary of the divider
    # --- read by the core
    int nmi_masked              # bit 7 of the last index write
    # --- registers
    uint8_t cmos[128]           # RAM; A (bits 0-6) and B live at their index;
                                # time bytes here only while `held`
    uint8_t index
    int held                    # SET or divider stopped: time frozen in cmos[]
    int dow_adjust              # guest's day of week minus the computed one (mod 7)
    uint8_t flags               # register C's PF/AF/UF, valid up to flags_ns
    int64_t flags_ns
    int64_t last_now            # latest `now` seen (for rtc_reset)
    int irq                     # level driven on IRQ 8
    int powered                 # power-on defaults applied (see rtc_reset)


# ---------------------------------------------------------------- arithmetic

cdef inline int64_t rtc_floordiv(int64_t a, int64_t b) noexcept nogil:
    # b > 0; written with non-negative operands only, so it means the same
    # whatever Cython's division semantics.
    if a >= 0:
        return a / b
    return -((-a + b - 1) / b)

cdef inline int64_t rtc_floormod(int64_t a, int64_t b) noexcept nogil:
    return a - rtc_floordiv(a, b) * b

cdef inline int64_t rtc_cycles(int64_t dt) noexcept nogil:
    """Whole 32768 Hz cycles in dt ns: floor(dt * 64 / 1953125), exactly and
    without overflowing for any dt."""
    cdef int64_t q = rtc_floordiv(dt, RTC_CYCLE_NUM)
    cdef int64_t r = dt - q * RTC_CYCLE_NUM
    return q * RTC_CYCLE_DEN + r * RTC_CYCLE_DEN / RTC_CYCLE_NUM

cdef inline int64_t rtc_cycle_time(int64_t c) noexcept nogil:
    """The first ns offset at which rtc_cycles() reaches c."""
    cdef int64_t q = rtc_floordiv(c, RTC_CYCLE_DEN)
    cdef int64_t r = c - q * RTC_CYCLE_DEN
    return q * RTC_CYCLE_NUM + (r * RTC_CYCLE_NUM + RTC_CYCLE_DEN - 1) / RTC_CYCLE_DEN

# Proleptic Gregorian calendar <-> days since 1970-01-01 (H. Hinnant's
# algorithms), valid for any year.
cdef int64_t rtc_days_from_civil(int64_t y, int64_t m, int64_t d) noexcept nogil:
    if m <= 2:
        y -= 1
    cdef int64_t era = rtc_floordiv(y, 400)
    cdef int64_t yoe = y - era * 400
    cdef int64_t doy = (153 * (m - 3 if m > 2 else m + 9) + 2) / 5 + d - 1
    cdef int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146097 + doe - 719468

cdef void rtc_civil_from_days(int64_t z, int64_t* y, int* m, int* d) noexcept nogil:
    z += 719468
    cdef int64_t era = rtc_floordiv(z, 146097)
    cdef int64_t doe = z - era * 146097
    cdef int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
    cdef int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    cdef int64_t mp = (5 * doy + 2) / 153
    d[0] = <int>(doy - (153 * mp + 2) / 5 + 1)
    m[0] = <int>(mp + 3 if mp < 10 else mp - 9)
    y[0] = yoe + era * 400 + (1 if m[0] <= 2 else 0)


# ---------------------------------------------------------------- formats

cdef inline uint8_t rtc_to_reg(RtcState* s, int v) noexcept nogil:
    if s.cmos[RTC_REG_B] & RTC_B_DM:
        return <uint8_t>v
    return <uint8_t>(((v / 10) << 4) | (v % 10))

cdef inline int rtc_from_reg(RtcState* s, uint8_t b) noexcept nogil:
    if s.cmos[RTC_REG_B] & RTC_B_DM:
        return b
    return (b >> 4) * 10 + (b & 15)

cdef inline uint8_t rtc_hours_to_reg(RtcState* s, int h) noexcept nogil:
    cdef int h12
    if s.cmos[RTC_REG_B] & RTC_B_24H:
        return rtc_to_reg(s, h)
    h12 = h % 12
    if h12 == 0:
        h12 = 12
    return rtc_to_reg(s, h12) | (0x80 if h >= 12 else 0)

cdef inline int rtc_hours_from_reg(RtcState* s, uint8_t b) noexcept nogil:
    if s.cmos[RTC_REG_B] & RTC_B_24H:
        return rtc_from_reg(s, b & 0x7F)
    return rtc_from_reg(s, b & 0x7F) % 12 + (12 if b & 0x80 else 0)

cdef inline int rtc_is_time_reg(uint32_t idx) noexcept nogil:
    return (idx == RTC_SECONDS or idx == RTC_MINUTES or idx == RTC_HOURS
            or (idx >= RTC_DAY_OF_WEEK and idx <= RTC_YEAR)
            or idx == RTC_CENTURY)

cdef uint8_t rtc_time_reg(RtcState* s, uint32_t idx, int64_t t) noexcept nogil:
    """Register idx (a time register) for clock reading t, in the current
    format."""
    cdef int64_t days = rtc_floordiv(t, 86400)
    cdef int64_t sod = t - days * 86400
    cdef int64_t y
    cdef int m, d
    if idx == RTC_SECONDS:
        return rtc_to_reg(s, <int>(sod % 60))
    if idx == RTC_MINUTES:
        return rtc_to_reg(s, <int>(sod / 60 % 60))
    if idx == RTC_HOURS:
        return rtc_hours_to_reg(s, <int>(sod / 3600))
    if idx == RTC_DAY_OF_WEEK:
        # 1970-01-01 was a Thursday (5 with Sunday = 1).
        return rtc_to_reg(s, <int>rtc_floormod(days + 4 + s.dow_adjust, 7) + 1)
    rtc_civil_from_days(days, &y, &m, &d)
    if idx == RTC_DAY_OF_MONTH:
        return rtc_to_reg(s, d)
    if idx == RTC_MONTH:
        return rtc_to_reg(s, m)
    if idx == RTC_YEAR:
        return rtc_to_reg(s, <int>rtc_floormod(y, 100))
    return rtc_to_reg(s, <int>(rtc_floordiv(y, 100) % 100))     # century

cdef inline int rtc_clamp(int v, int lo, int hi) noexcept nogil:
    return lo if v < lo else (hi if v > hi else v)

cdef void rtc_store_time(RtcState* s, int64_t t) noexcept nogil:
    """Freeze clock reading t into the time bytes of cmos[]."""
    s.cmos[RTC_SECONDS] = rtc_time_reg(s, RTC_SECONDS, t)
    s.cmos[RTC_MINUTES] = rtc_time_reg(s, RTC_MINUTES, t)
    s.cmos[RTC_HOURS] = rtc_time_reg(s, RTC_HOURS, t)
    s.cmos[RTC_DAY_OF_WEEK] = rtc_time_reg(s, RTC_DAY_OF_WEEK, t)
    s.cmos[RTC_DAY_OF_MONTH] = rtc_time_reg(s, RTC_DAY_OF_MONTH, t)
    s.cmos[RTC_MONTH] = rtc_time_reg(s, RTC_MONTH, t)
    s.cmos[RTC_YEAR] = rtc_time_reg(s, RTC_YEAR, t)
    s.cmos[RTC_CENTURY] = rtc_time_reg(s, RTC_CENTURY, t)

cdef int64_t rtc_load_time(RtcState* s) noexcept nogil:
    """Parse the time bytes of cmos[] back into a clock reading.

    Out-of-range fields are clamped (a day past the month's end rolls into
    the next month). A zero century (never set) means 19xx for years
    70-99 and 20xx below. The day of week is free-running on the chip, so
    the guest's value is kept as an offset from the computed one.
    """
    cdef int sec = rtc_clamp(rtc_from_reg(s, s.cmos[RTC_SECONDS]), 0, 59)
    cdef int mnt = rtc_clamp(rtc_from_reg(s, s.cmos[RTC_MINUTES]), 0, 59)
    cdef int hr = rtc_clamp(rtc_hours_from_reg(s, s.cmos[RTC_HOURS]), 0, 23)
    cdef int day = rtc_clamp(rtc_from_reg(s, s.cmos[RTC_DAY_OF_MONTH]), 1, 31)
    cdef int mon = rtc_clamp(rtc_from_reg(s, s.cmos[RTC_MONTH]), 1, 12)
    cdef int yy = rtc_from_reg(s, s.cmos[RTC_YEAR]) % 100
    cdef int cc = rtc_from_reg(s, s.cmos[RTC_CENTURY]) % 100
    cdef int dow = rtc_clamp(rtc_from_reg(s, s.cmos[RTC_DAY_OF_WEEK]), 1, 7) - 1
    cdef int64_t days
    if cc == 0:
        cc = 19 if yy >= 70 else 20
    days = rtc_days_from_civil(cc * 100 + yy, mon, day)
    s.dow_adjust = <int>rtc_floormod(dow - (days + 4), 7)
    return days * 86400 + hr * 3600 + mnt * 60 + sec


# ---------------------------------------------------------------- clock state

cdef inline int rtc_running(RtcState* s) noexcept nogil:
    return (s.cmos[RTC_REG_A] & RTC_A_DV_MASK) == RTC_A_DV_32K

cdef inline int64_t rtc_secs(RtcState* s, int64_t t) noexcept nogil:
    return s.base_epoch + rtc_floordiv(t - s.base_ns, RTC_NS_PER_SEC)

cdef inline int rtc_periodic_shift(RtcState* s) noexcept nogil:
    """log2 of the periodic period in 32768 Hz cycles, or -1 for none."""
    cdef int rs = s.cmos[RTC_REG_A] & RTC_A_RS_MASK
    if rs == 0:
        return -1
    if rs <= 2:
        return rs + 6           # 256 Hz, 128 Hz: the datasheet's exceptions
    return rs - 1               # 8192 Hz (3) .. 2 Hz (15)

cdef inline int64_t rtc_periodic_index(RtcState* s, int64_t t, int shift) noexcept nogil:
    return rtc_cycles(t - s.base_ns) >> shift

cdef int rtc_alarm_field(RtcState* s, uint8_t b, int hours, int* v) noexcept nogil:
    """Decode an alarm byte: 1 and *v = value (or -1 = don't care), or 0 if
    the clock can never show that byte (e.g. BCD 0x5A), so no match."""
    if (b & RTC_ALARM_DONT_CARE) == RTC_ALARM_DONT_CARE:
        v[0] = -1
        return 1
    if hours:
        v[0] = rtc_hours_from_reg(s, b)
        return v[0] <= 23 and rtc_hours_to_reg(s, v[0]) == b
    v[0] = rtc_from_reg(s, b)
    return v[0] <= 59 and rtc_to_reg(s, v[0]) == b

cdef int rtc_next_alarm(RtcState* s, int64_t after, int64_t* out) noexcept nogil:
    """The first clock reading > after whose time of day matches the alarm
    registers. Returns 0 if the alarm can never match."""
    cdef int ah, am, asec
    cdef int64_t x, day, sod, h, m, sec
    cdef int i
    if not (rtc_alarm_field(s, s.cmos[RTC_HOURS_ALARM], 1, &ah)
            and rtc_alarm_field(s, s.cmos[RTC_MINUTES_ALARM], 0, &am)
            and rtc_alarm_field(s, s.cmos[RTC_SECONDS_ALARM], 0, &asec)):
        return 0
    x = after + 1
    # Each step jumps to the next instant where the first mismatching
    # field (hours, then minutes, then seconds) could match: a few steps.
    for i in range(8):
        day = rtc_floordiv(x, 86400)
        sod = x - day * 86400
        h = sod / 3600
        m = sod / 60 % 60
        sec = sod % 60
        if ah >= 0 and h != ah:
            x = day * 86400 + ah * 3600 + (0 if ah > h else 86400)
        elif am >= 0 and m != am:
            x = day * 86400 + h * 3600 + (am * 60 if am > m else 3600)
        elif asec >= 0 and sec != asec:
            x = day * 86400 + h * 3600 + m * 60 + (asec if asec > sec else 60)
        else:
            out[0] = x
            return 1
    return 0        # not reached

cdef void rtc_update_irq(RtcState* s) noexcept nogil:
    cdef uint8_t b = s.cmos[RTC_REG_B]
    # IRQF = PF.PIE + AF.AIE + UF.UIE: each enable bit in B sits at the
    # position of its flag in C (0x40, 0x20, 0x10).
    cdef int level = (s.flags & b & (RTC_C_PF | RTC_C_AF | RTC_C_UF)) != 0
    if level:
        s.flags |= RTC_C_IRQF
    else:
        s.flags &= ~RTC_C_IRQF
    if level != s.irq:
        s.irq = level
        if s.pic != NULL:
            pic_set_irq(s.pic, RTC_IRQ, level)

cdef void rtc_sync(RtcState* s, int64_t now) noexcept nogil:
    """Set the flags of everything that happened in (flags_ns, now]."""
    cdef int64_t t0 = s.flags_ns
    cdef int64_t s0, s1, x
    cdef int shift
    if now > s.last_now:
        s.last_now = now
    if now <= t0:
        return
    s.flags_ns = now
    if not rtc_running(s):
        return
    shift = rtc_periodic_shift(s)
    if shift >= 0 and rtc_periodic_index(s, now, shift) > rtc_periodic_index(s, t0, shift):
        s.flags |= RTC_C_PF
    if not s.held:
        s0 = rtc_secs(s, t0)
        s1 = rtc_secs(s, now)
        if s1 > s0:
            s.flags |= RTC_C_UF
            if rtc_next_alarm(s, s0, &x) and x <= s1:
                s.flags |= RTC_C_AF
    rtc_update_irq(s)

cdef void rtc_rebase(RtcState* s, int64_t epoch, int64_t now) noexcept nogil:
    """The clock reads `epoch` now; keep the divider's sub-second phase."""
    s.base_ns += rtc_floordiv(now - s.base_ns, RTC_NS_PER_SEC) * RTC_NS_PER_SEC
    s.base_epoch = epoch

cdef void rtc_control_changed(RtcState* s, int was_running, int64_t now) noexcept nogil:
    """After a write to A or B: freeze or release the time registers."""
    cdef int running = rtc_running(s)
    cdef int held = (s.cmos[RTC_REG_B] & RTC_B_SET) != 0 or not running
    if held and not s.held:
        # Freeze the clock as it reads now (before any phase change below).
        rtc_store_time(s, rtc_secs(s, now))
    if running and not was_running:
        # Divider out of reset: the first update comes 500 ms later, and
        # the periodic chain restarts with it.
        s.base_ns = now - RTC_HALF_SEC_NS
    if s.held and not held:
        rtc_rebase(s, rtc_load_time(s), now)
    s.held = held


# ---------------------------------------------------------------- registers

cdef uint8_t rtc_read_reg(RtcState* s, uint32_t idx, int64_t now,
                          int side_effects) noexcept nogil:
    cdef uint8_t v
    cdef int64_t phase
    idx &= 0x7F
    if rtc_is_time_reg(idx):
        if s.held:
            return s.cmos[idx]
        return rtc_time_reg(s, idx, rtc_secs(s, now))
    if idx == RTC_REG_A:
        v = s.cmos[RTC_REG_A] & 0x7F
        if not s.held:
            phase = rtc_floormod(now - s.base_ns, RTC_NS_PER_SEC)
            if phase >= RTC_NS_PER_SEC - RTC_UIP_NS:
                v |= RTC_A_UIP
        return v
    if idx == RTC_REG_C:
        rtc_sync(s, now)
        v = s.flags
        if side_effects:
            # Reading C clears every flag and releases IRQ 8.
            s.flags = 0
            rtc_update_irq(s)
        return v
    if idx == RTC_REG_D:
        return RTC_D_VRT
    return s.cmos[idx]

cdef void rtc_write_reg(RtcState* s, uint32_t idx, uint8_t v, int64_t now) noexcept nogil:
    cdef int was_running
    idx &= 0x7F
    # Everything up to now happened under the old settings.
    rtc_sync(s, now)
    if rtc_is_time_reg(idx):
        if s.held:
            s.cmos[idx] = v
        else:
            # Without SET the write lands in a running clock: the clock
            # goes on from the new value (the sub-second phase is kept).
            rtc_store_time(s, rtc_secs(s, now))
            s.cmos[idx] = v
            rtc_rebase(s, rtc_load_time(s), now)
    elif idx == RTC_REG_A:
        was_running = rtc_running(s)
        s.cmos[RTC_REG_A] = v & 0x7F    # UIP is read only
        rtc_control_changed(s, was_running, now)
    elif idx == RTC_REG_B:
        if v & RTC_B_SET:
            v &= ~RTC_B_UIE             # SET going high clears UIE
        s.cmos[RTC_REG_B] = v
        rtc_control_changed(s, rtc_running(s), now)
        rtc_update_irq(s)               # an enable may meet a pending flag
    elif idx == RTC_REG_C or idx == RTC_REG_D:
        pass                            # read only
    else:
        s.cmos[idx] = v                 # alarms and RAM


# ---------------------------------------------------------------- contract

cdef void rtc_power_on(RtcState* s) noexcept nogil:
    """Battery inserted: zeroed RAM, the AT BIOS's A and B, no flags.
    Keeps pic, base_epoch and base_ns."""
    cdef PicState* pic = s.pic
    cdef int64_t epoch = s.base_epoch
    cdef int64_t base = s.base_ns
    memset(s, 0, sizeof(RtcState))
    s.pic = pic
    s.base_epoch = epoch
    s.base_ns = base
    s.cmos[RTC_REG_A] = RTC_A_DEFAULT
    s.cmos[RTC_REG_B] = RTC_B_DEFAULT
    s.powered = 1

cdef void rtc_init(RtcState* s, PicState* pic) noexcept nogil:
    """Power-on state for a new machine. Then set s.base_epoch and
    s.base_ns (see the top of this file; base_ns is normally the current
    virtual time, e.g. 0). Equivalent: zero the struct, set s.pic and the
    base fields, call rtc_reset()."""
    memset(s, 0, sizeof(RtcState))
    s.pic = pic
    rtc_power_on(s)

cdef void rtc_set_clock(RtcState* s, int64_t epoch, int64_t base_ns,
                        uint64_t now) noexcept nogil:
    """Set the clock while the machine runs (e.g. realtime mode resync):
    it reads `epoch` at virtual time base_ns (<= now)."""
    rtc_sync(s, <int64_t>now)
    s.base_epoch = epoch
    s.base_ns = base_ns
    if s.held:
        rtc_store_time(s, rtc_secs(s, <int64_t>now))

cdef void rtc_reset(RtcState* s) noexcept nogil:
    """The chip's /RESET pin (machine reset): clears PIE, AIE, UIE, SQWE
    and the flags, releasing IRQ 8. Time, calendar and RAM survive (they
    are battery backed). On a zeroed struct (never powered): power-on."""
    if not s.powered:
        rtc_power_on(s)
        return
    rtc_sync(s, s.last_now)
    s.cmos[RTC_REG_B] &= ~(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | RTC_B_SQWE)
    s.flags = 0
    rtc_update_irq(s)

cdef int rtc_io_read(RtcState* s, uint32_t port, uint32_t size,
                     uint32_t* value, uint64_t now) noexcept nogil:
    if size != 1 or port != RTC_PORT_DATA:
        return 0                        # 0x70 is write only: the bus floats
    value[0] = rtc_read_reg(s, s.index, <int64_t>now, 1)
    return 1

cdef int rtc_io_write(RtcState* s, uint32_t port, uint32_t size,
                      uint32_t value, uint64_t now) noexcept nogil:
    if size != 1:
        return 0
    if port == RTC_PORT_INDEX:
        s.index = value & 0x7F
        s.nmi_masked = (value & RTC_INDEX_NMI_MASK) != 0
        return 1
    if port == RTC_PORT_DATA:
        rtc_write_reg(s, s.index, <uint8_t>value, <int64_t>now)
        return 1
    return 0

cdef void rtc_advance(RtcState* s, uint64_t now) noexcept nogil:
    rtc_sync(s, <int64_t>now)

cdef uint64_t rtc_next_event(RtcState* s, uint64_t now) noexcept nogil:
    """When IRQ 8 would next rise, counted from where the flags are known
    (flags_ns <= now; if that is already past, the core advances at once)."""
    cdef uint64_t best = <uint64_t>0xFFFFFFFFFFFFFFFF      # NO_EVENT
    cdef int64_t t = s.flags_ns
    cdef int64_t e, x
    cdef int shift
    cdef uint8_t b = s.cmos[RTC_REG_B]
    if s.irq or not rtc_running(s):
        return best                     # IRQF stays up until C is read
    if b & RTC_B_PIE:
        shift = rtc_periodic_shift(s)
        if shift >= 0:
            e = s.base_ns + rtc_cycle_time(
                (rtc_periodic_index(s, t, shift) + 1) << shift)
            if <uint64_t>e < best:
                best = <uint64_t>e
    if not s.held:
        if b & RTC_B_UIE:
            e = s.base_ns + (rtc_secs(s, t) - s.base_epoch + 1) * RTC_NS_PER_SEC
            if <uint64_t>e < best:
                best = <uint64_t>e
        if b & RTC_B_AIE and rtc_next_alarm(s, rtc_secs(s, t), &x):
            e = s.base_ns + (x - s.base_epoch) * RTC_NS_PER_SEC
            if <uint64_t>e < best:
                best = <uint64_t>e
    return best

cdef void rtc_update_checksum(RtcState* s) noexcept nogil:
    """The AT BIOS checksum: the 16-bit sum of bytes 0x10-0x2D, stored big
    endian at 0x2E (high) and 0x2F (low)."""
    cdef uint32_t i
    cdef uint32_t total = 0
    for i in range(RTC_CHECKSUM_FIRST, RTC_CHECKSUM_LAST + 1):
        total += s.cmos[i]
    s.cmos[RTC_CHECKSUM_HI] = (total >> 8) & 0xFF
    s.cmos[RTC_CHECKSUM_LO] = total & 0xFF

# Firmware setup (Python hooks cpu.cmos_read / cpu.cmos_write): like the
# guest's accesses, except that a read of register C does not clear it.
cdef uint8_t rtc_cmos_read(RtcState* s, uint32_t index, uint64_t now) noexcept nogil:
    return rtc_read_reg(s, index, <int64_t>now, 0)

cdef void rtc_cmos_write(RtcState* s, uint32_t index, uint8_t value,
                         uint64_t now) noexcept nogil:
    rtc_write_reg(s, index, value, <int64_t>now)
