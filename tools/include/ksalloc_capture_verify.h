/* SPDX-License-Identifier: GPL-2.0 */
/* Checking a ksalloc_capture frame's payload against its pattern, in user space. */
#ifndef KSALLOC_CAPTURE_VERIFY_H
#define KSALLOC_CAPTURE_VERIFY_H

#include <endian.h>
#include <string.h>
#include <linux/ksalloc_capture.h>

/* The payload offset of the first byte that breaks the pattern, or -1. */
static inline long long ksalloc_capture_mismatch(const unsigned char *payload,
						 __u32 size, __u64 seq)
{
	__u32 i, words = size / 8;
	__u64 got, want;

	for (i = 0; i < words; i++) {
		memcpy(&got, payload + 8 * i, sizeof(got));
		if (le64toh(got) != ksalloc_capture_pattern(seq, i))
			break;
	}
	/* The first bad word, or the tail of a payload that is not whole words. */
	for (i *= 8; i < size; i++) {
		want = ksalloc_capture_pattern(seq, i / 8) >> (8 * (i % 8));
		if (payload[i] != (unsigned char)want)
			return i;
	}
	return -1;
}

#endif /* KSALLOC_CAPTURE_VERIFY_H */
