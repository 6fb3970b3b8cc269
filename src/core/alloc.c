/* alloc.c: allocation with a failure-injection hook and a counter (see alloc.h). */
#include "saddle/alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown = 0;
static atomic_ulong n_allocs = 0;

void sd_alloc_fail_after(long n) { atomic_store(&fail_countdown, n > 0 ? n : 0); }
unsigned long sd_alloc_count(void) { return atomic_load(&n_allocs); }

static int should_fail(void) {
  atomic_fetch_add(&n_allocs, 1);
  long c = atomic_load(&fail_countdown);
  if (c <= 0) return 0;
  c = atomic_fetch_sub(&fail_countdown, 1);
  return c == 1;
}

void *sd_malloc(size_t bytes) {
  if (should_fail()) return NULL;
  return malloc(bytes ? bytes : 1);
}

void *sd_calloc(size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return NULL;
  if (should_fail()) return NULL;
  return calloc(count ? count : 1, size ? size : 1);
}

void *sd_realloc(void *p, size_t bytes) {
  if (should_fail()) return NULL;
  return realloc(p, bytes ? bytes : 1);
}

void sd_free(void *p) { free(p); }

char *sd_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = sd_malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}
