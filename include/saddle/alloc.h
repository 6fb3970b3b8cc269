/* alloc.h: the one allocator of libsaddle. Tests can make the N-th allocation fail to prove that every
 * failure path returns SD_ERR_NOMEM and leaves nothing half-written. */
#ifndef SADDLE_ALLOC_H
#define SADDLE_ALLOC_H

#include <stddef.h>

/* Same contracts as malloc/calloc/realloc/free; the caller owns what they return. Sizes of zero return a
 * valid unique pointer. Counts overflow-checked (calloc-style). */
void *sd_malloc(size_t bytes);
void *sd_calloc(size_t count, size_t size);
void *sd_realloc(void *p, size_t bytes);
void sd_free(void *p);
char *sd_strdup(const char *s);

/* Test hook: the n-th allocation from now (1 = the next) returns NULL; n <= 0 disables. */
void sd_alloc_fail_after(long n);
/* Number of allocations made through this module since start (for "no allocation in the loop" checks). */
unsigned long sd_alloc_count(void);
/* Bytes now held in blocks from this module (their usable sizes), and the most held at once since start or
 * since the last sd_alloc_reset_peak (for checking memory estimates). */
long long sd_alloc_live_bytes(void);
long long sd_alloc_peak_bytes(void);
void sd_alloc_reset_peak(void);

#endif
