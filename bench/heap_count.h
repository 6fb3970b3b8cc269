/* heap_count.h: every heap allocation of a bench process, counted (heap_count.c interposes malloc & co). */
#ifndef SADDLE_BENCH_HEAP_COUNT_H
#define SADDLE_BENCH_HEAP_COUNT_H

/* Allocations made so far by the whole process: libsaddle, OpenBLAS, libfyaml and libc alike. */
unsigned long heap_count(void);

#endif
