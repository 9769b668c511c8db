; ide_test.asm: a boot sector that drives the primary IDE channel by PIO,
; for tests/test_ide.py. The test builds a disk whose sector 0 is this
; guest and checks, after the debug exit, what landed in memory and on the
; disk. Results (all at 0000:xxxx):
;   0500  word: IRQ 14 interrupts taken
;   0502  status and error after IDENTIFY PACKET DEVICE (aborts on a disk)
;   0506  status and error after a READ SECTORS EXT past the end (IDNF)
;   1000  IDENTIFY DEVICE data (polled, nIEN set)
;   2000  LBA 5-6 by READ SECTORS (interrupts)
;   3000  LBA 10-17 by READ MULTIPLE, 4 sectors a block
;   4000  LBA 20 by READ SECTORS EXT
;   4200  LBA 40 by READ SECTORS, polled (nIEN)
;   6000  C/H/S 1/2/3 after INITIALIZE DEVICE PARAMETERS 4 heads x 17
; It writes 0000:5000-57FF (a pattern) to LBA 30 (WRITE SECTORS) and to
; LBA 31-34 (WRITE MULTIPLE EXT), then exits through port 0xF4 with the
; interrupt count.
%include "bootsector.inc"

        cpu     386
        org     0x7C00
IRQS    equ     0x500
FLAG    equ     0x508
DATA    equ     0x1F0
CTRL    equ     0x3F6

start:  BOOT_PROLOGUE cli
        mov     word [0x76 * 4], irq14
        mov     word [0x76 * 4 + 2], 0
        in      al, 0xA1
        and     al, ~0x40               ; IRQ 14
        out     0xA1, al
        mov     di, 0x5000              ; the pattern to write
        mov     cx, 0x800
.fill:  mov     ax, di
        xor     al, ah
        stosb
        loop    .fill
        mov     al, 0x02                ; nIEN: polled
        mov     dx, CTRL
        out     dx, al
        mov     al, 0xEC                ; IDENTIFY DEVICE
        call    command
        call    wait_drq
        mov     di, 0x1000
        call    read1
        mov     al, 0xA1                ; IDENTIFY PACKET DEVICE: aborts
        call    command
        call    taskfile_result
        mov     [0x502], ax
        mov     eax, 40                 ; polled READ SECTORS
        mov     cx, 0x2001
        call    lba28
        call    wait_drq
        mov     di, 0x4200
        call    read1
        xor     al, al                  ; interrupts from here on
        mov     dx, CTRL
        out     dx, al
        sti
        mov     eax, 5                  ; READ SECTORS LBA 5, 2 sectors
        mov     cx, 0x2002
        call    lba28
        mov     di, 0x2000
        call    wait_read1
        call    wait_read1
        mov     al, 4                   ; SET MULTIPLE MODE 4
        mov     dx, DATA + 2
        out     dx, al
        mov     al, 0xC6
        call    command
        call    wait_irq
        mov     eax, 10                 ; READ MULTIPLE LBA 10, 8 sectors
        mov     cx, 0xC408
        call    lba28
        mov     di, 0x3000
        call    wait_irq
        mov     cx, 4 * 256
        call    readn
        call    wait_irq
        mov     cx, 4 * 256
        call    readn
        mov     eax, 20                 ; READ SECTORS EXT LBA 20
        mov     cx, 0x2401
        call    lba48
        mov     di, 0x4000
        call    wait_read1
        mov     eax, 0x7FFFFFF          ; READ SECTORS EXT past the end
        mov     cx, 0x2401
        call    lba48
        call    wait_irq
        call    taskfile_result
        mov     [0x506], ax
        mov     eax, 30                 ; WRITE SECTORS LBA 30
        mov     cx, 0x3001
        call    lba28
        call    wait_drq
        mov     si, 0x5000
        mov     cx, 256
        call    writen
        call    wait_irq
        mov     eax, 31                 ; WRITE MULTIPLE EXT LBA 31, 4 sectors
        mov     cx, 0x3904
        call    lba48
        call    wait_drq
        mov     si, 0x5000
        mov     cx, 4 * 256
        call    writen
        call    wait_irq
        mov     al, 0xA3                ; INITIALIZE DEVICE PARAMETERS: 4 heads
        mov     dx, DATA + 6
        out     dx, al
        mov     al, 17                  ; ... 17 sectors a track
        mov     dx, DATA + 2
        out     dx, al
        mov     al, 0x91
        call    command
        call    wait_irq
        mov     dx, DATA + 2            ; CHS read: count 1, sector 3
        mov     al, 1
        out     dx, al
        inc     dx
        mov     al, 3
        out     dx, al
        inc     dx                      ; cylinder 1
        mov     al, 1
        out     dx, al
        inc     dx
        xor     al, al
        out     dx, al
        inc     dx                      ; CHS, head 2
        mov     al, 0xA2
        out     dx, al
        mov     al, 0x20
        call    command
        mov     di, 0x6000
        call    wait_read1
        mov     al, [IRQS]
        out     0xF4, al

; AL = command
command:
        mov     dx, DATA + 7
        out     dx, al
        ret

; EAX = LBA, CH = command, CL = count: LBA28 in the task file
lba28:  mov     ebx, eax
        mov     dx, DATA + 2
        mov     al, cl
        out     dx, al
        call    lba_low
        shr     ebx, 24
        mov     al, bl
        or      al, 0xE0
        out     dx, al
        mov     al, ch
        jmp     command

; the same in LBA48: the high bytes first (into the HOB registers)
lba48:  mov     ebx, eax
        push    ebx
        mov     dx, DATA + 2
        xor     al, al
        out     dx, al
        rol     ebx, 8                  ; bits 31-24 into the sector register
        inc     dx
        mov     al, bl
        out     dx, al
        inc     dx
        xor     al, al                  ; LBA 32-47: 0
        out     dx, al
        inc     dx
        out     dx, al
        mov     dx, DATA + 2
        mov     al, cl
        out     dx, al
        pop     ebx
        call    lba_low
        mov     al, 0xE0
        out     dx, al
        mov     al, ch
        jmp     command

; EBX = LBA: its low 24 bits to sector/cylinder; DX ends on the select port
lba_low:
        mov     dx, DATA + 3
        mov     al, bl
        out     dx, al
        inc     dx
        mov     al, bh
        out     dx, al
        inc     dx
        push    ebx
        shr     ebx, 16
        mov     al, bl
        out     dx, al
        pop     ebx
        inc     dx
        ret

wait_drq:
        mov     dx, CTRL                ; the alternate status: no INTRQ change
.w:     in      al, dx
        test    al, 0x80
        jnz     .w
        test    al, 0x08
        jz      .w
        ret

wait_irq:
        cli
        cmp     byte [FLAG], 0
        jne     .got
        sti
        hlt
        jmp     wait_irq
.got:   mov     byte [FLAG], 0
        sti
        ret

wait_read1:
        call    wait_irq
read1:  mov     cx, 256
readn:  mov     dx, DATA
        rep     insw
        ret

writen: mov     dx, DATA
        rep     outsw
        ret

; AL = status, AH = error
taskfile_result:
        mov     dx, DATA + 1
        in      al, dx
        mov     ah, al
        mov     dx, DATA + 7
        in      al, dx
        ret

irq14:  push    ax
        push    dx
        inc     word [IRQS]
        mov     byte [FLAG], 1
        mov     dx, DATA + 7            ; acknowledges the interrupt
        in      al, dx
        mov     al, 0x20
        out     0xA0, al
        out     0x20, al
        pop     dx
        pop     ax
        iret

        BOOT_SIGNATURE
