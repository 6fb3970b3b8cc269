/* test_memory.c: memory estimates at prepare time (run.max_memory): a config that cannot fit is refused with
 * SD_ERR_CONFIG naming its keys before anything large is allocated, and each problem's estimate is close to the
 * heap its create() really takes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "helpers.h"
#include "saddle/alloc.h"

#define EXAMPLE SADDLE_SOURCE_DIR "/examples/stoger21-phases.yaml"

static sd_status prepare(char **ov, size_t n, sd_experiment **e, long long *grew) {
#if !defined(__SANITIZE_ADDRESS__)
  /* a refusal that fails must fail small, not take the machine: 4 GB of address space (Criterion forks each test) */
  struct rlimit lim = {4000000000ul, 4000000000ul};
  setrlimit(RLIMIT_AS, &lim);
#endif
  long long before = sd_alloc_live_bytes();
  sd_alloc_reset_peak();
  sd_status rc = sd_experiment_prepare(EXAMPLE, n, ov, e);
  *grew = sd_alloc_peak_bytes() - before;
  return rc;
}

Test(memory, huge_sensing_refused_before_allocating) {
  char *ov[] = {"problem.n=40000", "problem.width=2", "problem.measurements=1"};
  sd_experiment *e = NULL;
  long long grew;
  sd_status rc = prepare(ov, 3, &e, &grew);
  cr_assert_eq(rc, SD_ERR_CONFIG, "rc %d: %s", rc, sd_error_message());
  cr_assert_null(e);
  const char *msg = sd_error_message();
  cr_assert(strstr(msg, "problem.n") && strstr(msg, "run.max_memory"), "%s", msg);
  cr_assert_lt(grew, 64ll << 20, "prepare allocated %lld bytes before refusing", grew);
}

/* n = 3000, m = 1000: the packed operator alone is 3000·3001/2·1000 doubles ≈ 36 GB (used to fail with exit 1,
 * out of memory, naming no key). run.max_memory given so the test never depends on the machine's memory. */
Test(memory, large_operator_refused_naming_measurements) {
  char *ov[] = {"problem.n=3000", "problem.measurements=1000", "run.max_memory=8e9"};
  sd_experiment *e = NULL;
  long long grew;
  sd_status rc = prepare(ov, 3, &e, &grew);
  cr_assert_eq(rc, SD_ERR_CONFIG, "rc %d: %s", rc, sd_error_message());
  const char *msg = sd_error_message();
  cr_assert(strstr(msg, "problem.n=3000") && strstr(msg, "problem.measurements=1000") && strstr(msg, "GB"), "%s", msg);
  cr_assert_lt(grew, 64ll << 20, "prepare allocated %lld bytes before refusing", grew);
}

Test(memory, tiny_max_memory_refuses_a_bundled_config) {
  char *ov[] = {"run.max_memory=1000"};
  sd_experiment *e = NULL;
  long long grew;
  sd_status rc = prepare(ov, 1, &e, &grew);
  cr_assert_eq(rc, SD_ERR_CONFIG, "rc %d", rc);
  /* named at the driving key's place in the file */
  cr_assert(strstr(sd_error_message(), "stoger21-phases.yaml:") && strstr(sd_error_message(), "problem.n=20") &&
                strstr(sd_error_message(), "run.max_memory (1000 B)"),
            "%s", sd_error_message());
}

Test(memory, bundled_config_fits_by_default) {
  sd_experiment *e = NULL;
  long long grew;
  cr_assert_eq(prepare(NULL, 0, &e, &grew), SD_OK, "%s", sd_error_message());
  sd_experiment_free(&e);
}

Test(memory, negative_max_memory_is_a_config_error) {
  char *ov[] = {"run.max_memory=-1"};
  sd_experiment *e = NULL;
  long long grew;
  cr_assert_eq(prepare(ov, 1, &e, &grew), SD_ERR_CONFIG);
  cr_assert(strstr(sd_error_message(), "run.max_memory"), "%s", sd_error_message());
}

/* The estimate of create() against the heap it takes at its peak. */
static void check_estimate(const char *yaml, const char *label) {
  sd_config *cfg = NULL;
  cr_assert_eq(sd_config_load_string("test.yaml", yaml, &cfg), SD_OK, "%s", sd_error_message());
  const sd_param *base;
  size_t nb = sd_base_params(&base);
  const sd_problem_class *pc = sd_problem_class_find(sd_config_peek(cfg, "problem.kind"));
  cr_assert_not_null(pc);
  cr_assert_not_null(pc->memory, "%s has no memory estimate", pc->kind);
  static sd_param arr[8];
  size_t na = 0;
  for (const char *const *a = pc->arrays; *a; a++, na++) arr[na] = (sd_param){*a, SD_T_PATH, "", SD_NO_BOUNDS, NULL, ""};
  const sd_dynamics_class *dc = sd_dynamics_class_find("gd");
  sd_config_add_schema(cfg, "", base, nb);
  sd_config_add_schema(cfg, "problem.", pc->params, pc->n_params);
  sd_config_add_schema(cfg, "init.", pc->init_params, pc->n_init_params);
  sd_config_add_schema(cfg, "arrays.", arr, na);
  sd_config_add_schema(cfg, "dynamics.", dc->params, dc->n_params);
  cr_assert_eq(sd_config_resolve(cfg), SD_OK, "%s", sd_error_message());
  sd_arrays *arrays = NULL;
  cr_assert_eq(sd_arrays_create(cfg, &arrays), SD_OK);
  const char *keys = NULL;
  double dim = 0;
  double est = pc->memory(cfg, &dim, &keys);
  cr_assert(keys && strstr(keys, "problem."), "%s: keys %s", label, keys ? keys : "(none)");
  long long before = sd_alloc_live_bytes();
  sd_alloc_reset_peak();
  sd_problem *p = NULL;
  cr_assert_eq(pc->create(cfg, 0, arrays, &p), SD_OK, "%s", sd_error_message());
  double peak = (double)(sd_alloc_peak_bytes() - before), held = (double)(sd_alloc_live_bytes() - before);
  cr_log_info("memory estimate %-28s estimate %12.0f  peak %12.0f  held %12.0f  ratio %.2f  (keys: %s)", label, est, peak,
              held, est / peak, keys);
  fprintf(stderr, "memory estimate %-28s estimate %12.0f  peak %12.0f  held %12.0f  ratio %.2f  (keys: %s)\n", label, est,
          peak, held, est / peak, keys);
  cr_assert_eq(dim, (double)p->dim, "%s: dim %g, create gave %zu", label, dim, p->dim);
  cr_assert(est >= 0.5 * peak && est <= 2.0 * peak, "%s: estimate %.0f bytes, create peaked at %.0f", label, est, peak);
  sd_problem_free(&p);
  sd_arrays_free(&arrays);
  sd_config_free(&cfg);
}

Test(memory, sensing_estimate) {
  check_estimate("problem: {kind: sensing, n: 60, rank: 3, width: 60, measurements: 2000}\n", "sensing packed");
}
Test(memory, sensing_full_estimate) {
  check_estimate("problem: {kind: sensing, n: 40, rank: 2, width: 10, measurements: 1000, storage: full}\n", "sensing full");
}
Test(memory, sensing_wide_estimate) {
  check_estimate("problem: {kind: sensing, n: 300, rank: 2, width: 300, measurements: 20}\n", "sensing n-dominated");
}
Test(memory, asym_gaussian_estimate) {
  check_estimate("problem: {kind: asym, rows: 100, cols: 80, rank: 5, width: 10, operator: gaussian, measurements: 500}\n",
                 "asym gaussian");
}
Test(memory, asym_identity_estimate) {
  check_estimate("problem: {kind: asym, rows: 300, cols: 200, rank: 5, width: 10, twin_shift: 1}\n", "asym identity twin");
}
Test(memory, symfact_estimate) {
  char yaml[8192];
  int len = snprintf(yaml, sizeof yaml, "problem: {kind: symfact, n: 300, rank: 10, eigenvalues: [1, 0.5, 0.3");
  for (int i = 3; i < 300; i++) len += snprintf(yaml + len, sizeof yaml - (size_t)len, ", %s", i < 200 ? "0" : "-0.1");
  snprintf(yaml + len, sizeof yaml - (size_t)len, "]}\n");
  check_estimate(yaml, "symfact");
}
Test(memory, deeplinear_estimate) {
  check_estimate("problem: {kind: deeplinear, inputs: 300, hidden: 200, outputs: 250, singular_values: [3, 2, 1]}\n",
                 "deeplinear");
}
Test(memory, chain_estimate) { check_estimate("problem: {kind: chain, depth: 64}\ninit: {scale: 0.5}\n", "chain"); }
Test(memory, quadratic_estimate) { check_estimate("problem: {kind: quadratic, d: 500}\n", "quadratic"); }

static int saddle(const char *args, char *out, size_t len) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "OPENBLAS_NUM_THREADS=1 %s %s 2>&1", SADDLE_BINARY, args);
  return th_sh(cmd, out, len);
}

Test(memory, cli_exits_2_naming_the_keys) {
  char *d = th_tmpdir();
  char args[1024], out[4096];
  snprintf(args, sizeof args, "run %s -q -o %s/a problem.n=40000 problem.width=2 problem.measurements=1", EXAMPLE, d);
  cr_assert_eq(saddle(args, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "problem.n=40000") && strstr(out, "run.max_memory"), "%s", out);
  snprintf(args, sizeof args, "run %s -q -o %s/b problem.n=3000 problem.measurements=1000 run.max_memory=8e9", EXAMPLE, d);
  cr_assert_eq(saddle(args, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "problem.measurements=1000"), "%s", out);
  th_rmtmp(d);
}
