# The Python face of the PC chipset devices in the kernel component, a base
# class of Cpu: the disks behind the IDE channels (kernel/ide.pxi) and the
# PCI functions Python devices answer (kernel/pci.pxi).

cdef class CpuDevices(CpuDebug):
    """The Cpu's IDE disks and PCI configuration space (docs/devices.md)."""
    cdef IdeMedia* _ide_media
    cdef list _ide_views            # the images' buffers, kept while attached

    def __cinit__(self):
        self._ide_media = <IdeMedia*>calloc(1, sizeof(IdeMedia))
        if self._ide_media == NULL:
            raise MemoryError()
        self._ide_views = [None] * IDE_DRIVES

    def __dealloc__(self):
        cdef int i
        if self._ide_media != NULL:
            for i in range(IDE_DRIVES):
                free(self._ide_media.disk[i].dirty)
            free(self._ide_media)

    def ide_attach(self, int index, data, cdrom=False):
        """Put a disk on IDE drive `index` (0 primary master, 1 primary
        slave, 2 secondary master, 3 secondary slave): `data` is its
        writable buffer of whole sectors (a disk image's mmap), shared with
        the caller, who must keep it mapped while attached. None removes it.
        cdrom: an ATAPI CD-ROM of 2048-byte sectors (read only) instead."""
        cdef const unsigned char[::1] view
        cdef IdeDisk* d
        cdef uint64_t sectors, bits
        cdef uint32_t shift = 0
        if not 0 <= index < IDE_DRIVES:
            raise ValueError(f"IDE drive {index} out of range 0-3")
        d = &self._ide_media.disk[index]
        free(d.dirty)
        memset(d, 0, sizeof(IdeDisk))
        self._ide_views[index] = None
        (<Devices*>self.s.devices).ide_media = self._ide_media
        if data is None:
            return
        if not cdrom and memoryview(data).readonly:
            raise ValueError("an IDE disk needs a writable buffer (the guest writes it)")
        view = data
        sectors = len(view) // IDE_SECTOR
        if sectors == 0:
            raise ValueError("an IDE disk needs at least one sector")
        # One dirty bit per sector, or per 2^shift sectors on disks so large
        # that the bitmap would pass 1 MiB.
        while (sectors >> shift) > (8 << 20):
            shift += 1
        bits = (sectors >> shift) + 1
        d.dirty = <uint8_t*>calloc((bits + 7) // 8, 1)
        if d.dirty == NULL:
            raise MemoryError()
        d.dirty_shift = shift
        if cdrom and (len(view) % CD_SECTOR or len(view) == 0):
            free(d.dirty)
            d.dirty = NULL
            raise ValueError("a CD image is whole 2048-byte sectors")
        d.sectors = sectors
        d.cdrom = 1 if cdrom else 0
        d.data = <uint8_t*>&view[0]
        self._ide_views[index] = view

    def ide_take_changed(self, int index):
        """The sectors the guest wrote through IDE drive `index` since the
        last call (a set of LBAs; whole bitmap granules on huge disks)."""
        cdef IdeDisk* d = &self._ide_media.disk[index & 3]
        cdef uint64_t i, lba, nbytes
        out = set()
        if d.data == NULL:
            return out
        nbytes = ((d.sectors >> d.dirty_shift) + 8) // 8
        for i in range(nbytes):
            if d.dirty[i]:
                for bit in range(8):
                    if d.dirty[i] & (1 << bit):
                        lba = ((i * 8) + bit) << d.dirty_shift
                        out.update(range(lba, min(lba + (1 << d.dirty_shift), d.sectors)))
                d.dirty[i] = 0
        return out

    def pci_claim(self, unsigned int devfn):
        """Let a Python device answer bus 0's device/function `devfn`
        (device << 3 | function): the core declines its config accesses,
        which then reach the Python device claiming 0xCFC-0xCFF."""
        if devfn > 0xFF or pci_function(&(<Devices*>self.s.devices).pci, devfn) != NULL:
            raise ValueError(f"PCI device/function {devfn >> 3:02x}.{devfn & 7} is taken")
        (<Devices*>self.s.devices).pci.py_owned[devfn] = 1

    def pci_release(self, unsigned int devfn):
        (<Devices*>self.s.devices).pci.py_owned[devfn & 0xFF] = 0

    property pci_address:
        """CONFIG_ADDRESS (port 0xCF8) as the guest last wrote it."""
        def __get__(self):
            return (<Devices*>self.s.devices).pci.address
