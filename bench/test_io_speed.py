"""Port I/O speed: `pytest bench/ -k io` (pytest-benchmark).

Issue 3 asks for three figures, each from a small guest loop run by the core:

  (a) one OUT handled by an in-kernel device (port 0x80, the POST port:
      handled in C, the run loop carries on);
  (b) one OUT handled by a trivial Python PortDevice through Machine
      (port 0x510: an 'io' exit to Python per OUT, then back into the guest);
  (c) one register instruction (`inc ax`);

and that (b) cost at least 20 times (a). The figures (ns per operation),
and the ratios python/in-kernel and in-kernel/register, go to
benchmark.extra_info and to a summary printed at the end of the run.
Two more lines put them in context: an in-kernel OUT to the PIC's IMR
(port 0x21: after a PIC write the core leaves its inner loop to re-check
pending interrupts), and the Python path without Machine (the raw
core: cpu.claim_ports() and a bare `cpu.run()` loop).  Nothing here
asserts a speed; tests/test_io_exits.py checks the exit counts.

Every guest has the same shape: BP iterations of 64 unrolled copies of the
measured instruction, then `dec bp; jnz`; `cli; hlt` at the end.  The OUT
guests use `out dx, al`, with DX set from Python, so one image serves every
port.  ns/op = best round's wall time / operations (the loop's dec/jnz,
2 instructions per 64, are included in the figure).
"""

from benchutil import IO_RESULTS, load_guest

from hvmm.devices import PortDevice
from hvmm.machine import Machine

UNROLL = 64
# outer: out dx, al  x 64        (EE x 64)
#        dec bp                  (4D)
#        jnz outer               (75 BD)
#        cli                     (FA)
#        hlt                     (F4)
OUT_LOOP = b"\xee" * UNROLL + bytes.fromhex("4d75bdfaf4")
# The same with `inc ax` (40) in place of the OUT.
REG_LOOP = b"\x40" * UNROLL + bytes.fromhex("4d75bdfaf4")

POST_PORT = 0x80
PIC1_IMR = 0x21
PY_PORT = 0x510

IN_KERNEL_ITERS = 20_000  # 1,280,000 OUTs
PYTHON_ITERS = 300  # 19,200 OUTs, each an exit to Python
REG_ITERS = 60_000  # 3,960,002 register instructions (BP is 16-bit)
ROUNDS = 10  # best of: the host may be busy


def instructions(iters):
    return iters * (UNROLL + 2) + 2


class NullPort(PortDevice):
    """The trivial Python device: remembers the last value written."""

    name = "null"
    ports = [PY_PORT]
    last = None

    def io_write(self, port, size, value):
        self.last = value


def out_guest(port, iters, model="386"):
    cpu = load_guest(OUT_LOOP, model)
    cpu.dx = port
    cpu.al = 0xFF  # for the IMR: all masked (IF is clear anyway)
    cpu.bp = iters
    return cpu


def run_core(cpu):
    """Run a guest on the bare core to its HLT."""
    ex = cpu.run(1 << 30)
    while ex.reason == "budget":
        ex = cpu.run(1 << 30)
    assert ex.reason == "hlt", (ex.reason, ex.detail)


def run_core_python_device(cpu, device):
    """The Python path without Machine: every OUT to a claimed port is an
    'io' exit, handed to the device, then the guest resumes."""
    run, write = cpu.run, device.io_write
    while True:
        ex = run(1 << 30)
        if ex.reason == "io":
            write(ex.port, ex.size, ex.value)
        elif ex.reason != "budget":
            break
    assert ex.reason == "hlt", (ex.reason, ex.detail)


def run_machine(machine):
    stop = machine.run()
    assert stop.reason == "hlt", stop


def measure(benchmark, key, label, ops, setup, target, rounds):
    """Time `target` from a fresh setup() per round; record ns/op."""
    last = []

    def _setup():
        args = setup()
        last[:] = [args]
        return args, {}

    benchmark.pedantic(target, setup=_setup, rounds=rounds, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:  # not --benchmark-disable
        stats = benchmark.stats.stats
        best = stats.min * 1e9 / ops
        mean = stats.mean * 1e9 / ops
        benchmark.extra_info["operations"] = ops
        benchmark.extra_info["ns_per_op_best"] = round(best, 2)
        benchmark.extra_info["ns_per_op_mean"] = round(mean, 2)
        IO_RESULTS[key] = (label, ops, best, mean, benchmark.extra_info)
        print(f"\n{label}: {ops} operations, {best:.1f} ns/op best, {mean:.1f} ns/op mean")
    return last[0]


def test_out_in_kernel(benchmark):
    """(a) OUT to port 0x80, handled by the in-kernel POST-code device."""
    benchmark.group = "io"
    (cpu,) = measure(
        benchmark, "kernel", "(a) OUT, in-kernel (port 0x80)", IN_KERNEL_ITERS * UNROLL,
        lambda: (out_guest(POST_PORT, IN_KERNEL_ITERS),), run_core, rounds=ROUNDS,
    )
    assert cpu.instructions == instructions(IN_KERNEL_ITERS)
    assert cpu.post_code == 0xFF


def test_out_in_kernel_pic(benchmark):
    """OUT to the master PIC's IMR (in-kernel; ends the current chunk)."""
    benchmark.group = "io"
    (cpu,) = measure(
        benchmark, "kernel_pic", "    OUT, in-kernel (PIC IMR, 0x21)", IN_KERNEL_ITERS * UNROLL,
        lambda: (out_guest(PIC1_IMR, IN_KERNEL_ITERS),), run_core, rounds=ROUNDS,
    )
    assert cpu.instructions == instructions(IN_KERNEL_ITERS)
    assert cpu.io_read(PIC1_IMR, 1) == 0xFF


def test_out_python_device(benchmark):
    """(b) OUT to port 0x510, handled by a Python PortDevice through Machine."""
    benchmark.group = "io"
    devices = []

    def setup():
        devices[:] = [NullPort()]
        return (Machine(cpu=out_guest(PY_PORT, PYTHON_ITERS), devices=devices),)

    (machine,) = measure(
        benchmark, "python", "(b) OUT, Python device via Machine (0x510)",
        PYTHON_ITERS * UNROLL, setup, run_machine, rounds=ROUNDS,
    )
    assert machine.cpu.instructions == instructions(PYTHON_ITERS)
    assert devices[0].last == 0xFF


def test_out_python_device_raw_core(benchmark):
    """The Python path's floor: claim_ports() and a bare run() loop."""
    benchmark.group = "io"
    device = NullPort()

    def setup():
        cpu = out_guest(PY_PORT, PYTHON_ITERS)
        cpu.claim_ports(PY_PORT, PY_PORT)
        return (cpu, device)

    cpu, _ = measure(
        benchmark, "python_raw", "    OUT, Python device, bare core loop",
        PYTHON_ITERS * UNROLL, setup, run_core_python_device, rounds=ROUNDS,
    )
    assert cpu.instructions == instructions(PYTHON_ITERS)
    assert device.last == 0xFF


def test_register_instruction(benchmark):
    """(c) `inc ax`, unrolled: one register instruction."""
    benchmark.group = "io"

    def setup():
        cpu = load_guest(REG_LOOP, "386")
        cpu.bp = REG_ITERS
        return (cpu,)

    (cpu,) = measure(
        benchmark, "register", "(c) register instruction (inc ax)",
        instructions(REG_ITERS), setup, run_core, rounds=ROUNDS,
    )
    assert cpu.instructions == instructions(REG_ITERS)
    assert cpu.ax == REG_ITERS * UNROLL & 0xFFFF
