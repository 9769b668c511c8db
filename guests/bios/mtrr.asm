; hvmm BIOS, included by guests/bios.asm: the MTRRs, programmed in POST as a
; PC BIOS does (and SeaBIOS, src/fw/mtrr.c), so an OS finds its RAM
; cacheable: an OS does not set up the MTRRs itself (Linux reads them and
; disables its PAT code when they are off).
;
;   fixed ranges  0-9FFFF write-back, A0000-BFFFF (video) uncachable,
;                 C0000-FFFFF (ROMs) write-protect
;   variable      RAM 0 - top (from the CMOS, as INT 15h E820 reports it)
;                 write-back, in power-of-two blocks; when fewer ranges
;                 do it, a larger write-back block minus uncachable ones
;                 above the top (100 MiB: 64 + 32 + 4 MiB WB; 3071 MiB:
;                 2 GiB + 1 GiB WB minus 1 MiB UC)
;   default type  uncachable, MTRRs and fixed ranges on (MTRR_DEF_TYPE C00h)
;
; Only where CPUID (EFLAGS.ID toggles) reports MSRs and MTRRs (leaf 1 EDX
; bits 5 and 12) and MTRRCAP has fixed ranges and variable ones: the 8086,
; 286 and 386 models skip it all.

MSR_MTRRCAP     equ 0xFE
MSR_PHYSBASE0   equ 0x200               ; PHYSBASEn = 200h + 2n, PHYSMASKn + 1
MSR_FIX64K      equ 0x250               ; 00000-7FFFF
MSR_FIX16K_8    equ 0x258               ; 80000-9FFFF
MSR_FIX16K_A    equ 0x259               ; A0000-BFFFF
MSR_FIX4K_C     equ 0x268               ; C0000-C7FFF ... 26Fh: F8000-FFFFF
MSR_DEF_TYPE    equ 0x2FF
MTRR_UC         equ 0
MTRR_WP         equ 5
MTRR_WB         equ 6
MTRR_ON         equ 0xC00               ; DEF_TYPE: E (MTRRs) and FE (fixed ranges)
MTRR_VALID      equ 0x800               ; PHYSMASK: the range is in use
MTRR_MAX_VAR    equ 8                   ; variable ranges used at most
CPUID_MSR       equ 1 << 5
CPUID_MTRR      equ 1 << 12
CR0_CD_NW       equ 0x60000000          ; cache disable, not write-through

; Locals of mtrr_post (SS:BP-relative).
MT_MASK_HI      equ -4                  ; PHYSMASK bits 32 and up: the physical width
MT_NEXT         equ -8                  ; the next PHYSBASE MSR to use
MT_END          equ -12                 ; PHYSBASE MSR after the last range

mtrr_post:
        call    is_pre386               ; (8086 code up to here)
        je      .ret16
        cpu     686
        pushad
        pushfd
        pushfd                          ; CPUID exists where EFLAGS.ID toggles
        pop     eax
        mov     ecx, eax
        xor     eax, 0x200000
        push    eax
        popfd
        pushfd
        pop     eax
        xor     eax, ecx
        test    eax, 0x200000
        jz      .done
        xor     eax, eax
        cpuid
        test    eax, eax
        jz      .done                   ; no leaf 1
        mov     eax, 1
        cpuid
        and     edx, CPUID_MSR | CPUID_MTRR
        cmp     edx, CPUID_MSR | CPUID_MTRR
        jne     .done
        mov     ecx, MSR_MTRRCAP
        rdmsr
        test    ah, 1                   ; fixed ranges
        jz      .done
        test    al, al                  ; variable ranges
        jz      .done
        cmp     al, MTRR_MAX_VAR
        jbe     .count
        mov     al, MTRR_MAX_VAR
.count: push    bp
        mov     bp, sp
        sub     sp, 12
        movzx   eax, al
        lea     eax, [MSR_PHYSBASE0 + eax*2]
        mov     [bp+MT_END], eax
        mov     dword [bp+MT_NEXT], MSR_PHYSBASE0
        ; The mask's high bits: 36-bit physical addresses (P6) unless
        ; CPUID 80000008h says otherwise.
        mov     dword [bp+MT_MASK_HI], 0xF
        mov     eax, 0x80000000
        cpuid
        cmp     eax, 0x80000008
        jb      .width
        mov     eax, 0x80000008
        cpuid
        xor     edx, edx
        sub     al, 32
        jbe     .narrow
        mov     cl, al
        inc     edx
        shl     edx, cl
        dec     edx
.narrow:
        mov     [bp+MT_MASK_HI], edx
.width:
        ; Caches off while the types change (SDM 11.11.7.2), MTRRs off.
        mov     eax, cr0
        and     eax, ~CR0_CD_NW
        or      eax, 0x40000000
        mov     cr0, eax
        wbinvd
        mov     ecx, MSR_DEF_TYPE
        xor     eax, eax
        xor     edx, edx
        wrmsr
        ; Fixed ranges.
        mov     ecx, MSR_FIX64K
        mov     eax, MTRR_WB * 0x01010101
        mov     edx, eax
        wrmsr
        mov     cx, MSR_FIX16K_8
        wrmsr
        inc     cx                      ; MSR_FIX16K_A: video memory
        xor     eax, eax
        xor     edx, edx
        wrmsr
        mov     eax, MTRR_WP * 0x01010101
        mov     edx, eax
        mov     cx, MSR_FIX4K_C
.wp:    wrmsr
        inc     cx
        cmp     cx, MSR_FIX4K_C + 7
        jbe     .wp
        ; Variable ranges: all cleared, then the RAM's.
        mov     cx, MSR_PHYSBASE0
        xor     eax, eax
        xor     edx, edx
.clear: wrmsr
        inc     cx
        cmp     ecx, [bp+MT_END]
        jb      .clear
        call    extended_bytes          ; EDX = RAM above 1 MiB
        shr     edx, 12
        lea     ebx, [edx + 0x100]      ; EBX = RAM top in 4 KiB pages
        ; A = the top rounded up to 2^j pages, for the j that needs the
        ; fewest ranges: A's bits set (WB) + (A - top)'s (UC).
        mov     edi, 0xFF               ; fewest so far
        xor     ecx, ecx                ; j
.try:   mov     edx, 1
        shl     edx, cl
        dec     edx
        lea     eax, [ebx + edx]
        not     edx
        and     edx, eax                ; A
        mov     eax, edx
        sub     eax, ebx
        call    bits_set
        xchg    eax, edx                ; EDX = UC ranges, EAX = A
        push    eax
        call    bits_set
        add     edx, eax
        pop     eax
        cmp     edx, edi
        jae     .next
        mov     edi, edx
        mov     esi, eax                ; ESI = the best A
.next:  inc     cl
        cmp     cl, 20                  ; 2^20 pages: 4 GiB
        jbe     .try
        mov     edi, esi
        sub     edi, ebx                ; EDI = A - top
        ; WB: A in blocks from the largest, up from 0.
        xor     eax, eax                ; base (pages)
        mov     bl, MTRR_WB
        mov     cl, 20
.wb:    bt      esi, ecx
        jnc     .wbn
        mov     edx, 1
        shl     edx, cl
        call    mtrr_var_set
        add     eax, edx
.wbn:   dec     cl
        jns     .wb
        ; UC: A - top in blocks from the largest, down from A.
        mov     bl, MTRR_UC
        mov     cl, 20
.uc:    bt      edi, ecx
        jnc     .ucn
        mov     edx, 1
        shl     edx, cl
        sub     eax, edx
        call    mtrr_var_set
.ucn:   dec     cl
        jns     .uc
        ; MTRRs on, default uncachable; caches on.
        mov     ecx, MSR_DEF_TYPE
        mov     eax, MTRR_ON | MTRR_UC
        xor     edx, edx
        wrmsr
        wbinvd
        mov     eax, cr0
        and     eax, ~CR0_CD_NW
        mov     cr0, eax
        mov     sp, bp
        pop     bp
.done:  popfd
        popad
.ret16: ret

; mtrr_var_set: the next variable range (none left: nothing) = EDX pages
; (a power of two) from page EAX (a multiple of EDX), type BL.
mtrr_var_set:
        pushad
        mov     ecx, [bp+MT_NEXT]
        cmp     ecx, [bp+MT_END]
        jae     .full
        shl     eax, 12
        mov     al, bl
        push    edx
        xor     edx, edx
        wrmsr                           ; PHYSBASEn
        pop     eax
        neg     eax                     ; the mask: every bit above the size's
        shl     eax, 12
        or      ax, MTRR_VALID
        mov     edx, [bp+MT_MASK_HI]
        inc     ecx
        wrmsr                           ; PHYSMASKn
        inc     ecx
        mov     [bp+MT_NEXT], ecx
.full:  popad
        ret

; bits_set: EAX = the number of bits set in EAX.
bits_set:
        push    edx
        push    esi
        xor     edx, edx
.bit:   test    eax, eax
        jz      .done
        inc     edx
        lea     esi, [eax - 1]
        and     eax, esi                ; the lowest bit set, cleared
        jmp     .bit
.done:  mov     eax, edx
        pop     esi
        pop     edx
        ret
        cpu     8086
