; hvmm BIOS: INT 13h (disks, through the paravirtual disk port) and INT 18h/19h
; (bootstrap), included by guests/bios.asm.

; =============================================================================
; INT 13h: disks, through the paravirtual disk port
; =============================================================================
int13_handler:
        sti
        FRAME_ENTER
        cmp     ah, 0x00
        je      disk_reset
        cmp     ah, 0x02
        je      disk_read
        cmp     ah, 0x03
        je      disk_write
        cmp     ah, 0x04
        je      disk_verify
        cmp     ah, 0x08
        je      disk_params
        cmp     ah, 0x15
        je      disk_type
        cmp     ah, 0x16
        je      disk_change
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
        mov     dx, DISK_LBA_LO
        out     dx, ax
        mov     ax, bx
        mov     dx, DISK_LBA_HI
        out     dx, ax
        mov     al, [bp+F_AL]
        xor     ah, ah
        mov     dx, DISK_COUNT
        out     dx, ax
        mov     ax, [bp+F_BX]
        mov     dx, DISK_BUF_OFF
        out     dx, ax
        mov     ax, [bp+F_ES]
        mov     dx, DISK_BUF_SEG
        out     dx, ax
        mov     ax, di
        mov     dx, DISK_CMD
        out     dx, ax                  ; the device does the transfer now
        in      ax, dx
        mov     bx, ax                  ; status
        mov     dx, DISK_COUNT
        in      ax, dx
        mov     [bp+F_AL], al           ; sectors done
        mov     al, bl
        jmp     disk_status
.bad_sector:
        mov     byte [bp+F_AL], 0
        mov     al, 0x04                ; sector not found
        jmp     disk_status
.fail:  mov     byte [bp+F_AL], 0
        jmp     disk_status

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

; AH=16h: change line. The image never changes under the guest: AH = 0.
disk_change:
        call    disk_geometry
        jz      .ok
        mov     al, 0x80                ; no such drive
        jmp     disk_status
.ok:    xor     al, al
        jmp     disk_status

; Diskette parameter table (INT 1Eh), 1.44 MB values.
diskette_params:
        db      0xDF, 0x02, 0x25, 0x02, 18, 0x1B, 0xFF, 0x6C, 0xF6, 0x0F, 0x08

; =============================================================================
; INT 18h: no bootable device. INT 19h: bootstrap from drive A:.
; =============================================================================
int18_handler:
        mov     si, msg_int18
        call    print_rom_string
        jmp     halt_forever

int19_handler:
        sti
        xor     ax, ax
        mov     es, ax
        xor     dx, dx                  ; drive 00h
        int     0x13                    ; reset
        mov     ax, 0x0201              ; read one sector
        mov     bx, 0x7C00              ; to 0000:7C00
        mov     cx, 0x0001              ; cylinder 0, sector 1
        xor     dx, dx                  ; head 0, drive 00h
        int     0x13
        jc      .noread
        cmp     word [es:0x7DFE], 0xAA55
        jne     .nosig
        xor     dx, dx                  ; DL = boot drive
        jmp     0x0000:0x7C00
.noread:
        mov     si, msg_nodisk
        call    print_rom_string
        jmp     halt_forever
.nosig: mov     si, msg_nosig
        call    print_rom_string
        jmp     halt_forever
