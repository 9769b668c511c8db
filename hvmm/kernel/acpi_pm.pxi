# ACPI fixed hardware (ACPI 1.0b, chapter 4.7), as the PIIX4 power
# management function places it at QEMU's I/O base 0x600: PM1a event block
# (0x600 status, 0x602 enable), PM1a control (0x604) and the PM timer
# (0x608, 24 bits at 3.579545 MHz). The tables that point a kernel here are
# built in Python (hvmm/firmware/acpi.py).
#
# The timer is not ticked: a read computes it from the virtual clock, so
# the kernel's calibrations against it follow virtual time. The machine is
# always in ACPI mode (the FADT has no SMI command port): SCI_EN reads 1.
# Writing SLP_EN with SLP_TYP 5 (the DSDT's \_S5 package) powers off: the
# run ends. Not modelled: the timer's overflow event (TMR_STS/TMR_EN, the
# SCI), the power and sleep buttons, sleep states other than S5.

cdef enum:
    ACPI_PM_BASE = 0x600
    ACPI_PM1_STS = 0x600
    ACPI_PM1_EN = 0x602
    ACPI_PM1_CNT = 0x604
    ACPI_PM_TMR = 0x608
    ACPI_PM_LAST = 0x60B
    ACPI_SCI_EN = 0x0001
    ACPI_SLP_EN = 0x2000
    ACPI_SLP_TYP_SHIFT = 10
    ACPI_SLP_TYP_S5 = 5
    ACPI_PM_HZ = 3579545

ctypedef struct AcpiPmState:
    uint16_t sts
    uint16_t en
    uint16_t cnt


cdef void acpi_pm_reset(AcpiPmState* s) noexcept nogil:
    s.sts = 0
    s.en = 0
    s.cnt = ACPI_SCI_EN

cdef inline uint32_t acpi_pm_timer(uint64_t now) noexcept nogil:
    # ticks = now * 3579545 / 1e9 without overflowing 64 bits
    return <uint32_t>(((now // 1000000000u) * ACPI_PM_HZ +
                       ((now % 1000000000u) * ACPI_PM_HZ) // 1000000000u) & 0xFFFFFF)

cdef int acpi_pm_io_read(AcpiPmState* s, uint32_t port, uint32_t size, uint32_t* value,
                         uint64_t now) noexcept nogil:
    cdef uint32_t v, base
    if ACPI_PM_TMR <= port <= ACPI_PM_LAST:
        v = acpi_pm_timer(now)
        base = ACPI_PM_TMR
    elif port >= ACPI_PM1_CNT:
        v = s.cnt
        base = ACPI_PM1_CNT
    else:
        v = <uint32_t>s.sts | (<uint32_t>s.en << 16)
        base = ACPI_PM1_STS
    v >>= 8 * (port - base)
    value[0] = v & (0xFFFFFFFFu >> (32 - 8 * size))
    return 1

# 1 when handled, 2 when the guest powered the machine off.
cdef int acpi_pm_io_write(AcpiPmState* s, uint32_t port, uint32_t size, uint32_t value,
                          uint64_t now) noexcept nogil:
    if port == ACPI_PM1_STS and size >= 2:
        s.sts &= ~(value & 0xFFFF)          # write 1 to clear
        if size == 4:
            s.en = (value >> 16) & 0xFFFF
    elif port == ACPI_PM1_EN and size >= 2:
        s.en = value & 0xFFFF
    elif port == ACPI_PM1_CNT and size >= 2:
        s.cnt = (value & ~ACPI_SLP_EN & 0xFFFF) | ACPI_SCI_EN
        if (value & ACPI_SLP_EN) and ((value >> ACPI_SLP_TYP_SHIFT) & 7) == ACPI_SLP_TYP_S5:
            return 2
    return 1
