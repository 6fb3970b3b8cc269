/* plateaus.c: plateau and jump detection on any monitored scalar series (see observe.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "saddle/alloc.h"
#include "saddle/observe.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

sd_status sd_plateaus_detect(const sd_metrics *m, const char *metric, double max_slope, double min_span,
                             sd_plateau **out, size_t *n) {
  *out = NULL;
  *n = 0;
  long col = sd_metrics_col(m, metric);
  if (col < 0) return sd_error(SD_ERR_CONFIG, "plateaus.metric: no metric '%s' in this run", metric);
  size_t rows = sd_metrics_rows(m);
  /* usable rows: t > 0, y > 0 and finite, in log coordinates */
  double *lt = sd_malloc((rows + 1) * sizeof *lt), *ly = sd_malloc((rows + 1) * sizeof *ly),
         *tmp = sd_malloc((rows + 1) * sizeof *tmp);
  sd_plateau *pl = sd_calloc(rows / 2 + 1, sizeof *pl);
  if (!lt || !ly || !tmp || !pl) {
    sd_free(lt), sd_free(ly), sd_free(tmp), sd_free(pl);
    return sd_error(SD_ERR_NOMEM, "out of memory");
  }
  size_t u = 0;
  for (size_t r = 0; r < rows; r++) {
    double t = sd_metrics_at(m, r, 1), y = sd_metrics_at(m, r, (size_t)col);
    if (t > 0 && y > 0 && isfinite(y) && isfinite(t)) lt[u] = log(t), ly[u] = log(y), u++;
  }
  size_t np = 0;
  size_t i = 0;
  while (i + 1 < u) {
    size_t j = i;
    while (j + 1 < u && fabs((ly[j + 1] - ly[j]) / (lt[j + 1] - lt[j])) < max_slope) j++;
    if (j > i && lt[j] - lt[i] >= log(min_span)) {
      for (size_t k = i; k <= j; k++) tmp[k - i] = ly[k];
      qsort(tmp, j - i + 1, sizeof *tmp, cmp_double);
      pl[np].t_start = exp(lt[i]);
      pl[np].t_end = exp(lt[j]);
      pl[np].level = exp(tmp[(j - i) / 2]);
      pl[np].jump_t = (double)j; /* the row where it ended, until the jumps are found below */
      np++;
    }
    i = j > i ? j : i + 1;
  }
  /* jumps: halfway (in y) from each plateau's level to the next level, or to the last value */
  for (size_t k = 0; k < np; k++) {
    size_t end = (size_t)pl[k].jump_t;
    double from = pl[k].level, to = k + 1 < np ? pl[k + 1].level : exp(ly[u - 1]);
    pl[k].has_jump = 0;
    pl[k].jump_t = NAN;
    if (fabs(to - from) < 0.1 * from) continue; /* the run ends on this plateau */
    double mid = 0.5 * (from + to);
    for (size_t r = end + 1; r < u; r++) {
      double y0 = exp(ly[r - 1]), y1 = exp(ly[r]);
      if ((to < from && y1 <= mid) || (to > from && y1 >= mid)) {
        double f = y1 != y0 ? (mid - y0) / (y1 - y0) : 0.0;
        pl[k].jump_t = exp(lt[r - 1] + f * (lt[r] - lt[r - 1]));
        pl[k].has_jump = 1;
        break;
      }
    }
  }
  sd_free(lt), sd_free(ly), sd_free(tmp);
  *out = pl;
  *n = np;
  return SD_OK;
}
