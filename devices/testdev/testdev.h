/* SPDX-License-Identifier: MIT */
/*
 * testdev: vmm's own PCIe test endpoint, for exercising the PCI core, MSI-X delivery,
 * RAM-backed BARs and peer-to-peer DMA from test guests (no spec to follow: the register
 * layout below is the contract with guests/).
 *
 * PCI 1234:7120, class 0xff0000 (unassigned), MSI-X, INTx pin A.
 * BAR0: 64 KiB, 32-bit registers; MSI-X table at 0x1000, PBA at 0x9000.
 *   0x00 R   magic 0x544d4d56 ("VMMT")
 *   0x04 R   number of MSI-X vectors
 *   0x08 W   raise vector N (MSI-X; INTx assert when no MSI/MSI-X is enabled)
 *   0x0C RW  scratch
 *   0x10 RW  DMA source bus address (64 bits, two halves)
 *   0x18 RW  DMA destination bus address (64 bits)
 *   0x20 RW  DMA length (bytes, at most 16 MiB)
 *   0x24 W   1: copy length bytes from source to destination now (synchronously)
 *   0x28 R   DMA status: 0 idle/ok, 1 source unreachable, 2 destination unreachable,
 *            3 bad length, 4 bus mastering off
 *   0x2C W   lower INTx
 *   0x30 R   number of register writes the device has seen (exit counting)
 * BAR2: RAM-backed, 64-bit prefetchable, `ram_bar` bytes (absent when 0).
 */
#ifndef DEVICES_TESTDEV_H
#define DEVICES_TESTDEV_H

#include <stdint.h>

#include "vmm/pci/pci.h"

#define TESTDEV_VENDOR	    0x1234
#define TESTDEV_DEVICE	    0x7120
#define TESTDEV_MAGIC	    0x544d4d56u
#define TESTDEV_BAR0_SIZE   0x10000
#define TESTDEV_MSIX_TABLE  0x1000
#define TESTDEV_MSIX_PBA    0x9000
#define TESTDEV_MAX_VECTORS 2048
#define TESTDEV_MAX_DMA	    (16u << 20)

#define TESTDEV_REG_MAGIC      0x00
#define TESTDEV_REG_NVEC       0x04
#define TESTDEV_REG_RAISE      0x08
#define TESTDEV_REG_SCRATCH    0x0c
#define TESTDEV_REG_DMA_SRC    0x10
#define TESTDEV_REG_DMA_DST    0x18
#define TESTDEV_REG_DMA_LEN    0x20
#define TESTDEV_REG_DMA_GO     0x24
#define TESTDEV_REG_DMA_STATUS 0x28
#define TESTDEV_REG_LOWER      0x2c
#define TESTDEV_REG_WRITES     0x30

enum testdev_dma_status {
	TESTDEV_DMA_OK,
	TESTDEV_DMA_BAD_SRC,
	TESTDEV_DMA_BAD_DST,
	TESTDEV_DMA_BAD_LEN,
	TESTDEV_DMA_NO_MASTER,
};

struct testdev {
	struct pci_dev pci;
	void *ram; /* BAR2 backing, ram_size bytes */
	uint64_t ram_size;
	int nvec;
	pthread_mutex_t lock;
	uint32_t scratch;
	uint64_t dma_src, dma_dst;
	uint32_t dma_len, dma_status;
	uint32_t writes;
};

/* NULL with errno set on failure. */
struct testdev *testdev_create(const char *name, int nvec, uint64_t ram_bar);
void testdev_destroy(struct testdev *t);

#endif
