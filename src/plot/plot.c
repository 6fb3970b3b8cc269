/* plot.c: placeholder so the plot layer's glob is not empty; replaced by the figure module. */
typedef int sd_plot_placeholder;
