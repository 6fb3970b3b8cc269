/* test_run.c: the run directory contract end to end through the CLI: reproducibility, resolved configs,
 * arrays from files, divergence, interruption, and the bundled slice. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "saddle/alloc.h"

#define EXAMPLE SADDLE_SOURCE_DIR "/examples/stoger21-phases.yaml"

static int saddle(const char *args, char *out, size_t len) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "OPENBLAS_NUM_THREADS=1 %s %s 2>&1", SADDLE_BINARY, args);
  return th_sh(cmd, out, len);
}

Test(run, same_seed_gives_bit_identical_metrics) {
  char *d = th_tmpdir();
  char args[1024], a[600], b[600], c[600], out[4096];
  snprintf(args, sizeof args, "run %s -q -o %s/a run.max_steps=400", EXAMPLE, d);
  cr_assert_eq(saddle(args, out, sizeof out), 0, "%s", out);
  snprintf(args, sizeof args, "run %s -q -o %s/b run.max_steps=400", EXAMPLE, d);
  cr_assert_eq(saddle(args, out, sizeof out), 0, "%s", out);
  snprintf(args, sizeof args, "run %s -q -o %s/c run.max_steps=400 seed=1", EXAMPLE, d);
  cr_assert_eq(saddle(args, out, sizeof out), 0, "%s", out);
  snprintf(a, sizeof a, "%s/a/metrics.csv", d);
  snprintf(b, sizeof b, "%s/b/metrics.csv", d);
  snprintf(c, sizeof c, "%s/c/metrics.csv", d);
  cr_assert(th_same_file(a, b), "two runs with seed 0 differ");
  cr_assert(!th_same_file(a, c), "seeds 0 and 1 gave the same metrics");
  snprintf(a, sizeof a, "%s/a/arrays/U_final.npy", d);
  snprintf(b, sizeof b, "%s/b/arrays/U_final.npy", d);
  cr_assert(th_same_file(a, b), "final parameters differ");
  free(d);
}

Test(run, resolved_config_reruns_bit_identically) {
  char *d = th_tmpdir();
  char args[1024], a[600], b[600], out[4096];
  snprintf(args, sizeof args, "run %s -q -o %s/a run.max_steps=300 seed=7 init.scale=1e-4 dynamics.lr=0.05", EXAMPLE, d);
  cr_assert_eq(saddle(args, out, sizeof out), 0, "%s", out);
  snprintf(args, sizeof args, "run %s/a/config.resolved.yaml -q -o %s/b", d, d);
  cr_assert_eq(saddle(args, out, sizeof out), 0, "%s", out);
  snprintf(a, sizeof a, "%s/a/metrics.csv", d);
  snprintf(b, sizeof b, "%s/b/metrics.csv", d);
  cr_assert(th_same_file(a, b), "rerun of config.resolved.yaml differs");
  snprintf(a, sizeof a, "%s/a/config.resolved.yaml", d);
  snprintf(b, sizeof b, "%s/b/config.resolved.yaml", d);
  cr_assert(th_same_file(a, b), "resolved config is not a fixed point");
  free(d);
}

Test(run, run_directory_contract) {
  char *d = th_tmpdir();
  char args[1024], out[8192], code[4096];
  snprintf(args, sizeof args, "run %s -q -o %s/r run.max_steps=1000 observe.per_decade=20", EXAMPLE, d);
  cr_assert_eq(saddle(args, out, sizeof out), 0, "%s", out);
  cr_assert(strstr(out, "results: "), "%s", out);
  snprintf(code, sizeof code,
           "import json, numpy as np, csv; d = '%s/r'; s = json.load(open(d + '/summary.json'));"
           "assert s['status'] == 'max_steps' and s['steps'] == 1000, s['status'];"
           "assert abs(s['t'] - 100.0) < 1e-12;"
           "assert [p['name'] for p in s['phases']] == ['alignment', 'growth', 'refinement'];"
           "assert 'openblas' in s['versions'] and 'sundials' in s['versions'];"
           "rows = list(csv.reader(open(d + '/metrics.csv'))); h = rows[0];"
           "assert h[:3] == ['step', 't', 'loss'] and 'signal[1]' in h and 'rel_error' in h, h;"
           "steps = [int(r[0]) for r in rows[1:]];"
           "assert steps[0] == 0 and steps[-1] == 1000 and steps == sorted(set(steps)), steps;"
           "assert 45 <= len(steps) <= 62, len(steps);"  /* up to 20 per decade over 3 decades, fewer distinct at small steps */
           "assert float(rows[-1][h.index('loss')]) == s['final']['loss'];"
           "A = np.load(d + '/arrays/A.npy'); assert A.shape == (150, 20, 20) and np.allclose(A, A.transpose(0, 2, 1));"
           "assert np.load(d + '/arrays/U0.npy').shape == (20, 20) and np.load(d + '/arrays/U_star.npy').shape == (20, 2);"
           "assert np.load(d + '/arrays/U_final.npy').shape == (20, 20) and np.load(d + '/arrays/y.npy').shape == (150,);"
           "import os; assert not [f for f in os.listdir(d) + os.listdir(d + '/arrays') if f.endswith('.tmp')];"
           "print('ok')",
           d);
  cr_assert_eq(th_py(code, out, sizeof out), 0, "%s", out);
  free(d);
}

Test(run, arrays_from_files_reproduce_the_trajectory) {
  char *d = th_tmpdir();
  char args[2048], a[600], b[600], out[4096];
  snprintf(args, sizeof args, "run %s -q -o %s/a run.max_steps=300", EXAMPLE, d);
  cr_assert_eq(saddle(args, out, sizeof out), 0, "%s", out);
  /* another seed, but every drawn array given from the first run: the same trajectory */
  snprintf(args, sizeof args,
           "run %s -q -o %s/b run.max_steps=300 seed=99 arrays.A=%s/a/arrays/A.npy arrays.U_star=%s/a/arrays/U_star.npy "
           "arrays.U0=%s/a/arrays/U0.npy",
           EXAMPLE, d, d, d, d);
  cr_assert_eq(saddle(args, out, sizeof out), 0, "%s", out);
  snprintf(a, sizeof a, "%s/a/metrics.csv", d);
  snprintf(b, sizeof b, "%s/b/metrics.csv", d);
  cr_assert(th_same_file(a, b), "metrics differ with the arrays given from files");
  snprintf(a, sizeof a, "%s/b/summary.json", d);
  char *s = th_slurp(a, NULL);
  cr_assert(strstr(s, "\"loaded_from_files\": \"U_star, A, U0\""), "%s", s);
  free(s);
  free(d);
}

Test(run, divergence_stops_cleanly) {
  char *d = th_tmpdir();
  char args[1024], out[4096], code[2048];
  snprintf(args, sizeof args, "run %s -q -o %s/r dynamics.lr=100 init.scale=1", EXAMPLE, d);
  cr_assert_eq(saddle(args, out, sizeof out), 3, "%s", out);
  cr_assert(strstr(out, "diverged"), "%s", out);
  snprintf(code, sizeof code,
           "import json, csv; d = '%s/r'; s = json.load(open(d + '/summary.json'));"
           "assert s['status'] == 'diverged' and s['diverged_at_step'] < 100, s;"
           "assert s['steps'] == s['diverged_at_step'];"
           "rows = list(csv.reader(open(d + '/metrics.csv')));"
           "assert int(rows[-1][0]) == s['diverged_at_step'];"
           "assert rows[-1][2] in ('nan', 'inf'), rows[-1][2];"
           "assert s['final']['loss'] is None;"
           "import numpy as np; np.load(d + '/arrays/U_final.npy'); print('ok')",
           d);
  cr_assert_eq(th_py(code, out, sizeof out), 0, "%s", out);
  free(d);
}

Test(run, sigterm_leaves_valid_files) {
  char *d = th_tmpdir();
  char rd[600];
  snprintf(rd, sizeof rd, "%s/r", d);
  pid_t pid = fork();
  if (pid == 0) {
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    freopen("/dev/null", "w", stdout);
    execl(SADDLE_BINARY, SADDLE_BINARY, "run", EXAMPLE, "-q", "-o", rd, "run.max_steps=1000000000", (char *)NULL);
    _exit(127);
  }
  /* wait until the run is under way (its metrics stream exists), then stop it */
  char tmp[700];
  snprintf(tmp, sizeof tmp, "%s/.metrics.csv.tmp", rd);
  struct stat st;
  for (int i = 0; i < 400 && stat(tmp, &st) != 0; i++) usleep(25000);
  usleep(300000);
  kill(pid, SIGTERM);
  int status;
  waitpid(pid, &status, 0);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 130, "exit status %d", WEXITSTATUS(status));
  char code[2048], out[4096];
  snprintf(code, sizeof code,
           "import json, csv, os; d = '%s'; s = json.load(open(d + '/summary.json'));"
           "assert s['status'] == 'interrupted' and s['steps'] > 0, s['status'];"
           "rows = list(csv.reader(open(d + '/metrics.csv'))); assert int(rows[-1][0]) == s['steps'];"
           "assert not [f for f in os.listdir(d) if f.endswith('.tmp')];"
           "import numpy as np; np.load(d + '/arrays/U_final.npy'); print('ok')",
           rd);
  cr_assert_eq(th_py(code, out, sizeof out), 0, "%s", out);
  free(d);
}

Test(run, reproduce_stoger21_sensing_passes_quickly) {
  char *d = th_tmpdir();
  char args[1024], out[8192];
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  snprintf(args, sizeof args, "reproduce stoger21-phases -q -o %s/r", d);
  int rc = saddle(args, out, sizeof out);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  cr_assert_eq(rc, 0, "%s", out);
  cr_assert(strstr(out, "7 of 7 claims pass"), "%s", out);
  cr_assert(!strstr(out, "FAIL"), "%s", out);
  cr_assert_lt(secs, 30.0, "took %.1f s", secs);
  free(d);
}

Test(run, reproduce_reports_a_failing_claim) {
  /* the same experiment stopped early cannot reach the final error it claims: exit 1 and a FAIL line */
  char *d = th_tmpdir();
  char args[1024], out[8192];
  snprintf(args, sizeof args, "reproduce stoger21-phases -q -o %s/r run.max_steps=150", d);
  cr_assert_eq(saddle(args, out, sizeof out), 1, "%s", out);
  cr_assert(strstr(out, "FAIL  generalizes despite"), "%s", out);
  free(d);
}

Test(run, list_and_help) {
  char out[8192];
  cr_assert_eq(saddle("list", out, sizeof out), 0, "%s", out);
  cr_assert(strstr(out, "stoger21-phases"), "%s", out);
  cr_assert(strstr(out, "Stöger"), "%s", out);
  cr_assert_eq(saddle("--help", out, sizeof out), 0);
  cr_assert(strstr(out, "reproduce"));
  cr_assert_eq(saddle("run --help", out, sizeof out), 0);
  cr_assert(strstr(out, "metrics.csv"));
  cr_assert_eq(saddle("--version", out, sizeof out), 0);
  cr_assert(strstr(out, "saddle 0."), "%s", out);
  cr_assert_eq(saddle("reproduce no-such-experiment", out, sizeof out), 2);
  cr_assert_eq(saddle("frobnicate", out, sizeof out), 2);
}

/* Every allocation failure while preparing an experiment returns SD_ERR_NOMEM and frees what was built
 * (the asan build's leak checker proves the second half). */
Test(run, every_allocation_failure_is_clean) {
  char *over[] = {"run.max_steps=5", "problem.n=6", "problem.measurements=20"};
  sd_experiment *e = NULL;
  /* count the allocations of one successful preparation */
  unsigned long before = sd_alloc_count();
  cr_assert_eq(sd_experiment_prepare(EXAMPLE, 3, over, &e), SD_OK, "%s", sd_error_message());
  unsigned long total = sd_alloc_count() - before;
  sd_experiment_free(&e);
  cr_assert_gt(total, 20u);
  for (unsigned long k = 1; k <= total; k++) {
    sd_alloc_fail_after((long)k);
    sd_status rc = sd_experiment_prepare(EXAMPLE, 3, over, &e);
    sd_alloc_fail_after(0);
    cr_assert_eq(rc, SD_ERR_NOMEM, "allocation %lu of %lu failed but prepare returned %d (%s)", k, total, rc,
                 sd_error_message());
    cr_assert_null(e);
  }
}
