/* SPDX-License-Identifier: MIT */
/*
 * The host side of the guest console: guest serial output goes to stdout (and an optional
 * log file); stdin goes to the guest. When stdin is a terminal it is put in raw mode and
 * Ctrl-A x quits (Ctrl-A Ctrl-A sends a literal Ctrl-A), as in QEMU's -nographic.
 */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct console;

/* Where input goes: returns how many bytes the device accepted (the rest is retried). */
typedef size_t (*console_input_fn)(void *opaque, const uint8_t *buf, size_t len);
/* Called when the user presses the escape sequence or a terminating signal arrives. */
typedef void (*console_quit_fn)(void *opaque, const char *why);

struct console *console_open(const char *log_path, bool input, char *err, size_t errlen);
void console_set_input(struct console *c, console_input_fn fn, console_quit_fn quit, void *opaque);
/* Start the input/signal thread. */
int console_start(struct console *c);
/*
 * True once stdin has ended (EOF, an error, a closed descriptor): it is not read again, the
 * guest keeps running and gets no more input. Input read before is still delivered.
 */
bool console_input_ended(struct console *c);
/* Guest output, one byte (from a vCPU thread). */
void console_output(struct console *c, uint8_t byte);
/* Stop the thread, flush, restore the terminal. Safe to call twice. */
void console_close(struct console *c);

#endif
