/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the KUnit suites of ksalloc_kunit.ko share.
 */
#ifndef _KSALLOC_KUNIT_H
#define _KSALLOC_KUNIT_H

#include <kunit/test.h>
#include <linux/ksalloc.h>

/* An atomic pool of @frames frames of @size bytes, @alignment a mask. */
static inline struct ksalloc_framing ksalloc_test_framing(u32 frames, u32 size,
							  u32 alignment)
{
	return (struct ksalloc_framing){
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = frames,
		.frame_size = size,
		.alignment = alignment,
	};
}

static inline struct ksalloc_status ksalloc_test_status(struct kunit *test,
							struct file *file)
{
	struct ksalloc_status status;

	KUNIT_ASSERT_EQ(test, 0, ksalloc_get_status(file, &status));
	return status;
}

#endif /* _KSALLOC_KUNIT_H */
