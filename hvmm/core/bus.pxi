# The kernel component's port I/O bus, virtual time and interrupt lines.
#
# Like KVM's kvm_io_bus: each port maps (one table lookup) to the in-kernel
# device registered there; the device handles the access or declines it.
# What no in-kernel device handles goes to Python if Python claimed the
# port (an 'io' exit), else it is an empty-ISA-bus access: reads float to
# all ones, writes are dropped. Every access is counted per device and path.

# a * b / d (rounded down or up) with a 128-bit product, in C: Cython would
# treat a 128-bit typedef as 64 bits and cut the product before the divide
# (virtual time then ran backwards after 2^64 / 10^9 instructions).
cdef extern from *:
    """
    static inline unsigned long long hvmm_muldiv(unsigned long long a, unsigned long long b,
                                                 unsigned long long d) {
        return (unsigned long long)(((unsigned __int128)a * b) / d);
    }
    static inline unsigned long long hvmm_muldiv_up(unsigned long long a, unsigned long long b,
                                                    unsigned long long d) {
        return (unsigned long long)(((unsigned __int128)a * b + d - 1) / d);
    }
    """
    uint64_t muldiv "hvmm_muldiv"(uint64_t a, uint64_t b, uint64_t d) nogil
    uint64_t muldiv_up "hvmm_muldiv_up"(uint64_t a, uint64_t b, uint64_t d) nogil

# A cheap clock for the time spent in in-kernel devices (the TSC on x86).
cdef extern from *:
    """
    #if defined(__x86_64__) || defined(__i386__)
    #include <x86intrin.h>
    static inline unsigned long long hvmm_ticks(void) { return __rdtsc(); }
    #else
    #include <time.h>
    static inline unsigned long long hvmm_ticks(void) {
        struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
        return (unsigned long long)t.tv_sec * 1000000000ull + t.tv_nsec;
    }
    #endif
    """
    uint64_t hvmm_ticks() nogil

cdef enum:
    DEV_NONE = 0        # no in-kernel device on the port
    DEV_PIC = 1
    DEV_PIT = 2
    DEV_KBC = 3
    DEV_RTC = 4
    DEV_UART = 5
    DEV_VIDEO = 6
    DEV_POST = 7        # port 0x80: POST codes
    DEV_A20 = 8         # port 0x92: "fast A20" and reset
    DEV_DEBUGCON = 9    # port 0xE9: Bochs/QEMU debug console
    DEV_DEBUGEXIT = 10  # port 0xF4: QEMU isa-debug-exit
    DEV_FPU = 11        # port 0xF0: clears the FERR# latch on IRQ 13 (fpu.pxi)
    DEV_PCI = 12        # 0xCF8-0xCFF: PCI configuration space
    DEV_IDE = 13        # 1F0-1F7, 3F6, 170-177, 376: the ATA channels
    DEV_ACPI = 14       # 0x600-0x60B: ACPI PM1 registers and the PM timer
    DEV_COUNT = 15

cdef enum:
    EXIT_POWER_OFF = 20 # the guest powered off (ACPI S5)

cdef enum:
    PATH_KERNEL = 0
    PATH_PYTHON = 1
    PATH_UNCLAIMED = 2

# What a bus access asks of the run loop.
cdef enum:
    BUS_DONE = 0        # handled; carry on
    BUS_EVENTS = 1      # handled; interrupts or timers may have changed
    BUS_PYTHON = 2      # a Python device must answer: exit 'io'
    BUS_STOP = 3        # the guest ended the run (debug exit, reset) or a
                        # device must be drained (the debug console is full)
    BUS_MORE = 16       # or'ed in by REP INS/OUTS: elements are left, so the
                        # instruction does not retire and resumes at the next run

cdef enum:
    DEBUGCON_SIZE = 65536
    IO_BLOCK_MAX = 65536    # elements of a REP INS/OUTS block per exit

ctypedef struct IoExit:
    uint32_t port
    uint32_t size
    int out                 # 1 = OUT/OUTS
    uint32_t value          # OUT value
    uint32_t count          # elements (a REP INS/OUTS block), 0 = not a string op
    int rep                 # the block came from a REP prefix (CX counts it)
    uint32_t pending_in     # an IN or INS waits for complete_io()
    # INS completion: where the elements go
    uint32_t di
    uint32_t amask
    int down                # DF was set

ctypedef struct Devices:
    PicState pic
    PitState pit
    I8042State kbc
    RtcState rtc
    UartState uart
    TextVideoState video
    PciState pci
    IdeState ide
    AcpiPmState acpi
    IdeMedia* ide_media                 # the disks behind the IDE channels
                                        # (this process's: kept by snapshots)
    uint8_t post_code
    uint8_t port92
    uint32_t debug_exit_value
    uint32_t debugcon_len
    uint8_t debugcon[DEBUGCON_SIZE]
    uint8_t port_dev[65536]
    uint8_t port_py[65536]
    uint64_t stats[DEV_COUNT][3]
    uint64_t ticks[DEV_COUNT]           # time in in-kernel handlers (hvmm_ticks)
    int timing                          # measure it (two TSC reads per access;
                                        # CpuState.io_slow mirrors it)
    IoExit io
    uint8_t block[IO_BLOCK_MAX * 4]     # data of a REP OUTS block for Python

cdef inline Devices* devs(CpuState* c) noexcept nogil:
    return <Devices*>c.devices

# ---- virtual time ----------------------------------------------------------
# Deterministic: time = idle time + retired instructions / ips. The run loop
# runs in chunks that end at the next device event, so no device is polled
# per instruction.

cdef inline uint64_t time_at(CpuState* c, uint64_t icount) noexcept nogil:
    return c.idle_ns + muldiv(icount, 1000000000u, c.ips)

# Instructions to run before virtual time reaches `t` (at least 1).
cdef inline uint64_t insns_until(CpuState* c, uint64_t t) noexcept nogil:
    cdef uint64_t need, total
    if t <= c.idle_ns:
        return 1
    need = t - c.idle_ns
    total = muldiv_up(need, c.ips, 1000000000u)
    if total <= c.icount:
        return 1
    return total - c.icount

# The current time inside the instruction loop (`left` = instructions still
# to run in the current chunk).
cdef inline uint64_t now_in_loop(CpuState* c, uint64_t left) noexcept nogil:
    return time_at(c, c.icount + c.chunk_len - left)

cdef void devices_advance(CpuState* c, uint64_t now) noexcept nogil:
    cdef Devices* dv = devs(c)
    pit_advance(&dv.pit, now)
    rtc_advance(&dv.rtc, now)
    uart_advance(&dv.uart, now)

cdef uint64_t devices_next_event(CpuState* c, uint64_t now) noexcept nogil:
    cdef Devices* dv = devs(c)
    cdef uint64_t t = c.py_deadline, u
    u = pit_next_event(&dv.pit, now)
    if u < t:
        t = u
    u = rtc_next_event(&dv.rtc, now)
    if u < t:
        t = u
    u = uart_next_event(&dv.uart, now)
    if u < t:
        t = u
    return t

# ---- the in-kernel devices on the bus --------------------------------------

cdef void bus_map(Devices* dv, uint32_t first, uint32_t last, uint8_t dev) noexcept nogil:
    cdef uint32_t p
    for p in range(first, last + 1):
        dv.port_dev[p] = dev

cdef void devices_init(CpuState* c, int64_t epoch) noexcept nogil:
    cdef Devices* dv = devs(c)
    memset(dv.port_dev, DEV_NONE, 65536)
    pic_reset(&dv.pic)
    dv.pit.pic = &dv.pic
    pit_reset(&dv.pit)
    dv.kbc.pic = &dv.pic
    i8042_reset(&dv.kbc)
    rtc_init(&dv.rtc, &dv.pic)
    dv.rtc.base_epoch = epoch
    dv.rtc.base_ns = 0
    uart_init(&dv.uart, &dv.pic, 0x3F8, 4)
    textvideo_init(&dv.video, TV_CGA | TV_VGA)
    pci_reset(&dv.pci)
    ide_reset(&dv.ide, &dv.pic)
    acpi_pm_reset(&dv.acpi)
    bus_map(dv, 0x20, 0x21, DEV_PIC)
    bus_map(dv, 0xA0, 0xA1, DEV_PIC)
    bus_map(dv, 0x4D0, 0x4D1, DEV_PIC)
    bus_map(dv, 0x40, 0x43, DEV_PIT)
    bus_map(dv, 0x61, 0x61, DEV_PIT)
    bus_map(dv, 0x60, 0x60, DEV_KBC)
    bus_map(dv, 0x64, 0x64, DEV_KBC)
    bus_map(dv, 0x70, 0x71, DEV_RTC)
    bus_map(dv, 0x3F8, 0x3FF, DEV_UART)
    bus_map(dv, 0x3B0, 0x3BF, DEV_VIDEO)
    bus_map(dv, 0x3C0, 0x3CF, DEV_VIDEO)
    bus_map(dv, 0x3D0, 0x3DF, DEV_VIDEO)
    bus_map(dv, 0x80, 0x80, DEV_POST)
    bus_map(dv, 0xCF8, 0xCFF, DEV_PCI)
    bus_map(dv, 0x1F0, 0x1F7, DEV_IDE)
    bus_map(dv, 0x3F6, 0x3F6, DEV_IDE)
    bus_map(dv, 0x170, 0x177, DEV_IDE)
    bus_map(dv, 0x376, 0x376, DEV_IDE)
    bus_map(dv, ACPI_PM_BASE, ACPI_PM_LAST, DEV_ACPI)
    bus_map(dv, 0x92, 0x92, DEV_A20)
    bus_map(dv, 0xE9, 0xE9, DEV_DEBUGCON)
    bus_map(dv, 0xF4, 0xF4, DEV_DEBUGEXIT)
    if c.model != MODEL_8086:
        bus_map(dv, 0xF0, 0xF0, DEV_FPU)
    dv.post_code = 0
    dv.port92 = 0x02
    dv.debugcon_len = 0

cdef inline void set_a20(CpuState* c, int on) noexcept nogil:
    if c.model == MODEL_286:                # 24 address lines
        c.a20mask = 0xFFFFFF if on else 0xEFFFFF
        tlb_flush(c, 0)
    elif c.model != MODEL_8086:
        c.a20mask = 0xFFFFFFFFu if on else 0xFFEFFFFFu
        tlb_flush(c, 0)             # translations hold the mask

cdef inline uint32_t ones(uint32_t size) noexcept nogil:
    if size == 1:
        return 0xFF
    elif size == 2:
        return 0xFFFF
    return 0xFFFFFFFFu

cdef int kernel_read(CpuState* c, int dev, uint32_t port, uint32_t size,
                     uint32_t* v, uint64_t now) noexcept nogil:
    cdef Devices* dv = devs(c)
    if dev == DEV_PIC:
        return pic_io_read(&dv.pic, port, size, v, now)
    elif dev == DEV_PIT:
        return pit_io_read(&dv.pit, port, size, v, now)
    elif dev == DEV_KBC:
        return i8042_io_read(&dv.kbc, port, size, v, now)
    elif dev == DEV_RTC:
        return rtc_io_read(&dv.rtc, port, size, v, now)
    elif dev == DEV_UART:
        return uart_io_read(&dv.uart, port, size, v, now)
    elif dev == DEV_VIDEO:
        return textvideo_io_read(&dv.video, port, size, v, now)
    elif dev == DEV_IDE:
        return ide_io_read(&dv.ide, dv.ide_media, port, size, v, now)
    elif dev == DEV_PCI:
        return pci_io_read(&dv.pci, port, size, v, now)
    elif dev == DEV_ACPI:
        return acpi_pm_io_read(&dv.acpi, port, size, v, now)
    elif dev == DEV_POST:
        v[0] = dv.post_code
        return size == 1
    elif dev == DEV_A20:
        v[0] = dv.port92
        return size == 1
    elif dev == DEV_DEBUGCON:
        v[0] = 0xE9         # Bochs' port E9 hack reads back 0xE9 (presence)
        return size == 1
    return 0

# Returns BUS_DONE, BUS_EVENTS or BUS_STOP (with c.stop_reason set), or -1
# when the device declined.
cdef int kernel_write(CpuState* c, int dev, uint32_t port, uint32_t size,
                      uint32_t v, uint64_t now) noexcept nogil:
    cdef Devices* dv = devs(c)
    cdef int r
    if dev == DEV_PIC:
        return BUS_EVENTS if pic_io_write(&dv.pic, port, size, v, now) else -1
    elif dev == DEV_PIT:
        return BUS_EVENTS if pit_io_write(&dv.pit, port, size, v, now) else -1
    elif dev == DEV_RTC:
        return BUS_EVENTS if rtc_io_write(&dv.rtc, port, size, v, now) else -1
    elif dev == DEV_UART:
        return BUS_EVENTS if uart_io_write(&dv.uart, port, size, v, now) else -1
    elif dev == DEV_VIDEO:
        return BUS_DONE if textvideo_io_write(&dv.video, port, size, v, now) else -1
    elif dev == DEV_KBC:
        if not i8042_io_write(&dv.kbc, port, size, v, now):
            return -1
        set_a20(c, dv.kbc.a20)
        if dv.kbc.reset_request:
            dv.kbc.reset_request = 0
            c.stop_reason = EXIT_RESET
            return BUS_STOP
        return BUS_EVENTS
    elif dev == DEV_IDE:
        return BUS_EVENTS if ide_io_write(&dv.ide, dv.ide_media, port, size, v, now) else -1
    elif dev == DEV_PCI:
        r = pci_io_write(&dv.pci, port, size, v, now)
        if r == 2:
            c.stop_reason = EXIT_RESET
            return BUS_STOP
        return BUS_DONE if r else -1
    elif dev == DEV_ACPI:
        if acpi_pm_io_write(&dv.acpi, port, size, v, now) == 2:
            c.stop_reason = EXIT_POWER_OFF
            return BUS_STOP
        return BUS_DONE
    elif dev == DEV_POST:
        dv.post_code = v & 0xFF
        return BUS_DONE
    elif dev == DEV_A20:
        dv.port92 = v & 0xFF
        set_a20(c, (v >> 1) & 1)
        if v & 1:
            c.stop_reason = EXIT_RESET
            return BUS_STOP
        return BUS_DONE
    elif dev == DEV_DEBUGCON:
        if dv.debugcon_len < DEBUGCON_SIZE:
            dv.debugcon[dv.debugcon_len] = v & 0xFF
            dv.debugcon_len += 1
        if dv.debugcon_len == DEBUGCON_SIZE:
            # Full: let Python drain it (a 'budget' stop, then resume).
            c.stop_reason = EXIT_BUDGET
            return BUS_STOP
        return BUS_DONE
    elif dev == DEV_FPU:
        # OUT to port F0 (the PC/AT's "clear coprocessor busy"): drop IRQ 13
        if c.ferr:
            c.ferr = 0
            pic_set_irq(&dv.pic, FERR_IRQ, 0)
        return BUS_EVENTS
    elif dev == DEV_DEBUGEXIT:
        dv.debug_exit_value = v
        c.stop_reason = EXIT_DEBUG_EXIT
        return BUS_STOP
    return -1

# IN and OUT through an in-kernel device when c.io_slow asks for more than
# the access: its time (io_timing) and the I/O breakpoints (debugreg.pxi),
# compared once the device has taken the access. (Python and unclaimed
# ports test c.dr_io on their own paths.)
cdef int kernel_read_slow(CpuState* c, int dev, uint32_t port, uint32_t size, uint32_t* v,
                          uint64_t now) noexcept nogil:
    cdef Devices* dv = devs(c)
    cdef uint64_t t0 = hvmm_ticks() if dv.timing else 0
    cdef int ok = kernel_read(c, dev, port, size, v, now)
    if dv.timing:
        dv.ticks[dev] += hvmm_ticks() - t0
    if ok and c.dr_io:
        dr_io_check(c, port, size)
    return ok

cdef int kernel_write_slow(CpuState* c, int dev, uint32_t port, uint32_t size, uint32_t v,
                           uint64_t now) noexcept nogil:
    cdef Devices* dv = devs(c)
    cdef uint64_t t0 = hvmm_ticks() if dv.timing else 0
    cdef int r = kernel_write(c, dev, port, size, v, now)
    if dv.timing:
        dv.ticks[dev] += hvmm_ticks() - t0
    if r >= 0 and c.dr_io:
        dr_io_check(c, port, size)
    return r

# A port read by IN. Returns a BUS_* code; the value in v[0].
cdef int bus_read(CpuState* c, uint32_t port, uint32_t size, uint32_t* v,
                  uint64_t now) noexcept nogil:
    cdef Devices* dv = devs(c)
    cdef int dev = dv.port_dev[port]
    cdef int ok
    if dev:
        if c.io_slow:
            ok = kernel_read_slow(c, dev, port, size, v, now)
        else:
            ok = kernel_read(c, dev, port, size, v, now)
    if dev and ok:
        dv.stats[dev][PATH_KERNEL] += 1
        if dev == DEV_RTC or dev == DEV_UART:
            return BUS_EVENTS       # reading may re-arm their interrupts
        if (dev == DEV_PIC or dev == DEV_KBC or dev == DEV_IDE) and dv.pic.intr and (
                c.flags & F_IF):
            return BUS_EVENTS
        return BUS_DONE
    if c.dr_io:
        dr_io_check(c, port, size)
    if dv.port_py[port]:
        dv.stats[dev][PATH_PYTHON] += 1
        dv.io.port = port
        dv.io.size = size
        dv.io.out = 0
        dv.io.count = 0
        dv.io.pending_in = 1
        return BUS_PYTHON
    dv.stats[dev][PATH_UNCLAIMED] += 1
    c.io_in += 1
    v[0] = ones(size)
    return BUS_DONE

cdef int bus_write(CpuState* c, uint32_t port, uint32_t size, uint32_t v,
                   uint64_t now) noexcept nogil:
    cdef Devices* dv = devs(c)
    cdef int dev = dv.port_dev[port]
    cdef int r
    if dev:
        if c.io_slow:
            r = kernel_write_slow(c, dev, port, size, v, now)
        else:
            r = kernel_write(c, dev, port, size, v, now)
        if r == BUS_EVENTS and (dev == DEV_PIC or dev == DEV_KBC or dev == DEV_IDE) and not (
                dv.pic.intr and (c.flags & F_IF)):
            r = BUS_DONE            # nothing to deliver: no need to stop
        if r >= 0:
            dv.stats[dev][PATH_KERNEL] += 1
            return r
    if c.dr_io:
        dr_io_check(c, port, size)
    if dv.port_py[port]:
        dv.stats[dev][PATH_PYTHON] += 1
        dv.io.port = port
        dv.io.size = size
        dv.io.out = 1
        dv.io.value = v
        dv.io.count = 0
        dv.io.pending_in = 0
        return BUS_PYTHON
    dv.stats[dev][PATH_UNCLAIMED] += 1
    c.io_out += 1
    return BUS_DONE

# IN/OUT as the instruction bodies use them: the access, then what it asks
# of the loop. A Python port ends the run with exit 'io' (the instruction
# retires; an IN's register is written by complete_io()).
cdef inline uint32_t io_in(CpuState* c, Insn* d, uint64_t* left, uint32_t port,
                           uint32_t size) noexcept nogil:
    cdef uint32_t v = 0
    cdef int r
    io_check(c, port, size)
    r = bus_read(c, port, size, &v, now_in_loop(c, left[0]))
    if r != BUS_DONE:
        stop_run(c, d, left, EXIT_IO if r == BUS_PYTHON else STOP_EVENTS, 1)
    return v

cdef inline void io_out(CpuState* c, Insn* d, uint64_t* left, uint32_t port,
                        uint32_t size, uint32_t v) noexcept nogil:
    cdef int r
    io_check(c, port, size)
    r = bus_write(c, port, size, v, now_in_loop(c, left[0]))
    if r == BUS_PYTHON:
        stop_run(c, d, left, EXIT_IO, 1)
    elif r == BUS_EVENTS:
        stop_run(c, d, left, STOP_EVENTS, 1)
    elif r == BUS_STOP:
        stop_run(c, d, left, c.stop_reason, 1)
