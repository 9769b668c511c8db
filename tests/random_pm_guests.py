"""Random protected-mode guests for the reliability test (issue 9: random
code started in protected mode, with random descriptor tables and page
tables, ends with a clean exit).

A guest is a raw 32-bit image for `hvmm exec --protected` (loaded and
started at IMG = 0x100000 in flat 32-bit ring 0). Its first bytes install
tables that the generator filled with random entries, then switch to them
and jump into random code:

    IMG+0000  set-up code: LGDT, LIDT, LLDT, LTR, CR3, CR4, CR0 (PG on and
              random bits), random segment loads and ESP, POPFD of random
              flags, then a transfer: a near or far JMP, a far CALL (a call
              gate, a TSS), an IRETD to ring 3 or to virtual-8086 mode, INT n
    IMG+0800  GDT (64 entries): the flat ring-0 pair, ring-3 code and data,
              a TSS, an LDT, a call gate, 16-bit code and data, a 16-bit
              TSS, a task gate, then random descriptors (random base,
              limit, type, S, DPL, P, D/B, G); each sane entry is mutated
              with some probability
    IMG+0A00  LDT (32 random descriptors); IMG+0B00 GDTR/IDTR operands
    IMG+0C00  IDT (256 gates: mostly 32-bit interrupt and trap gates into
              the random code or a recovery stub, with random types,
              selectors, DPL and P)
    IMG+1400  32-bit TSS (random fields; SS0:ESP0 mostly sane) and its
              I/O bitmap; IMG+1800 a 16-bit TSS
    IMG+2000  page directory: PDE 0 -> the page table below (or a 4 MiB
              page), a few random PDEs
    IMG+3000  page table of 0-4 MiB: the identity with random U/S, R/W,
              A, D, G bits, a few entries not present or random
    IMG+4000  random code (4 KiB): random bytes mixed with system
              instructions (segment and table loads, MOV CRn/DRn, INVLPG,
              INT/IRET/far transfers, page-table writes, the code's own
              pages made not present or read-only, I/O, REP strings,
              prefix runs past 15 bytes)
    IMG+5000  stacks (ring 0 and ring 3)
    IMG+6000  recovery stubs: most exception gates lead to one, which
              reloads the flat ring-0 data segments and stack and goes
              back into the random code (at ring 0, ring 3, in 16-bit code
              or in V86 mode), so a guest goes on after a fault instead of
              ending at its first double fault

Every guest is reproducible from its seed.
"""
from __future__ import annotations

import random
import struct

IMG = 0x100000
SETUP, GDT, LDT, PTRS, IDT, TSS32, TSS16, PD, PT, CODE, STACKS = (
    0x0000, 0x0800, 0x0A00, 0x0B00, 0x0C00, 0x1400, 0x1800, 0x2000, 0x3000, 0x4000, 0x5000)
RECOVER = 0x6000               # 16 stubs of 64 bytes: a sane ring-0 state, then the code
SIZE = 0x7000
GDT_ENTRIES, LDT_ENTRIES = 64, 32
STACK0 = IMG + 0x5800           # ring-0 stack top
STACK3 = IMG + 0x5F00           # ring-3 stack top


def le32(v):
    return struct.pack("<I", v & 0xFFFFFFFF)


def le16(v):
    return struct.pack("<H", v & 0xFFFF)


def descriptor(base, limit, access, flags):
    """A segment or system descriptor: access = P DPL S type, flags = G D/B L AVL."""
    return struct.pack("<HHBBBB", limit & 0xFFFF, base & 0xFFFF, (base >> 16) & 0xFF,
                       access & 0xFF, ((limit >> 16) & 0xF) | ((flags & 0xF) << 4), base >> 24 & 0xFF)


def gate(selector, offset, access, params=0):
    return struct.pack("<HHBBH", offset & 0xFFFF, selector, params & 31, access, offset >> 16 & 0xFFFF)


class PmGuest:
    def __init__(self, rng: random.Random, cpu: str):
        self.rng = rng
        self.cpu = cpu
        self.img = bytearray(SIZE)
        self.near_jump = False

    # ---- random values ----------------------------------------------------------------
    def code_addr(self):
        return IMG + CODE + self.rng.randrange(0x1000)

    def selector(self):
        r = self.rng
        k = r.random()
        if k < 0.5:
            return r.choice((0x08, 0x10, 0x1B, 0x23, 0x28, 0x30, 0x3B, 0x40, 0x48, 0x50, 0x58))
        if k < 0.8:
            return r.randrange(GDT_ENTRIES) * 8 | r.randrange(4)
        if k < 0.95:
            return r.randrange(LDT_ENTRIES) * 8 | 4 | r.randrange(4)
        return r.getrandbits(16)

    def mutate(self, entry: bytes, p=0.12) -> bytes:
        r = self.rng
        if r.random() >= p:
            return entry
        e = bytearray(entry)
        for _ in range(r.randrange(1, 3)):
            i = r.choice((5, 5, 6, 0, 1))       # access byte, flags/limit, limit
            e[i] ^= 1 << r.randrange(8)
        return bytes(e)

    def random_descriptor(self):
        r = self.rng
        base = r.choice((0, IMG, IMG + CODE, r.getrandbits(32), r.randrange(1 << 24)))
        limit = r.choice((0xFFFFF, 0xFFFF, r.getrandbits(20), r.randrange(0x100)))
        access = (0x80 if r.random() < 0.85 else 0) | r.randrange(4) << 5 | r.getrandbits(5)
        return descriptor(base, limit, access, r.getrandbits(4) & 0xD)

    # ---- the tables -----------------------------------------------------------------
    def tables(self):
        r = self.rng
        g = [bytes(8),
             descriptor(0, 0xFFFFF, 0x9B, 0xC),                  # 08 flat code, ring 0
             descriptor(0, 0xFFFFF, 0x93, 0xC),                  # 10 flat data
             descriptor(0, 0xFFFFF, 0xFB if r.random() < 0.8 else 0xFF, 0xC),  # 18 ring 3
             descriptor(0, 0xFFFFF, 0xF3, 0xC),                  # 20 ring-3 data
             descriptor(IMG + TSS32, r.choice((0x67, 0x67 + 0x2001, r.randrange(0x200))),
                        0x89, 0),                                # 28 TSS
             descriptor(IMG + LDT, r.choice((LDT_ENTRIES * 8 - 1, r.randrange(0x100))),
                        0x82, 0),                                # 30 LDT
             gate(r.choice((0x08, 0x1B, 0x40, self.selector())), self.code_addr(),
                  r.choice((0xEC, 0xE4, 0x8C, 0xAC)), r.randrange(4)),   # 38 call gate
             descriptor(IMG, 0xFFFF, 0x9B, 0),                   # 40 16-bit code
             descriptor(IMG, 0xFFFF, 0x93, 0),                   # 48 16-bit data
             descriptor(IMG + TSS16, 0x2B, 0x81, 0),             # 50 16-bit TSS
             gate(r.choice((0x28, 0x50, self.selector())), 0, 0xE5)]     # 58 task gate
        # the flat ring-0 pair is what delivery and the set-up need: mutated rarely
        g = [self.mutate(e, 0.03 if i in (1, 2) else 0.12) for i, e in enumerate(g)]
        while len(g) < GDT_ENTRIES:
            g.append(self.random_descriptor() if r.random() < 0.9 else r.randbytes(8))
        self.put(GDT, b"".join(g))
        self.put(LDT, b"".join(self.random_descriptor() for _ in range(LDT_ENTRIES)))
        self.put(PTRS, le16(r.choice((GDT_ENTRIES * 8 - 1, r.randrange(0x200))))
                 + le32(IMG + GDT))
        self.put(PTRS + 8, le16(r.choice((0x7FF, 0x7FF, 0xFF, r.randrange(0x800))))
                 + le32(IMG + IDT))
        idt = []
        for v in range(256):
            k = r.random()
            if v < 32 and k < 0.6:          # exceptions: mostly a recovery stub
                idt.append(gate(0x08, IMG + RECOVER + 64 * r.randrange(16),
                                r.choice((0x8E, 0x8F, 0xEE, 0xEF))))
            elif k < 0.85:
                sel = 0x08 if r.random() < 0.8 else self.selector()
                access = r.choice((0x8E, 0x8F, 0xEE, 0xEF, 0x86, 0x87, 0x85))
                if r.random() < 0.05:
                    access &= 0x7F
                target = self.code_addr()
                if r.random() < 0.5:
                    target = IMG + RECOVER + 64 * r.randrange(16)
                idt.append(gate(sel, target, access))
            elif k < 0.95:
                idt.append(gate(self.selector(), r.getrandbits(32), r.getrandbits(8)))
            else:
                idt.append(r.randbytes(8))
        self.put(IDT, b"".join(idt))
        # 32-bit TSS: back link, ESP0/SS0 .. ESP2/SS2, CR3, EIP, EFLAGS, 8 GPRs,
        # ES CS SS DS FS GS, LDT, T and the I/O map base
        t = [0, STACK0, 0x10, STACK0 - 0x200, self.selector(), STACK0 - 0x400, self.selector(),
             IMG + PD, self.code_addr(), r.getrandbits(32) & 0x3F7FD5 | 2]
        t += [r.getrandbits(32) for _ in range(8)]
        t += [self.selector() for _ in range(6)] + [r.choice((0x30, self.selector()))]
        if r.random() < 0.1:
            t[1:3] = [r.getrandbits(32), self.selector()]
        tss = struct.pack("<25I", *t) + le16(r.getrandbits(1)) + le16(
            r.choice((0x68, 0x68, 0x100, r.getrandbits(16))))
        self.put(TSS32, tss + r.randbytes(0x80))        # and an I/O bitmap (part of one)
        self.put(TSS16, r.randbytes(0x2C))
        # paging: PDE 0 -> PT (or a 4 MiB page), a few random PDEs
        pd = bytearray(4096)
        pde0 = (IMG + PT) | 0x7 if r.random() < 0.85 else 0x87 | r.getrandbits(1) << 8
        if r.random() < 0.08:
            pde0 ^= 1 << r.choice((0, 1, 2, 5, 6, 7))
        struct.pack_into("<I", pd, 0, pde0)
        for _ in range(r.randrange(6)):
            struct.pack_into("<I", pd, 4 * r.randrange(1, 1024), r.getrandbits(32))
        self.put(PD, bytes(pd))
        pt = bytearray(4096)
        for p in range(1024):
            own = 0xF0 <= p < 0x110         # the image and its stacks: mostly sane
            e = p << 12 | 0x1 | (0x2 if r.random() < (0.97 if own else 0.9) else 0)
            e |= (0x4 if r.random() < 0.7 else 0) | r.choice((0, 0x20, 0x60, 0x100))
            if r.random() < (0.005 if own else 0.02):
                e = r.getrandbits(32)
            elif r.random() < (0.005 if own else 0.02):
                e &= ~1
            struct.pack_into("<I", pt, 4 * p, e)
        self.put(PT, bytes(pt))

    def put(self, offset, data):
        self.img[offset:offset + len(data)] = data

    # ---- the set-up code --------------------------------------------------------------
    def setup(self) -> bytes:
        r = self.rng
        c = bytearray()
        c += b"\x0f\x01\x15" + le32(IMG + PTRS)                     # lgdt
        c += b"\x0f\x01\x1d" + le32(IMG + PTRS + 8)                 # lidt
        if r.random() < 0.9:
            c += b"\x66\xb8" + le16(0x30 if r.random() < 0.85 else self.selector()) + b"\x0f\x00\xd0"
        if r.random() < 0.9:
            c += b"\x66\xb8" + le16(0x28 if r.random() < 0.85 else self.selector()) + b"\x0f\x00\xd8"
        c += b"\xb8" + le32(IMG + PD | r.choice((0, 0, 0x8, 0x10))) + b"\x0f\x22\xd8"   # cr3
        # CR4: the bits the model has (686: VME PVI TSD DE PSE MCE PGE PCE
        # OSFXSR; 386: PSE PGE), and rarely one it lacks (MOV CR4 is then #GP(0))
        cr4 = 0
        has = 0x3DF if self.cpu == "686" else 0x090
        for bit, p in ((0x10, 0.6), (0x80, 0.5), (0x4, 0.2), (0x8, 0.3), (0x1, 0.1), (0x2, 0.1),
                       (0x40, 0.1), (0x100, 0.2), (0x200, 0.2)):
            if r.random() < (p if bit & has else 0.02):
                cr4 |= bit
        c += b"\xb8" + le32(cr4) + b"\x0f\x22\xe0"
        cr0 = 0x80000011
        for bit, p in ((0x10000, 0.5), (0x20, 0.4), (0x2, 0.3), (0x4, 0.1), (0x8, 0.1),
                       (0x40000, 0.3), (0x20000000, 0.05), (0x40000000, 0.05)):
            if r.random() < p:
                cr0 |= bit
        c += b"\xb8" + le32(cr0) + b"\x0f\x22\xc0"
        for sreg in (0, 3, 4, 5, 2):                                # es ds fs gs ss
            sel = 0x10 if r.random() < 0.93 else self.selector()
            c += b"\x66\xb8" + le16(sel) + bytes((0x8E, 0xC0 | sreg << 3))
        c += b"\xbc" + le32(STACK0 if r.random() < 0.9 else r.getrandbits(32))     # esp
        for reg in (0, 1, 2, 3, 5, 6, 7):
            c += bytes((0xB8 + reg,)) + le32(r.choice((0, r.getrandbits(32), self.code_addr())))
        flags = 0x2 | r.getrandbits(32) & r.choice((0x8D5, 0x3FD5, 0x47FD5))
        c += b"\x68" + le32(flags) + b"\x9d"                        # push imm32; popfd
        c += self.transfer()
        return bytes(c)

    def transfer(self) -> bytes:
        r = self.rng
        k = r.random()
        self.kind = ("near" if k < 0.35 else "far-jmp" if k < 0.5 else "far-call" if k < 0.6
                     else "iret" if k < 0.85 else "int")
        if k < 0.35:                                                # jmp rel32 to the code
            self.near_jump = True                                   # its rel32: build()
            return b"\xe9" + bytes(4)
        if k < 0.5:
            return b"\xea" + le32(r.choice((self.code_addr() - IMG, self.code_addr()))) \
                + le16(r.choice((0x08, 0x40, 0x18, 0x28, 0x58, self.selector())))
        if k < 0.6:
            return b"\x9a" + le32(self.code_addr()) + le16(r.choice((0x38, 0x3B, 0x28, self.selector())))
        if k < 0.85:                                                # iretd to ring 3 / V86
            vm = r.random() < 0.3
            self.kind = "iret-v86" if vm else "iret"
            fl = 0x202 | r.getrandbits(32) & 0x7FD5 | (0x20000 if vm else 0)
            push = b""
            if vm:
                for _ in range(4):                                  # gs fs ds es
                    push += b"\x68" + le32(r.getrandbits(16))
            cs = r.getrandbits(16) if vm else r.choice((0x1B, 0x1B, 0x08, self.selector()))
            ss = r.getrandbits(16) if vm else r.choice((0x23, 0x23, self.selector()))
            eip = r.getrandbits(16) if vm else self.code_addr()
            return push + b"\x68" + le32(ss) + b"\x68" + le32(STACK3) + b"\x68" + le32(fl) \
                + b"\x68" + le32(cs) + b"\x68" + le32(eip) + b"\xcf"
        return b"\xcd" + bytes((r.randrange(256),))                # int n

    # ---- the random code --------------------------------------------------------------
    def snippet(self) -> bytes:
        r = self.rng
        k = r.randrange(18)
        if k == 0:                                                  # mov sreg, sel
            return b"\x66\xb8" + le16(self.selector()) + bytes((0x8E, 0xC0 | r.choice((0, 2, 3, 4, 5)) << 3))
        if k == 1:                                                  # group 6/7 on a register or memory
            op = r.choice((b"\x0f\x00", b"\x0f\x01"))
            modrm = r.randrange(0x100) if r.random() < 0.5 else 0x05 | r.randrange(8) << 3
            tail = le32(IMG + r.randrange(SIZE - 8)) if modrm & 0xC7 == 0x05 else b""
            return b"\x66\xb8" + le16(self.selector()) + op + bytes((modrm,)) + tail
        if k == 2:                                                  # lar/lsl/verr/arpl
            return b"\x66\xbb" + le16(self.selector()) + r.choice(
                (b"\x0f\x02\xc3", b"\x0f\x03\xc3", b"\x0f\x00\xe3", b"\x0f\x00\xeb", b"\x63\xd8"))
        if k == 3:                                                  # mov crN/drN
            n = r.choice((0, 2, 3, 4, r.randrange(8)))
            return b"\xb8" + le32(r.getrandbits(32) if r.random() < 0.5 else IMG + PD) + bytes(
                (0x0F, r.choice((0x20, 0x22, 0x21, 0x23)), 0xC0 | n << 3))
        if k == 4:                                                  # a page-table write, INVLPG
            at = IMG + r.choice((PT, PD)) + 4 * r.randrange(1024)
            return b"\xc7\x05" + le32(at) + le32(r.getrandbits(32)) + b"\x0f\x01\x3d" + le32(
                r.getrandbits(32) if r.random() < 0.3 else IMG + r.randrange(SIZE))
        if k == 5:                                                  # far transfers
            return r.choice((b"\xea", b"\x9a")) + le32(self.code_addr()) + le16(self.selector())
        if k == 6:
            return r.choice((b"\xcf", b"\xcb", b"\xca" + le16(r.getrandbits(16)), b"\xcc", b"\xce",
                             b"\xcd" + bytes((r.randrange(256),)), b"\xf1", b"\x66\xcf"))
        if k == 7:                                                  # wild memory access
            return b"\xb8" + le32(r.getrandbits(32)) + bytes((r.choice((0x8B, 0x89, 0xFF, 0x01, 0x87)),
                                                               0x00 | r.randrange(8) << 3))
        if k == 8:                                                  # push/popf, cli/sti, hlt
            return r.choice((b"\x9c\x9d", b"\x68" + le32(r.getrandbits(32)) + b"\x9d", b"\xfa", b"\xfb",
                             b"\xf4", b"\x0f\x06", b"\x0f\x09", b"\x0f\x08"))
        if k == 9:                                                  # I/O
            port = r.choice((0x20, 0x21, 0x40, 0x43, 0x60, 0x64, 0x70, 0x71, 0x80, 0x3F8, 0xE9,
                             r.getrandbits(16)))
            return b"\x66\xba" + le16(port) + r.choice((b"\xec", b"\xee", b"\xed", b"\xef",
                                                         b"\xf3\x6c", b"\xf3\x6e"))
        if k == 10:                                                 # REP strings, random count
            return b"\xb9" + le32(r.getrandbits(r.choice((4, 12, 32)))) + r.choice(
                (b"\xf3\xa5", b"\xf3\xab", b"\xf3\xa4", b"\xf2\xae", b"\x67\xf3\xa5"))
        if k == 11:                                                 # 686 additions and traps
            return r.choice((b"\x0f\xa2", b"\x0f\x31", b"\x0f\x32", b"\x0f\x30", b"\x0f\x34",
                             b"\x0f\x35", b"\x0f\x0b", b"\x0f\x33", b"\x0f\xc7\x0d" + le32(self.code_addr()),
                             b"\x0f\x44\xc1", b"\xf0\x0f\xc1\x08"))
        if k == 12:                                                 # x87, with CR0.EM/TS in play
            return bytes((0xD8 + r.randrange(8), r.randrange(256))) + le32(self.code_addr())
        if k == 13:                                                 # stack-switching pushes
            return r.choice((b"\x60\x61", b"\xc8" + le16(r.getrandbits(12)) + bytes((r.randrange(4),)),
                             b"\xc9", b"\x0f\xa0\x0f\xa1", b"\x1e\x1f", b"\x16\x17"))
        if k == 16:                 # the code's own pages: not present, read-only, user
            page = r.choice((0x104, 0x104, 0x105, 0x103, 0xFF))
            pte = page << 12 | r.choice((0, 1, 3, 5, 7, 0x61, 0x107))
            return b"\xc7\x05" + le32(IMG + PT + 4 * page) + le32(pte) + b"\x0f\x01\x3d" \
                + le32(page << 12 | r.randrange(0x1000))
        if k == 17:                 # a long run of prefixes (past 15 bytes: #GP)
            return bytes(r.choice(b"\x66\x67\xf2\xf3\x26\x2e\x36\x3e\x64\x65\xf0")
                         for _ in range(r.randrange(1, 24))) + r.randbytes(r.randrange(1, 8))
        return r.randbytes(r.randrange(1, 12))                      # anything

    def code(self) -> bytes:
        out = bytearray()
        while len(out) < 0x1000 - 16:
            out += self.snippet()
        return bytes(out[:0x1000])

    def recovery(self) -> bytes:
        """16 stubs of 64 bytes: a sane ring-0 stack and data segments, then
        back into the random code, flat at ring 0, by IRETD at ring 3 or in
        virtual-8086 mode, or by a far JMP into the 16-bit code segment."""
        r = self.rng
        out = bytearray()
        for i in range(16):
            stub = b"\xbc" + le32(STACK0) + b"\xb8\x10\x00\x00\x00\x8e\xd0\x8e\xd8\x8e\xc0"
            k = r.random()
            if r.random() < 0.5 and k < 0.85:
                stub += b"\xb9" + le32(r.getrandbits(32))           # mov ecx, imm32
            if k < 0.4:
                at = RECOVER + 64 * i + len(stub) + 5
                stub += b"\xe9" + le32(CODE + r.randrange(0x1000) - at)   # jmp into the code
            elif k < 0.7:                                           # iretd to ring 3
                fl = 0x202 | r.getrandbits(32) & 0x3CD5
                stub += (b"\x6a\x23\x68" + le32(STACK3) + b"\x68" + le32(fl) + b"\x6a\x1b\x68"
                         + le32(self.code_addr()) + b"\xcf")
            elif k < 0.85:                                          # 16-bit code
                stub += b"\xea" + le32(self.code_addr() - IMG) + le16(0x40)
            else:                                                   # virtual-8086 mode
                for _ in range(4):
                    stub += b"\x68" + le32(r.choice((0x1000, r.getrandbits(16))))
                fl = 0x20202 | r.getrandbits(32) & 0x3CD5
                stub += (b"\x68" + le32(0x1000) + b"\x68" + le32(0x5F00) + b"\x68" + le32(fl)
                         + b"\x68" + le32(IMG >> 4) + b"\x68" + le32(CODE + r.randrange(0x1000))
                         + b"\xcf")
            assert len(stub) <= 64
            out += stub.ljust(64, b"\xf4")
        return bytes(out)

    def build(self) -> bytes:
        self.tables()
        self.put(RECOVER, self.recovery())
        code = self.code()
        self.put(CODE, code)
        setup = self.setup()
        if self.near_jump:
            setup = setup[:-4] + le32(CODE - (SETUP + len(setup)))
        assert len(setup) <= GDT - SETUP
        self.put(SETUP, setup)
        stack = self.rng.randbytes(0x1000)
        self.put(STACKS, stack)
        return bytes(self.img)


def pm_guest(rng: random.Random, cpu: str = "386") -> bytes:
    return PmGuest(rng, cpu).build()


def pm_guest_and_kind(rng: random.Random, cpu: str = "386") -> tuple[bytes, str]:
    """The image and how its set-up leaves ring 0 flat code: near (a JMP
    into the code), far-jmp, far-call (call gates, TSSs...), iret (to ring
    3 or elsewhere), iret-v86, int (INT n through the random IDT)."""
    g = PmGuest(rng, cpu)
    return g.build(), g.kind
