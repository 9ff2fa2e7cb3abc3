// SPDX-License-Identifier: GPL-2.0
/* Error buffer: first cause wins, context is prepended, extras appended. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errbuf.h"

void vfmig_err_clear(struct vfmig_err *e)
{
	if (!e)
		return;
	e->code = 0;
	e->msg[0] = '\0';
}

int vfmig_err_set(struct vfmig_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (code > 0)
		code = -code;
	if (code == 0)
		code = -EIO;
	if (!e || e->code)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

void vfmig_err_prefix(struct vfmig_err *e, const char *fmt, ...)
{
	char pre[VFMIG_ERR_MAX];
	size_t plen, mlen;
	va_list ap;

	if (!e || !e->code)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	plen = strlen(pre);
	mlen = strlen(e->msg);
	if (plen >= sizeof(e->msg) - 1)
		plen = sizeof(e->msg) - 1;
	if (plen + mlen >= sizeof(e->msg))
		mlen = sizeof(e->msg) - 1 - plen;
	memmove(e->msg + plen, e->msg, mlen);
	memcpy(e->msg, pre, plen);
	e->msg[plen + mlen] = '\0';
}

void vfmig_err_append(struct vfmig_err *e, const char *fmt, ...)
{
	size_t len;
	va_list ap;

	if (!e || !e->code)
		return;
	len = strlen(e->msg);
	if (len + 3 >= sizeof(e->msg))
		return;
	memcpy(e->msg + len, "; ", 3);
	len += 2;
	va_start(ap, fmt);
	vsnprintf(e->msg + len, sizeof(e->msg) - len, fmt, ap);
	va_end(ap);
}
