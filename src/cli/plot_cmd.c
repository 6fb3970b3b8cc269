/* plot_cmd.c: `saddle plot` (see plot_cmd.h and docs/plot.md). */
#include "cli/plot_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saddle/alloc.h"
#include "saddle/plot.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Under LeakSanitizer (the asan build): fontconfig keeps its caches and libltdl the handles of PLplot's
 * dynamically loaded drivers until the process ends; neither is saddle's memory. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\nleak:libltdl.so\n"; }
const char *__lsan_default_options(void);
const char *__lsan_default_options(void) { return "print_suppressions=0"; }

static const char *PLOT_HELP =
    "usage: saddle plot DIR [DIR ...] [--format png|svg|pdf] [--out FILE] [--panel SPEC ...]\n"
    "                   [--size WxH] [--dpi N] [--x t|step] [--list]\n"
    "\n"
    "Draws the figure of a run directory from its metrics.csv, summary.json, config.resolved.yaml and\n"
    "arrays/ (runs of older versions too). With several directories, overlays them, with a legend made of\n"
    "the config keys that differ between them. Default panels: the run's figures: list, else the standard\n"
    "panels chosen from its columns. Details: docs/plot.md.\n"
    "\n"
    "options:\n"
    "  --format F    png (default), svg or pdf (vector, for papers)\n"
    "  -o, --out FILE  the file to write (default DIR/figure.<format>; several DIRs: ./compare.<format>)\n"
    "  --panel SPEC  a panel; repeat for several. SPEC is one of\n"
    "                  auto                     the standard panels for the run's columns\n"
    "                  figure                   the run's figures: list\n"
    "                  loss[:COL,...]           loss and error columns against time, phases, plateaus\n"
    "                  lines:COL,...            any columns (a family name stands for its members)\n"
    "                  family:NAME              NAME[0], NAME[1], ... colour-ordered\n"
    "                  heatmap:ARRAY            a matrix of arrays/ARRAY.npy with a colour bar\n"
    "                  orientations:ARRAY[,INIT]  neurons (rows of ARRAY): angle against norm\n"
    "                  '{panel: loss, y: [rel_error], scale: loglog, x: step}'  any figures: item\n"
    "  --size WxH    page size in inches (default: 3.5 wide for one panel, 7 for more)\n"
    "  --dpi N       PNG resolution (default 200)\n"
    "  --x t|step    the time axis of panels that do not choose (default t)\n"
    "  --list        print the columns, arrays, phases and automatic panels of DIR, draw nothing\n"
    "\n"
    "exit status: 0 written, 2 bad arguments or not a run directory, 1 other errors (e.g. the PLplot cairo\n"
    "driver is missing: install plplot-driver-cairo).\n";

static void print_notes(const char *notes) {
  if (!notes) return;
  const char *p = notes;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    if (len) fprintf(stderr, "saddle: note: %.*s\n", (int)len, p);
    p += len + (nl != NULL);
  }
}

static int fail_status(sd_status rc) {
  fprintf(stderr, "saddle: %s\n", sd_error_message());
  return rc == SD_ERR_CONFIG ? EXIT_USAGE : EXIT_FAIL;
}

/* "--opt VALUE" or "--opt=VALUE": the value, advancing *i; NULL (after a message) when missing. */
static const char *opt_value(int argc, char **argv, int *i, const char *name) {
  const char *s = argv[*i];
  size_t n = strlen(name);
  if (!strncmp(s, name, n) && s[n] == '=') return s + n + 1;
  if (*i + 1 >= argc) {
    fprintf(stderr, "saddle: %s needs a value\n", name);
    return NULL;
  }
  return argv[++*i];
}

static int is_opt(const char *s, const char *name) {
  size_t n = strlen(name);
  return !strncmp(s, name, n) && (s[n] == '\0' || s[n] == '=');
}

int sd_cli_plot(int argc, char **argv) {
  sd_plot_options o = sd_plot_defaults();
  const char **dirs = sd_calloc((size_t)argc + 1, sizeof *dirs);
  const char **panels = sd_calloc((size_t)argc + 1, sizeof *panels);
  size_t nd = 0, np = 0;
  int list = 0, code = EXIT_OK;
  if (!dirs || !panels) {
    fprintf(stderr, "saddle: out of memory\n");
    code = EXIT_FAIL;
    goto done;
  }
  for (int i = 0; i < argc && code == EXIT_OK; i++) {
    const char *s = argv[i], *v;
    if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
      fputs(PLOT_HELP, stdout);
      goto done;
    } else if (!strcmp(s, "--list")) {
      list = 1;
    } else if (is_opt(s, "--format")) {
      if (!(v = opt_value(argc, argv, &i, "--format"))) code = EXIT_USAGE;
      else if (sd_plot_format_parse(v, &o.format) != SD_OK) code = fail_status(SD_ERR_CONFIG);
    } else if (!strcmp(s, "-o") || is_opt(s, "--out")) {
      if (!(v = opt_value(argc, argv, &i, !strcmp(s, "-o") ? "-o" : "--out"))) code = EXIT_USAGE;
      else o.out = v;
    } else if (is_opt(s, "--panel")) {
      if (!(v = opt_value(argc, argv, &i, "--panel"))) code = EXIT_USAGE;
      else panels[np++] = v;
    } else if (is_opt(s, "--size")) {
      char *end = NULL;
      if (!(v = opt_value(argc, argv, &i, "--size"))) {
        code = EXIT_USAGE;
        continue;
      }
      o.width_in = strtod(v, &end);
      if (end == v || (*end != 'x' && *end != 'X' && *end != ',')) {
        fprintf(stderr, "saddle: --size '%s': expected WxH in inches, e.g. 7x4.5\n", v);
        code = EXIT_USAGE;
        continue;
      }
      const char *h = end + 1;
      o.height_in = strtod(h, &end);
      if (end == h || *end) {
        fprintf(stderr, "saddle: --size '%s': expected WxH in inches, e.g. 7x4.5\n", v);
        code = EXIT_USAGE;
      }
    } else if (is_opt(s, "--dpi")) {
      char *end = NULL;
      if (!(v = opt_value(argc, argv, &i, "--dpi"))) {
        code = EXIT_USAGE;
        continue;
      }
      o.dpi = strtod(v, &end);
      if (end == v || *end) {
        fprintf(stderr, "saddle: --dpi '%s': expected a number\n", v);
        code = EXIT_USAGE;
      }
    } else if (is_opt(s, "--x")) {
      if (!(v = opt_value(argc, argv, &i, "--x"))) code = EXIT_USAGE;
      else o.x = v;
    } else if (s[0] == '-' && s[1]) {
      fprintf(stderr, "saddle: unknown option '%s'\n%s", s, PLOT_HELP);
      code = EXIT_USAGE;
    } else {
      dirs[nd++] = s;
    }
  }
  if (code != EXIT_OK) goto done;
  if (nd == 0) {
    fprintf(stderr, "saddle: plot needs a run directory\n%s", PLOT_HELP);
    code = EXIT_USAGE;
    goto done;
  }
  if (list) {
    for (size_t i = 0; i < nd && code == EXIT_OK; i++) {
      char *text = NULL;
      sd_status rc = sd_plot_describe(dirs[i], &text);
      if (rc != SD_OK) code = fail_status(rc);
      else fputs(text, stdout);
      sd_free(text);
    }
    goto done;
  }
  o.panels = panels;
  o.n_panels = np;
  sd_plot_result res;
  sd_status rc = sd_plot_dirs(dirs, nd, &o, &res);
  if (rc != SD_OK) {
    code = fail_status(rc);
    goto done;
  }
  print_notes(res.notes);
  printf("figure: %s\n", res.path);
  sd_plot_result_free(&res);
done:
  sd_free(dirs);
  sd_free(panels);
  return code;
}

int sd_cli_plot_figure(const char *dir) {
  static const sd_plot_format FORMATS[] = {SD_PLOT_PNG, SD_PLOT_PDF};
  int code = EXIT_OK;
  for (size_t i = 0; i < sizeof FORMATS / sizeof *FORMATS; i++) {
    sd_plot_options o = sd_plot_defaults();
    o.format = FORMATS[i];
    sd_plot_result res;
    sd_status rc = sd_plot_dirs(&dir, 1, &o, &res);
    if (rc != SD_OK) {
      fprintf(stderr, "saddle: no figure: %s\n", sd_error_message());
      return EXIT_FAIL;
    }
    if (i == 0) print_notes(res.notes);
    printf("figure: %s\n", res.path);
    sd_plot_result_free(&res);
  }
  return code;
}
