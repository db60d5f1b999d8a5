/* client/args.c — owns turning argv into fl_cli_args: the global options,
 * the command word, and each command's arguments as its table entry's
 * flags describe them. Every mistake is a usage error (exit 2) with one
 * sentence that names the problem and how to fix it, with a did-you-mean
 * for misspelt commands and options. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "slurm.h"

/* Options every command takes; also offered by the did-you-mean. */
static const char *const global_options[] = {"--socket", "--json",
                                             "--no-color", "--help",
                                             "--version"};

#define N_GLOBAL_OPTIONS (sizeof global_options / sizeof global_options[0])

static int usage_error(char *msg, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int usage_error(char *msg, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, size, fmt, ap);
  va_end(ap);
  return FL_EXIT_USAGE;
}

/* Levenshtein distance of two short words, capped: words longer than the
 * table are simply "far". */
static size_t edit_distance(const char *a, const char *b) {
  enum { MAXW = 32 };
  size_t la = strlen(a), lb = strlen(b);
  if (la >= MAXW || lb >= MAXW) return MAXW;
  size_t row[MAXW + 1];
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

/* The closest of candidates to word, if close enough to be a typo. */
static const char *closest(const char *word, const char *const *candidates,
                           size_t n) {
  const char *best = NULL;
  size_t best_d = 3; /* two edits at most: more is another word */
  for (size_t i = 0; i < n; i++) {
    if (!candidates[i]) continue;
    size_t d = edit_distance(word, candidates[i]);
    if (d < best_d) {
      best_d = d;
      best = candidates[i];
    }
  }
  return best;
}

const fl_cli_command *fl_cli_find_command(const char *name) {
  for (size_t i = 0; i < fl_cli_n_commands; i++)
    if (strcmp(fl_cli_commands[i].name, name) == 0) return &fl_cli_commands[i];
  return NULL;
}

/* Words of pueue and task-spooler that people type by habit: a pointer
 * to flatline's command, not a did-you-mean. */
static const struct {
  const char *word, *ours;
} habit_words[] = {
    {"status", "list"}, {"kill", "cancel"}, {"add", "submit"},
    {"remove", "rm"},   {"clean", "rm"},    {"ls", "list"},
};

static int unknown_command(const char *word, char *msg, size_t size) {
  for (size_t i = 0; i < sizeof habit_words / sizeof habit_words[0]; i++)
    if (strcmp(word, habit_words[i].word) == 0)
      return usage_error(msg, size, "'%s' is 'flatline %s' here", word,
                         habit_words[i].ours);
  const char *names[32] = {0};
  size_t n = fl_cli_n_commands < 32 ? fl_cli_n_commands : 32;
  for (size_t i = 0; i < n; i++) names[i] = fl_cli_commands[i].name;
  const char *guess = closest(word, names, n);
  if (guess)
    return usage_error(msg, size,
                       "unknown command '%s'; did you mean '%s'? "
                       "('flatline help' lists the commands)",
                       word, guess);
  return usage_error(msg, size,
                     "unknown command '%s'; 'flatline help' lists the "
                     "commands",
                     word);
}

bool fl_cli_job_id(const char *text, char out[FL_JOB_ID_MAX]) {
  if (fl_cli_slurm_id(text)) { /* a Slurm job's: s17 (client/slurm.h) */
    snprintf(out, FL_JOB_ID_MAX, "%s", text);
    return true;
  }
  const char *digits = text[0] == 'j' ? text + 1 : text;
  size_t n = strlen(digits);
  /* "j" + digits + NUL must fit; ids are "j" followed by a number. */
  if (n == 0 || n + 2 > FL_JOB_ID_MAX) return false;
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)digits[i])) return false;
  snprintf(out, FL_JOB_ID_MAX, "j%s", digits);
  return true;
}

bool fl_cli_group_id(const char *text, char out[FL_JOB_ID_MAX]) {
  if (fl_cli_slurm_id(text) && !strchr(text, '_')) { /* a Slurm sweep's array */
    snprintf(out, FL_JOB_ID_MAX, "%s", text);
    return true;
  }
  const char *digits = text[0] == 'g' ? text + 1 : text;
  size_t n = strlen(digits);
  if (n == 0 || n > 9) return false; /* as the daemon's: g and 1 to 9 digits */
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)digits[i])) return false;
  snprintf(out, FL_JOB_ID_MAX, "g%s", digits);
  return true;
}

/* The options cmd takes, for the did-you-mean. */
static size_t command_options(const fl_cli_command *cmd, const char **out) {
  size_t n = 0;
  for (size_t i = 0; i < N_GLOBAL_OPTIONS; i++) out[n++] = global_options[i];
  if (!cmd) return n;
  if (cmd->flags & FL_CMD_OPT_FOLLOW) out[n++] = "--follow";
  if (cmd->flags & FL_CMD_OPT_FIXED_SPEC) out[n++] = "--fixed-spec";
  if (cmd->flags & (FL_CMD_OPT_OUTPUT | FL_CMD_OPT_OUTPUT_OPTIONAL))
    out[n++] = "--output";
  if (cmd->flags & FL_CMD_OPT_ALL) out[n++] = "--all";
  if (cmd->flags & FL_CMD_OPT_QUEUE) out[n++] = "--priority", out[n++] = "--after";
  if (cmd->flags & FL_CMD_OPT_FILTER) out[n++] = "--state", out[n++] = "--user";
  if (cmd->flags & FL_CMD_OPT_CSV) out[n++] = "--csv";
  if (cmd->flags & FL_CMD_OPT_SWEEP) out[n++] = "--sweep";
  if (cmd->flags & FL_CMD_OPT_GROUP) out[n++] = "--group";
  return n;
}

static int unknown_option(const fl_cli_command *cmd, const char *arg,
                          char *msg, size_t size) {
  const char *opts[N_GLOBAL_OPTIONS + 16];
  size_t n = command_options(cmd, opts);
  /* compare without a "=value" the user may have attached */
  char word[64];
  snprintf(word, sizeof word, "%.*s", (int)strcspn(arg, "="), arg);
  const char *guess = closest(word, opts, n);
  char where[96];
  if (cmd)
    snprintf(where, sizeof where, "'flatline %s --help'", cmd->name);
  else
    snprintf(where, sizeof where, "'flatline --help'");
  if (guess)
    return usage_error(msg, size, "%s%sunknown option '%s'; did you mean '%s'? "
                       "(see %s)", cmd ? cmd->name : "", cmd ? ": " : "", arg,
                       guess, where);
  return usage_error(msg, size, "%s%sunknown option '%s' (see %s)",
                     cmd ? cmd->name : "", cmd ? ": " : "", arg, where);
}

/* If arg is option `name`, possibly as "name=value": returns 1 and points
 * *value at the attached value (NULL when none). */
static int option_is(const char *arg, const char *name, const char **value) {
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0) return 0;
  if (arg[n] == '\0') {
    *value = NULL;
    return 1;
  }
  if (arg[n] == '=') {
    *value = arg + n + 1;
    return 1;
  }
  return 0;
}

typedef struct {
  int argc;
  char *const *argv;
  int i; /* index of the argument being looked at */
} cursor;

/* The value of an option that takes one: attached ("--x=V", "-oV") or the
 * next argument. NULL when there is none. */
static const char *option_value(cursor *c, const char *attached) {
  if (attached) return attached;
  if (c->i + 1 >= c->argc) return NULL;
  return c->argv[++c->i];
}

/* Handles a global option at c->i. Returns 1 if it was one, 0 if not, or
 * FL_EXIT_USAGE (with msg) for a global option used wrongly. */
static int global_option(cursor *c, fl_cli_args *a, char *msg, size_t size) {
  const char *arg = c->argv[c->i], *v;
  if (option_is(arg, "--socket", &v)) {
    const char *path = option_value(c, v);
    if (!path || !path[0])
      return usage_error(msg, size,
                         "--socket needs a path, e.g. --socket "
                         "/run/flatline.sock");
    a->socket_path = path;
    return 1;
  }
  if (strcmp(arg, "--json") == 0) {
    a->json = true;
    return 1;
  }
  if (strcmp(arg, "--no-color") == 0 || strcmp(arg, "--no-colour") == 0) {
    a->no_color = true;
    return 1;
  }
  if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
    a->help = true;
    return 1;
  }
  if (strcmp(arg, "--version") == 0) {
    a->version = true;
    return 1;
  }
  return 0;
}

/* The queue-control options (issue 14): --all, --priority N, --after ID,
 * --state STATE, --user USER. Returns as command_option does. */
static int queue_option(cursor *c, fl_cli_args *a, char *msg, size_t size) {
  const fl_cli_command *cmd = a->command;
  const char *arg = c->argv[c->i], *v = NULL;
  if ((cmd->flags & FL_CMD_OPT_ALL) && strcmp(arg, "--all") == 0) {
    a->all = true;
    return 1;
  }
  if ((cmd->flags & FL_CMD_OPT_QUEUE) && option_is(arg, "--priority", &v)) {
    const char *n = option_value(c, v);
    char *end = NULL;
    long p = n ? strtol(n, &end, 10) : 0;
    if (!n || !*n || *end || p < FL_PRIORITY_MIN || p > FL_PRIORITY_MAX)
      return usage_error(msg, size, "%s: --priority needs a whole number from "
                         "%d to %d (higher runs first among your jobs), e.g. "
                         "--priority 5", cmd->name, FL_PRIORITY_MIN, FL_PRIORITY_MAX);
    a->priority = (int)p;
    return 1;
  }
  if ((cmd->flags & FL_CMD_OPT_QUEUE) && option_is(arg, "--after", &v)) {
    const char *id = option_value(c, v);
    if (!id || !fl_cli_job_id(id, a->after))
      return usage_error(msg, size, "%s: --after needs a job id such as j17 "
                         "('flatline list' shows them)", cmd->name);
    return 1;
  }
  if ((cmd->flags & FL_CMD_OPT_FILTER) &&
      (option_is(arg, "--state", &v) || option_is(arg, "--user", &v))) {
    bool state = strncmp(arg, "--state", 7) == 0;
    const char *value = option_value(c, v);
    if (!value || !value[0])
      return usage_error(msg, size, "%s: %s needs a value, e.g. %s", cmd->name,
                         state ? "--state" : "--user",
                         state ? "--state running" : "--user alice");
    if (state) a->state_filter = value;
    else a->user_filter = value;
    return 1;
  }
  return 0;
}

/* --sweep KEY=V1,V2,... (submit) and --group G (list); issue 15. The
 * values are read in cmd_submit.c (client/sweep.c), against the spec.
 * Returns as command_option does. */
static int sweep_option(cursor *c, fl_cli_args *a, char *msg, size_t size) {
  const fl_cli_command *cmd = a->command;
  const char *arg = c->argv[c->i], *v = NULL;
  if ((cmd->flags & FL_CMD_OPT_SWEEP) && option_is(arg, "--sweep", &v)) {
    const char *grid = option_value(c, v);
    if (!grid || !strchr(grid, '='))
      return usage_error(msg, size, "%s: --sweep needs KEY=V1,V2,..., e.g. "
                         "--sweep optimizer.learning_rate=0.1,0.01", cmd->name);
    if (a->n_sweeps == FL_SWEEP_MAX_KEYS)
      return usage_error(msg, size, "%s: at most %d --sweep keys; fix the others "
                         "in the spec", cmd->name, FL_SWEEP_MAX_KEYS);
    a->sweeps[a->n_sweeps++] = grid;
    return 1;
  }
  if ((cmd->flags & FL_CMD_OPT_GROUP) && option_is(arg, "--group", &v)) {
    const char *g = option_value(c, v);
    if (!g || !fl_cli_group_id(g, a->group))
      return usage_error(msg, size, "%s: --group needs a group id such as g17 "
                         "(submit --sweep prints it)", cmd->name);
    return 1;
  }
  return 0;
}

/* Handles an option of the command at c->i: 1 if it was one, 0 if not,
 * FL_EXIT_USAGE when one is used wrongly. */
static int command_option(cursor *c, fl_cli_args *a, char *msg, size_t size) {
  const fl_cli_command *cmd = a->command;
  const char *arg = c->argv[c->i], *v = NULL;
  if (!cmd) return 0;
  int q = queue_option(c, a, msg, size);
  if (q) return q;
  if ((q = fl_cli_slurm_option(cmd, c->argc, c->argv, &c->i, a, msg, size))) return q;
  if ((q = sweep_option(c, a, msg, size))) return q;
  if ((cmd->flags & FL_CMD_OPT_FOLLOW) &&
      (strcmp(arg, "--follow") == 0 || strcmp(arg, "-f") == 0)) {
    a->follow = true;
    return 1;
  }
  if ((cmd->flags & FL_CMD_OPT_FIXED_SPEC) && strcmp(arg, "--fixed-spec") == 0) {
    a->fixed_spec = true;
    return 1;
  }
  if (cmd->flags & (FL_CMD_OPT_OUTPUT | FL_CMD_OPT_OUTPUT_OPTIONAL)) {
    int is_output = option_is(arg, "--output", &v);
    if (!is_output && strncmp(arg, "-o", 2) == 0) {
      is_output = 1;
      v = arg[2] ? arg + 2 : NULL;
    }
    if (is_output) {
      const char *file = option_value(c, v);
      if (!file || !file[0])
        return usage_error(msg, size,
                           "%s: -o needs a file name, e.g. -o model.safetensors",
                           cmd->name);
      a->output = file;
      return 1;
    }
  }
  if ((cmd->flags & FL_CMD_OPT_CSV) && option_is(arg, "--csv", &v)) {
    const char *file = option_value(c, v);
    if (!file || !file[0])
      return usage_error(msg, size, "%s: --csv needs a file name (- for standard "
                         "output), e.g. --csv history.csv", cmd->name);
    a->csv = file;
    return 1;
  }
  return 0;
}

/* A positional argument after the command word. */
static int positional(fl_cli_args *a, const char *arg, char *msg,
                      size_t size) {
  const fl_cli_command *cmd = a->command;
  if ((cmd->flags & FL_CMD_ARG_SPEC) && !a->spec) {
    if (!arg[0])
      return usage_error(msg, size, "%s: the SPEC file name is empty",
                         cmd->name);
    a->spec = arg;
    return 0;
  }
  if (cmd->flags & FL_CMD_ARG_JOBS) {
    char id[FL_JOB_ID_MAX];
    if (!fl_cli_job_id(arg, id))
      return usage_error(msg, size,
                         "%s: '%s' is not a job id; job ids look like j17 "
                         "('flatline list' shows them)",
                         cmd->name, arg);
    if (a->n_ids == FL_CLI_MAX_IDS)
      return usage_error(msg, size, "%s: more than %d job ids; give them in "
                         "several runs", cmd->name, FL_CLI_MAX_IDS);
    if (!a->job[0]) snprintf(a->job, sizeof a->job, "%s", id);
    a->ids[a->n_ids++] = arg;
    return 0;
  }
  if ((cmd->flags & FL_CMD_ARG_JOB) && !a->job[0]) {
    if (!fl_cli_job_id(arg, a->job))
      return usage_error(msg, size,
                         "%s: '%s' is not a job id; job ids look like j17 "
                         "('flatline list' shows them)",
                         cmd->name, arg);
    return 0;
  }
  if ((cmd->flags & FL_CMD_ARG_DATA) && a->job[0] && (!a->data || !a->labels)) {
    if (!arg[0])
      return usage_error(msg, size, "%s: the data file name is empty",
                         cmd->name);
    if (!a->data) a->data = arg;
    else a->labels = arg;
    return 0;
  }
  if ((cmd->flags & FL_CMD_ARG_GROUP) && !a->group[0]) {
    if (!fl_cli_group_id(arg, a->group))
      return usage_error(msg, size, "%s: '%s' is not a group id; group ids look "
                         "like g17 (submit --sweep prints it; 'flatline list' "
                         "shows each job's)", cmd->name, arg);
    return 0;
  }
  if ((cmd->flags & FL_CMD_ARG_TOPIC) && !a->topic) {
    a->topic = fl_cli_find_command(arg);
    if (!a->topic) return unknown_command(arg, msg, size);
    return 0;
  }
  return usage_error(msg, size,
                     "%s: unexpected argument '%s'; usage: flatline %s %s",
                     cmd->name, arg, cmd->name, cmd->usage);
}

/* What a command still lacks once argv is used up. */
static int missing(const fl_cli_args *a, char *msg, size_t size) {
  const fl_cli_command *cmd = a->command;
  if ((cmd->flags & FL_CMD_ARG_SPEC) && !a->spec)
    return usage_error(msg, size,
                       "%s needs a job spec file: flatline %s %s", cmd->name,
                       cmd->name, cmd->usage);
  if ((cmd->flags & FL_CMD_ARG_JOBS) && a->all && a->n_ids)
    return usage_error(msg, size, "%s: give job ids or --all, not both",
                       cmd->name);
  if ((cmd->flags & FL_CMD_ARG_JOBS) && !a->all && !a->n_ids)
    return usage_error(msg, size,
                       "%s needs a job id: flatline %s %s ('flatline list' "
                       "shows the ids)",
                       cmd->name, cmd->name, cmd->usage);
  if ((cmd->flags & FL_CMD_ARG_JOB) && !a->job[0])
    return usage_error(msg, size,
                       "%s needs a job id: flatline %s %s ('flatline list' "
                       "shows the ids)",
                       cmd->name, cmd->name, cmd->usage);
  if ((cmd->flags & FL_CMD_ARG_GROUP) && !a->group[0])
    return usage_error(msg, size,
                       "%s needs a group id: flatline %s %s (submit --sweep "
                       "prints it)", cmd->name, cmd->name, cmd->usage);
  if ((cmd->flags & FL_CMD_OPT_SWEEP) && a->n_sweeps && a->follow)
    return usage_error(msg, size, "%s: --follow follows one job; with --sweep, "
                       "'flatline wait' the jobs and 'flatline group G' shows "
                       "their summary", cmd->name);
  if ((cmd->flags & FL_CMD_ARG_DATA) && !a->data)
    return usage_error(msg, size,
                       "%s needs a data file: flatline %s %s", cmd->name,
                       cmd->name, cmd->usage);
  if ((cmd->flags & FL_CMD_OPT_CSV) && a->csv && a->output)
    return usage_error(msg, size, "%s: -o (the model) and --csv (the epochs) are two "
                       "exports; run them one at a time", cmd->name);
  if ((cmd->flags & FL_CMD_OPT_OUTPUT) && !a->output && !a->csv)
    return usage_error(msg, size,
                       "%s needs an output file: flatline %s %s", cmd->name,
                       cmd->name, cmd->usage);
  return 0;
}

int fl_cli_parse(int argc, char *const *argv, fl_cli_args *a, char *msg,
                 size_t size) {
  memset(a, 0, sizeof *a);
  if (size) msg[0] = '\0';
  cursor c = {argc, argv, 1};
  bool options_done = false; /* after "--" everything is positional */
  for (; c.i < argc; c.i++) {
    const char *arg = argv[c.i];
    if (!options_done && strcmp(arg, "--") == 0) {
      options_done = true;
      continue;
    }
    if (!options_done && arg[0] == '-' && arg[1] != '\0') {
      int rc = global_option(&c, a, msg, size);
      if (rc == 0) rc = command_option(&c, a, msg, size);
      if (rc == 0) return unknown_option(a->command, arg, msg, size);
      if (rc != 1) return rc;
      continue;
    }
    if (!a->command) {
      a->command = fl_cli_find_command(arg);
      if (!a->command) return unknown_command(arg, msg, size);
      continue;
    }
    int rc = positional(a, arg, msg, size);
    if (rc) return rc;
  }
  /* --help and --version answer without the arguments a command needs. */
  if (a->help || a->version) return 0;
  if (!a->command)
    return usage_error(msg, size,
                       "no command given; try 'flatline list', or "
                       "'flatline help' for all of them");
  return missing(a, msg, size);
}
