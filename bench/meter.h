/* meter.h: timing of bench calls in interleaved batches, with the heap allocations they make counted. */
#ifndef SADDLE_BENCH_METER_H
#define SADDLE_BENCH_METER_H

enum { METER_MAX_BATCHES = 16 };

/* How a bench times: batches per measurement, about how long each lasts, and two choices of its own. */
typedef struct {
  int batches;    /* timed batches per measurement (≤ METER_MAX_BATCHES) */
  double batch_s; /* seconds a batch should last */
  int warm_call;  /* 1: one untimed call before each batch, so that a batch measures back-to-back calls, not the
                   * caches the other meters left behind */
  int stretch;    /* calibration. 1: double the repetitions until a trial batch lasts batch_s/4, then stretch
                   * them to batch_s; 0: double until a trial lasts batch_s */
} meter_plan;

/* One thing to time: fn(ctx) once per repetition; per-repetition seconds of each batch in secs. */
typedef struct {
  void (*fn)(void *);
  void *ctx;
  void (*reset)(void *); /* before each batch, outside the clock (NULL: none) */
  long reps;
  double secs[METER_MAX_BATCHES];
  unsigned long lib_allocs, heap_allocs, calls; /* inside the batches (and calibration), all summed */
} meter;

/* Per-repetition seconds of a meter's batches: the best (the headline: on a shared machine interference only
 * ever adds time, so the fastest batch is the least disturbed one) and the slowest (to show the noise). */
typedef struct {
  double best, worst;
} meter_stats;

double meter_now(void);
/* Calibrates each of the k meters, then times them in interleaved batches, so that load from elsewhere on the
 * machine hits all of them alike. */
void meter_measure(const meter_plan *plan, meter *ts, int k);
meter_stats meter_summarize(const meter_plan *plan, const meter *t);

#endif
