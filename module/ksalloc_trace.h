/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of ksalloc: events/ksalloc/ in tracefs. Frames are named by
 * their slot (the same number, less one, as their user-space handle), never
 * by address.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ksalloc

#if !defined(_KSALLOC_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _KSALLOC_TRACE_H

#include <linux/tracepoint.h>

DECLARE_EVENT_CLASS(ksalloc_frame,
		    TP_PROTO(unsigned int id, long slot, unsigned int allocated),
		    TP_ARGS(id, slot, allocated),
		    TP_STRUCT__entry(__field(unsigned int, id)
				     __field(long, slot)
				     __field(unsigned int, allocated)),
		    TP_fast_assign(__entry->id = id;
				   __entry->slot = slot;
				   __entry->allocated = allocated;),
		    TP_printk("ksalloc-%u slot=%ld allocated=%u",
			      __entry->id, __entry->slot, __entry->allocated)
);

/* A frame taken; slot -1: refused (no free frame). */
DEFINE_EVENT(ksalloc_frame, ksalloc_allocate,
	     TP_PROTO(unsigned int id, long slot, unsigned int allocated),
	     TP_ARGS(id, slot, allocated)
);

/* A frame returned, to the free frames or to the oldest pending request. */
DEFINE_EVENT(ksalloc_frame, ksalloc_free,
	     TP_PROTO(unsigned int id, long slot, unsigned int allocated),
	     TP_ARGS(id, slot, allocated)
);

DECLARE_EVENT_CLASS(ksalloc_count,
		    TP_PROTO(unsigned int id, unsigned int count),
		    TP_ARGS(id, count),
		    TP_STRUCT__entry(__field(unsigned int, id)
				     __field(unsigned int, count)),
		    TP_fast_assign(__entry->id = id;
				   __entry->count = count;),
		    TP_printk("ksalloc-%u count=%u", __entry->id, __entry->count)
);

/* A refused free_frame; count: the allocator's misuse events so far. */
DEFINE_EVENT(ksalloc_count, ksalloc_misuse,
	     TP_PROTO(unsigned int id, unsigned int count),
	     TP_ARGS(id, count)
);

/* A request queued until a frame returns; count: requests now waiting. */
DEFINE_EVENT(ksalloc_count, ksalloc_wait,
	     TP_PROTO(unsigned int id, unsigned int count),
	     TP_ARGS(id, count)
);

/* The allocator released; count: frames a kernel client still held (retained). */
DEFINE_EVENT(ksalloc_count, ksalloc_release,
	     TP_PROTO(unsigned int id, unsigned int count),
	     TP_ARGS(id, count)
);

#endif /* _KSALLOC_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE ksalloc_trace
#include <trace/define_trace.h>
