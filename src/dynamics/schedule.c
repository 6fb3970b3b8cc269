/* schedule.c: learning-rate schedules and gradient clipping shared by the discrete dynamics. */
#include <cblas.h>
#include <math.h>

#include "saddle/dynamics.h"

double sd_lr_factor(const sd_lr_schedule *s, long k) {
  if (s->warmup > 0 && k < s->warmup) return (double)(k + 1) / (double)s->warmup;
  long j = k - (s->warmup > 0 ? s->warmup : 0); /* steps since the warm-up ended */
  switch (s->kind) {
    case SD_LR_CONSTANT:
      return 1.0;
    case SD_LR_STEP:
      return pow(s->step_factor, (double)(j / s->step_every));
    case SD_LR_COSINE: {
      long span = s->max_steps - (s->warmup > 0 ? s->warmup : 0);
      double x = span > 0 ? (double)j / (double)span : 1.0;
      if (x > 1) x = 1;
      return s->min_factor + 0.5 * (1.0 - s->min_factor) * (1.0 + cos(M_PI * x));
    }
  }
  return 1.0;
}

double sd_clip_gradient(double *g, size_t n, double max_norm) {
  if (max_norm <= 0) return NAN; /* off: no pass over g (it shows on small problems) */
  double norm = cblas_dnrm2((int)n, g, 1);
  if (norm > max_norm) cblas_dscal((int)n, max_norm / norm, g, 1);
  return norm;
}
