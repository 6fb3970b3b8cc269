/* meter.c: see meter.h. */
#include "meter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "heap_count.h"
#include "saddle/alloc.h"

double meter_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Runs one batch of reps calls (after the plan's untimed call); counts the allocations made from its first call
 * to its last. */
static double run_batch(const meter_plan *plan, meter *t, long reps) {
  if (t->reset) t->reset(t->ctx);
  unsigned long h0 = heap_count(), l0 = sd_alloc_count();
  if (plan->warm_call) {
    t->fn(t->ctx);
    t->calls++;
  }
  double t0 = meter_now();
  for (long i = 0; i < reps; i++) t->fn(t->ctx);
  double dt = meter_now() - t0;
  t->heap_allocs += heap_count() - h0;
  t->lib_allocs += sd_alloc_count() - l0;
  t->calls += (unsigned long)reps;
  return dt;
}

/* The repetitions per batch, from trial batches that also warm caches and OpenBLAS up. */
static void calibrate(const meter_plan *plan, meter *t) {
  long reps = 1;
  if (!plan->stretch) {
    while (run_batch(plan, t, reps) < plan->batch_s) reps *= 2;
    t->reps = reps;
    return;
  }
  double dt;
  while ((dt = run_batch(plan, t, reps)) < plan->batch_s / 4) reps *= 2;
  t->reps = (long)ceil(plan->batch_s * (double)reps / dt);
}

void meter_measure(const meter_plan *plan, meter *ts, int k) {
  for (int j = 0; j < k; j++) calibrate(plan, &ts[j]);
  for (int b = 0; b < plan->batches; b++)
    for (int j = 0; j < k; j++) ts[j].secs[b] = run_batch(plan, &ts[j], ts[j].reps) / (double)ts[j].reps;
}

meter_stats meter_summarize(const meter_plan *plan, const meter *t) {
  double s[METER_MAX_BATCHES];
  memcpy(s, t->secs, (size_t)plan->batches * sizeof *s);
  qsort(s, (size_t)plan->batches, sizeof *s, cmp_double);
  return (meter_stats){s[0], s[plan->batches - 1]};
}
