# The VT-d unit ([iommu] model = "intel", devices/iommu, docs/iommu.md) from inside a guest.

# guests/vtd-nvme programs root/context/second-level tables and the invalidation queue,
# turns translation on, runs an NVMe controller (below a root port) with every queue and
# buffer at IOVAs unlike their physical addresses, writes and reads back a block, then
# unmaps the read buffer: the read must end in Data Transfer Error and the unit must have
# recorded the fault with the controller's source-id and the IOVA.
if need_kvm "vtd_nvme_translates_and_records_the_fault"; then
	if [ ! -f "$GUESTS/vtd-nvme.elf" ]; then
		skipped "vtd_nvme_translates_and_records_the_fault" "$GUESTS/vtd-nvme.elf is not built"
	else
		cat >"$TMP/vtd.toml" <<TOML
[machine]
memory = "256M"
kernel = "$GUESTS/vtd-nvme.elf"

[iommu]
model = "intel"

[[root_port]]
id = "rp0"

[[nvme]]
id = "nvme0"
bus = "rp0"
namespaces = [ { backend = "ram", size = "16M" } ]
TOML
		run_vmm 120 run --config "$TMP/vtd.toml"
		expect "vtd_nvme_translates_and_records_the_fault" 0 \
			"vtd-nvme: vtd ver 0x10 cap 0x[0-9a-f]+" \
			"vtd-nvme: translation on, queues at iova 0x40000000" \
			"vtd-nvme: identify ok \(vid 0x1234\)" \
			"vtd-nvme: write/read ok" \
			"vtd-nvme: unmapped read: status 0x4 \(Data Transfer Error\)" \
			"vtd-nvme: fault recorded: source 01:00\.0 addr 0x4000c000 reason 0x6" \
			"vtd-nvme: done errors=0" \
			"vtd: translation on, [0-9]+ table walks, [0-9]+ invalidations, 1 faults \(0 lost\)"
		if grep -q "vtd-nvme: FAIL" "$TMP/out"; then
			bad "vtd_nvme_no_fail_lines" "$(grep -m3 "vtd-nvme: FAIL" "$TMP/out")"
		fi

		# A guest that never turns translation on (nvme-smoke) works as without the
		# unit: with GSTS.TES clear every address is its own.
		sed -e "s|vtd-nvme.elf|nvme-smoke.elf|" "$TMP/vtd.toml" >"$TMP/vtd-off.toml"
		run_vmm 180 run --config "$TMP/vtd-off.toml"
		expect "vtd_off_nvme_smoke_unchanged" 0 "nvme-smoke: 01:00\.0 ns 1 write/read/verify ok" \
			"nvme-smoke: done errors=0" \
			"vtd: translation off, 0 table walks, 0 invalidations, 0 faults"
	fi
fi
