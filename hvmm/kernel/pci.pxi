# PCI configuration space, configuration mechanism #1 (PCI Local Bus
# Specification 3.0, 3.2.2.3.2): CONFIG_ADDRESS at 0xCF8 (dword only:
# enable bit 31, bus 23-16, device 15-11, function 10-8, register 7-2) and
# CONFIG_DATA at 0xCFC-0xCFF (byte, word or dword at the register plus the
# port's offset). 0xCF9 is the PIIX3 reset control register.
#
# Bus 0 holds the chipset QEMU's "pc" machine has: the i440FX host bridge
# (00:00.0, 8086:1237), the PIIX3 ISA bridge (00:01.0, 8086:7000) and the
# PIIX3 IDE function (00:01.1, 8086:7010: both channels in legacy mode, at
# 1F0/3F6 IRQ 14 and 170/376 IRQ 15; BAR4 is the bus-master block, sized
# but not implemented: the IDE model is PIO only). Their config space is
# bytes plus a write mask per byte, as a BIOS and a kernel use it: IDs and
# class codes read only, command register, BARs (sizing by writing all
# ones), interrupt line and the chipset registers from 0x40 up writable.
#
# A function Python registered (PciState.py_owned[devfn]) is declined here,
# so the access goes on to the Python device standing behind 0xCFC-0xCFF
# (an 'io' exit); it reads CONFIG_ADDRESS back from PciState.address.
# Anything else (other buses, empty slots, the enable bit clear) reads as
# all ones and drops writes, as on a real bus (a master abort).

cdef enum:
    PCI_PORT_ADDRESS = 0xCF8
    PCI_PORT_RESET = 0xCF9
    PCI_PORT_DATA = 0xCFC
    PCI_ENABLE = 0x80000000
    PCI_NFUNC = 3               # the in-kernel functions below
    PCI_BARS = 6
    PCI_RESET_CPU = 0x04        # 0xCF9 bit 2: reset (bit 1: hard reset)

# devfn of each in-kernel function
cdef enum:
    PCI_DEVFN_HOST = 0x00       # 00:00.0
    PCI_DEVFN_ISA = 0x08        # 00:01.0
    PCI_DEVFN_IDE = 0x09        # 00:01.1

ctypedef struct PciFunction:
    uint8_t devfn
    uint8_t cfg[256]
    uint8_t wmask[256]          # writable bits of each byte
    uint32_t bar_mask[PCI_BARS] # address bits a BAR keeps (0: no BAR)

ctypedef struct PciState:
    uint32_t address            # CONFIG_ADDRESS as last written
    uint8_t reset_control       # 0xCF9
    PciFunction fn[PCI_NFUNC]
    uint8_t py_owned[256]       # bus-0 devfns a Python device answers (kept
                                # across resets, like the claimed ports)


cdef inline void pci_put16(PciFunction* f, uint32_t reg, uint32_t v) noexcept nogil:
    f.cfg[reg] = v & 0xFF
    f.cfg[reg + 1] = (v >> 8) & 0xFF

cdef inline void pci_put32(PciFunction* f, uint32_t reg, uint32_t v) noexcept nogil:
    pci_put16(f, reg, v & 0xFFFF)
    pci_put16(f, reg + 2, v >> 16)

cdef void pci_function_init(PciFunction* f, uint8_t devfn, uint32_t vendor_device,
                            uint32_t class_rev, uint8_t header_type) noexcept nogil:
    f.devfn = devfn
    memset(f.cfg, 0, 256)
    memset(f.wmask, 0, 256)
    memset(f.bar_mask, 0, sizeof(f.bar_mask))
    pci_put32(f, 0x00, vendor_device)      # vendor (low), device (high)
    pci_put32(f, 0x08, class_rev)          # revision, prog-if, subclass, class
    f.cfg[0x0E] = header_type
    f.wmask[0x04] = 0x07                   # command: I/O, memory, bus master
    f.wmask[0x05] = 0x01                   # SERR#
    f.wmask[0x0D] = 0xFF                   # latency timer
    f.wmask[0x3C] = 0xFF                   # interrupt line
    memset(&f.wmask[0x40], 0xFF, 0xC0)     # chipset registers: plain storage

cdef void pci_reset(PciState* s) noexcept nogil:
    cdef PciFunction* f
    s.address = 0
    s.reset_control = 0
    # i440FX PMC: host bridge, revision 02h, status "medium DEVSEL".
    f = &s.fn[0]
    pci_function_init(f, PCI_DEVFN_HOST, 0x12378086, 0x06000002, 0x00)
    pci_put16(f, 0x06, 0x0280)
    # PIIX3 ISA bridge: multi-function device (header type bit 7); PIRQ
    # routing 60h-63h disabled (80h), as at power-on.
    f = &s.fn[1]
    pci_function_init(f, PCI_DEVFN_ISA, 0x70008086, 0x06010000, 0x80)
    pci_put16(f, 0x04, 0x0007)
    pci_put16(f, 0x06, 0x0200)
    pci_put32(f, 0x60, 0x80808080)
    # PIIX3 IDE: class 01 01, prog-if 80h (bus master capable, both channels
    # in fixed legacy mode: BAR0-3 are not decoded and read 0); BAR4 16 bytes
    # of I/O; interrupt pin 0 (legacy IRQ 14/15). I/O decoding is on, as a
    # PC BIOS leaves it, so the legacy ports answer from power-on.
    f = &s.fn[2]
    pci_function_init(f, PCI_DEVFN_IDE, 0x70108086, 0x01018000, 0x00)
    pci_put16(f, 0x04, 0x0001)
    pci_put16(f, 0x06, 0x0280)
    f.bar_mask[4] = 0xFFFFFFF0u
    f.cfg[0x20] = 0x01                     # BAR4: I/O space indicator
    pci_put16(f, 0x40, 0x8000)             # IDETIM: primary decode enable
    pci_put16(f, 0x42, 0x8000)             # IDETIM: secondary decode enable

cdef inline PciFunction* pci_function(PciState* s, uint32_t devfn) noexcept nogil:
    cdef int i
    for i in range(PCI_NFUNC):
        if s.fn[i].devfn == devfn:
            return &s.fn[i]
    return NULL

# The in-kernel function CONFIG_ADDRESS selects; NULL with *python set when
# a Python device answers it instead.
cdef inline PciFunction* pci_selected(PciState* s, int* python) noexcept nogil:
    cdef uint32_t a = s.address
    cdef uint32_t devfn = (a >> 8) & 0xFF
    python[0] = 0
    if not (a & PCI_ENABLE) or (a >> 16) & 0xFF:
        return NULL
    if s.py_owned[devfn]:
        python[0] = 1
        return NULL
    return pci_function(s, devfn)

cdef void pci_config_write8(PciFunction* f, uint32_t reg, uint32_t v) noexcept nogil:
    cdef uint32_t bar, shift, old
    if 0x10 <= reg < 0x28:
        bar = (reg - 0x10) >> 2
        if f.bar_mask[bar] == 0:
            return
        # A BAR keeps only its address bits; the low type bits are fixed.
        shift = (reg & 3) * 8
        old = f.cfg[reg]
        v = (v & (f.bar_mask[bar] >> shift)) | (old & ~(f.bar_mask[bar] >> shift))
        f.cfg[reg] = v & 0xFF
        return
    if reg == 0x06 or reg == 0x07:
        return                  # status: no error bit is ever set to clear
    f.cfg[reg] = (f.cfg[reg] & ~f.wmask[reg]) | (v & f.wmask[reg])

cdef int pci_io_read(PciState* s, uint32_t port, uint32_t size, uint32_t* value,
                     uint64_t now) noexcept nogil:
    cdef PciFunction* f
    cdef int python, i
    cdef uint32_t reg, v = 0
    if port == PCI_PORT_ADDRESS:
        if size != 4:
            return 0
        value[0] = s.address
        return 1
    if port == PCI_PORT_RESET:
        if size != 1:
            return 0
        value[0] = s.reset_control
        return 1
    if port < PCI_PORT_DATA:
        return 0                # 0xCFA-0xCFB: nothing here
    f = pci_selected(s, &python)
    if python:
        return 0                # a Python device answers
    if f == NULL:
        value[0] = 0xFFFFFFFFu >> (32 - 8 * size)
        return 1
    reg = (s.address & 0xFC) + (port - PCI_PORT_DATA)
    for i in range(<int>size):
        if reg + i < 256:
            v |= <uint32_t>f.cfg[reg + i] << (8 * i)
    value[0] = v
    return 1

# Returns 1 when handled, 2 when the guest asked for a reset (0xCF9), 0 to
# decline.
cdef int pci_io_write(PciState* s, uint32_t port, uint32_t size, uint32_t value,
                      uint64_t now) noexcept nogil:
    cdef PciFunction* f
    cdef int python, i
    cdef uint32_t reg
    if port == PCI_PORT_ADDRESS:
        if size != 4:
            return 0
        s.address = value & 0x80FFFFFCu
        return 1
    if port == PCI_PORT_RESET:
        if size != 1:
            return 0
        s.reset_control = value & 0x0E
        return 2 if value & PCI_RESET_CPU else 1
    if port < PCI_PORT_DATA:
        return 0
    f = pci_selected(s, &python)
    if python:
        return 0
    if f == NULL:
        return 1                # master abort: dropped
    reg = (s.address & 0xFC) + (port - PCI_PORT_DATA)
    for i in range(<int>size):
        if reg + i < 256:
            pci_config_write8(f, reg + i, (value >> (8 * i)) & 0xFF)
    return 1
