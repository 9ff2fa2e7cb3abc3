/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Error buffer shared by the migration engine layers.
 *
 * The lowest layer that sees a failure records the cause ("read
 * pending_bytes at 0x8: Input/output error"); callers above prepend what
 * they know (device, phase, stream position).  The first error wins so a
 * failing cleanup cannot hide the original cause; later problems are
 * appended.
 */
#ifndef VFMIG_ERRBUF_H
#define VFMIG_ERRBUF_H

#define VFMIG_ERR_MAX 1024

struct vfmig_err {
	int code;		/* negative errno, 0 = no error */
	char msg[VFMIG_ERR_MAX];
};

#define VFMIG_PRINTF(a, b) __attribute__((format(printf, a, b)))

void vfmig_err_clear(struct vfmig_err *e);
/* Record an error unless one is already recorded; returns -|code|. */
int vfmig_err_set(struct vfmig_err *e, int code, const char *fmt, ...) VFMIG_PRINTF(3, 4);
/* Prepend context to the recorded message. */
void vfmig_err_prefix(struct vfmig_err *e, const char *fmt, ...) VFMIG_PRINTF(2, 3);
/* Append "; <text>" to the recorded message (secondary failures). */
void vfmig_err_append(struct vfmig_err *e, const char *fmt, ...) VFMIG_PRINTF(2, 3);

#endif /* VFMIG_ERRBUF_H */
