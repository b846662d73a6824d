/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the TOML reader and the config model on arbitrary bytes. Every input
 * must end in a tree or an error message, never a crash, a leak or undefined behaviour.
 *   make fuzz FUZZ_SECONDS=60
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config/config.h"
#include "vmm/config/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_error err;
	struct toml_value *root;
	struct machine_config cfg;
	char *text, *errors = NULL;

	root = toml_parse((const char *)data, size, &err);
	toml_free(root);

	/* The config layer takes NUL-terminated text. */
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	if (config_load_string(text, "fuzz.toml", "/nonexistent", &cfg, &errors) == 0)
		config_free(&cfg);
	free(errors);
	free(text);
	return 0;
}
