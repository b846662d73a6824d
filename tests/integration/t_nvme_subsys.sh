# [[nvme_subsystem]] (docs/config.md, "NVM subsystems and multipath"): config errors at their
# key with status 2, and nvme_ana on a running machine's control socket (docs/control.md).

cat >"$TMP/mp.toml" <<TOML
[machine]
kernel = "$GUESTS/hello.elf"
cmdline = "hello.wait"

[[root_port]]
id = "rp0"

[[switch]]
id = "sw0"
bus = "rp0"

[[nvme_subsystem]]
name = "mp0"
namespaces = [ { size = "4M" }, { size = "4M", ana_group = 2, controllers = ["nvme1"] } ]

[[nvme]]
id = "nvme0"
bus = "sw0.0"
subsystem = "mp0"

[[nvme]]
id = "nvme1"
bus = "sw0.1"
subsystem = "mp0"
TOML

run_vmm 20 check --config "$TMP/mp.toml"
expect "subsystem_config_is_valid" 0 "ok \\(.*4 PCIe devices"

sed 's/^subsystem = "mp0"$/subsystem = "mp9"/' "$TMP/mp.toml" >"$TMP/mp-bad.toml"
run_vmm 20 check --config "$TMP/mp-bad.toml"
expect "unknown_subsystem_is_an_error_at_its_key_with_status_2" 2 \
	"mp-bad.toml:19:13: 'subsystem' names \"mp9\", but there is no \[\[nvme_subsystem\]\]"
sed 's/controllers = \["nvme1"\]/controllers = ["nvme7"]/' "$TMP/mp.toml" >"$TMP/mp-bad.toml"
run_vmm 20 run --config "$TMP/mp-bad.toml"
expect "namespace_on_a_missing_controller_is_an_error_with_status_2" 2 \
	"mp-bad.toml:14:77: 'controllers' names \"nvme7\", but there is no device with that id"

ctl() { run_vmm 10 ctl "$TMP/mp.sock" "$@"; }

if need_kvm "nvme_ana_on_a_running_machine"; then
	"$VMM" run --config "$TMP/mp.toml" --control "$TMP/mp.sock" \
		</dev/null >"$TMP/vm.out" 2>"$TMP/vm.err" &
	pid=$!
	if ! wait_line "$TMP/vm.out" "hello: waiting to be stopped" 30; then
		bad "nvme_ana_on_a_running_machine" "guest did not start"
	else
		ctl nvme_ana ctrl=nvme0 state=inaccessible
		expect "ctl_nvme_ana_sets_a_state" 0 '^\{"ok":true\}'
		ctl nvme_ana ctrl=nvme1 group=2 state=non-optimized
		expect "ctl_nvme_ana_group_2_on_nvme1" 0 '^\{"ok":true\}'
		ctl info
		expect "ctl_info_shows_the_ana_states" 0 \
			'"id":"nvme0",[^}]*"subsystem":"mp0","cntlid":1,"ana":\{"1":"inaccessible"\}' \
			'"id":"nvme1",[^}]*"cntlid":2,"ana":\{"1":"optimized","2":"non-optimized"\}'
		ctl nvme_ana ctrl=nvme0 group=2 state=inaccessible
		expect "ctl_nvme_ana_group_without_namespace_is_refused" 1 \
			'"error":"no namespace of ANA group 2 on \\"nvme0\\""'
		ctl nvme_ana ctrl=nvme0 state=sideways
		expect "ctl_nvme_ana_unknown_state_is_refused" 1 '"error":"\\"state\\" must be'
		ctl nvme_ana ctrl=rp0 state=optimized
		expect "ctl_nvme_ana_on_a_port_is_refused" 1 '"error":"\\"rp0\\" is not an NVMe'
	fi
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	status=$?
	cp "$TMP/vm.out" "$TMP/out"
	cp "$TMP/vm.err" "$TMP/err"
	expect "subsystem_machine_stops_with_status_6" 6 "stopped by the user"
fi

# The nvme-smoke guest drives each controller of examples/nvme-multipath.toml on its own
# (Identify, I/O, error paths, reset, shutdown): both share the one namespace.
if need_kvm "nvme_smoke_on_a_subsystem"; then
	sed "s|^kernel = .*|kernel = \"$GUESTS/nvme-smoke.elf\"|" examples/nvme-multipath.toml \
		>"$TMP/mp-smoke.toml"
	run_vmm 60 run --config "$TMP/mp-smoke.toml"
	expect "nvme_smoke_on_a_subsystem" 0 "03:00.0 sn MPATH0" "04:00.0 sn MPATH0" \
		"nvme-smoke: done errors=0"
fi
