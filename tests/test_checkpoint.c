/* test_checkpoint.c: a run stopped dead after a checkpoint, or interrupted, and then resumed, writes the
 * same metrics.csv and final parameters, bit for bit, as a run that was never stopped. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define SENSING SADDLE_SOURCE_DIR "/examples/stoger21-phases.yaml"
#define SAXE SADDLE_SOURCE_DIR "/examples/saxe14-deep-linear.yaml"

/* Runs cfg+args uninterrupted into d/a, and crashed after checkpoint 3 into d/b then resumed; compares. */
static void crash_and_resume(const char *cfg, const char *args, const char *final_array) {
  char *d = th_tmpdir();
  char cmd[4096], out[4096], p[600], q[600];
  snprintf(cmd, sizeof cmd, "%s run %s -q -o %s/a %s", SADDLE_BINARY, cfg, d, args);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  snprintf(cmd, sizeof cmd, "%s run %s -q -o %s/b %s run.simulate_crash_after_checkpoints=3", SADDLE_BINARY, cfg, d, args);
  cr_assert_eq(th_run(cmd, out, sizeof out), 1, "%s", out);
  cr_assert(strstr(out, "simulated crash"), "%s", out);
  snprintf(p, sizeof p, "%s/b/metrics.csv", d);
  struct stat st;
  cr_assert_neq(stat(p, &st), 0, "a crashed run has no finished metrics.csv");
  snprintf(cmd, sizeof cmd, "%s resume %s/b -q", SADDLE_BINARY, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  snprintf(p, sizeof p, "%s/a/metrics.csv", d);
  snprintf(q, sizeof q, "%s/b/metrics.csv", d);
  cr_assert(th_same_file(p, q), "metrics differ after resuming (%s)", args);
  snprintf(p, sizeof p, "%s/a/arrays/%s", d, final_array);
  snprintf(q, sizeof q, "%s/b/arrays/%s", d, final_array);
  cr_assert(th_same_file(p, q), "final parameters differ after resuming (%s)", args);
  snprintf(q, sizeof q, "%s/b/summary.json", d);
  char *s = th_slurp(q, NULL);
  cr_assert(strstr(s, "\"resumed_from_step\""), "%s", s);
  free(s);
  th_rmtmp(d);
}

Test(checkpoint, gd_resumes_bit_identically) {
  crash_and_resume(SENSING, "--checkpoint-every 200 run.max_steps=1000", "U_final.npy");
}

Test(checkpoint, momentum_and_nesterov_resume_bit_identically) {
  crash_and_resume(SENSING, "--checkpoint-every 200 run.max_steps=1000 dynamics.kind=momentum dynamics.lr=0.02", "U_final.npy");
  crash_and_resume(SENSING, "--checkpoint-every 200 run.max_steps=1000 dynamics.kind=nesterov dynamics.lr=0.02", "U_final.npy");
}

Test(checkpoint, adam_state_resumes_bit_identically) {
  crash_and_resume(SENSING, "--checkpoint-every 200 run.max_steps=1000 dynamics.kind=adamw dynamics.lr=0.01 dynamics.weight_decay=0.1",
                   "U_final.npy");
}

Test(checkpoint, schedules_resume_bit_identically) {
  crash_and_resume(SENSING, "--checkpoint-every 200 run.max_steps=1000 lr_schedule.kind=cosine lr_schedule.warmup_steps=300",
                   "U_final.npy");
}

Test(checkpoint, flow_resumes_bit_identically) {
  crash_and_resume(SAXE, "--checkpoint-every 50", "W2_final.npy");
  crash_and_resume(SAXE, "--checkpoint-every 50 dynamics.method=dirk dynamics.order=4 dynamics.rtol=1e-8", "W2_final.npy");
}

Test(checkpoint, interrupted_run_resumes_bit_identically) {
  char *d = th_tmpdir();
  char a[600], b[600], cmd[4096], out[4096];
  snprintf(a, sizeof a, "%s/a", d);
  snprintf(b, sizeof b, "%s/b", d);
  const char *steps = "run.max_steps=60000";
  pid_t pid = fork();
  if (pid == 0) {
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    freopen("/dev/null", "w", stdout);
    execl(SADDLE_BINARY, SADDLE_BINARY, "run", SENSING, "-q", "-o", b, steps, (char *)NULL);
    _exit(127);
  }
  char tmp[700];
  snprintf(tmp, sizeof tmp, "%s/.metrics.csv.tmp", b);
  struct stat st;
  for (int i = 0; i < 400 && stat(tmp, &st) != 0; i++) usleep(25000);
  usleep(200000);
  kill(pid, SIGTERM);
  int status;
  waitpid(pid, &status, 0);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 130, "exit %d", WEXITSTATUS(status));
  snprintf(cmd, sizeof cmd, "%s resume %s -q", SADDLE_BINARY, b);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  snprintf(cmd, sizeof cmd, "%s run %s -q -o %s %s", SADDLE_BINARY, SENSING, a, steps);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  char p[700], q[700];
  snprintf(p, sizeof p, "%s/metrics.csv", a);
  snprintf(q, sizeof q, "%s/metrics.csv", b);
  cr_assert(th_same_file(p, q), "metrics differ after an interrupted run was resumed");
  snprintf(p, sizeof p, "%s/arrays/U_final.npy", a);
  snprintf(q, sizeof q, "%s/arrays/U_final.npy", b);
  cr_assert(th_same_file(p, q), "final parameters differ");
  snprintf(q, sizeof q, "%s/summary.json", b);
  char *s = th_slurp(q, NULL);
  cr_assert(strstr(s, "\"status\": \"max_steps\""), "%s", s);
  free(s);
  th_rmtmp(d);
}

Test(checkpoint, resume_refuses_what_it_cannot_do) {
  char *d = th_tmpdir();
  char cmd[4096], out[4096];
  snprintf(cmd, sizeof cmd, "%s run %s -q -o %s/r run.max_steps=10", SADDLE_BINARY, SENSING, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  snprintf(cmd, sizeof cmd, "%s resume %s/r", SADDLE_BINARY, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "the run has finished (status max_steps): nothing to resume"), "%s", out);
  snprintf(cmd, sizeof cmd, "%s resume %s/r seed=3", SADDLE_BINARY, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 2, "%s", out);
  snprintf(cmd, sizeof cmd, "%s resume %s/nothing", SADDLE_BINARY, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 2, "%s", out);
  free(d);
}

/* A run crashed after its 3rd checkpoint into d/r (the caller resumes or tampers). */
static char *crashed_run(void) {
  char *d = th_tmpdir();
  char cmd[4096], out[4096];
  snprintf(cmd, sizeof cmd, "%s run %s -q -o %s/r --checkpoint-every 100 run.max_steps=1000 run.simulate_crash_after_checkpoints=3",
           SADDLE_BINARY, SENSING, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 1, "%s", out);
  return d;
}

Test(checkpoint, one_changed_byte_is_refused) {
  char *d = crashed_run();
  char p[700], cmd[4096], out[4096];
  snprintf(p, sizeof p, "%s/r/checkpoint.bin", d);
  size_t len;
  char *bytes = th_slurp(p, &len);
  cr_assert(len > 200);
  size_t at[] = {len / 2, len - 3, 20};
  for (int k = 0; k < 3; k++) { /* θ, the checksum itself, the header */
    bytes[at[k]] ^= 0x10;
    FILE *f = fopen(p, "wb");
    fwrite(bytes, 1, len, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s resume %s/r -q", SADDLE_BINARY, d);
    cr_assert_eq(th_run(cmd, out, sizeof out), 1, "byte %zu: %s", at[k], out);
    cr_assert(strstr(out, "corrupt checkpoint"), "byte %zu: %s", at[k], out);
    bytes[at[k]] ^= 0x10;
  }
  FILE *f = fopen(p, "wb"); /* restored: resumes */
  fwrite(bytes, 1, len, f);
  fclose(f);
  free(bytes);
  snprintf(cmd, sizeof cmd, "%s resume %s/r -q", SADDLE_BINARY, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  th_rmtmp(d);
}

Test(checkpoint, an_edited_config_is_refused) {
  char *d = crashed_run();
  char p[700], cmd[4096], out[4096];
  snprintf(p, sizeof p, "%s/r/config.resolved.yaml", d);
  char *text = th_slurp(p, NULL);
  char *lr = strstr(text, "lr: ");
  cr_assert_not_null(lr, "%s", text);
  lr[4] = lr[4] == '9' ? '8' : '9';
  th_write(p, text);
  free(text);
  snprintf(cmd, sizeof cmd, "%s resume %s/r -q", SADDLE_BINARY, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "was changed after"), "%s", out);
  th_rmtmp(d);
}

Test(checkpoint, the_blas_thread_count_is_recorded_and_kept) {
  char *d = crashed_run();
  char p[700], cmd[4096], out[4096];
  snprintf(cmd, sizeof cmd, "OPENBLAS_NUM_THREADS=2 %s resume %s/r -q 2>&1", SADDLE_BINARY, d);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "1 OpenBLAS thread and this process has 2"), "%s", out);
  snprintf(cmd, sizeof cmd, "%s resume %s/r -q", SADDLE_BINARY, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  snprintf(p, sizeof p, "%s/r/summary.json", d);
  char *s = th_slurp(p, NULL);
  cr_assert(strstr(s, "\"blas\": {\n    \"threads\": 1,\n    \"build\": \"OpenBLAS"), "%s", s);
  free(s);
  th_rmtmp(d);
}
