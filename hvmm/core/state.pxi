# CPU state, shared constants and the per-model tables.
#
# Everything the hot loop touches is plain C data in one struct (CpuState);
# the Python class Cpu in _core.pyx owns one and exposes it.

from libc.stdint cimport (uint8_t, uint16_t, uint32_t, uint64_t,
                          int8_t, int16_t, int32_t, int64_t)
from libc.string cimport memcpy, memset
from libc.setjmp cimport jmp_buf

cdef extern from *:
    int __builtin_parity(unsigned int) nogil
    int __builtin_ctz(unsigned int) nogil
    int __builtin_clz(unsigned int) nogil
    uint32_t __builtin_bswap32(uint32_t) nogil
    # Hint for gcc: the cold branch (faults, exits, slow memory paths).
    long __builtin_expect(long, long) nogil

# General registers, in ModRM encoding order.
cdef enum:
    R_EAX = 0
    R_ECX = 1
    R_EDX = 2
    R_EBX = 3
    R_ESP = 4
    R_EBP = 5
    R_ESI = 6
    R_EDI = 7

# Segment registers, in ModRM encoding order (sreg field).
cdef enum:
    S_ES = 0
    S_CS = 1
    S_SS = 2
    S_DS = 3
    S_FS = 4
    S_GS = 5

# EFLAGS bits.
cdef enum:
    F_CF = 0x0001
    F_PF = 0x0004
    F_AF = 0x0010
    F_ZF = 0x0040
    F_SF = 0x0080
    F_TF = 0x0100
    F_IF = 0x0200
    F_DF = 0x0400
    F_OF = 0x0800
    F_IOPL = 0x3000
    F_NT = 0x4000
    F_RF = 0x10000      # resume: no instruction breakpoint for one instruction
    F_VM = 0x20000      # virtual-8086 mode (core/v86.pxi)
    F_AC = 0x40000
    F_VIF = 0x80000     # virtual IF (CR4.VME/PVI; v86.pxi), the 686 only
    F_VIP = 0x100000    # virtual interrupt pending (set by a monitor)
    F_ID = 0x200000
    F_ARITH = 0x08D5    # CF PF AF ZF SF OF: the lazily evaluated ones

# Why cpu_run returned.
cdef enum:
    EXIT_BUDGET = 1
    EXIT_HLT = 2
    EXIT_BREAKPOINT = 3
    EXIT_INVALID_OPCODE = 4
    EXIT_UNIMPLEMENTED = 5
    EXIT_TRIPLE_FAULT = 6
    EXIT_IO = 7             # a port access for a Python device
    EXIT_DEBUG_EXIT = 8     # the guest wrote to port 0xF4
    EXIT_TIMER = 9          # virtual time reached the Python deadline
    EXIT_RESET = 10         # the guest asked for a CPU reset
    STOP_EVENTS = 101       # internal: look at devices and interrupts now

# Kinds of 4 KiB physical page (one byte per page over the 4 GiB space).
cdef enum:
    PG_RAM = 0          # read and write directly
    PG_ROM = 1          # read directly, writes dropped
    PG_UNMAPPED = 2     # reads all ones, writes dropped (empty bus)
    PG_MMIO = 3         # a Python device's memory range (mmio_access)
    PG_ROM_ALIAS = 4    # read-only view of a ROM placed lower (rom_alias_*)

# Bits of CpuState.events: debugging state cpu_run looks at before it
# enters the loop (breakpoints make it step one instruction at a time).
cdef enum:
    EV_BREAKPOINTS = 1

# CpuState.shadow: interrupts wait one instruction after STI, and after a
# MOV/POP SS the single-step trap waits too.
cdef enum:
    SHADOW_STI = 1
    SHADOW_SS = 2

# Prefix kinds, in the per-model prefix tables (generated from the
# instruction table: prefix_table_<model> in core/execute_gen.pxi).
cdef enum:
    PX_NONE = 0
    PX_SEG = 1          # + segment index: 1..6
    PX_OPSIZE = 8
    PX_ADDRSIZE = 9
    PX_LOCK = 10
    PX_REPNE = 11
    PX_REP = 12

# Instruction shapes, per model, index (opcode << 3) | ModRM reg (opcode
# 0x100 | byte for the 0F page), generated from the table: what the length
# decoder and the LOCK check need (insn_length, check_lock in loop.pxi).
cdef enum:
    SHAPE_IMM_FIXED = 0x07  # immediate bytes of fixed size
    SHAPE_IMM_Z = 0x18      # count of word-or-dword (operand size) immediates
    SHAPE_IMM_O = 0x20      # an address-size offset (moffs)
    SHAPE_MODRM = 0x40
    SHAPE_LOCK = 0x80       # LOCK allowed (with a memory operand)
    SHAPE_ESCAPE = 0x100    # the 0F page escape

cdef enum:
    MODEL_8086 = 0
    MODEL_386 = 1
    MODEL_686 = 2
    MODEL_286 = 3

cdef enum:
    MAX_BREAKPOINTS = 64

# A segment register's cache. end1/end2/end4 are computed from limit and
# attr whenever either changes (seg_bounds, segment.pxi): an access of 1, 2
# or 4 bytes at offset `off` needs no further check when off < endN (N - 1
# bytes short of the limit, for an expand-up segment). 64-bit, so a 4 GiB
# limit has an end of 2^32; 0 sends every access to the checked slow path
# (expand-down, null or unusable segments, limits below 3).
ctypedef struct SegCache:
    uint32_t sel
    uint32_t base
    uint32_t limit
    uint32_t attr
    uint64_t end1
    uint64_t end2
    uint64_t end4
    # the same for writes: 0 for segments that are not writable data
    # (code, read-only data), so a write goes to the checked path
    uint64_t wend1
    uint64_t wend2
    uint64_t wend4              # 64 bytes: seg[i] is indexed with a shift

# One software-TLB entry (core/paging.pxi). Tags are `linear page | CPL`
# (TLB_NONE never matches): rtag/wtag are set only where the access may go
# straight to host memory at addend + linear (plain RAM, or ROM for reads;
# writes only once the page is dirty and writable at that CPL), `tag` for
# any valid translation, which the slow paths use (MMIO, ROM, watched).
ctypedef struct TlbEntry:
    uint32_t rtag
    uint32_t wtag
    uint32_t tag
    uint32_t phys               # physical page | TLBP_* bits
    size_t addend               # host address = addend + linear address
    uint32_t gflags             # TLBF_GLOBAL, TLBF_LISTED
    uint32_t pad

cdef enum:
    TLB_BITS = 12
    TLB_SIZE = 4096             # 16 MiB of linear space; 128 KiB per CPU
    TLB_MASK = 4095
    TLB_ENTRY_SHIFT = 5         # sizeof(TlbEntry) == 32 (checked at import)

ctypedef struct DescTable:
    uint32_t base
    uint32_t limit

include "fpu_state.pxi"

ctypedef struct CpuState:
    uint32_t regs[8]
    uint32_t eip
    uint32_t flags          # EFLAGS but the arithmetic flags (always 0 here)
    uint32_t lf_res         # lazy arithmetic flags: see flags.pxi
    uint32_t lf_aux
    SegCache seg[6]
    uint32_t cr[5]
    uint32_t dr[8]
    DescTable gdtr
    DescTable idtr
    # memory
    uint8_t* mem
    uint32_t mem_size
    uint8_t* pagekind
    uint32_t ram_top            # [0, ram_top) is plain RAM (see memory.pxi)
    # PG_ROM_ALIAS pages: address a reads mem[a - rom_alias_base + rom_alias_src]
    # (the BIOS at F0000 also decoded just below 4 GiB, where a 386 starts)
    uint32_t rom_alias_base
    uint32_t rom_alias_src
    uint32_t a20mask
    # model
    int model
    const uint8_t* prefixes     # prefix table of the model
    const uint16_t* shapes      # instruction shapes of the model (SHAPE_*)
    uint32_t flags_fixed        # bits that always read as 1
    uint32_t flags_writable16   # bits POPF (16-bit) may change in real mode
    uint32_t flags_writable32
    uint32_t ipmask             # 0xFFFF for a 16-bit code segment
    # run state
    uint64_t icount
    uint32_t events
    int halted
    int shadow                  # STI/MOV SS: no interrupt before the next insn
    uint64_t shadow_at          # the serial number of the last MOV/POP SS (insn_serial)
    int nmi_pending             # an NMI waits for the next boundary (raise_nmi)
    # virtual time (see bus.pxi)
    uint64_t ips                # instructions per virtual second
    uint64_t idle_ns            # time spent halted
    uint64_t chunk_len          # instructions in the current run chunk
    uint64_t py_deadline        # next Python timer, ns
    void* devices               # the in-kernel devices (Devices*, bus.pxi)
    void* mmio_handler          # Python callable for PG_MMIO pages (borrowed)
    uint32_t nbp
    uint32_t bp[MAX_BREAKPOINTS]
    int ud_exit                 # invalid opcodes exit to the monitor (else #UD)
    # exit details
    uint32_t exit_cs
    uint32_t exit_eip
    # an instruction that stops the loop leaves why here (see stop_run)
    int stop_reason
    uint64_t stop_left
    # Precise faults (docs/faults.md, core/exception.pxi). The checkpoint:
    # stored by run_chunk before every instruction.
    uint32_t insn_eip           # the instruction's first byte
    uint64_t insn_left          # the chunk's count after it
    # ESP before a stack sequence that can fault after moving it (saved
    # by the few bodies that need it: stack_checkpoint, stack.pxi), and
    # the serial number of the instruction that saved it
    uint32_t esp_saved
    uint64_t esp_saved_at
    # what raise_exception records before it unwinds to fault_jmp
    jmp_buf fault_jmp
    int guarded                 # fault_jmp is armed (a chunk or a delivery runs)
    int fault_vec
    uint32_t fault_err          # error code (protected mode pushes it)
    int fault_has_err
    int deliver_vec             # the vector being delivered (deliver)
    uint32_t fault_next         # EIP past the instruction (the 8086's #DE)
    int last_exception          # the last exception delivered (-1: none)
    uint64_t exceptions         # how many were delivered
    int limit_checks            # segment limits are checked (286 and later)
    int insn_limit              # longest instruction in bytes (0: no limit)
    int rep_partial             # a REP stopped between iterations
    # empty-bus I/O counters
    uint64_t io_in
    uint64_t io_out
    uint8_t fetchbuf[32]
    # Direct-fetch window: instructions at EIP in [win_lo, win_lo+win_len)
    # are read from win_host + (EIP - win_lo). Reset (win_len = 0) when CS,
    # the CPL or a translation changes (every TLB flush: core/paging.pxi).
    const uint8_t* win_host
    uint32_t win_lo
    uint32_t win_len
    # debugging (core/debug.pxi): a DebugState* allocated on first use, and
    # whether fill_fetchbuf is reading code (watchpoints watch data only)
    void* dbg
    int fetching
    # ---- x87 (386 and 686), the 686's model-specific registers (fpu*.pxi, msr.pxi)
    FpuState fpu
    int ferr                    # FERR# drives IRQ 13 (CR0.NE = 0; port F0 clears it)
    int64_t tsc_offset          # TSC = virtual cycles + tsc_offset (WRMSR 0x10)
    uint64_t apic_base
    uint64_t sysenter_cs
    uint64_t sysenter_esp
    uint64_t sysenter_eip
    uint64_t mtrr_var[16]       # MTRRphysBase/Mask 0-7 (0x200-0x20F)
    uint64_t mtrr_fixed[11]     # 0x250, 0x258, 0x259, 0x268-0x26F
    uint64_t mtrr_def_type      # 0x2FF
    uint64_t perf_evtsel[2]     # 0x186, 0x187
    uint64_t perf_ctr[2]        # 0xC1, 0xC2 (no events counted)
    uint64_t debugctl           # 0x1D9
    uint64_t mcg_status         # machine-check architecture (msr.pxi): 0x17A,
    uint64_t mcg_ctl            # 0x17B and the banks' MCi_CTL (their STATUS
    uint64_t mc_ctl[5]          # and ADDR read 0: no error is ever logged)
    # protected mode (descriptor.pxi, privilege.pxi, idt.pxi)
    SegCache ldtr
    SegCache tr
    int deliver_flags           # DLV_* of the delivery under way (idt.pxi)
    int cs_size_changed         # a CS load changed the default size: end the chunk
    uint64_t mode_switches      # CR0.PE changes
    uint64_t exc_by_vec[32]     # exceptions delivered, by vector
    uint64_t task_switches      # hardware task switches (task.pxi)
    int task_committed          # a task switch passed its commit point (deliver)
    # Privilege level (privilege.pxi; 0 in real mode): part of every
    # TLB tag, so a hit needs no separate user/supervisor test.
    uint32_t cpl
    uint64_t v86_entries        # IRETs into virtual-8086 mode (v86.pxi)
    # The debug registers' breakpoints (core/debugreg.pxi): DR7's enabled
    # instruction, data and I/O breakpoints as bit masks (all 0: nothing
    # costs), the data and I/O breakpoints hit by the instruction running
    # (its #DB trap follows it), and the chunk's count that hit saved when
    # it ended the chunk early.
    uint32_t dr_exec
    uint32_t dr_data
    uint32_t dr_io
    int io_slow                 # IN/OUT through an in-kernel device take the slow
                                # path (bus.pxi): 1 io_timing, 2 I/O breakpoints
    uint32_t db_hits
    int db_stop
    uint64_t db_left
    int in_chunk                # run_chunk is running (not a delivery)
    int rf_skip                 # RF was set: no instruction breakpoint now
    # The software TLB (core/paging.pxi): entries, the indices filled since
    # the last flush (a flush walks only these), and counters for --stats.
    uint32_t tlb_n
    uint64_t tlb_misses
    uint64_t tlb_flushes
    uint64_t tlb_invlpgs             # INVLPG (one page each; not in tlb_flushes)
    uint16_t tlb_list[TLB_SIZE]
    TlbEntry tlb[TLB_SIZE]
