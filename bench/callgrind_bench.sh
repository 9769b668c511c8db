#!/usr/bin/env bash
# Host instructions per guest instruction on the bench guest, by callgrind
# (deterministic, unlike wall-clock MIPS on a shared machine).
#
#   bench/callgrind_bench.sh [CHECKOUT] [MODEL] [GUEST]
#
# GUEST is bench (default: real mode) or bench32 (flat 32-bit protected
# mode with paging; needs protected mode in the core). Runs hvmm/guests/GUEST.bin through hvmm._core.Cpu under callgrind twice:
# once with a budget that runs it to its exit, once with none; the
# difference in host instructions divided by the guest's retired
# instructions is the figure docs/faults.md and the notes quote.
set -euo pipefail
checkout=${1:-.}
model=${2:-386}
guest=${3:-bench}
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
img = files("hvmm").joinpath("guests/$guest.bin").read_bytes()
cpu = Cpu(memory_size=16 << 20, model="$model")   # bench32 pages lie above 1 MiB
cpu.memory[0x7C00:0x7C00 + len(img)] = img
cpu.cs = cpu.ds = cpu.es = cpu.ss = 0
cpu.ip = cpu.sp = 0x7C00
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
