#!/usr/bin/env bash
# Host instructions per guest instruction on the bench guest, by callgrind
# (deterministic, unlike wall-clock MIPS on a shared machine).
#
#   bench/callgrind_bench.sh [CHECKOUT] [MODEL] [real|pm32]
#
# Runs hvmm/guests/bench.bin through hvmm._core.Cpu under callgrind twice:
# once with a budget that runs it to its exit, once with none; the
# difference in host instructions divided by the guest's retired
# instructions is the figure docs/faults.md and the notes quote.
set -euo pipefail
checkout=${1:-.}
model=${2:-386}
variant=${3:-real}      # pm32: guests/bench32.asm, the same loop as 32-bit code
guest=bench.bin
[ "$variant" = pm32 ] && guest=bench32.bin
cd "$checkout"
# the checkout's hvmm, not whatever an installed copy points at (the script
# runs from a temporary directory)
export PYTHONPATH="$(pwd)${PYTHONPATH:+:$PYTHONPATH}"
python=$(python3 -c 'import sys; print(sys.executable)')  # not a pyenv shim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/run.py" <<PY
import sys
from importlib.resources import files
from hvmm import Cpu
img = files("hvmm").joinpath("guests/$guest").read_bytes()
cpu = Cpu(memory_size=1 << 20, model="$model")
cpu.memory[0x7C00:0x7C00 + len(img)] = img
cpu.cs = cpu.ds = cpu.es = cpu.ss = 0
cpu.ip = cpu.sp = 0x7C00
if "$variant" == "pm32":    # flat 32-bit protected mode, CS.D = 1
    cpu.cr0 = cpu.cr0 | 1
    cpu.set_segment("cs", 0x08, base=0, limit=0xFFFFFFFF, attributes=0xC09B)
    for name in ("ds", "es", "ss"):
        cpu.set_segment(name, 0x10, base=0, limit=0xFFFFFFFF, attributes=0xC093)
if int(sys.argv[1]):
    cpu.run(int(sys.argv[1]))
print(cpu.instructions)
PY
for n in 0 100000000; do
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$n" \
        "$python" "$tmp/run.py" "$n" > "$tmp/out.$n" 2>/dev/null
done
ir() { grep -m1 '^summary' "$1" | awk '{print $2}'; }
python3 - "$(ir "$tmp/cg.0")" "$(ir "$tmp/cg.100000000")" "$(cat "$tmp/out.100000000")" <<'PY'
import sys
base, run, guest = map(int, sys.argv[1:])
print(f"{guest} guest instructions, {run - base} host instructions: "
      f"{(run - base) / guest:.2f} host per guest")
PY
