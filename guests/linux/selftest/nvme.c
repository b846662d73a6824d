// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * NVMe through the real nvme driver: every controller bound, its CMB published as p2pmem, the
 * partition scan's reads counted, a pattern written to and read back from LBA 0 of each
 * namespace (I/O queues, PRPs), and a P2P read of that LBA into the other controller's CMB.
 * With vmmtest.pi=FORMAT: a namespace with protection information (devices/nvme/pi.c) has
 * the block layer's integrity profile FORMAT, and a page goes through it and back.
 */
#include <linux/bio.h>
#include <linux/blk-integrity.h>
#include <linux/blkdev.h>
#include <linux/moduleparam.h>
#include <linux/mm.h>
#include <linux/part_stat.h>
#include <linux/pci-p2pdma.h>
#include <linux/pci.h>

#include "vmm_selftest.h"

#define NVME_MAX_CTRLS 4

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "vmmtest."
static char *pi;
module_param(pi, charp, 0444);

struct nvme_ctrl_under_test {
	struct pci_dev *pdev;
	struct device *ctrl; /* nvme<N>, the driver's controller device */
	struct device *disk; /* its first namespace, nvme<N>n1; NULL if none */
	struct block_device *bdev;
};

static u32 lba0_word(int ctrl_idx, int i)
{
	return (0x4e560000u + (ctrl_idx << 12)) ^ (i * 2654435761u);
}

/* Words of PAGE_SIZE bytes at buf that differ from controller ctrl_idx's LBA 0 pattern. */
static int lba0_bad_words(const u32 *buf, int ctrl_idx)
{
	int i, bad = 0;

	for (i = 0; i < PAGE_SIZE / 4; i++)
		bad += buf[i] != lba0_word(ctrl_idx, i);
	return bad;
}

/* One page at sector, synchronously, through the block layer into the nvme driver. */
static int sector_io(struct block_device *bdev, struct page *page, blk_opf_t opf, sector_t sector)
{
	struct bio *bio = bio_alloc(bdev, 1, opf, GFP_KERNEL);
	int err;

	bio->bi_iter.bi_sector = sector;
	if (bio_add_page(bio, page, PAGE_SIZE, 0) != PAGE_SIZE) {
		bio_put(bio);
		return -EINVAL;
	}
	err = submit_bio_wait(bio);
	bio_put(bio);
	return err;
}

static int lba0_io(struct block_device *bdev, struct page *page, blk_opf_t opf)
{
	return sector_io(bdev, page, opf, 0);
}

/* A namespace disk's parent is the controller device, whose parent is the PCI function. */
static int match_ns_of(struct device *dev, const void *pdev)
{
	return dev->type == &disk_type && dev->parent &&
	       dev->parent->parent == &((struct pci_dev *)pdev)->dev;
}

static int nvme_find(struct nvme_ctrl_under_test *c)
{
	struct pci_dev *pdev = NULL;
	int n = 0;

	for_each_pci_dev(pdev) {
		if (pdev->class != PCI_CLASS_STORAGE_EXPRESS || n == NVME_MAX_CTRLS)
			continue;
		vmmtest_check(!strcmp(vmmtest_drv_name(&pdev->dev), "nvme"), "nvme-bound",
			      "%s driver=%s", pci_name(pdev), vmmtest_drv_name(&pdev->dev));
		vmmtest_check(pci_has_p2pmem(pdev), "nvme-cmb-p2pmem", "%s", pci_name(pdev));
		c[n].pdev = pci_dev_get(pdev);
		c[n].disk = class_find_device(&block_class, NULL, pdev, match_ns_of);
		c[n].ctrl = c[n].disk ? c[n].disk->parent : NULL;
		c[n].bdev = NULL;
		n++;
	}
	return n;
}

/*
 * Before the self-test touches it, the namespace was read by the partition scan (the disk's
 * I/O statistics count it); then LBA 0 written (FUA) with a pattern and read back.
 */
static void nvme_check_namespace(struct nvme_ctrl_under_test *c, int idx)
{
	struct gendisk *disk;
	struct page *page;
	unsigned long ios, sectors;
	int err, bad, i;
	u32 *words;

	if (!c->disk) {
		vmmtest_check(false, "nvme-namespace", "%s: no block device", pci_name(c->pdev));
		return;
	}
	disk = dev_to_disk(c->disk);
	/* Native multipath (nvme_alloc_ns): a path is a hidden disk with no block device of its
	 * own; I/O goes through the head disk, which the full-mode /init checks (nvme-mpath). */
	if (disk->flags & GENHD_FL_HIDDEN) {
		vmmtest_skip("nvme-namespace", "%s (%s): a hidden multipath path", disk->disk_name,
			     pci_name(c->pdev));
		return;
	}
	ios = part_stat_read(disk->part0, ios[STAT_READ]);
	sectors = part_stat_read(disk->part0, sectors[STAT_READ]);
	vmmtest_check(ios > 0, "nvme-partscan",
		      "%s (%s): %lu reads, %lu sectors before the self-test", disk->disk_name,
		      pci_name(c->pdev), ios, sectors);

	c->bdev = blkdev_get_by_dev(disk_devt(disk), FMODE_READ | FMODE_WRITE, NULL);
	if (IS_ERR(c->bdev)) {
		vmmtest_check(false, "nvme-lba0", "%s: blkdev_get_by_dev %ld", disk->disk_name,
			      PTR_ERR(c->bdev));
		c->bdev = NULL;
		return;
	}
	page = alloc_page(GFP_KERNEL);
	if (!page) {
		vmmtest_check(false, "nvme-lba0", "%s: no memory", disk->disk_name);
		return;
	}
	words = page_address(page);
	for (i = 0; i < PAGE_SIZE / 4; i++)
		words[i] = lba0_word(idx, i);
	err = lba0_io(c->bdev, page, REQ_OP_WRITE | REQ_SYNC | REQ_FUA);
	if (!err) {
		memset(words, 0, PAGE_SIZE);
		err = lba0_io(c->bdev, page, REQ_OP_READ);
	}
	bad = err ? -1 : lba0_bad_words(words, idx);
	vmmtest_check(!err && !bad, "nvme-lba0",
		      "%s: %lu bytes written to LBA 0 and read back: error %d, %d words differ",
		      disk->disk_name, PAGE_SIZE, err, bad);
	__free_page(page);
}

/*
 * The P2P read: LBA 0 of src's namespace read by src's controller straight into
 * p2pmem of dst's CMB (bus addresses: both sit below one switch), then checked by the CPU.
 */
static void nvme_check_p2p_read(struct nvme_ctrl_under_test *src, int src_idx,
				struct nvme_ctrl_under_test *dst)
{
	const char *name = dev_to_disk(src->disk)->disk_name;
	struct request_queue *q = bdev_get_queue(src->bdev);
	int dist, err, bad;
	u64 bus;
	u32 *buf;

	vmmtest_check(blk_queue_pci_p2pdma(q), "nvme-p2p-queue", "%s: QUEUE_FLAG_PCI_P2PDMA %s",
		      name,
		      blk_queue_pci_p2pdma(q) ? "set" : "not set (nvme: DMA ops not P2P-capable)");
	dist = pci_p2pdma_distance(dst->pdev, &src->pdev->dev, true);
	buf = pci_alloc_p2pmem(dst->pdev, PAGE_SIZE);
	if (dist < 0 || !buf) {
		vmmtest_check(false, "nvme-p2p-read", "%s -> %s CMB: distance %d, p2pmem %s", name,
			      dev_name(dst->ctrl), dist, buf ? "allocated" : "allocation failed");
		goto out;
	}
	bus = pci_p2pmem_virt_to_bus(dst->pdev, buf);
	memset32(buf, 0xdeadbeef, PAGE_SIZE / 4);
	err = lba0_io(src->bdev, virt_to_page(buf), REQ_OP_READ);
	bad = err ? 0 : lba0_bad_words(buf, src_idx);
	if (err)
		vmmtest_check(false, "nvme-p2p-read", "%s -> %s CMB (bus %#llx): error %d%s", name,
			      dev_name(dst->ctrl), bus, err,
			      err == -EREMOTEIO ? " (DMA mapping refused the P2P page)" : "");
	else if (bad)
		vmmtest_check(false, "nvme-p2p-read",
			      "%s -> %s CMB (bus %#llx): %d of %lu words differ", name,
			      dev_name(dst->ctrl), bus, bad, PAGE_SIZE / 4);
	else
		vmmtest_check(true, "nvme-p2p-read", "%s -> %s CMB (bus %#llx) %lu bytes verified",
			      name, dev_name(dst->ctrl), bus, PAGE_SIZE);
out:
	if (buf)
		pci_free_p2pmem(dst->pdev, buf, PAGE_SIZE);
}

/*
 * Linux's nvme_init_integrity registers a T10-DIF profile for a namespace formatted with PI
 * and a separate metadata buffer; the block layer then generates the tuples of every write
 * (the controller checks Guard and Reference Tag: PRCHK) and verifies those of every read.
 */
static void nvme_check_pi(void)
{
	struct class_dev_iter iter;
	struct device *dev;
	struct gendisk *disk = NULL;
	struct block_device *bdev;
	struct page *page;
	int err, bad, i;
	u32 *words;

	class_dev_iter_init(&iter, &block_class, NULL, &disk_type);
	while (!disk && (dev = class_dev_iter_next(&iter))) {
		struct blk_integrity *bi = blk_get_integrity(dev_to_disk(dev));

		if (!strncmp(dev_name(dev), "nvme", 4) && bi && bi->profile &&
		    !strcmp(bi->profile->name, pi))
			disk = dev_to_disk(dev);
	}
	class_dev_iter_exit(&iter);
	if (!disk) {
		vmmtest_check(false, "nvme-pi-integrity", "no nvme namespace has profile %s", pi);
		return;
	}
	vmmtest_check(true, "nvme-pi-integrity", "%s: %s, tuple %u bytes every %u bytes",
		      disk->disk_name, blk_get_integrity(disk)->profile->name,
		      blk_get_integrity(disk)->tuple_size,
		      1u << blk_get_integrity(disk)->interval_exp);
	bdev = blkdev_get_by_dev(disk_devt(disk), FMODE_READ | FMODE_WRITE, NULL);
	page = alloc_page(GFP_KERNEL);
	if (IS_ERR(bdev) || !page) {
		vmmtest_check(false, "nvme-pi-io", "%s: open %ld, page %p", disk->disk_name,
			      IS_ERR(bdev) ? PTR_ERR(bdev) : 0L, page);
		goto out;
	}
	words = page_address(page);
	for (i = 0; i < PAGE_SIZE / 4; i++)
		words[i] = lba0_word(7, i);
	err = sector_io(bdev, page, REQ_OP_WRITE | REQ_SYNC | REQ_FUA, 64);
	if (!err) {
		memset(words, 0, PAGE_SIZE);
		err = sector_io(bdev, page, REQ_OP_READ, 64);
	}
	bad = err ? -1 : lba0_bad_words(words, 7);
	vmmtest_check(!err && !bad, "nvme-pi-io",
		      "%s: %lu bytes at sector 64 with generated PI, read back verified: error %d, "
		      "%d words differ",
		      disk->disk_name, PAGE_SIZE, err, bad);
out:
	if (page)
		__free_page(page);
	if (!IS_ERR(bdev))
		blkdev_put(bdev, FMODE_READ | FMODE_WRITE);
}

void vmmtest_nvme(void)
{
	struct nvme_ctrl_under_test c[NVME_MAX_CTRLS];
	int n = nvme_find(c), i, j;

	for (i = 0; i < n; i++)
		nvme_check_namespace(&c[i], i);
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			if (i != j && c[i].bdev && c[j].disk && pci_has_p2pmem(c[j].pdev))
				nvme_check_p2p_read(&c[i], i, &c[j]);
	for (i = 0; i < n; i++) {
		if (c[i].bdev)
			blkdev_put(c[i].bdev, FMODE_READ | FMODE_WRITE);
		put_device(c[i].disk);
		pci_dev_put(c[i].pdev);
	}
	if (pi && pi[0])
		nvme_check_pi();
}
