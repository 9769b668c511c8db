"""The GDB remote stub (hvmm/gdbstub.py) driven by Debian's gdb in batch
mode, and the core's watchpoints behind it.

The real-mode guest is hvmm/guests/debug_demo.bin (guests/debug_demo.asm):
a loop incrementing the word at 7C40 five times (7C80: inc word [7C40h];
7C84: loop), INT 60h, a #DE, the exit port with the count.  The 32-bit
protected-mode one, hvmm/guests/debug_pm.bin (guests/debug_pm.asm, run by
`exec --protected`), does the same with paging on, at linear addresses
whose pages lie elsewhere (C0001010: inc dword [C0002000h], counter at
physical 150000).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from hvmm.commands.execute import build_machine

pytestmark = pytest.mark.skipif(shutil.which("gdb") is None, reason="needs gdb (apt-get install gdb)")

MODES = {
    # mode: (hvmm arguments, loop address, counter address)
    "real": (["exec", "hvmm/guests/debug_demo.bin"], 0x7C80, 0x7C40),
    "pm-paging": (["exec", "--protected", "hvmm/guests/debug_pm.bin"], 0xC0001010, 0xC0002000),
}


def gdb_session(repo, hvmm_popen, mode, commands, timeout=60):
    """Start the guest with --gdb 0, run gdb -batch with `commands` against
    it; (gdb's output, hvmm's exit status, hvmm's stderr). `mode` is a key
    of MODES or the hvmm arguments themselves."""
    args = MODES[mode][0] if isinstance(mode, str) else mode
    proc = hvmm_popen(*args, "--gdb", "0", "--timeout", str(timeout), cwd=repo)
    try:
        line = proc.stderr.readline()
        port = int(re.search(r"port (\d+)", line).group(1))
        script = ["set pagination off", "set confirm off", f"target remote :{port}", *commands]
        argv = ["gdb", "-nx", "-batch"] + [x for c in script for x in ("-ex", c)]
        gdb = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        rest = proc.communicate(timeout=timeout)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return gdb.stdout + gdb.stderr, proc.returncode, line + rest


@pytest.fixture
def repo():
    from pathlib import Path

    return Path(__file__).resolve().parents[1]


def test_gdb_session(repo, hvmm_popen):
    mode = "real"
    _, loop, counter = MODES[mode]
    out, status, err = gdb_session(repo, hvmm_popen, mode, [
        f"break *0x{loop:x}", "continue", "info registers",
        f"x/8xb 0x{loop:x}", "stepi", "info registers eip",
        "delete", f"watch *(short*)0x{counter:x}", "continue",
        f"set var *(short*)0x{counter:x} = 0x1234", f"x/2xb 0x{counter:x}",
        "monitor screen", "delete", "detach"])
    assert f"Breakpoint 1, 0x{loop:08x} in ?? ()" in out, out
    regs = dict(re.findall(r"^(\w+)\s+(0x[0-9a-f]+)", out, re.M))
    assert regs["ecx"] == "0x5" and regs["esp"] == "0x7c00" and regs["cs"] == "0x0", out
    assert "[ PF ZF ]" in out          # after xor ax, ax
    assert f"0x{loop:x}:\t0xff\t0x06\t0x40\t0x7c\t0xe2\t0xfa\t0x90\t0x90" in out
    assert "eip            0x7c84" in out        # stepi: past inc word [7C40h]
    # The watchpoint fires after the second increment (the first ran before stepi).
    assert "Hardware watchpoint 2" in out and "Old value = 1\nNew value = 2" in out, out
    assert f"0x{counter:x}:\t0x34\t0x12" in out
    assert "detached" in out
    # Detached, the guest finishes the loop from 0x1234 + 3 more: the exit
    # port gets the low byte 0x37 (status 0x6F).
    assert status == (0x37 << 1 | 1), err


def test_gdb_reads_and_writes_the_x87_registers(repo, hvmm_popen, tmp_path):
    # 7C00: fninit; fldpi; fld dword [7C20h]; hlt      7C20: 2.5
    guest = tmp_path / "x87.bin"
    code = bytes.fromhex("dbe3d9ebd906207cf4")
    guest.write_bytes(code.ljust(0x20, b"\x90") + (0x40200000).to_bytes(4, "little"))
    out, status, err = gdb_session(repo, hvmm_popen, ["exec", guest, "--cpu", "686"], [
        "break *0x7c08", "continue", "p $st0", "p $st1", "p/x $st2", "p/x $fstat", "p/x $ftag",
        "p/x $fctrl", "p/x $fioff", "p/x $fop", "set var $st0 = -0.75", "p $st0",
        "info float", "kill"])
    values = dict(re.findall(r"^\$(\d+) = (\S+)", out, re.M))
    assert values["1"] == "2.5", out                            # st0: the FLD m32
    assert values["2"].startswith("3.14159265358979323"), out   # st1: FLDPI, 80 bits
    assert values["3"] == "0x0", out                            # st2: empty
    assert values["4"] == "0x3000", out                         # TOP = 6
    assert values["5"] == "0xfff", out                          # 6 and 7 valid, the rest empty
    assert values["6"] == "0x37f", out                          # FNINIT's control word
    assert values["7"] == "0x7c04", out                         # the last x87 instruction
    assert values["8"] == "0x106", out                          # its opcode: D9 /0, modrm 06
    assert values["9"] == "-0.75", out                          # written through the stub
    assert "=>R6: Valid" in out and "R5: Empty" in out, out
    assert status is not None, err


def test_gdb_session_in_protected_mode_with_paging(repo, hvmm_popen):
    """The same session on 32-bit code at linear addresses that paging maps
    elsewhere; gdb's reads walk the page tables without setting accessed
    bits, a page that is not present cannot be read, and the watchpoint is
    on the linear address."""
    _, loop, counter = MODES["pm-paging"]
    out, status, err = gdb_session(repo, hvmm_popen, "pm-paging", [
        "show architecture",
        f"break *0x{loop:x}", "continue", "info registers", "p/x $cr3", "p/x $cr0",
        f"x/8xb 0x{loop:x}", "x/2i $pc",
        "x/4xb 0xc0003000", "x/xw 0x12200c",      # a page the guest never touches, its PTE
        "x/4xb 0x80000000",                       # no page table there
        "x/4xb 0xc0004000",                       # not present (yet)
        "p $st0", "info float",                   # pi, loaded before the loop
        "stepi", "info registers eip",
        "delete", f"watch *(int*)0x{counter:x}", "continue",
        f"set var *(int*)0x{counter:x} = 0x1234", f"x/4xb 0x{counter:x}",
        "x/4xb 0x150000",                         # the same bytes at their physical address
        "delete", "detach"])
    assert '(currently "i386")' in out, out                # CS.D = 1: not i8086
    assert f"Breakpoint 1, 0x{loop:08x} in ?? ()" in out, out
    regs = dict(re.findall(r"^(\w+)\s+(0x[0-9a-f]+)", out[:out.index("$1 =")], re.M))
    assert regs["ecx"] == "0x5" and regs["eip"] == f"0x{loop:x}", out
    assert regs["cs"] == "0x8" and regs["ss"] == "0x10" and regs["esp"] == "0x100000", out
    assert re.search(r"^eflags\s+0x[0-9a-f]+\s+\[ ", out, re.M), out
    assert "$1 = 0x120000" in out                           # CR3: the page directory
    assert re.search(r"\$2 = 0x8000001[01]", out), out      # CR0: PG and PE
    assert f"0x{loop:x}:\t0xff\t0x05\t0x00\t0x20\t0x00\t0xc0\t0xe2\t0xf8" in out, out
    assert "incl   0xc0002000" in out, out                  # 32-bit disassembly
    assert "0xc0003000:\t0x48\t0x56\t0x4d\t0x4d" in out, out   # "HVMM"
    assert "0x12200c:\t0x00151003" in out, out              # accessed bit (0x20) still clear
    assert "Cannot access memory at address 0x80000000" in out, out
    assert "Cannot access memory at address 0xc0004000" in out, out
    assert "= 3.14159265358979323851" in out, out
    assert re.search(r"=>R7: Valid +0x4000c90fdaa22168c235", out) and "TOP: 7" in out, out
    assert re.search(r"^eip\s+0xc0001016", out, re.M), out   # stepi: past the inc
    assert "Hardware watchpoint 2" in out and "Old value = 1\nNew value = 2" in out, out
    assert f"0x{counter:x}:\t0x34\t0x12\t0x00\t0x00" in out, out
    assert "0x150000:\t0x34\t0x12\t0x00\t0x00" in out, out
    assert "detached" in out
    # Detached, the guest counts on from 0x1234 and exits with 0x1237's
    # low byte: status 0x6F.
    assert status == (0x37 << 1 | 1), err


class Wire:
    """A bare remote-protocol client: what gdb sends, byte for byte."""

    def __init__(self, port):
        import socket

        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def send(self, payload: str) -> None:
        data = payload.encode()
        self.sock.sendall(b"$" + data + b"#" + b"%02x" % (sum(data) & 0xFF))

    def reply(self) -> str:
        while True:
            m = re.search(rb"\$([^#]*)#..", self.buf)
            if m:
                self.buf = self.buf[m.end():]
                self.sock.sendall(b"+")
                return m.group(1).decode()
            self.buf += self.sock.recv(4096)

    def ask(self, payload: str) -> str:
        self.send(payload)
        return self.reply()


def test_ctrl_c_interrupts_a_running_guest_and_kill_ends_it(repo, hvmm_popen):
    proc = hvmm_popen("exec", "hvmm/guests/debug_demo.bin", "--gdb", "0", "--timeout", "60",
                      cwd=repo)
    try:
        port = int(re.search(r"port (\d+)", proc.stderr.readline()).group(1))
        w = Wire(port)
        assert w.ask("?") == "T05"
        assert w.ask("M7c84,2:ebfe") == "OK"        # 7C84: jmp short 7C84 (spin)
        w.send("c")
        import time

        time.sleep(0.3)
        w.sock.sendall(b"\x03")
        assert w.reply() == "T02"                   # SIGINT
        regs = bytes.fromhex(w.ask("g"))
        assert int.from_bytes(regs[32:36], "little") == 0x7C84      # eip
        assert w.ask("qRcmd," + b"stats".hex()).startswith("O")
        w.send("k")
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and "killed by the debugger" in err, err


def test_gdb_port_in_use(repo, hvmm_cmd, no_traceback):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        proc = hvmm_cmd("exec", "hvmm/guests/debug_demo.bin", "--gdb", str(port), cwd=repo)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"hvmm: --gdb 127.0.0.1:{port}: cannot listen")
    assert len(proc.stderr.splitlines()) == 1
    no_traceback(proc)


def test_core_watchpoints_read_write_access():
    m = build_machine(open(__file__.replace("tests/test_gdbstub.py", "hvmm/guests/debug_demo.bin"), "rb").read())
    cpu = m.cpu
    cpu.add_watchpoint(0x7C42, 1, "write")          # int60_seen, set by the INT 60h handler
    ex = cpu.run(10_000)
    assert ex.reason == "watchpoint" and cpu.watchpoint_hit == (0x7C42, "write")
    assert cpu.memory[0x7C42] == 1 and ex.eip == 0x7CAF   # after the store: at the IRET
    cpu.clear_watchpoints()
    cpu.add_watchpoint(0x7C40, 2, "read")           # mov al, [counter] before the exit
    ex = cpu.run(10_000)
    assert ex.reason == "watchpoint" and cpu.watchpoint_hit == (0x7C40, "read")
    assert cpu.al == 5
    # Reads by the debugger and code fetches are not accesses of the guest.
    cpu.clear_watchpoints()
    cpu.add_watchpoint(0x7CA7, 2, "access")         # the OUT instruction's own bytes
    assert cpu.peek(0x7CA7, 2) == b"\xE6\xF4"
    assert cpu.run(10_000).reason == "debug_exit"
    with pytest.raises(ValueError):
        cpu.add_watchpoint(0xFFFF0000, 1)            # unmapped


def test_core_watchpoint_follows_the_page_tables():
    """A watchpoint on a linear page that is not present yet (debug_pm's
    C0004000) watches it once the guest's #PF handler maps it: the
    restarted store fires it. Set with paging off, the same linear address
    would be physical C0004000, an empty hole, and is refused."""
    from hvmm.commands.execute import enter_flat_protected

    image = open(__file__.replace("tests/test_gdbstub.py", "hvmm/guests/debug_pm.bin"), "rb").read()
    m = build_machine(b"\x90")
    enter_flat_protected(m, image)
    cpu = m.cpu
    with pytest.raises(ValueError):
        cpu.add_watchpoint(0xC0004000, 4, "write")
    cpu.add_breakpoint(0xC0001018)                  # the store to C0004000
    assert cpu.run(100_000).reason == "breakpoint"
    cpu.clear_breakpoints()
    assert cpu.translate(0xC0004000) is None        # not present yet
    cpu.add_watchpoint(0xC0004000, 4, "write")
    ex = cpu.run(100_000)
    assert ex.reason == "watchpoint" and cpu.watchpoint_hit == (0xC0004000, "write")
    assert cpu.translate(0xC0004000) == 0x152000 and ex.eip == 0xC0001022   # after the store
    assert cpu.peek(0xC0004000, 4) == bytes.fromhex("0df00d60")
    assert cpu.exceptions_by_vector == {14: 1}
