/* heap_count.c: counts every heap allocation of a bench process, for "no allocation in the step loop". */
#include "heap_count.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

/* The executable's definitions win over glibc's for every shared library (OpenBLAS, libfyaml, libc itself);
 * glibc keeps its allocator reachable as __libc_*. Everything forwards there, so mixing with glibc is safe. */

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static atomic_ulong heap_allocs;

void *malloc(size_t n) {
  atomic_fetch_add_explicit(&heap_allocs, 1, memory_order_relaxed);
  return __libc_malloc(n);
}
void *calloc(size_t k, size_t n) {
  atomic_fetch_add_explicit(&heap_allocs, 1, memory_order_relaxed);
  return __libc_calloc(k, n);
}
void *realloc(void *p, size_t n) {
  atomic_fetch_add_explicit(&heap_allocs, 1, memory_order_relaxed);
  return __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }
/* The aligned family too: BLAS libraries like aligned buffers. */
void *memalign(size_t align, size_t n);
void *memalign(size_t align, size_t n) {
  atomic_fetch_add_explicit(&heap_allocs, 1, memory_order_relaxed);
  return __libc_memalign(align, n);
}
void *aligned_alloc(size_t align, size_t n) { return memalign(align, n); }
int posix_memalign(void **out, size_t align, size_t n) {
  if (align < sizeof(void *) || (align & (align - 1))) return EINVAL;
  void *p = memalign(align, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

unsigned long heap_count(void) { return atomic_load_explicit(&heap_allocs, memory_order_relaxed); }
