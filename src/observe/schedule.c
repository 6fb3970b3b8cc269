/* schedule.c: observation schedules (see observe.h). */
#include <math.h>

#include "saddle/alloc.h"
#include "saddle/observe.h"

sd_status sd_schedule_log(sd_schedule *s, long max_steps, int per_decade) {
  s->n = s->next = 0;
  double decades = max_steps > 0 ? log10((double)max_steps) : 0.0;
  size_t cap = (size_t)(decades * per_decade) + 4;
  s->steps = sd_malloc(cap * sizeof *s->steps);
  if (!s->steps) return sd_error(SD_ERR_NOMEM, "out of memory for the observation schedule");
  s->steps[s->n++] = 0;
  for (long j = 0; s->n < cap - 1; j++) {
    long k = lround(pow(10.0, (double)j / per_decade));
    if (k >= max_steps) break;
    if (k > s->steps[s->n - 1]) s->steps[s->n++] = k;
  }
  if (max_steps > s->steps[s->n - 1]) s->steps[s->n++] = max_steps;
  return SD_OK;
}

sd_status sd_schedule_every(sd_schedule *s, long max_steps, long k) {
  s->n = s->next = 0;
  size_t cap = (size_t)(max_steps / k) + 2;
  s->steps = sd_malloc(cap * sizeof *s->steps);
  if (!s->steps) return sd_error(SD_ERR_NOMEM, "out of memory for the observation schedule (%zu rows)", cap);
  for (long i = 0; i <= max_steps; i += k) s->steps[s->n++] = i;
  if (s->steps[s->n - 1] != max_steps) s->steps[s->n++] = max_steps;
  return SD_OK;
}

void sd_schedule_free(sd_schedule *s) {
  sd_free(s->steps);
  s->steps = NULL;
  s->n = s->next = 0;
}

int sd_schedule_due(sd_schedule *s, long step) {
  while (s->next < s->n && s->steps[s->next] < step) s->next++;
  if (s->next < s->n && s->steps[s->next] == step) {
    s->next++;
    return 1;
  }
  return 0;
}
