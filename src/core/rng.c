/* rng.c: Philox streams (see rng.h). */
#include "saddle/rng.h"

#include <Random123/philox.h>
#include <math.h>

void sd_rng_init(sd_rng *rng, uint64_t seed, sd_stream purpose, uint32_t index) {
  rng->key[0] = (uint32_t)seed;
  rng->key[1] = (uint32_t)(seed >> 32);
  rng->ctr[0] = rng->ctr[1] = 0;
  rng->ctr[2] = (uint32_t)purpose;
  rng->ctr[3] = index;
  rng->pos = 4;
  rng->has_spare = 0;
  rng->spare = 0.0;
}

static void refill(sd_rng *rng) {
  philox4x32_ctr_t c = {{rng->ctr[0], rng->ctr[1], rng->ctr[2], rng->ctr[3]}};
  philox4x32_key_t k = {{rng->key[0], rng->key[1]}};
  philox4x32_ctr_t r = philox4x32(c, k);
  for (int i = 0; i < 4; i++) rng->buf[i] = r.v[i];
  rng->pos = 0;
  if (++rng->ctr[0] == 0) ++rng->ctr[1];
}

uint32_t sd_rng_u32(sd_rng *rng) {
  if (rng->pos >= 4) refill(rng);
  return rng->buf[rng->pos++];
}

uint64_t sd_rng_u64(sd_rng *rng) {
  uint64_t lo = sd_rng_u32(rng);
  uint64_t hi = sd_rng_u32(rng);
  return (hi << 32) | lo;
}

double sd_rng_uniform(sd_rng *rng) {
  /* top 53 bits, shifted by half an ulp so that 0 and 1 are never returned (log() below stays finite) */
  return ((double)(sd_rng_u64(rng) >> 11) + 0.5) * 0x1.0p-53;
}

double sd_rng_normal(sd_rng *rng) {
  if (rng->has_spare) {
    rng->has_spare = 0;
    return rng->spare;
  }
  double u1 = sd_rng_uniform(rng), u2 = sd_rng_uniform(rng);
  double rad = sqrt(-2.0 * log(u1));
  double th = 2.0 * M_PI * u2;
  rng->spare = rad * sin(th);
  rng->has_spare = 1;
  return rad * cos(th);
}

void sd_rng_normal_fill(sd_rng *rng, double *x, size_t n, double sigma) {
  for (size_t i = 0; i < n; i++) x[i] = sigma * sd_rng_normal(rng);
}
