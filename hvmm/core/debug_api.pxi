# The Python face of the core's debugging and snapshot support, a base class
# of Cpu: watchpoints, the instruction trace and the interrupt log
# (core/debug.pxi), reads that have no side effects, and the CPU and
# in-kernel device state as plain data for snapshots (hvmm/snapshot.py).

_WATCH_KINDS = {"write": WP_WRITE, "read": WP_READ, "access": WP_ACCESS}
_WATCH_NAMES = {v: k for k, v in _WATCH_KINDS.items()}

# CpuState fields a snapshot keeps, beyond the registers: the run state
# (rep_partial: a REP stopped between iterations by the budget; exceptions
# and last_exception: what --stats and Cpu.last_exception show; fault_err:
# Cpu.last_error_code). Not kept: what lasts only within an instruction or
# a delivery (the other fault and checkpoint fields), the debugger's
# (breakpoints, events), the TLB and its counters (a load flushes it) and
# what the machine's construction sets (memory map, model tables, ips).
_RUN_FIELDS = ("icount", "halted", "shadow", "nmi_pending", "idle_ns", "ud_exit",
               "a20mask", "ipmask", "io_in", "io_out", "rep_partial", "exceptions",
               "last_exception", "fault_err")


cdef class CpuDebug(CpuRegisters):
    """Debugging and snapshot support of a Cpu (see docs/debugging.md)."""
    cdef uint64_t _int_read         # interrupt log entries already taken

    def __cinit__(self):
        # calloc: the untouched trace and log buffers cost no memory
        self.s.dbg = calloc(1, sizeof(DebugState))
        if self.s.dbg == NULL:
            raise MemoryError()
        (<DebugState*>self.s.dbg).trace_hi = 0xFFFFFFFF

    def __dealloc__(self):
        free(self.s.dbg)

    cdef inline DebugState* _debug(self):
        return <DebugState*>self.s.dbg

    # ---- breakpoints --------------------------------------------------

    def add_breakpoint(self, unsigned int linear):
        if self.s.nbp >= MAX_BREAKPOINTS:
            raise ValueError(f"at most {MAX_BREAKPOINTS} breakpoints")
        self.s.bp[self.s.nbp] = linear
        self.s.nbp += 1
        self.s.events |= EV_BREAKPOINTS

    def remove_breakpoint(self, unsigned int linear):
        cdef uint32_t i, j = 0
        for i in range(self.s.nbp):
            if self.s.bp[i] != linear:
                self.s.bp[j] = self.s.bp[i]
                j += 1
        self.s.nbp = j
        if j == 0:
            self.s.events &= ~(<uint32_t>EV_BREAKPOINTS)

    def clear_breakpoints(self):
        self.s.nbp = 0
        self.s.events &= ~(<uint32_t>EV_BREAKPOINTS)

    cdef _memory_map_changed(self):
        pass            # Cpu's: recompute the RAM prefix, drop the fetch window

    # ---- watchpoints ----------------------------------------------------------

    def add_watchpoint(self, unsigned int linear, unsigned int length=1, kind="write"):
        """Stop the run (exit 'watchpoint', after the instruction) when guest
        code writes ('write'), reads ('read') or touches ('access') a byte
        of [linear, linear+length). RAM and ROM only; code fetches do not
        count. Runs step one instruction at a time while any is set. With
        paging, the watch follows the current translation (a page not
        present yet is watched once the guest maps it)."""
        cdef DebugState* g = self._debug()
        cdef uint32_t phys = 0
        cdef int present = translate_probe(&self.s, linear, &phys)
        if kind not in _WATCH_KINDS:
            raise ValueError(f"watchpoint kind {kind!r}: write, read or access")
        if not 1 <= length <= 4096:
            raise ValueError("a watchpoint covers 1 to 4096 bytes")
        if g.nwp >= MAX_WATCHPOINTS:
            raise ValueError(f"at most {MAX_WATCHPOINTS} watchpoints")
        for a in (phys, phys + length - 1):
            if present and self._real_kind(a) > PG_ROM:
                raise ValueError(f"watchpoint at 0x{linear:X}: not RAM or ROM")
        g.wp[g.nwp].lin = linear
        g.wp[g.nwp].phys = phys
        g.wp[g.nwp].length = length
        g.wp[g.nwp].kind = _WATCH_KINDS[kind]
        g.wp[g.nwp].present = present
        g.nwp += 1
        self._watch_pages()

    def remove_watchpoint(self, unsigned int linear, unsigned int length=1, kind="write"):
        """Remove the watchpoint added with these arguments; False if none."""
        cdef DebugState* g = self._debug()
        cdef uint32_t i, j
        for i in range(g.nwp):
            w = g.wp[i]
            if w.lin == linear and w.length == length and w.kind == _WATCH_KINDS.get(kind):
                for j in range(i, g.nwp - 1):
                    g.wp[j] = g.wp[j + 1]
                g.nwp -= 1
                self._watch_pages()
                return True
        return False

    def clear_watchpoints(self):
        if self.s.dbg != NULL:
            (<DebugState*>self.s.dbg).nwp = 0
            self._watch_pages()

    property watchpoints:
        """[(linear, length, kind), ...]"""
        def __get__(self):
            if self.s.dbg == NULL:
                return []
            g = <DebugState*>self.s.dbg
            return [(g.wp[i].lin, g.wp[i].length, _WATCH_NAMES[g.wp[i].kind])
                    for i in range(g.nwp)]

    property watchpoint_hit:
        """(linear address, kind) of the access that ended the last run
        with exit 'watchpoint'."""
        def __get__(self):
            g = self._debug()
            return (g.hit_lin, _WATCH_NAMES[g.hit_kind]) if g.hit else None

    cdef int _real_kind(self, uint32_t phys):
        cdef uint8_t kind = self.s.pagekind[phys >> 12]
        if kind == PG_WATCH:
            return watch_kind_of(<DebugState*>self.s.dbg, phys)
        return kind

    cdef _watch_pages(self):
        # The watched pages after a change of the list (debug.pxi).
        cdef DebugState* g = <DebugState*>self.s.dbg
        if watch_pages_set(&self.s, g) < 0:
            raise ValueError("watchpoints cover too many pages")
        if g.nwp:
            self.s.events |= EV_WATCH
        else:
            self.s.events &= ~(<uint32_t>EV_WATCH)
        self._memory_map_changed()

    # ---- memory as the debugger sees it ------------------------------------------

    def peek(self, unsigned int linear, unsigned int length):
        """Bytes at a linear address with no side effect: a device's MMIO
        page and unmapped space read as FF, watchpoints do not fire. With
        paging, the bytes up to the first page that is not present (fewer
        than asked, maybe none)."""
        cdef uint32_t i, phys
        out = bytearray()
        for i in range(length):
            if not translate_probe(&self.s, linear + i, &phys):
                break
            out.append(peek8(&self.s, phys))
        return bytes(out)

    # ---- the instruction trace ----------------------------------------------------

    def trace_start(self, unsigned int low=0, unsigned int high=0xFFFFFFFF):
        """Record each instruction whose linear address is in [low, high]
        before it runs (runs step one instruction at a time); a full buffer
        ends the run with exit 'trace_full'. trace_take() drains it."""
        cdef DebugState* g = self._debug()
        if high < low:
            raise ValueError("trace range: high below low")
        g.trace_lo = low
        g.trace_hi = high
        self.s.events |= EV_TRACE

    def trace_stop(self):
        self.s.events &= ~(<uint32_t>EV_TRACE)

    def trace_take(self):
        """The recorded instructions as bytes (trace_record_size() each),
        and an empty buffer."""
        if self.s.dbg == NULL:
            return b""
        g = <DebugState*>self.s.dbg
        out = bytes((<char*>g.trace)[:g.tn * sizeof(TraceRec)])
        g.tn = 0
        return out

    @staticmethod
    def trace_record_size():
        return sizeof(TraceRec)

    # ---- the interrupt log --------------------------------------------------------

    property interrupt_log:
        """Log each interrupt and exception at delivery (a ring of
        INTLOG_CAP entries drained by interrupt_log_take())."""
        def __get__(self):
            return bool(self.s.events & EV_INTLOG)
        def __set__(self, on):
            g = self._debug()
            if on and not (self.s.events & EV_INTLOG):
                g.int_n = 0
                self._int_read = 0
            if on:
                self.s.events |= EV_INTLOG
            else:
                self.s.events &= ~(<uint32_t>EV_INTLOG)

    def interrupt_log_take(self):
        """(records as bytes, how many were lost because the ring overflowed)."""
        cdef uint64_t n, first, i
        if self.s.dbg == NULL:
            return b"", 0
        g = <DebugState*>self.s.dbg
        n = g.int_n
        first = self._int_read
        lost = 0
        if n - first > INTLOG_CAP:
            lost = n - first - INTLOG_CAP
            first = n - INTLOG_CAP
        out = bytearray()
        for i in range(first, n):
            out += (<char*>&g.ints[i % INTLOG_CAP])[:sizeof(IntRec)]
        self._int_read = n
        return bytes(out), lost

    @staticmethod
    def interrupt_record_size():
        return sizeof(IntRec)

    # ---- state for snapshots ------------------------------------------------------

    def get_cpu_state(self):
        """The CPU as a dict of ints and lists: registers, lazy flags, segment
        caches, control, debug and table registers, run state."""
        s = &self.s
        return {
            "regs": [s.regs[i] for i in range(8)], "eip": s.eip, "flags": s.flags,
            "lf_res": s.lf_res, "lf_aux": s.lf_aux,
            "seg": [[s.seg[i].sel, s.seg[i].base, s.seg[i].limit, s.seg[i].attr]
                    for i in range(6)],
            "cr": [s.cr[i] for i in range(5)], "dr": [s.dr[i] for i in range(8)],
            "gdtr": [s.gdtr.base, s.gdtr.limit], "idtr": [s.idtr.base, s.idtr.limit],
            "run": {"icount": s.icount, "halted": s.halted, "shadow": s.shadow,
                    "nmi_pending": s.nmi_pending, "idle_ns": s.idle_ns, "ud_exit": s.ud_exit,
                    "a20mask": s.a20mask, "ipmask": s.ipmask, "io_in": s.io_in,
                    "io_out": s.io_out, "rep_partial": s.rep_partial,
                    "exceptions": s.exceptions, "last_exception": s.last_exception,
                    "fault_err": s.fault_err},
            # the x87 (FXSAVE layout and the real-mode pointers' linear
            # addresses), its FERR# latch, the 686's MSRs and TSC offset
            "fpu": bytes((<char*>&s.fpu)[:sizeof(FpuState)]).hex(), "ferr": s.ferr,
            "msr": {"tsc_offset": s.tsc_offset, "apic_base": s.apic_base,
                    "sysenter": [s.sysenter_cs, s.sysenter_esp, s.sysenter_eip],
                    "mtrr_var": [s.mtrr_var[i] for i in range(16)],
                    "mtrr_fixed": [s.mtrr_fixed[i] for i in range(11)],
                    "mtrr_def_type": s.mtrr_def_type,
                    "perf_evtsel": [s.perf_evtsel[0], s.perf_evtsel[1]],
                    "perf_ctr": [s.perf_ctr[0], s.perf_ctr[1]], "debugctl": s.debugctl,
                    "mcg_status": s.mcg_status, "mcg_ctl": s.mcg_ctl,
                    "mc_ctl": [s.mc_ctl[i] for i in range(5)]},
            # protected mode: the CPL, the LDTR and TR caches, the counters
            "pm": {"cpl": s.cpl,
                   "ldtr": [s.ldtr.sel, s.ldtr.base, s.ldtr.limit, s.ldtr.attr],
                   "tr": [s.tr.sel, s.tr.base, s.tr.limit, s.tr.attr],
                   "mode_switches": s.mode_switches, "v86_entries": s.v86_entries,
                   "exc_by_vec": [s.exc_by_vec[i] for i in range(32)]},
        }

    def set_cpu_state(self, d):
        s = &self.s
        for i in range(8):
            s.regs[i] = d["regs"][i]
        s.eip, s.flags, s.lf_res, s.lf_aux = d["eip"], d["flags"], d["lf_res"], d["lf_aux"]
        for i in range(6):
            s.seg[i].sel, s.seg[i].base, s.seg[i].limit, s.seg[i].attr = d["seg"][i]
            seg_bounds(&s.seg[i])
        for i in range(5):
            s.cr[i] = d["cr"][i]
        for i in range(8):
            s.dr[i] = d["dr"][i]
        dr_update(s)                # the breakpoints' summary (debugreg.pxi)
        s.gdtr.base, s.gdtr.limit = d["gdtr"]
        s.idtr.base, s.idtr.limit = d["idtr"]
        r = d["run"]
        s.icount, s.halted, s.shadow, s.nmi_pending = r["icount"], r["halted"], r["shadow"], r["nmi_pending"]
        s.idle_ns, s.ud_exit, s.a20mask, s.ipmask = r["idle_ns"], r["ud_exit"], r["a20mask"], r["ipmask"]
        s.io_in, s.io_out = r["io_in"], r["io_out"]
        s.rep_partial, s.exceptions, s.last_exception, s.fault_err = (
            r["rep_partial"], r["exceptions"], r["last_exception"], r["fault_err"])
        fpu = bytes.fromhex(d["fpu"])
        if len(fpu) != sizeof(FpuState):
            raise ValueError("x87 state of the wrong size")
        memcpy(&s.fpu, <char*>fpu, sizeof(FpuState))
        s.ferr = d["ferr"]
        m = d["msr"]
        s.tsc_offset, s.apic_base, s.mtrr_def_type, s.debugctl = (
            m["tsc_offset"], m["apic_base"], m["mtrr_def_type"], m["debugctl"])
        s.sysenter_cs, s.sysenter_esp, s.sysenter_eip = m["sysenter"]
        for i in range(16):
            s.mtrr_var[i] = m["mtrr_var"][i]
        for i in range(11):
            s.mtrr_fixed[i] = m["mtrr_fixed"][i]
        for i in range(2):
            s.perf_evtsel[i] = m["perf_evtsel"][i]
            s.perf_ctr[i] = m["perf_ctr"][i]
        s.mcg_status, s.mcg_ctl = m["mcg_status"], m["mcg_ctl"]
        for i in range(5):
            s.mc_ctl[i] = m["mc_ctl"][i]
        p = d["pm"]
        s.cpl, s.mode_switches = p["cpl"], p["mode_switches"]
        s.v86_entries = p.get("v86_entries", 0)
        s.ldtr.sel, s.ldtr.base, s.ldtr.limit, s.ldtr.attr = p["ldtr"]
        s.tr.sel, s.tr.base, s.tr.limit, s.tr.attr = p["tr"]
        seg_bounds(&s.ldtr)
        seg_bounds(&s.tr)
        for i in range(32):
            s.exc_by_vec[i] = p["exc_by_vec"][i]
        tlb_flush(s, 0)             # CR0/CR3/CR4 and the A20 mask changed

    @staticmethod
    def kernel_layout():
        """Sizes of the C structs a snapshot stores raw: a file whose layout
        differs was written by another build of the core."""
        return (f"cpu{sizeof(CpuState)}-dev{sizeof(Devices)}-pic{sizeof(PicState)}"
                f"-pit{sizeof(PitState)}-kbc{sizeof(I8042State)}-rtc{sizeof(RtcState)}"
                f"-uart{sizeof(UartState)}-video{sizeof(TextVideoState)}"
                f"-pci{sizeof(PciState)}-ide{sizeof(IdeState)}-acpi{sizeof(AcpiPmState)}")

    def get_kernel_state(self):
        """The in-kernel devices (the C Devices struct) as raw bytes."""
        return bytes((<char*>self.s.devices)[:sizeof(Devices)])

    def set_kernel_state(self, data):
        """Restore get_kernel_state()'s bytes. The devices' links to the PIC
        and the ports Python claimed are this machine's, and stay."""
        cdef Devices* dv = <Devices*>self.s.devices
        cdef const uint8_t[:] b = data
        cdef PicState* links[5]
        cdef IdeMedia* media = dv.ide_media
        cdef uint8_t* claimed
        if len(data) != sizeof(Devices):
            raise ValueError("in-kernel device state of the wrong size")
        claimed = <uint8_t*>malloc(65536)
        if claimed == NULL:
            raise MemoryError()
        links[0], links[1], links[2], links[3] = dv.pit.pic, dv.kbc.pic, dv.rtc.pic, dv.uart.pic
        links[4] = dv.ide.pic
        memcpy(claimed, dv.port_py, 65536)
        memcpy(dv, &b[0], sizeof(Devices))
        dv.pit.pic, dv.kbc.pic, dv.rtc.pic, dv.uart.pic = links[0], links[1], links[2], links[3]
        dv.ide.pic, dv.ide_media = links[4], media
        memcpy(dv.port_py, claimed, 65536)
        free(claimed)
        self.s.io_slow = (self.s.io_slow & 2) | (1 if dv.timing else 0)
        self.s.win_len = 0
