/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel definitions kernel/payload_parse.c uses, for its host build
 * (fuzz target, unit test).  crc32 comes from zlib and xxh64 from libxxhash;
 * tests/unit/test_payload.c checks both against the kernel's conventions:
 *
 *  - crc32_le(seed, p, n) in the kernel is the reflected CRC-32 (polynomial
 *    0xedb88320) run from @seed with no inversion on either end; zlib's
 *    crc32(c, p, n) inverts on entry and exit, so
 *    crc32_le(seed, p, n) == ~crc32(~seed, p, n).
 *  - the kernel's xxh64()/xxh64_reset/update/digest are XXH64 with the
 *    same seed, one-shot and streaming, as libxxhash's XXH64*().
 */
#ifndef VFMIG_PAYLOAD_HOST_H
#define VFMIG_PAYLOAD_HOST_H

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <linux/types.h>	/* __le16, __le32, __le64 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY	/* XXH64_state_t's layout, for stack states */
#include <xxhash.h>
#include <zlib.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#define __packed	__attribute__((packed))

#define le16_to_cpu(x)	le16toh(x)
#define le32_to_cpu(x)	le32toh(x)
#define le64_to_cpu(x)	le64toh(x)
#define cpu_to_le16(x)	htole16(x)
#define cpu_to_le32(x)	htole32(x)
#define cpu_to_le64(x)	htole64(x)

/* x86-64, as the kernels vfmig builds for. */
#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_ALIGNED(x)	(((x) & (PAGE_SIZE - 1)) == 0)

#define min_t(type, a, b)	((type)(a) < (type)(b) ? (type)(a) : (type)(b))

static inline u32 crc32_le(u32 seed, const u8 *p, size_t len)
{
	return ~(u32)crc32_z(~seed & 0xffffffffu, p, len);
}

static inline u64 xxh64(const void *p, size_t len, u64 seed)
{
	return XXH64(p, len, seed);
}

/* The kernel's non-atomic bit operations on unsigned long arrays. */
#define BITS_PER_LONG	(8 * sizeof(unsigned long))
static inline void __set_bit(u64 nr, unsigned long *map)
{
	map[nr / BITS_PER_LONG] |= 1UL << (nr % BITS_PER_LONG);
}

static inline void __clear_bit(u64 nr, unsigned long *map)
{
	map[nr / BITS_PER_LONG] &= ~(1UL << (nr % BITS_PER_LONG));
}

static inline bool test_bit(u64 nr, const unsigned long *map)
{
	return map[nr / BITS_PER_LONG] >> (nr % BITS_PER_LONG) & 1;
}

/* find_next_bit()/find_next_zero_bit(): @size when there is none from @off. */
static inline unsigned long find_next_bit(const unsigned long *map, unsigned long size,
					  unsigned long off)
{
	while (off < size && !test_bit(off, map))
		off++;
	return off < size ? off : size;
}

static inline unsigned long find_next_zero_bit(const unsigned long *map, unsigned long size,
					       unsigned long off)
{
	while (off < size && test_bit(off, map))
		off++;
	return off < size ? off : size;
}

static inline void bitmap_set(unsigned long *map, unsigned int start, unsigned int n)
{
	for (unsigned int i = start; i < start + n; i++)
		__set_bit(i, map);
}

static inline void bitmap_clear(unsigned long *map, unsigned int start, unsigned int n)
{
	for (unsigned int i = start; i < start + n; i++)
		__clear_bit(i, map);
}

/* The first byte of @p that is not @c, or NULL. */
static inline const void *memchr_inv(const void *p, int c, size_t len)
{
	const u8 *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i] != (u8)c)
			return b + i;
	return NULL;
}

/* No page hasher on the host (kernel/hasher.c): the parser hashes in place. */
struct vfmig_hasher;

static inline bool vfmig_hasher_queue(struct vfmig_hasher *h __attribute__((unused)),
				      u64 first __attribute__((unused)),
				      u64 n __attribute__((unused)),
				      bool bytes_only __attribute__((unused)))
{
	return false;
}

static inline bool vfmig_hasher_zero(struct vfmig_hasher *h __attribute__((unused)),
				     u8 *dst __attribute__((unused)),
				     u64 n __attribute__((unused)))
{
	return false;
}

static inline void vfmig_hasher_drain(struct vfmig_hasher *h __attribute__((unused)))
{
}

#define xxh64_state	XXH64_state_s
#define xxh64_reset(st, seed)		XXH64_reset((st), (seed))
#define xxh64_update(st, p, len)	XXH64_update((st), (p), (len))
#define xxh64_digest(st)		XXH64_digest(st)

#endif /* VFMIG_PAYLOAD_HOST_H */
