; hvmm BIOS: INT 13h (disks, through the paravirtual disk port) and INT 18h/19h
; (bootstrap), included by guests/bios.asm.

; =============================================================================
; INT 13h: disks, through the paravirtual disk port
; =============================================================================
int13_handler:
        sti
        FRAME_ENTER
        mov     bl, ah                  ; function -> index into disk_functions
        xor     bh, bh
        cmp     bl, DISK_LOW_FUNCTIONS
        jb      .index
        sub     bl, 0x41                ; 41h-48h follow 00h-16h in the table
        cmp     bl, 8
        jae     disk_bad_function
        add     bl, DISK_LOW_FUNCTIONS
.index: shl     bx, 1
        jmp     [cs:disk_functions+bx]

DISK_LOW_FUNCTIONS equ 0x17
disk_functions:
        dw      disk_reset              ; 00h
        dw      disk_last_status        ; 01h
        dw      disk_read               ; 02h
        dw      disk_write              ; 03h
        dw      disk_verify             ; 04h
        times 3 dw disk_bad_function    ; 05h-07h (format)
        dw      disk_params             ; 08h
        times 3 dw disk_bad_function    ; 09h-0Bh
        dw      disk_check_drive        ; 0Ch seek
        dw      disk_check_drive        ; 0Dh alternate reset
        times 2 dw disk_bad_function    ; 0Eh-0Fh
        dw      disk_check_drive        ; 10h test drive ready
        dw      disk_check_drive        ; 11h recalibrate
        times 3 dw disk_bad_function    ; 12h-14h
        dw      disk_type               ; 15h
        dw      disk_change             ; 16h
        dw      disk_ext_check          ; 41h
        dw      disk_ext_read           ; 42h
        dw      disk_ext_write          ; 43h
        dw      disk_ext_verify         ; 44h
        times 2 dw disk_bad_function    ; 45h-46h (lock, eject)
        dw      disk_ext_seek           ; 47h
        dw      disk_ext_params         ; 48h

disk_bad_function:
        mov     al, 0x01                ; invalid function
        jmp     disk_status

; disk_status: AH = status AL, CF = (AL != 0); remembered in the BDA.
disk_status:
        mov     [bp+F_AH], al
        test    byte [bp+F_DL], 0x80
        jnz     .hd
        mov     [BDA_FD_STATUS], al
        jmp     .cf
.hd:    mov     [BDA_HD_STATUS], al
.cf:    test    al, al
        jz      .ok
        SET_CF
        jmp     disk_ret
.ok:    CLEAR_CF
disk_ret:
        FRAME_LEAVE

; AH=00h: reset. Nothing to reset on a paravirtual disk.
disk_reset:
        xor     al, al
        jmp     disk_status

; AH=01h: status of the last operation, in AH and AL.
disk_last_status:
        mov     al, [BDA_FD_STATUS]
        test    byte [bp+F_DL], 0x80
        jz      .got
        mov     al, [BDA_HD_STATUS]
.got:   mov     [bp+F_AL], al
        jmp     disk_status

; AH=0Ch seek, 0Dh alternate reset, 10h test ready, 11h recalibrate: nothing
; moves on a paravirtual disk; succeed when the drive exists.
disk_check_drive:
        call    disk_geometry
        jnz     .done                   ; AL = status
        xor     al, al
.done:  jmp     disk_status

; AH=02h/03h/04h: read/write/verify AL sectors at CHS CH,CL,DH of drive DL
; to/from ES:BX. AL = sectors done.
disk_read:
        mov     di, CMD_READ
        jmp     disk_transfer
disk_write:
        mov     di, CMD_WRITE
        jmp     disk_transfer
disk_verify:
        mov     di, CMD_VERIFY
disk_transfer:
        call    disk_geometry
        jnz     .fail
        ; CHS -> LBA: cylinder = CH | (CL bits 6-7) << 2, sector = CL bits 0-5
        mov     al, [bp+F_CL]
        and     al, 0x3F                ; sector, from 1
        jz      .bad_sector
        cmp     al, cl
        ja      .bad_sector
        cmp     [bp+F_DH], bl           ; head < heads
        jae     .bad_sector
        mov     al, [bp+F_CL]
        mov     ah, [bp+F_CH]
        rol     al, 1
        rol     al, 1
        and     al, 3
        xchg    al, ah                  ; AX = cylinder
        cmp     ax, si
        jae     .bad_sector
        ; LBA = (cylinder * heads + head) * spt + sector - 1
        mul     bx                      ; DX:AX = cylinder * heads
        add     al, [bp+F_DH]
        adc     ah, 0
        adc     dx, 0
        push    ax                      ; * spt (32 x 16 bits)
        mov     ax, dx
        mul     cx
        mov     bx, ax                  ; high part
        pop     ax
        mul     cx
        add     dx, bx
        mov     bl, [bp+F_CL]
        and     bl, 0x3F
        dec     bl
        xor     bh, bh
        add     ax, bx
        adc     dx, 0
        ; hand it to the device
        mov     bx, dx
        mov     cl, [bp+F_AL]
        xor     ch, ch
        mov     si, [bp+F_BX]
        mov     dx, [bp+F_ES]
        call    disk_run
        mov     [bp+F_AL], cl           ; sectors done
        jmp     disk_status
.bad_sector:
        mov     byte [bp+F_AL], 0
        mov     al, 0x04                ; sector not found
        jmp     disk_status
.fail:  mov     byte [bp+F_AL], 0
        jmp     disk_status

; disk_run: command DI for CX sectors at LBA BX:AX with the buffer at DX:SI,
; on the drive disk_geometry selected. AL = status, CX = sectors done.
disk_run:
        push    dx
        mov     dx, DISK_LBA_LO
        out     dx, ax
        mov     ax, bx
        mov     dx, DISK_LBA_HI
        out     dx, ax
        mov     ax, cx
        mov     dx, DISK_COUNT
        out     dx, ax
        mov     ax, si
        mov     dx, DISK_BUF_OFF
        out     dx, ax
        pop     ax
        mov     dx, DISK_BUF_SEG
        out     dx, ax
        mov     ax, di
        mov     dx, DISK_CMD
        out     dx, ax                  ; the device does the transfer now
        in      ax, dx
        push    ax                      ; status
        mov     dx, DISK_COUNT
        in      ax, dx
        mov     cx, ax
        pop     ax
        ret

; disk_geometry: for drive [bp+F_DL]: ZF = 1 and SI = cylinders, BX = heads,
; CX = sectors per track, DI kept, AH = drive type; else ZF = 0, AL = status.
disk_geometry:
        mov     al, [bp+F_DL]
        xor     ah, ah
        mov     dx, DISK_DRIVE
        out     dx, ax
        mov     ax, CMD_GEOMETRY
        mov     dx, DISK_CMD
        out     dx, ax
        in      ax, dx
        test    ax, ax
        jnz     .err
        mov     dx, DISK_LBA_LO
        in      ax, dx
        mov     si, ax
        mov     dx, DISK_LBA_HI
        in      ax, dx
        mov     bx, ax
        mov     dx, DISK_COUNT
        in      ax, dx
        mov     cx, ax
        mov     dx, DISK_INFO
        in      ax, dx
        mov     ah, al
        xor     al, al                  ; sets ZF
        ret
.err:   cmp     ax, 0xFFFF              ; no device at all: "timeout"
        jne     .st
        mov     al, 0x80
.st:    or      al, al                  ; ZF = 0 (status is nonzero)
        ret

; AH=08h: drive parameters. CH = last cylinder (low 8 bits), CL = sectors
; per track | last cylinder bits 8-9 << 6, DH = last head, DL = drives,
; BL = floppy type, ES:DI = diskette parameter table.
disk_params:
        call    disk_geometry
        jz      .ok
        mov     al, 0x01
        jmp     disk_status
.ok:    mov     [bp+F_BL], ah           ; drive type (CMOS code; 0 for disks)
        mov     byte [bp+F_BH], 0
        dec     si                      ; last cylinder
        mov     ax, si
        mov     [bp+F_CH], al
        mov     al, ah                  ; its bits 8-9 go to CL bits 6-7
        push    cx
        mov     cl, 6
        shl     al, cl
        pop     cx
        and     cl, 0x3F
        or      al, cl
        mov     [bp+F_CL], al
        dec     bl
        mov     [bp+F_DH], bl           ; last head
        test    byte [bp+F_DL], 0x80
        jnz     .hd
        mov     word [bp+F_DI], diskette_params
        mov     word [bp+F_ES], ROM_SEG
        mov     ax, [BDA_EQUIP]         ; number of floppy drives
        xor     dl, dl
        test    al, 1
        jz      .nfd
        mov     cl, 6
        shr     al, cl
        inc     al
        mov     dl, al
.nfd:   mov     [bp+F_DL], dl
        jmp     .done
.hd:    mov     al, [BDA_HD_COUNT]
        mov     [bp+F_DL], al
.done:  mov     byte [bp+F_AL], 0
        xor     al, al
        jmp     disk_status

; AH=15h: drive type. AH = 0 none, 2 floppy with change line, 3 hard disk
; (CX:DX = sectors). Not a status: the BDA status is left alone.
disk_type:
        call    disk_geometry
        jz      .present
        mov     byte [bp+F_AH], 0
        CLEAR_CF
        jmp     disk_ret
.present:
        test    byte [bp+F_DL], 0x80
        jnz     .hd
        mov     byte [bp+F_AH], 2
        CLEAR_CF
        jmp     disk_ret
.hd:    mov     ax, si                  ; cylinders * heads * spt
        mul     bx
        push    ax
        mov     ax, dx
        mul     cx
        mov     bx, ax
        pop     ax
        mul     cx
        add     dx, bx
        mov     [bp+F_DX], ax
        mov     [bp+F_CX], dx
        mov     byte [bp+F_AH], 3
        CLEAR_CF
        jmp     disk_ret

; AH=16h: change line (floppies only). The image never changes under the
; guest: AH = 0.
disk_change:
        mov     al, 0x01                ; hard disks: invalid function
        test    byte [bp+F_DL], 0x80
        jnz     .st
        call    disk_geometry
        jz      .ok
        mov     al, 0x80                ; no such drive
        jmp     disk_status
.ok:    xor     al, al
.st:    jmp     disk_status

; ---- INT 13h extensions (EDD 3.0) for hard disks ---------------------------

; hd_geometry: as disk_geometry, but only for hard disks (DL bit 7): for a
; floppy drive ZF = 0 and AL = 01h (the extensions are for hard disks).
hd_geometry:
        test    byte [bp+F_DL], 0x80
        jz      .floppy
        jmp     disk_geometry
.floppy:
        mov     al, 0x01
        or      al, al
        ret

; AH=41h: installation check. BX = 55AAh -> BX = AA55h, AH = 30h (EDD 3.0),
; CX = 0005h: bit 0 the packet functions 42h-44h, 47h, 48h; bit 2 EDD (48h
; with a DPTE pointer, FFFF:FFFF here: there is no controller to describe).
disk_ext_check:
        mov     al, 0x01
        cmp     word [bp+F_BX], 0x55AA
        jne     .st
        call    hd_geometry
        jnz     .st
        mov     word [bp+F_BX], 0xAA55
        mov     word [bp+F_CX], 0x0005
        mov     byte [bp+F_AH], 0x30
        mov     byte [BDA_HD_STATUS], 0
        CLEAR_CF
        jmp     disk_ret
.st:    jmp     disk_status

; AH=42h/43h/44h: read/write/verify with the disk address packet at DS:SI:
; byte 0 size (10h or more), word 2 sector count (set to the sectors done,
; also on an error), dword 4 buffer (offset, segment), qword 8 LBA.
; A 64-bit flat buffer address (FFFF:FFFF) is not supported, nor an LBA
; at or above 2^32 (the disk port takes 32 bits).
disk_ext_read:
        mov     di, CMD_READ
        jmp     disk_ext_transfer
disk_ext_write:
        mov     di, CMD_WRITE
        jmp     disk_ext_transfer
disk_ext_verify:
        mov     di, CMD_VERIFY
disk_ext_transfer:
        call    hd_geometry             ; also selects the drive
        jnz     .st
        mov     es, [bp+F_DS]
        mov     si, [bp+F_SI]
        mov     al, 0x01
        cmp     byte [es:si], 0x10
        jb      .fail                   ; not a packet
        cmp     word [es:si+4], 0xFFFF  ; FFFF:FFFF: the flat address at 10h
        jne     .addr
        cmp     word [es:si+6], 0xFFFF
        je      .fail
.addr:  mov     al, 0x04                ; sector not found
        mov     bx, [es:si+12]
        or      bx, [es:si+14]
        jnz     .fail                   ; LBA beyond 32 bits
        mov     cx, [es:si+2]
        xor     al, al
        jcxz    .st                     ; nothing to do
        mov     ax, [es:si+8]
        mov     bx, [es:si+10]
        mov     dx, [es:si+6]
        push    si
        mov     si, [es:si+4]
        call    disk_run
        pop     si
        mov     [es:si+2], cx           ; sectors done
        jmp     disk_status
.fail:  mov     word [es:si+2], 0
.st:    jmp     disk_status

; AH=47h: seek to the packet's LBA: succeed when it is on the disk.
disk_ext_seek:
        call    hd_geometry
        jnz     .st
        mov     es, [bp+F_DS]
        mov     si, [bp+F_SI]
        call    disk_size               ; DX:AX = sectors
        mov     bl, 0x04                ; sector not found
        cmp     word [es:si+12], 0
        jne     .bad
        cmp     word [es:si+14], 0
        jne     .bad
        cmp     [es:si+10], dx          ; LBA < size?
        jb      .ok
        ja      .bad
        cmp     [es:si+8], ax
        jae     .bad
.ok:    xor     bl, bl
.bad:   mov     al, bl
.st:    jmp     disk_status

; disk_size: DX:AX = total sectors of the drive disk_geometry selected.
disk_size:
        mov     dx, DISK_CMD
        mov     ax, CMD_SIZE
        out     dx, ax
        mov     dx, DISK_LBA_HI
        in      ax, dx
        push    ax
        mov     dx, DISK_LBA_LO
        in      ax, dx
        pop     dx
        ret

; AH=48h: drive parameters into the buffer at DS:SI (word 0: its size, at
; least 1Ah): flags (CHS valid), dword cylinders, heads, sectors per track,
; qword total sectors, word bytes per sector; with 1Eh bytes or more the
; DPTE pointer too (FFFF:FFFF, none). Word 0 = the bytes filled in.
disk_ext_params:
        call    hd_geometry             ; SI cylinders, BX heads, CX spt
        jnz     .st
        mov     es, [bp+F_DS]
        mov     di, [bp+F_SI]
        mov     dx, [es:di]             ; the caller's buffer size
        mov     al, 0x01
        cmp     dx, 0x1A
        jb      .st
        mov     ax, 0x1A
        cmp     dx, 0x1E
        jb      .size
        mov     word [es:di+0x1A], 0xFFFF
        mov     word [es:di+0x1C], 0xFFFF
        mov     ax, 0x1E
.size:  mov     [es:di], ax
        xor     ax, ax
        mov     word [es:di+2], 0x0002  ; CHS information is valid
        mov     [es:di+4], si
        mov     [es:di+6], ax
        mov     [es:di+8], bx
        mov     [es:di+10], ax
        mov     [es:di+12], cx
        mov     [es:di+14], ax
        mov     [es:di+20], ax
        mov     [es:di+22], ax
        mov     word [es:di+24], 512
        call    disk_size
        mov     [es:di+16], ax
        mov     [es:di+18], dx
        xor     al, al
.st:    jmp     disk_status

; Diskette parameter table (INT 1Eh), 1.44 MB values.
diskette_params:
        db      0xDF, 0x02, 0x25, 0x02, 18, 0x1B, 0xFF, 0x6C, 0xF6, 0x0F, 0x08

; =============================================================================
; INT 18h: no bootable device. INT 19h: bootstrap from drive A: or 80h.
; =============================================================================
int18_handler:
        mov     si, msg_int18
        call    print_rom_string
        mov     al, POST_NO_BOOT        ; tells the host why the CPU halts
        out     0x80, al
        jmp     halt_forever

; The floppy comes first when there is one, or when there is no hard disk
; either (so that a PC without disks says which drive it could not read);
; then hard disk 80h. Each failure is reported; when nothing boots, INT 18h.
int19_handler:
        sti
        mov     dx, DISK_CMD            ; a kernel the host loaded (--kernel)?
        mov     ax, CMD_KERNEL
        out     dx, ax
        in      ax, dx
        test    ax, ax
        jz      boot_kernel
        mov     ax, BDA_SEG
        mov     ds, ax
        test    byte [BDA_EQUIP], 1
        jnz     .floppy
        cmp     byte [BDA_HD_COUNT], 0
        jne     .hard
.floppy:
        xor     dl, dl
        call    boot_from
.hard:  cmp     byte [BDA_HD_COUNT], 0
        je      .none
        mov     dl, 0x80
        call    boot_from
.none:  int     0x18
        jmp     halt_forever

; The Linux boot protocol's real-mode entry: DS = ES = FS = GS = SS = the
; setup segment, SP at the end of its heap, CS:IP = segment + 20h : 0,
; interrupts off (hvmm/firmware/linux_boot.py loaded it all).
boot_kernel:
        cpu     386
        mov     dx, DISK_LBA_HI
        in      ax, dx
        mov     bx, ax                  ; SP
        mov     dx, DISK_LBA_LO
        in      ax, dx                  ; the setup segment
        cli
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        mov     ss, ax
        mov     sp, bx
        add     ax, 0x20
        push    ax
        push    word 0
        retf
        cpu     8086

; boot_from: read sector 0 of drive DL to 0000:7C00 and, when it ends in
; 55AA, jump to it with DL = the drive. Returns (after a message) otherwise.
boot_from:
        xor     ax, ax
        mov     es, ax
        int     0x13                    ; reset
        mov     ax, 0x0201              ; read one sector
        mov     bx, 0x7C00              ; to 0000:7C00
        mov     cx, 0x0001              ; cylinder 0, sector 1
        xor     dh, dh                  ; head 0
        push    dx
        int     0x13
        pop     dx
        jc      .noread
        cmp     word [es:0x7DFE], 0xAA55
        jne     .nosig
        jmp     0x0000:0x7C00
.noread:
        mov     si, msg_noread
        jmp     .say
.nosig: mov     si, msg_nosig
.say:   call    print_rom_string
        mov     si, msg_drive_a
        test    dl, 0x80
        jz      .name
        mov     si, msg_drive_80
.name:  jmp     print_rom_string

msg_noread:     db "hvmm BIOS: cannot read the boot sector of ", 0
msg_nosig:      db "hvmm BIOS: no boot signature (55AA) on ", 0
msg_drive_a:    db "drive A:", 13, 10, 0
msg_drive_80:   db "hard disk 80h", 13, 10, 0
