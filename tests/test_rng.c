/* test_rng.c: Philox known answers, stream layout, and the uniform/normal conversions. */
#include <Random123/philox.h>
#include <criterion/criterion.h>
#include <math.h>

#include "saddle/rng.h"

/* Known-answer vectors of Philox4x32-10 published with Random123 (kat_vectors). */
Test(rng, philox_known_answers) {
  sd_rng r;
  sd_rng_init(&r, 0, (sd_stream)0, 0);
  const uint32_t zero[4] = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};
  for (int i = 0; i < 4; i++) cr_assert_eq(sd_rng_u32(&r), zero[i], "word %d", i);

  sd_rng_init(&r, 0xffffffffffffffffull, (sd_stream)0xffffffff, 0xffffffff);
  r.ctr[0] = r.ctr[1] = 0xffffffff;
  const uint32_t ones[4] = {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd};
  for (int i = 0; i < 4; i++) cr_assert_eq(sd_rng_u32(&r), ones[i], "word %d", i);

  /* key {a4093822, 299f31d0} is seed 0x299f31d0a4093822 (key[0] holds the low half) */
  sd_rng_init(&r, 0x299f31d0a4093822ull, (sd_stream)0x13198a2e, 0x03707344);
  r.ctr[0] = 0x243f6a88;
  r.ctr[1] = 0x85a308d3;
  const uint32_t pi[4] = {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1};
  for (int i = 0; i < 4; i++) cr_assert_eq(sd_rng_u32(&r), pi[i], "word %d", i);
}

Test(rng, counter_advances_and_streams_differ) {
  sd_rng a;
  sd_rng_init(&a, 42, SD_STREAM_INIT, 7);
  for (int i = 0; i < 4; i++) sd_rng_u32(&a);
  /* the second block is Philox at block counter 1 with purpose and index in the upper words */
  philox4x32_ctr_t c = {{1, 0, SD_STREAM_INIT, 7}};
  philox4x32_key_t k = {{42, 0}};
  philox4x32_ctr_t want = philox4x32(c, k);
  for (int i = 0; i < 4; i++) cr_assert_eq(sd_rng_u32(&a), want.v[i]);

  sd_rng t, d;
  sd_rng_init(&t, 5, SD_STREAM_TRUTH, 0);
  sd_rng_init(&d, 5, SD_STREAM_DATA, 0);
  cr_assert_neq(sd_rng_u64(&t), sd_rng_u64(&d));
}

Test(rng, uniform_uses_the_top_53_bits_of_two_words) {
  sd_rng r;
  sd_rng_init(&r, 0, (sd_stream)0, 0);
  uint64_t w = ((uint64_t)0xe169c58d << 32) | 0x6627e8d5;
  double want = ((double)(w >> 11) + 0.5) / 9007199254740992.0;
  cr_assert_eq(sd_rng_uniform(&r), want);
}

Test(rng, normal_moments) {
  sd_rng r;
  sd_rng_init(&r, 123, SD_STREAM_DATA, 0);
  const int n = 400000;
  double s1 = 0, s2 = 0, s4 = 0;
  for (int i = 0; i < n; i++) {
    double x = sd_rng_normal(&r);
    s1 += x;
    s2 += x * x;
    s4 += x * x * x * x;
  }
  double mean = s1 / n, var = s2 / n - mean * mean, kurt = s4 / n;
  /* five standard errors: sd(mean) = 1/√n, sd(var) ≈ √(2/n), sd(E x⁴) ≈ √(96/n) */
  cr_assert_lt(fabs(mean), 5 / sqrt(n), "mean %g", mean);
  cr_assert_lt(fabs(var - 1), 5 * sqrt(2.0 / n), "var %g", var);
  cr_assert_lt(fabs(kurt - 3), 5 * sqrt(96.0 / n), "E x^4 %g", kurt);
}
