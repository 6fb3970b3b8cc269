/* alloc.c: allocation with a failure-injection hook and a counter (see alloc.h). */
#include "saddle/alloc.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown = 0;
static atomic_ulong n_allocs = 0;
static atomic_llong live_bytes = 0, peak_bytes = 0; /* signed: a foreign block freed here only lowers it */

long long sd_alloc_live_bytes(void) { return atomic_load(&live_bytes); }
long long sd_alloc_peak_bytes(void) { return atomic_load(&peak_bytes); }
void sd_alloc_reset_peak(void) { atomic_store(&peak_bytes, atomic_load(&live_bytes)); }

/* Accounts a block (its usable size) as allocated (+) or about to be freed (-). */
static void *account_new(void *p) {
  if (!p) return NULL;
  long long sz = (long long)malloc_usable_size(p), now = atomic_fetch_add(&live_bytes, sz) + sz;
  long long peak = atomic_load(&peak_bytes);
  while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now)) {
  }
  return p;
}
static void account_free(void *p) {
  if (p) atomic_fetch_sub(&live_bytes, (long long)malloc_usable_size(p));
}

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
  return account_new(malloc(bytes ? bytes : 1));
}

void *sd_calloc(size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return NULL;
  if (should_fail()) return NULL;
  return account_new(calloc(count ? count : 1, size ? size : 1));
}

void *sd_realloc(void *p, size_t bytes) {
  if (should_fail()) return NULL;
  long long old = p ? (long long)malloc_usable_size(p) : 0;
  void *q = realloc(p, bytes ? bytes : 1);
  if (!q) return NULL;
  atomic_fetch_sub(&live_bytes, old);
  return account_new(q);
}

void sd_free(void *p) {
  account_free(p);
  free(p);
}

char *sd_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = sd_malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}
