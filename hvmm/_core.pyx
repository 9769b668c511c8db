# cython: language_level=3
"""hvmm._core: the kernel component.

The CPU interpreter, guest memory and (growing) the I/O bus, compiled
with Cython into one extension module. Instruction families live in
core/*.pxi and are textually included so that gcc can inline them into
the run loop; nothing in the loop touches a Python object.
"""

from cpython.bytearray cimport PyByteArray_AS_STRING
from libc.stdlib cimport calloc, free, malloc

include "core/state.pxi"
include "core/exception.pxi"
include "core/segment.pxi"
include "core/memory.pxi"
include "core/paging.pxi"
include "core/flags.pxi"
include "core/decode.pxi"
include "core/alu.pxi"
include "core/shift.pxi"
include "core/muldiv.pxi"
include "core/bcd.pxi"
include "core/stack.pxi"
include "core/control.pxi"
# compiled in-kernel devices (PIC first: the others raise IRQs through it)
include "kernel/pic.pxi"
include "kernel/pit_counter.pxi"
include "kernel/pit.pxi"
include "kernel/speaker.pxi"
include "kernel/i8042.pxi"
include "kernel/ps2.pxi"
include "kernel/rtc.pxi"
include "kernel/uart.pxi"
include "kernel/vga.pxi"
include "kernel/textvideo.pxi"
include "kernel/pci.pxi"
include "kernel/ide.pxi"
include "kernel/atapi.pxi"
include "kernel/acpi_pm.pxi"
include "core/bus.pxi"
include "core/string.pxi"
include "core/bits.pxi"
include "core/move.pxi"
include "core/system.pxi"
include "core/descriptor.pxi"  # protected mode: docs/protected-mode.md
include "core/privilege.pxi"
include "core/idt.pxi"
include "core/task.pxi"
include "core/v86.pxi"         # virtual-8086 mode
include "core/debugreg.pxi"    # DR0-DR7: instruction, data and I/O breakpoints
include "core/sysdesc.pxi"
# the x87 FPU (the host's runs the arithmetic) and the 686's system additions
include "core/fpu_host.pxi"
include "core/fpu.pxi"
include "core/fpu_env.pxi"
include "core/cmov.pxi"
include "core/msr.pxi"
include "core/cpu286.pxi"
# the opcode switch, generated from hvmm/isa/table.py by setup.py
include "core/execute_gen.pxi"
include "core/loop.pxi"
# watchpoints, the trace, the interrupt log (only while asked for)
include "core/debug.pxi"
# the Python-facing pieces of Cpu: its Exit record, its registers (base class)
include "core/cpu_api.pxi"
include "core/debug_api.pxi"
include "kernel/devices_api.pxi"

EXIT_REASONS = {
    EXIT_BUDGET: "budget",
    EXIT_HLT: "hlt",
    EXIT_BREAKPOINT: "breakpoint",
    EXIT_INVALID_OPCODE: "invalid_opcode",
    EXIT_UNIMPLEMENTED: "unimplemented",
    EXIT_TRIPLE_FAULT: "triple_fault",
    EXIT_IO: "io",
    EXIT_DEBUG_EXIT: "debug_exit",
    EXIT_TIMER: "timer",
    EXIT_RESET: "reset",
    EXIT_WATCHPOINT: "watchpoint",
    EXIT_TRACE_FULL: "trace_full",
    EXIT_POWER_OFF: "power_off",
}

NO_DEADLINE = 0xFFFFFFFFFFFFFFFF
DEFAULT_IPS = 100_000_000           # a 100-MIPS machine on the virtual clock
DEFAULT_EPOCH = 1767225600          # 2026-01-01 00:00:00 UTC: the RTC's start
                                    # in deterministic mode

_DEVICE_NAMES = {
    DEV_NONE: "(none)", DEV_PIC: "pic", DEV_PIT: "pit", DEV_KBC: "i8042",
    DEV_RTC: "rtc", DEV_UART: "uart", DEV_VIDEO: "video", DEV_POST: "post",
    DEV_A20: "port92", DEV_DEBUGCON: "debugcon", DEV_DEBUGEXIT: "debug-exit", DEV_FPU: "fpu",
    DEV_PCI: "pci", DEV_IDE: "ide", DEV_ACPI: "acpi-pm",
}

_SEGMENTS = {"es": S_ES, "cs": S_CS, "ss": S_SS, "ds": S_DS, "fs": S_FS, "gs": S_GS}
_MODELS = {"8086": MODEL_8086, "286": MODEL_286, "386": MODEL_386, "686": MODEL_686}


def _check_port(unsigned int port, unsigned int size):
    if port > 0xFFFF or size not in (1, 2, 4):
        raise ValueError(f"bad port access: port {port:#x}, size {size}")


cdef class Cpu(CpuDevices):
    """An x86 CPU with its guest physical memory.

    model: "8086" (the original's quirks, 1 MiB wrap, no coprocessor), "286"
    (16-bit, 24 address lines, no coprocessor, its own 0x0F page), "386"
    (a 386/486 with a 387 in real mode: 32-bit registers and the 0x0F
    opcodes, an A20 gate) or "686" (Pentium Pro/II class: x87 with FCMOV
    and FCOMI, CMOVcc, CMPXCHG8B, TSC, MSRs, family-6 CPUID).
    ips: instructions per second of virtual time; epoch: the RTC's start
    (seconds since 1970); devices=False leaves every port on the empty bus.
    """
    cdef Devices* dv
    cdef object _ram                # guest RAM: an anonymous private mmap
    cdef object _mmio_handler
    cdef tuple _calib
    cdef readonly object memory
    cdef readonly str model

    def __cinit__(self):
        self.s.pagekind = <uint8_t*>calloc(1 << 20, 1)
        self.dv = <Devices*>calloc(1, sizeof(Devices))
        if self.s.pagekind == NULL or self.dv == NULL:
            raise MemoryError()
        self.s.devices = self.dv
        tlb_init(&self.s)

    def __dealloc__(self):
        free(self.s.pagekind)
        free(self.dv)

    def __init__(self, memory_size=16 << 20, model="386", ips=DEFAULT_IPS,
                 epoch=DEFAULT_EPOCH, devices=True):
        if model not in _MODELS:
            raise ValueError(f"unknown CPU model {model!r} (choose 8086, 286, 386 or 686)")
        memory_size = int(memory_size)
        if memory_size < 4096 or memory_size % 4096 or memory_size > (1 << 32) - (1 << 20):
            raise ValueError("memory size must be a multiple of 4 KiB, at least 4 KiB")
        if model == "286" and memory_size > 16 << 20:
            raise ValueError("the 286 has 24 address lines: at most 16 MiB of memory")
        self.model = model
        self.s.model = _MODELS[model]
        # 16 bytes of slack past the end so multi-byte fast paths at the top
        # never read outside the buffer. An anonymous mapping reads as zeros
        # and takes host memory only for the pages the guest touches (a
        # bytearray would zero-fill, and so commit, all of it up front).
        cdef unsigned char[::1] ram
        import mmap
        self._ram = mmap.mmap(-1, memory_size + 16, flags=mmap.MAP_PRIVATE)
        ram = self._ram
        self.memory = memoryview(self._ram)[:memory_size]
        self.s.mem = <uint8_t*>&ram[0]
        self.s.mem_size = memory_size
        memset(self.s.pagekind, PG_UNMAPPED, 1 << 20)
        memset(self.s.pagekind, PG_RAM, memory_size >> 12)
        self._memory_map_changed()
        set_model_tables(&self.s)       # prefixes, shapes, length limit (generated)
        if self.s.model == MODEL_8086:
            self.s.limit_checks = 0     # offsets wrap at 64 KiB
            self.s.flags_fixed = 0xF002
            self.s.flags_writable16 = 0x0FD5
            self.s.flags_writable32 = 0x0FD5
            self.s.a20mask = 0xFFFFF
        else:
            self.s.limit_checks = 1
            self.s.flags_fixed = 0x0002
            self.s.flags_writable16 = 0x7FD5
            self.s.flags_writable32 = 0x247FD5      # + AC, ID (486)
        self.s.ud_exit = 1
        import time
        self._calib = (hvmm_ticks(), time.perf_counter_ns())
        if int(ips) <= 0:
            raise ValueError("ips must be positive")
        self.s.ips = int(ips)
        self.s.py_deadline = NO_DEADLINE
        devices_init(&self.s, int(epoch))
        if not devices:
            # A bare CPU on an empty bus (CPU conformance tests).
            memset(self.dv.port_dev, DEV_NONE, 65536)
        set_a20(&self.s, self.dv.kbc.a20)
        self.reset()

    cdef _memory_map_changed(self):
        # Recompute the hole-free RAM prefix and drop the fetch window.
        cdef uint32_t page = 0
        while page < (1 << 20) and self.s.pagekind[page] == PG_RAM:
            page += 1
        self.s.ram_top = page << 12 if page < (1 << 20) else 0xFFFFF000u
        tlb_flush(&self.s, 0)       # entries hold page kinds (fast or slow)

    def reset(self):
        """Processor reset: real mode, CS:IP = F000:FFF0 (base FFFF0)."""
        cdef int i
        for i in range(8):
            self.s.regs[i] = 0
        for i in range(6):
            self.s.seg[i].sel = 0
            self.s.seg[i].base = 0
            self.s.seg[i].limit = 0xFFFF
            self.s.seg[i].attr = 0x93
        self.s.seg[S_CS].sel = 0xF000
        self.s.seg[S_CS].base = 0xF0000
        self.s.seg[S_CS].attr = 0x9B
        for i in range(6):
            seg_bounds(&self.s.seg[i])
        self.s.eip = 0xFFF0
        self.s.flags = self.s.flags_fixed
        set_arith_flags(&self.s, 0)
        for i in range(5):
            self.s.cr[i] = 0
        self.s.cr[0] = 0x10 if self.s.model != MODEL_8086 else 0
        if self.s.model == MODEL_286:
            self.s.flags_writable16 = 0x0FD5   # real mode: no IOPL, NT (set_cr0)
        for i in range(8):
            self.s.dr[i] = 0
        self.s.dr[6] = DR6_FIXED
        self.s.dr[7] = DR7_FIXED
        self.s.db_hits = 0
        self.s.db_stop = 0
        self.s.gdtr.base = 0
        self.s.gdtr.limit = 0xFFFF
        self.s.idtr.base = 0
        self.s.idtr.limit = 0x3FF
        self.s.ipmask = 0xFFFF
        pm_reset(&self.s)
        self.s.halted = 0
        self.s.shadow = 0
        self.s.nmi_pending = 0
        self.s.rep_partial = 0
        self.s.last_exception = -1
        self.s.win_len = 0
        fpu_reset(&self.s)
        msr_reset(&self.s)
        dr_update(&self.s)
        tlb_flush(&self.s, 0)

    # ---- running ------------------------------------------------------

    def run(self, budget=1 << 62):
        """Execute at most `budget` instructions; return an Exit."""
        cdef uint64_t b = budget
        cdef int r
        if self.s.events & EV_STEPPED:
            r = debug_run(&self.s, b)       # breakpoints, watchpoints, trace
        else:
            r = cpu_run(&self.s, b)
        return self._exit(r)

    def step(self):
        """Execute one instruction (a REP string instruction to its end,
        with the exception it raises taken); return an Exit."""
        return self._exit(cpu_step(&self.s))

    cdef object _exit(self, int r):
        cdef IoExit* io = &self.dv.io
        detail = ""
        if r == EXIT_UNIMPLEMENTED:
            detail = "a transfer hvmm does not model"
        elif r == EXIT_INVALID_OPCODE:
            detail = "invalid opcode"
        elif r == EXIT_TRIPLE_FAULT:
            detail = "an exception while delivering a double fault (shutdown)"
        ex = Exit(EXIT_REASONS.get(r, "unknown"), self.s.exit_cs, self.s.exit_eip,
                  (self.s.seg[S_CS].base + self.s.exit_eip) & 0xFFFFFFFF, detail)
        if r == EXIT_IO:
            ex.port = io.port
            ex.size = io.size
            ex.direction = "out" if io.out else "in"
            ex.count = io.count if io.count else 1
            if io.out:
                if io.count:
                    ex.data = bytes((<char*>self.dv.block)[:io.count * io.size])
                    if io.count == 1:       # a block of one is one OUT to the device
                        ex.value = int.from_bytes(ex.data, "little")
                else:
                    ex.value = io.value
        elif r == EXIT_DEBUG_EXIT:
            ex.value = self.dv.debug_exit_value
        return ex

    # ---- the I/O bus and the in-kernel devices ----------------------------

    def reset_devices(self):
        """Power-on state for the in-kernel devices (a machine reset)."""
        cdef uint8_t claimed[65536]
        memcpy(claimed, self.dv.port_py, 65536)
        devices_init(&self.s, self.dv.rtc.base_epoch)
        memcpy(self.dv.port_py, claimed, 65536)
        set_a20(&self.s, self.dv.kbc.a20)

    def io_read(self, unsigned int port, unsigned int size=1):
        """Read a port through the kernel bus, as an IN instruction would."""
        cdef uint32_t v = 0
        cdef int r
        _check_port(port, size)
        r = bus_read(&self.s, port, size, &v, time_at(&self.s, self.s.icount))
        if r == BUS_PYTHON:
            self.dv.io.pending_in = 0
            raise ValueError(f"port {port:#x} is handled by a Python device")
        return v

    def io_write(self, unsigned int port, unsigned int size, unsigned int value):
        """Write a port through the kernel bus, as an OUT instruction would."""
        cdef int r
        _check_port(port, size)
        self.s.stop_reason = 0
        r = bus_write(&self.s, port, size, value, time_at(&self.s, self.s.icount))
        if r == BUS_PYTHON:
            raise ValueError(f"port {port:#x} is handled by a Python device")
        if r == BUS_STOP and self.s.stop_reason == EXIT_RESET:
            self.reset()
        self.s.stop_reason = 0

    def map_rom(self, unsigned int base, data):
        """Place a ROM image (whole 4 KiB pages) at `base` inside RAM's
        physical range: the guest reads it, its writes are dropped."""
        n = len(data)
        if base & 0xFFF or n == 0 or n & 0xFFF or base + n > self.s.mem_size:
            raise ValueError("a ROM must be whole 4 KiB pages inside guest memory")
        self.memory[base:base + n] = data
        for page in range(base >> 12, (base + n) >> 12):
            self.s.pagekind[page] = PG_ROM
        self._memory_map_changed()

    def alias_rom(self, unsigned int base, unsigned int source, unsigned int size):
        """Make [base, base+size) a read-only view of the ROM already mapped
        at [source, source+size): the PC's BIOS is decoded both below 1 MiB
        and at the top of the 4 GiB space (where protected-mode firmware
        and a 386's first fetch look for it). One alias per CPU; the range
        must lie above RAM."""
        if base & 0xFFF or source & 0xFFF or size & 0xFFF or size == 0:
            raise ValueError("a ROM alias is whole 4 KiB pages")
        if <uint64_t>source + size > self.s.mem_size or any(
                self.s.pagekind[p] != PG_ROM for p in range(source >> 12, (source + size) >> 12)):
            raise ValueError("a ROM alias must show a mapped ROM")
        if base < self.s.mem_size or <uint64_t>base + size > (<uint64_t>1 << 32):
            raise ValueError("a ROM alias must lie above RAM, inside 4 GiB")
        for page in range(self.s.rom_alias_base >> 12, 1 << 20):
            if self.s.pagekind[page] == PG_ROM_ALIAS:
                self.s.pagekind[page] = PG_UNMAPPED
        self.s.rom_alias_base = base
        self.s.rom_alias_src = source
        for page in range(base >> 12, (<uint64_t>base + size) >> 12):
            self.s.pagekind[page] = PG_ROM_ALIAS
        self._memory_map_changed()

    def map_mmio(self, unsigned int base, unsigned int size, handler):
        """Route the physical pages of [base, base+size) to a Python MMIO
        handler: handler(address, size, is_write, value) -> value read. One
        handler serves every range (the Machine routes by address); it may
        get an `error` attribute set if it raised during a run."""
        if base & 0xFFF or size & 0xFFF or size == 0:
            raise ValueError("MMIO ranges are whole 4 KiB pages")
        if self._mmio_handler is not None and handler is not self._mmio_handler:
            raise ValueError("one MMIO handler per CPU: route ranges in it")
        self._mmio_handler = handler
        self.s.mmio_handler = <void*>handler
        for page in range(base >> 12, (base + size - 1 >> 12) + 1):
            self.s.pagekind[page] = PG_MMIO
        self._memory_map_changed()

    def claim_ports(self, unsigned int first, unsigned int last):
        """Route [first, last] to Python: what no in-kernel device handles
        there ends the run with an 'io' exit."""
        if last < first or last > 0xFFFF:
            raise ValueError(f"bad port range {first:#x}-{last:#x}")
        for p in range(first, last + 1):
            self.dv.port_py[p] = 1

    def release_ports(self, unsigned int first, unsigned int last):
        for p in range(first, min(last, 0xFFFF) + 1):
            self.dv.port_py[p] = 0

    def kernel_device_at(self, unsigned int port):
        """The in-kernel device registered on a port, or None."""
        d = self.dv.port_dev[port & 0xFFFF]
        return _DEVICE_NAMES[d] if d else None

    def complete_io(self, value):
        """Answer the 'in' exit just reported: an int for IN (or a block of
        one), bytes (count elements) for a REP INS block."""
        cdef IoExit* io = &self.dv.io
        cdef uint32_t i, n = io.count, v, size = io.size
        cdef uint32_t di = io.di
        cdef const uint8_t[:] data
        if not io.pending_in:
            raise RuntimeError("no port read is waiting for an answer")
        io.pending_in = 0
        if n == 0 or (n == 1 and isinstance(value, int)):
            v = int(value) & (0xFFFFFFFF >> (32 - 8 * int(size)))
            if n == 1:
                value = v.to_bytes(size, "little")
            elif size == 1:
                set_r8(&self.s, 0, v)
            elif size == 2:
                set_r16(&self.s, R_EAX, v)
            else:
                self.s.regs[R_EAX] = v
            if n == 0:
                return
        data = bytes(value)
        if len(data) != n * size:
            raise ValueError(f"expected {n * size} bytes for the INS block, got {len(data)}")
        for i in range(n):
            v = 0
            memcpy(&v, &data[i * size], size)
            str_wr(&self.s, S_ES, di, v, size, io.amask)
            di = (di - size if io.down else di + size) & io.amask
        self.s.regs[R_EDI] = (self.s.regs[R_EDI] & ~io.amask) | di
        if io.rep:
            self.s.regs[R_ECX] = (self.s.regs[R_ECX] & ~io.amask) | ((self.s.regs[R_ECX] - n) & io.amask)

    def kernel_stats(self):
        """Port accesses per device and path: {'pit': {'in_kernel': n,
        'to_python': n, 'unclaimed': n, 'in_kernel_ns': t}, ...} ('(none)':
        ports with no in-kernel device). in_kernel_ns is the time spent in the
        compiled handlers while io_timing is on, from the TSC calibrated
        against the host clock."""
        out = {}
        ns_per_tick = self._ns_per_tick()
        for d in range(DEV_COUNT):
            k, py, un = self.dv.stats[d][0], self.dv.stats[d][1], self.dv.stats[d][2]
            if k or py or un:
                out[_DEVICE_NAMES[d]] = {"in_kernel": k, "to_python": py, "unclaimed": un,
                                         "in_kernel_ns": int(self.dv.ticks[d] * ns_per_tick)}
        return out

    property io_timing:
        """Measure the time spent in in-kernel device handlers (for --stats;
        costs two TSC reads per access, so it is off by default)."""
        def __get__(self):
            return bool(self.dv.timing)
        def __set__(self, on):
            self.dv.timing = 1 if on else 0
            self.s.io_slow = (self.s.io_slow & 2) | self.dv.timing     # (bus.pxi)

    def _ns_per_tick(self):
        # hvmm_ticks() against perf_counter_ns over the Cpu's lifetime (at
        # least 1 ms of it, measured now if needed).
        import time
        t1, n1 = hvmm_ticks(), time.perf_counter_ns()
        if n1 - self._calib[1] < 1_000_000:
            time.sleep(0.002)
            t1, n1 = hvmm_ticks(), time.perf_counter_ns()
        return (n1 - self._calib[1]) / max(1, t1 - self._calib[0])

    def debug_output(self):
        """Drain what the guest wrote to the debug console (port 0xE9)."""
        out = bytes(self.dv.debugcon[:self.dv.debugcon_len])
        self.dv.debugcon_len = 0
        return out

    property post_code:
        def __get__(self):
            return self.dv.post_code

    # ---- virtual time and interrupts -----------------------------------------

    property time_ns:
        def __get__(self):
            return time_at(&self.s, self.s.icount)

    property ips:
        def __get__(self):
            return self.s.ips

    property python_deadline:
        def __get__(self):
            return self.s.py_deadline
        def __set__(self, v):
            self.s.py_deadline = min(int(v), NO_DEADLINE)

    def advance_time(self, ns):
        """Idle the CPU for `ns` of virtual time; devices catch up."""
        if ns < 0:
            raise ValueError("time only goes forward")
        self.s.idle_ns += int(ns)
        devices_advance(&self.s, time_at(&self.s, self.s.icount))

    def set_irq(self, int irq, int level):
        if not 0 <= irq < 16:
            raise ValueError(f"IRQ {irq} out of range 0-15")
        pic_set_irq(&self.dv.pic, irq, level)

    def raise_nmi(self):
        """Assert NMI: taken through vector 2 at the next instruction
        boundary (the start of the next run), whatever IF says, unless the
        RTC index port's NMI mask bit (port 0x70 bit 7) is set; it wakes a
        halted CPU."""
        self.s.nmi_pending = 1

    def interrupt_pending(self):
        return bool(self.dv.pic.intr)

    def acknowledge_interrupt(self):
        return pic_ack(&self.dv.pic)

    # ---- device hooks for front ends and firmware --------------------------

    def keyboard_input(self, data):
        cdef const uint8_t[:] b = bytes(data)
        if len(b):
            i8042_keyboard_input(&self.dv.kbc, &b[0], len(b))

    def mouse_input(self, int dx, int dy, unsigned int buttons=0):
        i8042_mouse_input(&self.dv.kbc, dx, dy, buttons)

    def serial_feed(self, data):
        cdef const uint8_t[:] b = bytes(data)
        if not len(b):
            return 0
        return uart_feed(&self.dv.uart, &b[0], len(b), time_at(&self.s, self.s.icount))

    def serial_drain(self):
        cdef bytearray out = bytearray(self.dv.uart.tx_count)
        cdef uint32_t n
        if not len(out):
            return b""
        n = uart_tx_drain(&self.dv.uart, <uint8_t*>PyByteArray_AS_STRING(out), len(out))
        return bytes(out[:n])

    def speaker_log(self):
        cdef uint64_t t
        cdef double hz
        out = []
        while pit_speaker_read(&self.dv.pit, &t, &hz):
            out.append((t, hz))
        return out

    def cmos_read(self, unsigned int index):
        return rtc_cmos_read(&self.dv.rtc, index & 0x7F, time_at(&self.s, self.s.icount))

    def cmos_write(self, unsigned int index, unsigned int value):
        rtc_cmos_write(&self.dv.rtc, index & 0x7F, value & 0xFF, time_at(&self.s, self.s.icount))

    def cmos_update_checksum(self):
        rtc_update_checksum(&self.dv.rtc)

    property nmi_masked:
        def __get__(self):
            return bool(self.dv.rtc.nmi_masked)

    def video_state(self):
        cdef TvCrtc* crtc = textvideo_crtc(&self.dv.video)
        return {
            "crtc": [crtc.regs[i] for i in range(18)],
            "mode_control": textvideo_mode_control(&self.dv.video),
            "color_select": self.dv.video.color_select,
            "cursor_offset": textvideo_cursor(&self.dv.video),
            "start_address": textvideo_start(&self.dv.video),
            "cursor_start": textvideo_cursor_start(&self.dv.video),
            "cursor_end": textvideo_cursor_end(&self.dv.video),
            "frame_buffer": textvideo_frame_buffer(&self.dv.video),
            "vga": None if not self.dv.video.present & TV_VGA else {
                "attr": bytes(self.dv.video.vga.attr[:VGA_ATTR_NREGS]),
                "seq": bytes(self.dv.video.vga.seq[:VGA_SEQ_NREGS]),
                "gc": bytes(self.dv.video.vga.gc[:VGA_GC_NREGS]),
                "misc": self.dv.video.vga.misc,
                "pel_mask": self.dv.video.vga.pel_mask,
                "dac": bytes(self.dv.video.vga.dac[:768]),
            },
        }

    property instructions:
        def __get__(self): return self.s.icount
        def __set__(self, v): self.s.icount = v

    property halted:
        def __get__(self): return bool(self.s.halted)
        def __set__(self, v): self.s.halted = 1 if v else 0

    property invalid_opcode_exits:
        """True: an invalid opcode stops the run (exit 'invalid_opcode').
        False: it raises #UD (vector 6) in the guest, as hardware does."""
        def __get__(self):
            return bool(self.s.ud_exit)
        def __set__(self, v):
            self.s.ud_exit = 1 if v else 0

    # ---- memory ---------------------------------------------------------

    property a20:
        def __get__(self):
            return self.s.model != MODEL_8086 and (self.s.a20mask & 0x100000) != 0
        def __set__(self, enabled):
            if self.s.model == MODEL_8086:
                if enabled:
                    raise ValueError("the 8086 has 20 address lines: no A20 gate")
                return
            set_a20(&self.s, 1 if enabled else 0)

    def io_counts(self):
        """IN and OUT accesses that reached the empty bus (no device)."""
        return {"in": self.s.io_in, "out": self.s.io_out}
