/* plot_cmd.h: the `saddle plot` command, and the figure that `run --plot` and `reproduce` draw. */
#ifndef SADDLE_CLI_PLOT_CMD_H
#define SADDLE_CLI_PLOT_CMD_H

/* `saddle plot DIR [DIR ...] [options]`: argv holds the arguments after "plot". Returns the exit status. */
int sd_cli_plot(int argc, char **argv);

/* Draws the figure of a finished run (its figures: list, else the automatic panels) as DIR/figure.png and
 * DIR/figure.pdf, printing "figure: PATH" for each and any notes. Returns 0, or 1 when no figure could be
 * drawn (the message is printed; the run itself is not affected). */
int sd_cli_plot_figure(const char *dir);

#endif
