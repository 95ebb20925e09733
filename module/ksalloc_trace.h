/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of ksalloc: events/ksalloc/ in tracefs. Frames are named by
 * their user-space handle (1 to the number of frames, in no relation to
 * addresses; see pool.c), never by address.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ksalloc

#if !defined(_KSALLOC_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _KSALLOC_TRACE_H

#include <linux/tracepoint.h>

DECLARE_EVENT_CLASS(ksalloc_frame,
		    TP_PROTO(unsigned int id, u32 handle, unsigned int allocated),
		    TP_ARGS(id, handle, allocated),
		    TP_STRUCT__entry(__field(unsigned int, id)
				     __field(u32, handle)
				     __field(unsigned int, allocated)),
		    TP_fast_assign(__entry->id = id;
				   __entry->handle = handle;
				   __entry->allocated = allocated;),
		    TP_printk("ksalloc-%u handle=%u allocated=%u",
			      __entry->id, __entry->handle, __entry->allocated)
);

/* A frame taken; handle 0: refused (no free frame). */
DEFINE_EVENT(ksalloc_frame, ksalloc_allocate,
	     TP_PROTO(unsigned int id, u32 handle, unsigned int allocated),
	     TP_ARGS(id, handle, allocated)
);

/* A frame returned, to the free frames or to the oldest pending request. */
DEFINE_EVENT(ksalloc_frame, ksalloc_free,
	     TP_PROTO(unsigned int id, u32 handle, unsigned int allocated),
	     TP_ARGS(id, handle, allocated)
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
