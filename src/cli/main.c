/* main.c: the `saddle` command: run, reproduce, list. The only place that exits. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "saddle/alloc.h"
#include "saddle/config.h"
#include "saddle/outdir.h"
#include "saddle/run.h"
#include "saddle/sweep.h"
#include "cli/plot_cmd.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_DIVERGED = 3, EXIT_SOLVER = 4, EXIT_INTERRUPTED = 130 };

static const char *USAGE =
    "usage: saddle <command> [options]\n"
    "\n"
    "Simulates, measures and checks the training dynamics of non-convex learning problems.\n"
    "\n"
    "commands:\n"
    "  run CONFIG.yaml [key.path=value ...] [-o DIR] [-q] [--plot]\n"
    "                                                        run an experiment, write its run directory\n"
    "  reproduce NAME [key.path=value ...] [-o DIR] [-q]     run a bundled experiment, check its claims, draw\n"
    "                                                        its paper's figure\n"
    "  resume DIR [-q]                                       go on with a run from its last checkpoint, or finish\n"
    "                                                        a sweep (its finished runs kept)\n"
    "  plot DIR [DIR ...] [--format png|svg|pdf] [--out FILE]  draw a run's figure, or overlay several runs\n"
    "  list                                                  list the bundled experiments\n"
    "  --help, --version\n"
    "\n"
    "`saddle <command> --help` explains each command.\n";

static const char *RUN_HELP =
    "usage: saddle run CONFIG.yaml [key.path=value ...] [-o DIR] [-q]\n"
    "\n"
    "Runs the experiment described by CONFIG.yaml; key.path=value arguments override config keys\n"
    "(e.g. dynamics.lr=0.05 seed=3 init.scale=1e-8). Writes the run directory DIR\n"
    "(default runs/<experiment>-<seed>-<UTC time>):\n"
    "  config.resolved.yaml   every key after defaults and overrides; rerunning it is bit-identical\n"
    "  metrics.csv            step, t (= lr·step), loss, then one column per observable (vectors as name[i])\n"
    "  summary.json           status, steps, t, wall time, final metrics, phases, claims, library versions\n"
    "  arrays/*.npy           every array drawn at random (or given), and the final parameters\n"
    "\n"
    "options:\n"
    "  -o DIR        the run directory\n"
    "  --checkpoint-every N   write DIR/checkpoint.bin every N steps (a flow: every N observations), so that\n"
    "                `saddle resume DIR` can go on after a crash (same as run.checkpoint_every=N)\n"
    "  -q, --quiet   no progress line (it is shown only when stderr is a terminal anyway)\n"
    "  --plot        then draw the run's figure: DIR/figure.png and DIR/figure.pdf (see `saddle plot --help`)\n"
    "\n"
    "exit status: 0 finished (converged or max_steps), 2 bad config or arrays (nothing written),\n"
    "3 diverged (NaN/Inf; files valid), 4 the ODE solver gave up (summary.json has its message; files valid),\n"
    "130 interrupted by Ctrl-C/SIGTERM (files valid), 1 other errors.\n";

static const char *REPRODUCE_HELP =
    "usage: saddle reproduce NAME [key.path=value ...] [-o DIR] [-q]\n"
    "\n"
    "Runs the bundled experiment NAME (see `saddle list`) and checks each claim of its paper, printing\n"
    "the measured value and PASS or FAIL. Exit status 0 if and only if every claim passes (2 for a bad\n"
    "name or override, 1 otherwise). NAME may also be the path of a config file with claims.\n";

static const char *RESUME_HELP =
    "usage: saddle resume DIR [-q] [--plot]\n"
    "\n"
    "Goes on with the run in DIR from its last checkpoint (written every run.checkpoint_every steps, and when\n"
    "a discrete run is interrupted), with the config it recorded, and finishes it in place. Its metrics.csv\n"
    "and final parameters are bit-identical to those of a run that was never stopped. Exit status as for run.\n"
    "It refuses a checkpoint that is corrupt, belongs to an edited config.resolved.yaml, or was written with\n"
    "another OpenBLAS thread count (set OPENBLAS_NUM_THREADS as the message says).\n"
    "\n"
    "DIR may be a sweep's directory: its finished runs are kept, interrupted ones resumed from their\n"
    "checkpoints, the others run; its claims are printed when every run has finished. Running the sweep's\n"
    "config again with -o DIR does the same.\n";

static const char *LIST_HELP =
    "usage: saddle list\n"
    "\n"
    "Lists the bundled experiments (examples/*.yaml) with their one-line descriptions.\n";

static void on_signal(int sig) {
  (void)sig;
  sd_request_stop();
}

static void install_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C kills at once */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGXFSZ, SIG_IGN); /* a file-size limit is a write error to report, not a silent death */
}

static int fail(sd_status rc) {
  fprintf(stderr, "saddle: %s\n", sd_error_message());
  if (rc == SD_ERR_INTERNAL) fprintf(stderr, "saddle: (raised at %s; please report it)\n", sd_error_origin());
  return rc == SD_ERR_CONFIG ? EXIT_USAGE : EXIT_FAIL;
}

typedef struct {
  const char *target;
  const char *out_dir;
  int quiet;
  char **overrides;
  size_t n_overrides;
  char ckpt[64]; /* run.checkpoint_every=N from --checkpoint-every */
  int plot;      /* --plot: draw the run's figure after it */
} run_args;

/* Parses [TARGET] [key=value ...] [-o DIR] [-q]; returns -1 after printing help, 2 on bad usage. */
static int parse_run_args(int argc, char **argv, const char *help, run_args *a) {
  memset(a, 0, sizeof *a);
  a->overrides = sd_calloc((size_t)argc + 1, sizeof *a->overrides);
  if (!a->overrides) return EXIT_FAIL;
  for (int i = 0; i < argc; i++) {
    const char *s = argv[i];
    if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
      fputs(help, stdout);
      return -1;
    } else if (!strcmp(s, "-q") || !strcmp(s, "--quiet")) {
      a->quiet = 1;
    } else if (!strcmp(s, "--plot")) {
      a->plot = 1;
    } else if (!strcmp(s, "--checkpoint-every")) {
      if (i + 1 >= argc) {
        fprintf(stderr, "saddle: %s needs a number of steps\n", s);
        return EXIT_USAGE;
      }
      snprintf(a->ckpt, sizeof a->ckpt, "run.checkpoint_every=%s", argv[++i]);
      a->overrides[a->n_overrides++] = a->ckpt;
    } else if (!strcmp(s, "-o") || !strcmp(s, "--out")) {
      if (i + 1 >= argc) {
        fprintf(stderr, "saddle: %s needs a directory\n", s);
        return EXIT_USAGE;
      }
      a->out_dir = argv[++i];
    } else if (s[0] == '-') {
      fprintf(stderr, "saddle: unknown option '%s'\n%s", s, help);
      return EXIT_USAGE;
    } else if (strchr(s, '=') && (a->target || access(s, F_OK) != 0)) {
      /* key=value, unless it names a file or directory (sweep runs live in DIR/000-kappa=1) */
      a->overrides[a->n_overrides++] = argv[i];
    } else if (!a->target) {
      a->target = s;
    } else {
      fprintf(stderr, "saddle: unexpected argument '%s' (overrides are key.path=value)\n", s);
      return EXIT_USAGE;
    }
  }
  if (!a->target) {
    fprintf(stderr, "saddle: missing argument\n%s", help);
    return EXIT_USAGE;
  }
  return 0;
}

static int status_exit(const char *status) {
  if (!strcmp(status, "diverged")) return EXIT_DIVERGED;
  if (!strcmp(status, "interrupted")) return EXIT_INTERRUPTED;
  if (!strcmp(status, "solver_failed")) return EXIT_SOLVER;
  return EXIT_OK;
}

/* Runs one experiment (or resumes the one in a->target when resume is set); *out keeps it for the caller
 * (reproduce reads its claims). */
static int run_one(const char *config, const run_args *a, sd_experiment **out, int resume) {
  sd_experiment *e = NULL;
  sd_status rc = resume ? sd_experiment_resume(config, &e)
                        : sd_experiment_prepare(config, a->n_overrides, a->overrides, &e);
  if (rc != SD_OK) return fail(rc);
  install_handlers();
  sd_run_options opt = {.out_dir = a->out_dir, .progress = !a->quiet && isatty(STDERR_FILENO)};
  rc = sd_experiment_run(e, &opt);
  if (rc != SD_OK) {
    int code = fail(rc);
    if (sd_experiment_wrote(e))
      fprintf(stderr, "saddle: partial results in %s (summary.json says how the run ended)\n", sd_experiment_dir(e));
    sd_experiment_free(&e);
    return code;
  }
  printf("%s: %s\n", sd_experiment_name(e), sd_experiment_status(e));
  printf("results: %s\n", sd_experiment_dir(e));
  *out = e;
  return status_exit(sd_experiment_status(e));
}

/* Prints claim results as a table; returns 1 if all pass. Claims of a run that did not finish are shown
 * unjudged ("----"): a partial run neither passes nor fails them. */
static int print_claims(const char *prefix, const sd_claim_result *c, size_t n, size_t *passed, int judged) {
  int all = 1;
  for (size_t i = 0; i < n; i++) {
    printf("%-4s  %s%-44s  %-44s  %s\n", !judged ? "----" : c[i].pass ? "PASS" : "FAIL", prefix, c[i].name, c[i].condition,
           c[i].measured);
    all &= c[i].pass;
    *passed += (size_t)c[i].pass;
  }
  return all;
}

/* Runs a config with a `sweep:` (every combination of its axes); with claims, prints them and returns 0 iff
 * all pass. *handled = 0 when the config has no sweep. */
static int run_sweep(const char *config, const run_args *a, int *handled, int with_claims, const char *resume_dir) {
  sd_sweep *s = NULL;
  sd_status rc = resume_dir ? sd_sweep_resume(resume_dir, &s) : sd_sweep_prepare(config, a->n_overrides, a->overrides, &s);
  *handled = rc != SD_OK || s != NULL;
  if (rc != SD_OK) return fail(rc);
  if (!s) return EXIT_OK;
  install_handlers();
  sd_run_options opt = {.out_dir = resume_dir ? resume_dir : a->out_dir, .progress = !a->quiet && isatty(STDERR_FILENO)};
  rc = sd_sweep_run(s, &opt);
  if (rc != SD_OK) {
    int code = fail(rc);
    if (sd_sweep_dir(s)) fprintf(stderr, "saddle: partial results in %s (summary.json says how far it got)\n", sd_sweep_dir(s));
    sd_sweep_free(&s);
    return code;
  }
  for (size_t i = 0; i < sd_sweep_size(s); i++) {
    const char *st = sd_sweep_status(s, i);
    printf("%03zu %-40s %s\n", i, sd_sweep_label(s, i), st ? st : "not run");
  }
  int complete = sd_sweep_complete(s);
  printf("sweep: %s\nresults: %s\n", sd_sweep_state(s), sd_sweep_dir(s));
  int code = complete ? EXIT_OK : EXIT_INTERRUPTED;
  size_t total = 0, n;
  for (size_t i = 0; i < sd_sweep_size(s); i++) total += (sd_sweep_run_claims(s, i, &n), n);
  total += (sd_sweep_claims(s, &n), n);
  if (with_claims || (resume_dir && total > 0)) {
    size_t passed = 0;
    int all = 1;
    printf("\n%-4s  %-44s  %-44s  %s\n", "", "claim", "condition", "measured");
    for (size_t i = 0; i < sd_sweep_size(s); i++) {
      const sd_claim_result *c = sd_sweep_run_claims(s, i, &n);
      char prefix[96];
      snprintf(prefix, sizeof prefix, "[%s] ", sd_sweep_label(s, i));
      all &= print_claims(prefix, c, n, &passed, sd_status_finished(sd_sweep_status(s, i)));
    }
    const sd_claim_result *c = sd_sweep_claims(s, &n);
    all &= print_claims("", c, n, &passed, complete);
    if (complete) printf("\n%zu of %zu claims pass\n", passed, total);
    else printf("\nthe sweep did not finish: claims are not judged (`saddle resume %s` goes on)\n", sd_sweep_dir(s));
    if (total == 0) {
      fprintf(stderr, "saddle: %s has no claims to check\n", config);
      all = 0;
    }
    if (complete) code = all ? EXIT_OK : EXIT_FAIL;
  }
  if (with_claims || a->plot) sd_cli_plot_figure(sd_sweep_dir(s)); /* the runs overlaid */
  sd_sweep_free(&s);
  return code;
}

static int cmd_run(int argc, char **argv) {
  run_args a;
  int code = parse_run_args(argc, argv, RUN_HELP, &a);
  int handled = 0;
  if (code == 0) code = run_sweep(a.target, &a, &handled, 0, NULL);
  if (code == 0 && !handled) {
    sd_experiment *e = NULL;
    code = run_one(a.target, &a, &e, 0);
    if (e && a.plot) sd_cli_plot_figure(sd_experiment_dir(e));
    sd_experiment_free(&e);
  }
  sd_free(a.overrides);
  return code < 0 ? EXIT_OK : code;
}

static int cmd_resume(int argc, char **argv) {
  run_args a;
  int code = parse_run_args(argc, argv, RESUME_HELP, &a);
  if (code == 0 && (a.n_overrides > 0 || a.out_dir)) {
    fprintf(stderr, "saddle: resume takes no overrides and no -o: the run goes on in DIR with its own config\n");
    code = EXIT_USAGE;
  }
  char kind[32];
  int handled = 0;
  if (code == 0 && sd_outdir_summary(a.target, kind, sizeof kind, NULL, 0, NULL, 0) && !strcmp(kind, "sweep"))
    code = run_sweep(NULL, &a, &handled, 0, a.target);
  if (code == 0 && !handled) {
    sd_experiment *e = NULL;
    code = run_one(a.target, &a, &e, 1);
    if (e && a.plot) sd_cli_plot_figure(sd_experiment_dir(e));
    sd_experiment_free(&e);
  }
  sd_free(a.overrides);
  return code < 0 ? EXIT_OK : code;
}

static int cmd_reproduce(int argc, char **argv) {
  run_args a;
  int code = parse_run_args(argc, argv, REPRODUCE_HELP, &a);
  if (code != 0) {
    sd_free(a.overrides);
    return code < 0 ? EXIT_OK : code;
  }
  char path[4096];
  if (strchr(a.target, '/') || strstr(a.target, ".yaml")) snprintf(path, sizeof path, "%s", a.target);
  else snprintf(path, sizeof path, "%s/%s.yaml", sd_examples_dir(), a.target);
  if (access(path, R_OK) != 0) {
    fprintf(stderr, "saddle: no bundled experiment '%s' (looked for %s); see `saddle list`\n", a.target, path);
    sd_free(a.overrides);
    return EXIT_USAGE;
  }
  int handled = 0;
  code = run_sweep(path, &a, &handled, 1, NULL);
  if (handled) {
    sd_free(a.overrides);
    return code;
  }
  sd_experiment *e = NULL;
  code = run_one(path, &a, &e, 0);
  sd_free(a.overrides);
  if (!e) return code;
  size_t n;
  const sd_claim_result *c = sd_experiment_claims(e, &n);
  if (n == 0) {
    fprintf(stderr, "saddle: %s has no claims to check\n", path);
    sd_experiment_free(&e);
    return EXIT_FAIL;
  }
  size_t passed = 0;
  int judged = code != EXIT_INTERRUPTED;
  printf("\n%-4s  %-44s  %-44s  %s\n", "", "claim", "condition", "measured");
  int all = print_claims("", c, n, &passed, judged);
  if (judged) printf("\n%zu of %zu claims pass\n", passed, n);
  else printf("\nthe run was interrupted: claims are not judged (`saddle resume %s` goes on)\n", sd_experiment_dir(e));
  sd_cli_plot_figure(sd_experiment_dir(e));
  sd_experiment_free(&e);
  if (code == EXIT_INTERRUPTED) return code;
  return all ? EXIT_OK : EXIT_FAIL;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int cmd_list(int argc, char **argv) {
  if (argc > 0 && (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"))) {
    fputs(LIST_HELP, stdout);
    return EXIT_OK;
  }
  const char *dir = sd_examples_dir();
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "saddle: cannot open the examples directory %s (set SADDLE_EXAMPLES_DIR)\n", dir);
    return EXIT_FAIL;
  }
  char *names[512];
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL && n < 512) {
    size_t len = strlen(de->d_name);
    if (len > 5 && !strcmp(de->d_name + len - 5, ".yaml")) names[n++] = sd_strdup(de->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  printf("bundled experiments (%s):\n", dir);
  for (size_t i = 0; i < n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    sd_config *cfg = NULL;
    const char *desc = "(cannot read)";
    if (sd_config_load(path, &cfg) == SD_OK) {
      desc = sd_config_peek(cfg, "description");
      if (!desc) desc = "";
    }
    names[i][strlen(names[i]) - 5] = '\0';
    printf("  %-28s %s\n", names[i], desc);
    sd_config_free(&cfg);
    sd_free(names[i]);
  }
  return EXIT_OK;
}

int main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
    fputs(USAGE, argc < 2 ? stderr : stdout);
    return argc < 2 ? EXIT_USAGE : EXIT_OK;
  }
  if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
    fputs(sd_versions(), stdout);
    return EXIT_OK;
  }
  if (!strcmp(argv[1], "run")) return cmd_run(argc - 2, argv + 2);
  if (!strcmp(argv[1], "reproduce")) return cmd_reproduce(argc - 2, argv + 2);
  if (!strcmp(argv[1], "list")) return cmd_list(argc - 2, argv + 2);
  if (!strcmp(argv[1], "resume")) return cmd_resume(argc - 2, argv + 2);
  if (!strcmp(argv[1], "plot")) return sd_cli_plot(argc - 2, argv + 2);
  fprintf(stderr, "saddle: unknown command '%s'\n%s", argv[1], USAGE);
  return EXIT_USAGE;
}
