/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the capture tests (ksalloc_capture_test, ksalloc_edu_test) share that
 * asserts: it takes kselftest_harness.h's macros, included before this.
 */
#ifndef KSALLOC_CAPTURE_HARNESS_H
#define KSALLOC_CAPTURE_HARNESS_H

#include "ksalloc_test_util.h"

/* GET_COUNTERS, asserting that it works and that the invariants hold. */
static inline struct ksalloc_capture_counters counters(struct __test_metadata *_metadata, int cap)
{
	struct ksalloc_capture_counters c;

	EXPECT_EQ(0, get_counters(cap, &c));
	EXPECT_EQ(c.produced, c.delivered + c.dropped + c.in_flight)
		TH_LOG("produced %llu delivered %llu dropped %llu in_flight %u",
		       (unsigned long long)c.produced, (unsigned long long)c.delivered,
		       (unsigned long long)c.dropped, c.in_flight);
	EXPECT_GE(1U, c.streaming);
	return c;
}

#endif /* KSALLOC_CAPTURE_HARNESS_H */
