# Command line and configuration errors: no KVM needed.

run_vmm 10 --help
expect "help_prints_usage_and_exits_0" 0 "usage: vmm <command>" "run" "check"

run_vmm 10 run --help
expect "run_help_prints_run_options" 0 "usage: vmm run" "--config"

run_vmm 10 frobnicate
expect "unknown_command_exits_2" 2 "unknown command 'frobnicate'"

run_vmm 10 run --no-such-option
expect "unknown_option_exits_2" 2 "usage: vmm run"

cat >"$TMP/bad.toml" <<'TOML'
[machine]
memory = "256M"
cpus = }
TOML
run_vmm 10 check --config "$TMP/bad.toml"
expect "malformed_toml_reports_file_line_col_and_exits_2" 2 "bad.toml:3:8: "

run_vmm 10 run --config "$TMP/bad.toml"
expect "run_with_malformed_toml_exits_2_before_booting" 2 "bad.toml:3:8: "

cat >"$TMP/typo.toml" <<TOML
[machine]
memroy = "256M"
kernel = "$GUESTS/hello.elf"
TOML
run_vmm 10 check --config "$TMP/typo.toml"
expect "unknown_key_suggests_the_close_one" 2 "typo.toml:2:1: .*memroy.*did you mean 'memory'"

cat >"$TMP/nokernel.toml" <<'TOML'
[machine]
kernel = "does-not-exist.elf"
TOML
run_vmm 10 check --config "$TMP/nokernel.toml"
expect "missing_kernel_file_is_a_config_error" 2 "nokernel.toml:2:10: .*does-not-exist.elf"

run_vmm 10 check --config "$TMP/missing.toml"
expect "missing_config_file_exits_2" 2 "missing.toml"

cat >"$TMP/good.toml" <<TOML
[machine]
memory = "512M"
cpus = 2
kernel = "$GUESTS/hello.elf"
TOML
run_vmm 10 check --config "$TMP/good.toml"
expect "valid_config_checks_ok" 0 "ok \\(2 vCPUs, 512 MiB"
