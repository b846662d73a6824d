/* SPDX-License-Identifier: MIT */
/* The machine's PCIe tree: building from a config and tearing down. */
#include <criterion/criterion.h>
#include <string.h>

#include "vmm/topology.h"
#include "vmm/util.h"

static struct guest_mem mem;
static struct topology topo;
static struct machine_config cfg;

static void setup(void)
{
	char err[256] = "";

	cr_assert_eq(mem_init(&mem, MiB(64), false, err, sizeof(err)), 0, "%s", err);
	memset(&cfg, 0, sizeof(cfg));
	cr_assert_eq(topology_build(&topo, &cfg, &mem, NULL, NULL, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
	mem_free(&mem);
}

TestSuite(topology, .init = setup, .fini = teardown);

/*
 * topology_destroy once ended its if/else chain with testdev_destroy, so any kind it did not
 * list (a new one, or a corrupted node) was freed as a testdev. Here such a node must be left
 * alone: testdev_destroy on this object would free memory that malloc never handed out.
 */
Test(topology, destroy_never_hands_an_unlisted_kind_to_another_destructor)
{
	static struct {
		char canary[64];
	} foreign;

	memset(foreign.canary, 0x5a, sizeof(foreign.canary));
	topo.ndev = 1; /* nodes has room for one even with no devices configured */
	topo.nodes[0] = (struct topo_node){.kind = (enum dev_kind)42, .obj = &foreign};
	topology_destroy(&topo);
	for (size_t i = 0; i < sizeof(foreign.canary); i++)
		cr_assert_eq(foreign.canary[i], 0x5a);
	cr_assert_null(topo.nodes);
}
