#!/usr/bin/env bash
# Assembles every guests/*.asm (bench.asm, timer.asm, ...) into
# hvmm/guests/<name>.bin (package data). Includes are looked up in guests/
# (bios.asm includes guests/bios/*.asm).
# The binaries are committed, so installing or testing hvmm needs no nasm;
# run this after editing a guest source and commit both.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../hvmm/guests"
mkdir -p "$out"
for src in "$here"/*.asm; do
    name="$(basename "$src" .asm)"
    nasm -f bin -w+all -i "$here/" -o "$out/$name.bin" "$src"
    echo "built hvmm/guests/$name.bin ($(wc -c <"$out/$name.bin") bytes)"
done
