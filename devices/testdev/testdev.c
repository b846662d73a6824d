/* SPDX-License-Identifier: MIT */
#include "devices/testdev/testdev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/util.h"

static uint64_t testdev_read(void *opaque, uint64_t off, unsigned size)
{
	struct testdev *t = opaque;
	uint8_t regs[0x34] = {0};

	if (off >= sizeof(regs))
		return 0;
	pthread_mutex_lock(&t->lock);
	bus_store_le(regs + TESTDEV_REG_MAGIC, TESTDEV_MAGIC, 4);
	bus_store_le(regs + TESTDEV_REG_NVEC, (uint32_t)t->nvec, 4);
	bus_store_le(regs + TESTDEV_REG_SCRATCH, t->scratch, 4);
	bus_store_le(regs + TESTDEV_REG_DMA_SRC, t->dma_src, 8);
	bus_store_le(regs + TESTDEV_REG_DMA_DST, t->dma_dst, 8);
	bus_store_le(regs + TESTDEV_REG_DMA_LEN, t->dma_len, 4);
	bus_store_le(regs + TESTDEV_REG_DMA_STATUS, t->dma_status, 4);
	bus_store_le(regs + TESTDEV_REG_WRITES, t->writes, 4);
	pthread_mutex_unlock(&t->lock);
	if (size > sizeof(regs) - off)
		size = (unsigned)(sizeof(regs) - off);
	return bus_load_le(regs + off, size);
}

/* Copy through the device's own DMA view: guest RAM or a peer's RAM BAR (pci_dma_map). */
static uint32_t testdev_dma(struct testdev *t)
{
	void *src, *dst;

	if (!(pci_get16(&t->pci, PCI_COMMAND) & PCI_COMMAND_MASTER))
		return TESTDEV_DMA_NO_MASTER;
	if (t->dma_len == 0 || t->dma_len > TESTDEV_MAX_DMA)
		return TESTDEV_DMA_BAD_LEN;
	src = pci_dma_map(&t->pci, t->dma_src, t->dma_len);
	if (!src)
		return TESTDEV_DMA_BAD_SRC;
	dst = pci_dma_map(&t->pci, t->dma_dst, t->dma_len);
	if (!dst)
		return TESTDEV_DMA_BAD_DST;
	memmove(dst, src, t->dma_len);
	return TESTDEV_DMA_OK;
}

static void set_half(uint64_t *reg, uint64_t off_in_reg, uint64_t val, unsigned size)
{
	uint8_t b[8];

	bus_store_le(b, *reg, 8);
	bus_store_le(b + off_in_reg, val, size);
	*reg = bus_load_le(b, 8);
}

static void testdev_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct testdev *t = opaque;
	int raise = -1;
	bool lower = false;

	pthread_mutex_lock(&t->lock);
	t->writes++;
	if (off >= TESTDEV_REG_DMA_SRC && off + size <= TESTDEV_REG_DMA_SRC + 8) {
		set_half(&t->dma_src, off - TESTDEV_REG_DMA_SRC, val, size);
	} else if (off >= TESTDEV_REG_DMA_DST && off + size <= TESTDEV_REG_DMA_DST + 8) {
		set_half(&t->dma_dst, off - TESTDEV_REG_DMA_DST, val, size);
	} else if (size != 4) {
		pr_ratelimited("%s: %u-byte write at 0x%llx ignored", t->pci.name, size,
			       (unsigned long long)off);
	} else if (off == TESTDEV_REG_RAISE) {
		raise = (int)(uint32_t)val;
	} else if (off == TESTDEV_REG_SCRATCH) {
		t->scratch = (uint32_t)val;
	} else if (off == TESTDEV_REG_DMA_LEN) {
		t->dma_len = (uint32_t)val;
	} else if (off == TESTDEV_REG_DMA_GO) {
		if (val & 1)
			t->dma_status = testdev_dma(t);
	} else if (off == TESTDEV_REG_LOWER) {
		lower = true;
	}
	pthread_mutex_unlock(&t->lock);

	/* Outside the lock: delivery may call back into the core and the host. */
	if (raise >= 0 && raise < t->nvec && !pci_notify(&t->pci, raise))
		pci_intx_set(&t->pci, true);
	if (lower)
		pci_intx_set(&t->pci, false);
}

static const struct bus_ops testdev_bar0_ops = {.read = testdev_read, .write = testdev_write};

struct testdev *testdev_create(const char *name, int nvec, uint64_t ram_bar)
{
	struct testdev *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	if (nvec < 1 || nvec > TESTDEV_MAX_VECTORS || (ram_bar && !IS_POW2(ram_bar))) {
		free(t);
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	errno = 0;
	t->nvec = nvec;
	pci_dev_init(&t->pci, name, TESTDEV_VENDOR, TESTDEV_DEVICE, 0xff0000, 0, false);
	t->pci.opaque = t;
	if (pci_dev_set_bar(&t->pci, 0, PCI_BAR_MEM32, false, TESTDEV_BAR0_SIZE, &testdev_bar0_ops,
			    t, NULL))
		goto fail;
	if (ram_bar) {
		t->ram = mmap(NULL, ram_bar, PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (t->ram == MAP_FAILED) {
			t->ram = NULL;
			goto fail;
		}
		t->ram_size = ram_bar;
		if (pci_dev_set_bar(&t->pci, 2, PCI_BAR_MEM64, true, ram_bar, NULL, NULL, t->ram))
			goto fail;
	}
	if (pci_add_msix(&t->pci, nvec, 0, TESTDEV_MSIX_TABLE, TESTDEV_MSIX_PBA) < 0)
		goto fail;
	pci_set_intx_pin(&t->pci, 1);
	return t;
fail : {
	int e = errno ? errno : EINVAL;

	testdev_destroy(t);
	errno = e;
}
	return NULL;
}

void testdev_destroy(struct testdev *t)
{
	if (!t)
		return;
	if (t->ram)
		munmap(t->ram, t->ram_size);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
