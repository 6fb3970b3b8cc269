/* rng.h: counter-based random streams (Philox4x32-10 from Random123).
 *
 * A stream is fully named by (seed, purpose, index): the seed is the Philox key, purpose and index fill
 * the upper two counter words, and the lower two words count 128-bit blocks. Streams with different
 * names never overlap, so adding a new random draw somewhere never shifts another one: the ground truth
 * of seed 3 stays the same whether or not the measurement operator is drawn first. */
#ifndef SADDLE_RNG_H
#define SADDLE_RNG_H

#include <stdint.h>
#include <stddef.h>

/* One documented purpose per stream; never renumber (it would change every past run). */
typedef enum {
  SD_STREAM_TRUTH = 1,     /* ground truth (e.g. U⋆ of matrix sensing) */
  SD_STREAM_DATA = 2,      /* data / measurement operator (e.g. the A_i of sensing) */
  SD_STREAM_INIT = 3,      /* initial parameters */
  SD_STREAM_MINIBATCH = 4, /* minibatch indices of stochastic dynamics */
  SD_STREAM_NOISE = 5      /* label / measurement noise */
} sd_stream;

typedef struct {
  uint32_t key[2];   /* the seed */
  uint32_t ctr[4];   /* ctr[0..1]: block counter, ctr[2]: purpose, ctr[3]: index */
  uint32_t buf[4];   /* current block of output */
  int pos;           /* next unread word of buf (4 = empty) */
  int has_spare;     /* Box–Muller makes normals in pairs */
  double spare;
} sd_rng;

void sd_rng_init(sd_rng *rng, uint64_t seed, sd_stream purpose, uint32_t index);
uint32_t sd_rng_u32(sd_rng *rng);
uint64_t sd_rng_u64(sd_rng *rng);
/* Uniform on the open interval (0, 1), 53 random bits. */
double sd_rng_uniform(sd_rng *rng);
/* Standard normal by Box–Muller on two uniforms. */
double sd_rng_normal(sd_rng *rng);
/* Fills x[0..n) with independent N(0, sigma^2). */
void sd_rng_normal_fill(sd_rng *rng, double *x, size_t n, double sigma);

#endif
