# x87 FPU state: C data in CpuState (state.pxi includes this before it).
#
# The layout is the first 160 bytes of the FXSAVE image (control, status,
# abridged tag, last opcode and pointers, then ST(0)..ST(7) in 16-byte
# slots), so the host's XSAVE/XRSTOR move it in one piece (fpu_host.pxi)
# and the guest's FXSAVE/FXRSTOR are copies. The tag is the abridged one
# (bit i: physical register i is not empty): the full tag FSAVE/FSTENV
# store is derived from the register contents, as the P6 does.
#
# The instruction and data pointers are the guest's: the host's own
# (host addresses) are never kept. fip_lin/fdp_lin are the linear
# addresses the real-mode FSTENV/FSAVE layouts store.

ctypedef struct FpuState:
    uint16_t cw             # control word
    uint16_t sw             # status word (TOP in bits 11-13)
    uint8_t tw              # abridged tag
    uint8_t pad0
    uint16_t fop            # last non-control opcode, 11 bits
    uint32_t fip            # its offset
    uint16_t fcs            # its CS selector
    uint16_t pad1
    uint32_t fdp            # last memory operand's offset
    uint16_t fds            # its segment selector
    uint16_t pad2
    uint32_t mxcsr          # unused (no SSE); kept 0x1F80 for the host's XRSTOR
    uint32_t mxcsr_mask
    uint8_t st[8][16]       # ST(0)..ST(7), 10 bytes each (+6 reserved)
    # the guest's linear addresses of fip and fdp (real-mode layouts)
    uint32_t fip_lin
    uint32_t fdp_lin
