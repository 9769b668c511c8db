"""NMI: vector 2 regardless of IF, waking HLT, gated by port 0x70 bit 7."""

from hvmm._core import Cpu

# At 0000:7C00: cli; hlt; jmp back to the hlt.  NMI handler at 0000:7D00:
# inc byte [0x600]; iret.
MAIN = bytes.fromhex("FA F4 EBFD".replace(" ", ""))
HANDLER = bytes.fromhex("FE060006 CF".replace(" ", ""))


def machine():
    cpu = Cpu(memory_size=1 << 20)
    cpu.memory[0x7C00:0x7C00 + len(MAIN)] = MAIN
    cpu.memory[0x7D00:0x7D00 + len(HANDLER)] = HANDLER
    cpu.memory[2 * 4:2 * 4 + 4] = bytes([0x00, 0x7D, 0x00, 0x00])   # IVT[2] = 0000:7D00
    cpu.cs, cpu.ip, cpu.ss, cpu.sp, cpu.ds = 0, 0x7C00, 0, 0x7C00, 0
    return cpu


def test_nmi_wakes_a_cli_hlt_and_runs_vector_2():
    cpu = machine()
    assert cpu.run(1000).reason == "hlt"          # cli; hlt: nothing can wake it
    assert cpu.memory[0x600] == 0
    cpu.raise_nmi()
    ex = cpu.run(1000)
    assert ex.reason == "hlt"                     # handled, then back in the hlt loop
    assert cpu.memory[0x600] == 1
    assert not cpu.eflags & 0x200                 # IRET restored IF = 0


def test_nmi_mask_bit_of_port_70_holds_it_back():
    cpu = machine()
    cpu.io_write(0x70, 1, 0x80)                   # NMI off
    cpu.raise_nmi()
    assert cpu.run(1000).reason == "hlt"
    assert cpu.memory[0x600] == 0
    cpu.io_write(0x70, 1, 0x00)                   # NMI on: the pending one arrives
    cpu.halted = False
    cpu.ip = 0x7C01
    assert cpu.run(1000).reason == "hlt"
    assert cpu.memory[0x600] == 1
