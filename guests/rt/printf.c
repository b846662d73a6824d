/* SPDX-License-Identifier: MIT */
/*
 * A small printf: %s %c %d %i %u %x %X %p %%, length l/ll/z, flags '-' '0', width and
 * '*'. Output goes to a sink: the serial port (through a line buffer, so one call costs one
 * pass over the string) or a bounded buffer.
 */
#include "rt.h"

struct sink {
	char *buf;
	size_t size; /* 0: serial */
	size_t pos;  /* characters produced, even past size */
	char line[128];
	size_t nline;
};

static void sink_flush(struct sink *s)
{
	rt_serial_write(s->line, s->nline);
	s->nline = 0;
}

static void sink_put(struct sink *s, char c)
{
	if (s->size == 0) {
		if (s->nline == sizeof(s->line))
			sink_flush(s);
		s->line[s->nline++] = c;
	} else if (s->pos + 1 < s->size) {
		s->buf[s->pos] = c;
	}
	s->pos++;
}

static void put_padded(struct sink *s, const char *str, size_t len, int width, bool left, char pad)
{
	int fill = width > (int)len ? width - (int)len : 0;

	if (!left) {
		/* zero padding goes after the sign */
		if (pad == '0' && len > 0 && str[0] == '-') {
			sink_put(s, '-');
			str++;
			len--;
		}
		while (fill-- > 0)
			sink_put(s, pad);
	}
	for (size_t i = 0; i < len; i++)
		sink_put(s, str[i]);
	while (left && fill-- > 0)
		sink_put(s, ' ');
}

static size_t format_u64(char *out, uint64_t v, unsigned int base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		char num[24];
		bool left = false;
		char pad = ' ';
		int width = 0, lng = 0;
		uint64_t u;
		int64_t d;
		size_t n;

		if (*fmt != '%') {
			sink_put(s, *fmt);
			continue;
		}
		for (fmt++; *fmt == '-' || *fmt == '0'; fmt++) {
			if (*fmt == '-')
				left = true;
			else
				pad = '0';
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			fmt++;
		}
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		for (; *fmt == 'l' || *fmt == 'z'; fmt++)
			lng++;
		if (left)
			pad = ' ';

		switch (*fmt) {
		case 'd':
		case 'i':
			d = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			n = 0;
			if (d < 0)
				num[n++] = '-';
			n += format_u64(num + n, d < 0 ? -(uint64_t)d : (uint64_t)d, 10, false);
			put_padded(s, num, n, width, left, pad);
			break;
		case 'u':
		case 'x':
		case 'X':
			u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
			n = format_u64(num, u, *fmt == 'u' ? 10 : 16, *fmt == 'X');
			put_padded(s, num, n, width, left, pad);
			break;
		case 'p':
			num[0] = '0';
			num[1] = 'x';
			n = 2 + format_u64(num + 2, (uintptr_t)va_arg(ap, void *), 16, false);
			put_padded(s, num, n, width, left, ' ');
			break;
		case 'c':
			num[0] = (char)va_arg(ap, int);
			put_padded(s, num, 1, width, left, ' ');
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);

			if (!str)
				str = "(null)";
			put_padded(s, str, strlen(str), width, left, ' ');
			break;
		}
		case '%':
			sink_put(s, '%');
			break;
		case '\0':
			return;
		default:
			sink_put(s, '%');
			sink_put(s, *fmt);
			break;
		}
	}
}

int rt_vprintf(const char *fmt, va_list ap)
{
	struct sink s;

	/* not `= { 0 }`: zeroing the line buffer costs instructions an emulator pays for */
	s.size = 0;
	s.pos = 0;
	s.nline = 0;
	format(&s, fmt, ap);
	sink_flush(&s);
	return (int)s.pos;
}

int rt_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = rt_vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s;

	s.buf = buf;
	s.size = size;
	s.pos = 0;
	if (size == 0) {
		/* a sink with size 0 is the serial port: count only */
		static char dummy;

		s.buf = &dummy;
		s.size = 1;
	}
	format(&s, fmt, ap);
	if (size)
		buf[s.pos < size ? s.pos : size - 1] = '\0';
	return (int)s.pos;
}

int rt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = rt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
