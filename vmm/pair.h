/* SPDX-License-Identifier: MIT */
/*
 * `vmm pair --config pair.toml`: run the two machines of an NTB pair from one command, each
 * a `vmm run` child, with both consoles on this terminal, every line prefixed by the
 * machine's name. The pair file names the two machine files:
 *
 *   [pair]
 *   machines = ["ntb-a.toml", "ntb-b.toml"]   # relative to the pair file
 *   names = ["a", "b"]                        # optional prefixes (default: file stems)
 */
#ifndef VMM_PAIR_H
#define VMM_PAIR_H

/* Returns the process exit status: 0 when both machines exit 0, else the first non-zero
 * status (2 for a bad pair file or machine file, before anything starts; 4 for a machine
 * that could not start or was killed by a signal). */
int pair_run(const char *path);

#endif
