#!/usr/bin/env bash
# Assembles every guests/*.asm (bench.asm, timer.asm, ...) into
# hvmm/guests/<name>.bin and every guests/pm/*.asm (the protected-mode test
# guests) into hvmm/guests/pm/<name>.bin (package data). Includes are looked
# up in the source's own directory (bios.asm includes guests/bios/*.asm, the
# pm guests include guests/pm/pm.inc).
# The binaries are committed, so installing or testing hvmm needs no nasm;
# run this after editing a guest source and commit both.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build() {   # build SOURCE_DIR OUTPUT_DIR
    local src_dir="$1" out="$2" src name
    mkdir -p "$out"
    for src in "$src_dir"/*.asm; do
        name="$(basename "$src" .asm)"
        nasm -f bin -w+all -i "$src_dir/" -o "$out/$name.bin" "$src"
        echo "built ${out#"$here/../"}/$name.bin ($(wc -c <"$out/$name.bin") bytes)"
    done
}
build "$here" "$here/../hvmm/guests"
build "$here/pm" "$here/../hvmm/guests/pm"
