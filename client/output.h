/* client/output.h — what the client prints, all of it pure (no socket):
 * colour decisions, making daemon text safe for a terminal, number and
 * JSON cells, aligned tables, the loss sparkline, the --json line helpers,
 * the exit-status mapping, the live follow view, and the renderers of the
 * list / show / devices / check replies. tests/test_client.c covers them. */
#ifndef FLATLINE_CLIENT_OUTPUT_H
#define FLATLINE_CLIENT_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli.h"
#include "flatline/protocol.h"

/* ---- style.c: colour ---- */
typedef enum {
  FL_STYLE_NONE,
  FL_STYLE_BOLD,   /* headers */
  FL_STYLE_DIM,    /* secondary text */
  FL_STYLE_ALERT,  /* diagnoses, failures */
  FL_STYLE_WARN,   /* cause names, warnings */
  FL_STYLE_GOOD,   /* done, running */
  FL_STYLE_RESET,
} fl_style;

/* Colour only on a terminal, never with --no-color, NO_COLOR set to
 * anything non-empty (no-color.org), or TERM=dumb. */
bool fl_cli_color_wanted(bool is_tty, bool no_color_flag,
                         const char *no_color_env, const char *term_env);
/* The escape sequence for s, or "" when o has no colour. */
const char *fl_cli_style(const fl_cli_out *o, fl_style s);
/* The style a job state is shown in. */
fl_style fl_cli_state_style(const char *state);

/* ---- text.c: terminal-safe text and numbers ---- */
/* Copy src into dst (always terminated) with control characters, escape
 * sequences and invalid UTF-8 replaced by '?', and line breaks and tabs by
 * spaces: job names and messages come from other users and must not drive
 * a terminal. Cut at a UTF-8 boundary when dst is full. */
void fl_cli_sanitize(char *dst, size_t size, const char *src);
/* Columns text takes on a terminal: one per code point (wide East Asian
 * characters count one; tables of them will be a little off). */
size_t fl_cli_text_width(const char *s);
/* A metric for a table cell: "%.4f", or "%.3e" when large or tiny, "nan"
 * for non-finite. */
void fl_cli_format_metric(char *buf, size_t size, double v);
/* A JSON value as a short cell: strings sanitized, integers without a
 * point, other numbers "%.4g", null or absent "-", arrays joined by ",",
 * objects compact. */
void fl_cli_json_cell(char *buf, size_t size, const fl_json *v);
/* The width tables fit: COLUMNS when it is a number, else the terminal's
 * (TIOCGWINSZ on standard output when tty), else 0 (no limit). */
size_t fl_cli_columns(const char *columns_env, bool tty);
/* A byte count for people: "512 B", "3.2 MiB". */
void fl_cli_format_bytes(char *buf, size_t size, double bytes);

/* ---- json_text.c: --json lines ---- */
/* Join two JSON object texts: {"event":"job"} + {"job":"j1"} ->
 * {"event":"job","job":"j1"}. NULL when either is not an object text or
 * on allocation failure; the result is the caller's to free. */
char *fl_cli_json_concat(const char *a, const char *b);
/* {"event":EVENT, ...the members of obj} (obj NULL or not an object: just
 * the event). Caller frees; NULL on allocation failure. */
char *fl_cli_json_with_event(const char *event, const fl_json *obj);
/* Print one line of JSON text and flush (events are read as they come). */
void fl_cli_print_json_line(const fl_cli_out *o, const char *text);
/* Close w's object, finish it and print it as one line; false (nothing
 * printed) when the writer ran out of memory. */
bool fl_cli_print_jw(const fl_cli_out *o, fl_jw *w);
/* Starts w (fl_jw_init) as an event about a job: {"event":EVENT,
 * "job":JOB; the caller adds its members, then closes it (fl_cli_print_jw,
 * or fl_jw_object_end + fl_jw_finish). */
void fl_cli_event_begin(fl_jw *w, const char *event, const char *job);
/* ---- event_lines.c: one-line job events, for people or --json ---- */
/* "EVENT JOB" for people, {"event":EVENT,"job":JOB} with --json: a job
 * cancelled, cancelling, removed. */
void fl_cli_print_job_event(const fl_cli_out *o, const char *event, const char *job);
/* "submitted JOB[  LABEL]" for people, {"event":"submitted","job":JOB
 * [,"group":GROUP][,"sweep":VALUES]} with --json: a submitted job, a
 * sweep's point with its label and values (JSON text, client/sweep.c's)
 * when given. */
void fl_cli_print_submitted(const fl_cli_out *o, const char *job, const char *group,
                            const char *label, const char *values);
/* The line after a sweep's jobs: "submitted group G: N jobs[NOTE]; ..."
 * for people, {"event":"submitted_group","group":G,"jobs":N} with --json. */
void fl_cli_print_submitted_group(const fl_cli_out *o, const char *group, int n,
                                  const char *note);
/* Pretty-print compact JSON text (as fl_json_print writes it) to f, two
 * spaces an indent level, the whole of it indent levels in. */
void fl_cli_json_pretty(FILE *f, const char *compact, int indent);

/* ---- table.c: aligned columns ---- */
#define FL_CLI_TABLE_MAX_COLS 16 /* a sweep summary: 8 keys and 7 more */
typedef struct {
  size_t n_cols;
  unsigned right;        /* bit c: column c is right-aligned (numbers) */
  size_t n_rows, cap;
  char **cells;          /* n_rows * n_cols, sanitized copies */
  fl_style *styles;      /* n_rows * n_cols */
  bool failed;           /* an allocation failed: print says so */
} fl_cli_table;

void fl_cli_table_init(fl_cli_table *t, size_t n_cols, unsigned right);
/* Add a row of n_cols cells (NULL cell: "-"); styles may be NULL. The first
 * row is the header. */
void fl_cli_table_add(fl_cli_table *t, const char *const *cells,
                      const fl_style *styles);
/* Print the table to o->out; returns 0 or FL_EXIT_FAILED (out of memory).
 * With o->columns set, the widest columns are narrowed until a row fits
 * it, and the cells cut there end with an ellipsis. */
int fl_cli_table_print(const fl_cli_table *t, const fl_cli_out *o);
void fl_cli_table_free(fl_cli_table *t);

/* ---- sparkline.c ---- */
/* The bars ▁▂▃▄▅▆▇█ of v[0..n) into buf (UTF-8, 3 bytes a bar, always
 * terminated), at most max_width bars: longer series are averaged in equal
 * buckets. The lowest value gets ▁ and the highest █, but a spread under 1%
 * of the values' size shows as flat, because a flat loss is what the user
 * wants to see. A non-finite value (a NaN loss) shows as '!'. Returns the
 * number of bars. */
size_t fl_cli_sparkline(char *buf, size_t size, const double *v, size_t n,
                        size_t max_width);

/* ---- exit_status.c: DESIGN.md §6 ---- */
/* The exit status of a job that ended in state ("done", "failed", ...);
 * diagnosed: a diagnosis event with causes, or an end event with a cause. */
int fl_cli_exit_for_end(const char *state, bool diagnosed);
/* The exit status for an fl_conn_connect failure: 69 when the daemon is
 * not reachable (FL_ECONNECTION, FL_EPERM), 1 otherwise. */
int fl_cli_exit_for_connect(int code);
/* The worse of two exit statuses of jobs (wait of several): failed (1)
 * over diagnosed (3) over done (0); anything else counts as failed. */
int fl_cli_exit_worst(int a, int b);
/* Whether a preflight findings array holds an error (check exits 1). */
bool fl_cli_findings_have_error(const fl_json *findings);

/* ---- follow_view.c: the stream of one job's events ---- */
typedef struct {
  const fl_cli_out *o;
  char job[FL_JOB_ID_MAX];
  int epochs_total;     /* 0: unknown, "N" instead of "N/T" */
  double *losses;       /* per epoch event seen, NAN for null */
  size_t n_losses, cap;
  double first_loss, seconds_total;
  char last_val_acc[24];
  bool header_printed;
  size_t progress_width; /* columns of the progress line on screen, 0: none */
  bool diagnosed;        /* a diagnosis with causes, or an end with a cause */
  char first_cause[64];  /* for the summary */
  bool any_fix;          /* some diagnosed cause came with a fix */
  bool has_verdict;      /* a verdict event came: it alone says problem or not */
  bool ended;
  int exit_status;       /* valid once ended */
} fl_follow_view;

void fl_follow_init(fl_follow_view *v, const fl_cli_out *o, const char *job,
                    int epochs_total);
/* Show one event (the inner object of {"type":"event","event":{...}}).
 * With --json it is printed as it came, compactly, one line, flushed.
 * Returns 1 once the end event has been seen, else 0. */
int fl_follow_event(fl_follow_view *v, const fl_json *event);
/* Clear a progress line left on screen (before an error message). */
void fl_follow_clear_progress(fl_follow_view *v);
void fl_follow_free(fl_follow_view *v);

/* Pieces of the human view, exposed for tests. */
void fl_cli_epoch_header(char *buf, size_t size);
void fl_cli_epoch_row(char *buf, size_t size, const fl_json *epoch_event,
                      int epochs_total);
void fl_cli_progress_line(char *buf, size_t size, const fl_json *event,
                          int epochs_total);

/* ---- render.c: replies of list, show, devices, check ---- */
/* Each prints to o->out (a table or --json lines) and returns an exit
 * status. */
int fl_cli_render_jobs(const fl_cli_out *o, const fl_json *jobs);
/* The same over the pages of a paged `list` reply (one table). */
int fl_cli_render_job_pages(const fl_cli_out *o, const fl_json *const *pages,
                            size_t n_pages);
/* The same, only the jobs in state (a state name, or "cancelling") and of
 * user (a name or a uid); NULL: any. */
int fl_cli_render_job_pages_filtered(const fl_cli_out *o,
                                     const fl_json *const *pages, size_t n_pages,
                                     const char *state, const char *user);
int fl_cli_render_devices(const fl_cli_out *o, const fl_json *devices);
int fl_cli_render_job(const fl_cli_out *o, const fl_json *job);
/* A verdict's class report ("metrics": accuracy, top-k, per-class
 * precision/recall/F1, the confusion matrix); past max_classes classes only
 * its first line, with where to see the rest. */
void fl_cli_render_class_report(const fl_cli_out *o, const fl_json *m,
                                size_t max_classes);
/* show --fixed-spec: reply is the whole show reply; the fixed spec is its
 * "fixed_spec" (or its job's). No fix: says so on o->err, returns 1. */
int fl_cli_render_fixed_spec(const fl_cli_out *o, const char *job_id,
                             const fl_json *reply);
/* group G (issue 15): a sweep's jobs best first (the highest final
 * val_accuracy, else accuracy; jobs without metrics last, then by job
 * number), one column per swept key, the metrics and the verdict; with
 * --json one "group_job" line per job in that order, with its rank. */
int fl_cli_render_group(const fl_cli_out *o, const char *group, const fl_json *jobs);
/* The order render_group shows jobs in: out[0..n) gets indexes into jobs. */
void fl_cli_group_order(const fl_json *jobs, size_t *out, size_t n);
/* check's findings, or a rejected submit's: exit 1 if any is an error. */
int fl_cli_render_findings(const fl_cli_out *o, const char *spec_path,
                           const fl_json *findings);

#endif
