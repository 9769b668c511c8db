# ATA/IDE controller, PIO only: the PIIX3 IDE function's two legacy
# channels, primary (task file 1F0-1F7, control 3F6, IRQ 14) and secondary
# (170-177, 376, IRQ 15), each with a master and a slave hard disk
# (ATA/ATAPI-6, T13/1410D: the task file, the PIO data-in and data-out
# protocols, 48-bit addressing).
#
# The task file and the data port are here, in the kernel component, so a
# REP INSW/OUTSW moves sectors straight between guest memory and the disk
# image without a Python call per word: the image is the same mapping the
# BIOS's disk port uses (hvmm/disks.py; copy on write unless --write), its
# pointer and length set once from Python (IdeMedia). Sectors the guest
# writes are marked in a bitmap that Python folds into the image's
# `changed` set, so snapshots and overlays see them.
#
# Commands: IDENTIFY DEVICE, READ/WRITE SECTORS (and EXT), READ/WRITE
# MULTIPLE (and EXT), SET MULTIPLE MODE (1-16 sectors a block), INITIALIZE
# DEVICE PARAMETERS (the CHS translation), READ VERIFY, SEEK, RECALIBRATE,
# SET FEATURES, FLUSH CACHE, the power commands (accepted), READ NATIVE MAX
# ADDRESS (and EXT), EXECUTE DEVICE DIAGNOSTIC; others abort. Commands
# complete at once (no BSY time). Not modelled: DMA (IDENTIFY offers none,
# so drivers use PIO), ATAPI (IDENTIFY PACKET DEVICE aborts), the
# HPA/security feature sets.

cdef enum:
    IDE_CHANNELS = 2
    IDE_DRIVES = 4              # channel * 2 + (0 master, 1 slave)
    IDE_SECTOR = 512
    IDE_MAX_MULT = 16

    # status
    ATA_BSY = 0x80
    ATA_DRDY = 0x40
    ATA_DSC = 0x10
    ATA_DRQ = 0x08
    ATA_ERR = 0x01
    # error
    ATA_ABRT = 0x04
    ATA_IDNF = 0x10
    # device/head register
    ATA_LBA = 0x40
    ATA_DEV = 0x10
    # device control
    ATA_HOB = 0x80
    ATA_SRST = 0x04
    ATA_NIEN = 0x02

    # task file offsets
    ATA_REG_DATA = 0
    ATA_REG_FEATURE = 1
    ATA_REG_NSECT = 2
    ATA_REG_SECTOR = 3
    ATA_REG_LCYL = 4
    ATA_REG_HCYL = 5
    ATA_REG_SELECT = 6
    ATA_REG_STATUS = 7

    # transfer source
    IDE_XFER_NONE = 0
    IDE_XFER_BUFFER = 1         # IDENTIFY: the channel's buffer
    IDE_XFER_DISK = 2           # sectors: the image itself
    IDE_XFER_MEDIA = 3          # ATAPI data: the CD image (kernel/atapi.pxi)
    IDE_XFER_PACKET = 4         # ATAPI: the 12-byte command packet coming in

ctypedef struct IdeDisk:        # set from Python (Cpu.ide_attach)
    uint8_t* data               # NULL: no drive
    uint64_t sectors
    uint8_t* dirty              # one bit per 2^dirty_shift sectors written
    uint32_t dirty_shift
    int cdrom                   # an ATAPI CD-ROM (2048-byte sectors, read only)

ctypedef struct IdeMedia:
    IdeDisk disk[IDE_DRIVES]

ctypedef struct IdeDriveRegs:
    uint16_t heads              # CHS translation (INITIALIZE DEVICE PARAMETERS)
    uint16_t spt
    uint16_t mult               # sectors per block of READ/WRITE MULTIPLE; 0 = off

ctypedef struct IdeChannel:
    uint8_t status, error, feature, nsect, sector, lcyl, hcyl, select, ctrl
    uint8_t hob_feature, hob_nsect, hob_sector, hob_lcyl, hob_hcyl
    int irq                     # ISA IRQ
    int irq_pending             # INTRQ (shown on the line unless nIEN)
    int xfer                    # IDE_XFER_*
    int writing
    int lba48
    uint64_t lba                # next sector of the command
    uint32_t remaining          # sectors of the command not yet transferred
    uint32_t block              # sectors per DRQ block
    uint32_t pos, end           # bytes of the current block
    uint8_t buf[IDE_SECTOR]
    IdeDriveRegs drive[2]
    # ATAPI (kernel/atapi.pxi)
    uint64_t media_off          # byte offset of the data in the CD image
    uint32_t left               # bytes of the command's data not yet moved
    uint32_t limit              # byte count limit of the PACKET command
    uint8_t sense_key, asc

ctypedef struct IdeState:
    PicState* pic
    IdeChannel ch[IDE_CHANNELS]


cdef void ide_reset(IdeState* s, PicState* pic) noexcept nogil:
    cdef int i
    s.pic = pic
    memset(s.ch, 0, sizeof(s.ch))
    for i in range(IDE_CHANNELS):
        s.ch[i].irq = 14 + i
        s.ch[i].status = ATA_DRDY | ATA_DSC
        s.ch[i].error = 0x01
        s.ch[i].nsect = 1
        s.ch[i].sector = 1
        s.ch[i].select = 0xA0
        s.ch[i].drive[0].heads = 16
        s.ch[i].drive[0].spt = 63
        s.ch[i].drive[1].heads = 16
        s.ch[i].drive[1].spt = 63

cdef inline int ide_unit(IdeChannel* ch) noexcept nogil:
    return (ch.select >> 4) & 1

cdef inline void ide_update_irq(IdeState* s, IdeChannel* ch) noexcept nogil:
    pic_set_irq(s.pic, ch.irq, 1 if ch.irq_pending and not (ch.ctrl & ATA_NIEN) else 0)

cdef inline void ide_raise(IdeState* s, IdeChannel* ch) noexcept nogil:
    ch.irq_pending = 1
    ide_update_irq(s, ch)

# ---- IDENTIFY DEVICE ------------------------------------------------------

cdef void ide_put_string(uint16_t* w, int first, int words, const char* text) noexcept nogil:
    # ATA strings: two characters a word, the first in the high byte, padded
    # with spaces.
    cdef int i, n = 0
    cdef char a, b
    for i in range(words):
        a = text[n] if text[n] else 32
        if text[n]:
            n += 1
        b = text[n] if text[n] else 32
        if text[n]:
            n += 1
        w[first + i] = (<uint16_t><uint8_t>a << 8) | <uint8_t>b

cdef void ide_identify(IdeChannel* ch, IdeDisk* d, int unit, int index) noexcept nogil:
    cdef uint16_t* w = <uint16_t*>ch.buf
    cdef uint64_t n = d.sectors
    cdef uint64_t cyls = n // (16 * 63)
    cdef uint64_t lba28 = n if n < 0x0FFFFFFF else 0x0FFFFFFF
    cdef uint64_t cur
    cdef IdeDriveRegs* r = &ch.drive[unit]
    cdef char serial[21]
    memset(ch.buf, 0, IDE_SECTOR)
    if cyls > 16383:
        cyls = 16383
    if cyls == 0:
        cyls = 1
    memcpy(serial, b"HVMM0000000000000000", 21)
    serial[19] = <char>(48 + index)
    w[0] = 0x0040                       # fixed disk
    w[1] = <uint16_t>cyls
    w[3] = 16
    w[6] = 63
    ide_put_string(w, 10, 10, serial)
    ide_put_string(w, 23, 4, b"1.0")
    ide_put_string(w, 27, 20, b"HVMM HARDDISK")
    w[47] = 0x8000 | IDE_MAX_MULT       # READ/WRITE MULTIPLE: up to 16
    w[49] = 0x0200                      # LBA; no DMA
    w[50] = 0x4000
    w[51] = 0x0200                      # PIO mode 2 timing
    w[53] = 0x0003                      # words 54-58 and 64-70 valid
    cur = <uint64_t>cyls * r.heads * r.spt if r.heads and r.spt else 0
    if cur > n:
        cur = n
    w[54] = <uint16_t>(cur // (r.heads * r.spt)) if r.heads and r.spt else 0
    w[55] = r.heads
    w[56] = r.spt
    w[57] = cur & 0xFFFF
    w[58] = (cur >> 16) & 0xFFFF
    w[59] = (0x0100 | r.mult) if r.mult else 0
    w[60] = lba28 & 0xFFFF
    w[61] = (lba28 >> 16) & 0xFFFF
    w[64] = 0x0003                      # PIO modes 3 and 4
    w[65] = 120
    w[66] = 120
    w[67] = 120
    w[68] = 120
    w[80] = 0x007E                      # ATA-1 to ATA-6
    w[82] = 0x4000
    w[83] = 0x4400                      # 48-bit address feature set
    w[84] = 0x4000
    w[85] = 0x4000
    w[86] = 0x0400                      # ... enabled
    w[87] = 0x4000
    w[100] = n & 0xFFFF
    w[101] = (n >> 16) & 0xFFFF
    w[102] = (n >> 32) & 0xFFFF
    w[103] = (n >> 48) & 0xFFFF

# ---- commands ---------------------------------------------------------------

cdef inline void ide_done(IdeState* s, IdeChannel* ch) noexcept nogil:
    ch.status = ATA_DRDY | ATA_DSC
    ch.xfer = IDE_XFER_NONE
    ide_raise(s, ch)

cdef inline void ide_abort(IdeState* s, IdeChannel* ch, uint8_t error) noexcept nogil:
    ch.error = error
    ch.status = ATA_DRDY | ATA_DSC | ATA_ERR
    ch.xfer = IDE_XFER_NONE
    ide_raise(s, ch)

cdef void ide_signature(IdeChannel* ch) noexcept nogil:
    ch.nsect = 1
    ch.sector = 1
    ch.lcyl = 0
    ch.hcyl = 0
    ch.error = 0x01                     # diagnostics passed

# The command's first sector from the task file; -1 for a CHS address
# outside the translation.
cdef int64_t ide_start_lba(IdeChannel* ch, int lba48) noexcept nogil:
    cdef IdeDriveRegs* r = &ch.drive[ide_unit(ch)]
    cdef uint64_t cyl
    if lba48:
        return (<int64_t>ch.hob_hcyl << 40 | <int64_t>ch.hob_lcyl << 32 |
                <int64_t>ch.hob_sector << 24 | <int64_t>ch.hcyl << 16 |
                <int64_t>ch.lcyl << 8 | ch.sector)
    if ch.select & ATA_LBA:
        return (<int64_t>(ch.select & 0x0F) << 24 | <int64_t>ch.hcyl << 16 |
                <int64_t>ch.lcyl << 8 | ch.sector)
    if ch.sector == 0 or ch.sector > r.spt or (ch.select & 0x0F) >= r.heads:
        return -1
    cyl = <uint64_t>ch.hcyl << 8 | ch.lcyl
    return <int64_t>((cyl * r.heads + (ch.select & 0x0F)) * r.spt + ch.sector - 1)

# After each block the task file addresses the last sector transferred.
cdef void ide_set_lba(IdeChannel* ch, uint64_t lba) noexcept nogil:
    cdef IdeDriveRegs* r = &ch.drive[ide_unit(ch)]
    cdef uint64_t cyl, rest
    if ch.lba48:
        ch.sector = lba & 0xFF
        ch.lcyl = (lba >> 8) & 0xFF
        ch.hcyl = (lba >> 16) & 0xFF
        ch.hob_sector = (lba >> 24) & 0xFF
        ch.hob_lcyl = (lba >> 32) & 0xFF
        ch.hob_hcyl = (lba >> 40) & 0xFF
    elif ch.select & ATA_LBA:
        ch.sector = lba & 0xFF
        ch.lcyl = (lba >> 8) & 0xFF
        ch.hcyl = (lba >> 16) & 0xFF
        ch.select = (ch.select & 0xF0) | ((lba >> 24) & 0x0F)
    elif r.heads and r.spt:
        cyl = lba // (r.heads * r.spt)
        rest = lba % (r.heads * r.spt)
        ch.sector = <uint8_t>(rest % r.spt + 1)
        ch.select = (ch.select & 0xF0) | <uint8_t>(rest // r.spt)
        ch.lcyl = cyl & 0xFF
        ch.hcyl = (cyl >> 8) & 0xFF

cdef void ide_next_block(IdeState* s, IdeChannel* ch) noexcept nogil:
    cdef uint32_t n = ch.block if ch.block < ch.remaining else ch.remaining
    ch.pos = <uint32_t>0
    ch.end = n * IDE_SECTOR
    ch.xfer = IDE_XFER_DISK
    ch.status = ATA_DRDY | ATA_DSC | ATA_DRQ
    if not ch.writing:
        ide_raise(s, ch)                # data-in: each block interrupts

cdef void ide_transfer(IdeState* s, IdeChannel* ch, IdeDisk* d, uint8_t cmd,
                       int lba48, int writing, uint32_t block) noexcept nogil:
    cdef int64_t lba
    cdef uint32_t count
    ch.lba48 = lba48
    lba = ide_start_lba(ch, lba48)
    if lba48:
        count = (<uint32_t>ch.hob_nsect << 8) | ch.nsect
        if count == 0:
            count = 65536
    else:
        count = ch.nsect if ch.nsect else 256
    if block == 0:
        ide_abort(s, ch, ATA_ABRT)      # MULTIPLE before SET MULTIPLE MODE
        return
    if lba < 0 or <uint64_t>lba + count > d.sectors:
        ide_abort(s, ch, ATA_IDNF)
        return
    ch.lba = <uint64_t>lba
    ch.remaining = count
    ch.block = block
    ch.writing = writing
    ch.error = 0
    ide_next_block(s, ch)

cdef void ide_block_done(IdeState* s, IdeChannel* ch, IdeDisk* d) noexcept nogil:
    cdef uint32_t n = ch.end // IDE_SECTOR
    cdef uint64_t i
    if ch.writing and d.dirty != NULL:
        for i in range(ch.lba >> d.dirty_shift, ((ch.lba + n - 1) >> d.dirty_shift) + 1):
            d.dirty[i >> 3] |= <uint8_t>(1 << (i & 7))
    ch.lba += n
    ch.remaining -= n
    ide_set_lba(ch, ch.lba - 1)
    if ch.remaining:
        ide_next_block(s, ch)
        if ch.writing:
            ide_raise(s, ch)            # data-out: "ready for the next block"
    else:
        ch.xfer = IDE_XFER_NONE
        ch.status = ATA_DRDY | ATA_DSC
        if ch.writing:
            ide_raise(s, ch)            # data-out: the command is done

cdef void ide_command(IdeState* s, IdeMedia* m, int c, uint8_t cmd) noexcept nogil:
    cdef IdeChannel* ch = &s.ch[c]
    cdef int unit = ide_unit(ch)
    cdef IdeDisk* d = &m.disk[c * 2 + unit] if m != NULL else NULL
    cdef IdeDriveRegs* r = &ch.drive[unit]
    cdef uint64_t top
    if d == NULL or d.data == NULL:
        return                          # no drive: it does not answer
    if d.cdrom:
        atapi_command(s, ch, d, cmd)
        return
    if cmd == 0x90:                     # EXECUTE DEVICE DIAGNOSTIC
        ide_signature(ch)
        ch.select &= ~ATA_DEV
        ide_done(s, ch)
        return
    ch.irq_pending = 0
    if cmd == 0xEC:                     # IDENTIFY DEVICE
        ide_identify(ch, d, unit, c * 2 + unit)
        ch.xfer = IDE_XFER_BUFFER
        ch.writing = 0
        ch.pos = 0
        ch.end = IDE_SECTOR
        ch.status = ATA_DRDY | ATA_DSC | ATA_DRQ
        ide_raise(s, ch)
    elif cmd == 0x20 or cmd == 0x21:
        ide_transfer(s, ch, d, cmd, 0, 0, 1)
    elif cmd == 0x24:
        ide_transfer(s, ch, d, cmd, 1, 0, 1)
    elif cmd == 0x30 or cmd == 0x31:
        ide_transfer(s, ch, d, cmd, 0, 1, 1)
    elif cmd == 0x34:
        ide_transfer(s, ch, d, cmd, 1, 1, 1)
    elif cmd == 0xC4:
        ide_transfer(s, ch, d, cmd, 0, 0, r.mult)
    elif cmd == 0x29:
        ide_transfer(s, ch, d, cmd, 1, 0, r.mult)
    elif cmd == 0xC5:
        ide_transfer(s, ch, d, cmd, 0, 1, r.mult)
    elif cmd == 0x39:
        ide_transfer(s, ch, d, cmd, 1, 1, r.mult)
    elif cmd == 0xC6:                   # SET MULTIPLE MODE
        if ch.nsect > IDE_MAX_MULT or (ch.nsect & (ch.nsect - 1)):
            ide_abort(s, ch, ATA_ABRT)
        else:
            r.mult = ch.nsect
            ide_done(s, ch)
    elif cmd == 0x91:                   # INITIALIZE DEVICE PARAMETERS
        if ch.nsect == 0:
            ide_abort(s, ch, ATA_ABRT)
        else:
            r.spt = ch.nsect
            r.heads = (ch.select & 0x0F) + 1
            ide_done(s, ch)
    elif cmd == 0x40 or cmd == 0x41 or cmd == 0x42:     # READ VERIFY (EXT)
        top = <uint64_t>ide_start_lba(ch, cmd == 0x42)
        if ide_start_lba(ch, cmd == 0x42) < 0 or top >= d.sectors:
            ide_abort(s, ch, ATA_IDNF)
        else:
            ide_done(s, ch)
    elif cmd == 0xF8 or cmd == 0x27:    # READ NATIVE MAX ADDRESS (EXT)
        ch.lba48 = cmd == 0x27
        if not ch.lba48:
            ch.select |= ATA_LBA
        ide_set_lba(ch, d.sectors - 1 if d.sectors - 1 < 0x0FFFFFFF or ch.lba48
                    else 0x0FFFFFFF)
        ide_done(s, ch)
    elif (0x10 <= cmd <= 0x1F or cmd == 0x70 or cmd == 0xEF or cmd == 0xE7 or
          cmd == 0xEA or 0xE0 <= cmd <= 0xE3 or cmd == 0xE6 or cmd == 0x94 or
          cmd == 0x95 or cmd == 0x96 or cmd == 0x97 or cmd == 0x99):
        ide_done(s, ch)                 # seek, recalibrate, features, cache, power
    elif cmd == 0xE5 or cmd == 0x98:    # CHECK POWER MODE: active
        ch.nsect = 0xFF
        ide_done(s, ch)
    else:
        ide_abort(s, ch, ATA_ABRT)      # incl. IDENTIFY PACKET, DEVICE RESET

# ---- ports ------------------------------------------------------------------

# Channel and register of a port; -1 when it is not ours.
cdef inline int ide_decode(uint32_t port, int* reg) noexcept nogil:
    if 0x1F0 <= port <= 0x1F7:
        reg[0] = port - 0x1F0
        return 0
    if 0x170 <= port <= 0x177:
        reg[0] = port - 0x170
        return 1
    reg[0] = 8                          # the control block (3F6/376)
    if port == 0x3F6:
        return 0
    if port == 0x376:
        return 1
    return -1

cdef inline int ide_channel_empty(IdeMedia* m, int c) noexcept nogil:
    return m == NULL or (m.disk[c * 2].data == NULL and m.disk[c * 2 + 1].data == NULL)

cdef uint32_t ide_data_read(IdeState* s, IdeChannel* ch, IdeDisk* d, uint32_t size) noexcept nogil:
    cdef uint32_t v = 0, n = size
    if ch.xfer == IDE_XFER_NONE or ch.writing:
        return 0xFFFFFFFFu >> (32 - 8 * size)
    if n > ch.end - ch.pos:
        n = ch.end - ch.pos
    if ch.xfer == IDE_XFER_BUFFER:
        memcpy(&v, &ch.buf[ch.pos], n)
    elif ch.xfer == IDE_XFER_MEDIA:
        memcpy(&v, &d.data[ch.media_off + ch.pos], n)
    else:
        memcpy(&v, &d.data[ch.lba * IDE_SECTOR + ch.pos], n)
    ch.pos += n
    if ch.pos >= ch.end:
        if d.cdrom and ch.xfer != IDE_XFER_NONE and not (ch.xfer == IDE_XFER_BUFFER and
                                                       ch.left == 0 and ch.limit == 0):
            atapi_chunk_done(s, ch, d)
        elif ch.xfer == IDE_XFER_BUFFER:
            ch.xfer = IDE_XFER_NONE
            ch.status = ATA_DRDY | ATA_DSC
        else:
            ide_block_done(s, ch, d)
    return v

cdef void ide_data_write(IdeState* s, IdeChannel* ch, IdeDisk* d, uint32_t size,
                         uint32_t v) noexcept nogil:
    cdef uint32_t n = size
    if ch.xfer == IDE_XFER_PACKET:
        atapi_packet_write(s, ch, d, size, v)
        return
    if ch.xfer != IDE_XFER_DISK or not ch.writing:
        return
    if n > ch.end - ch.pos:
        n = ch.end - ch.pos
    memcpy(&d.data[ch.lba * IDE_SECTOR + ch.pos], &v, n)
    ch.pos += n
    if ch.pos >= ch.end:
        ide_block_done(s, ch, d)

cdef int ide_io_read(IdeState* s, IdeMedia* m, uint32_t port, uint32_t size,
                     uint32_t* value, uint64_t now) noexcept nogil:
    cdef int reg, c = ide_decode(port, &reg)
    cdef IdeChannel* ch
    cdef int hob, present
    if c < 0 or ide_channel_empty(m, c):
        return 0                        # nothing on the cable: a floating bus
    ch = &s.ch[c]
    present = m.disk[c * 2 + ide_unit(ch)].data != NULL
    if reg == ATA_REG_DATA:
        if size == 1:
            return 0
        value[0] = ide_data_read(s, ch, &m.disk[c * 2 + ide_unit(ch)], size) if present else 0
        return 1
    if size != 1:
        return 0
    hob = ch.ctrl & ATA_HOB
    if reg == ATA_REG_STATUS or reg == 8:
        value[0] = ch.status if present else 0
        if reg == ATA_REG_STATUS and ch.irq_pending:
            ch.irq_pending = 0          # reading the status acknowledges INTRQ
            ide_update_irq(s, ch)
    elif not present:
        value[0] = 0
    elif reg == ATA_REG_FEATURE:
        value[0] = ch.error
    elif reg == ATA_REG_NSECT:
        value[0] = ch.hob_nsect if hob else ch.nsect
    elif reg == ATA_REG_SECTOR:
        value[0] = ch.hob_sector if hob else ch.sector
    elif reg == ATA_REG_LCYL:
        value[0] = ch.hob_lcyl if hob else ch.lcyl
    elif reg == ATA_REG_HCYL:
        value[0] = ch.hob_hcyl if hob else ch.hcyl
    else:
        value[0] = ch.select
    return 1

cdef int ide_io_write(IdeState* s, IdeMedia* m, uint32_t port, uint32_t size,
                      uint32_t value, uint64_t now) noexcept nogil:
    cdef int reg, c = ide_decode(port, &reg), unit
    cdef IdeChannel* ch
    cdef uint8_t v = value & 0xFF
    if c < 0 or ide_channel_empty(m, c):
        return 0
    ch = &s.ch[c]
    if reg == ATA_REG_DATA:
        if size == 1:
            return 0
        ide_data_write(s, ch, &m.disk[c * 2 + ide_unit(ch)], size, value)
        return 1
    if size != 1:
        return 0
    if reg == 8:                        # device control
        if (v & ATA_SRST) and not (ch.ctrl & ATA_SRST):
            ch.status = ATA_BSY | ATA_DSC
            ch.xfer = IDE_XFER_NONE
            ch.irq_pending = 0
        elif not (v & ATA_SRST) and (ch.ctrl & ATA_SRST):
            ide_signature(ch)           # the reset completes (no BSY time)
            if m.disk[c * 2].cdrom:
                atapi_signature(ch)
            ch.select = 0xA0
            ch.status = ATA_DRDY | ATA_DSC
        ch.ctrl = v
        ide_update_irq(s, ch)
        return 1
    ch.ctrl &= ~ATA_HOB                 # a task-file write clears HOB
    if reg == ATA_REG_FEATURE:
        ch.hob_feature = ch.feature
        ch.feature = v
    elif reg == ATA_REG_NSECT:
        ch.hob_nsect = ch.nsect
        ch.nsect = v
    elif reg == ATA_REG_SECTOR:
        ch.hob_sector = ch.sector
        ch.sector = v
    elif reg == ATA_REG_LCYL:
        ch.hob_lcyl = ch.lcyl
        ch.lcyl = v
    elif reg == ATA_REG_HCYL:
        ch.hob_hcyl = ch.hcyl
        ch.hcyl = v
    elif reg == ATA_REG_SELECT:
        ch.select = v | 0xA0
    else:
        if not (ch.status & ATA_BSY):
            ide_command(s, m, c, v)
    return 1
