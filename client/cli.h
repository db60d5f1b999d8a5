/* client/cli.h — the flatline client's command line: exit statuses
 * (DESIGN.md §6, a contract), the parsed arguments, the const command table
 * ({name, handler, flags, usage} as tmux does it), help text, and where the
 * daemon's socket is looked for.
 *
 * Everything declared here is pure (no socket, no daemon) except the
 * handlers the table points at, so tests/test_client.c can drive it. */
#ifndef FLATLINE_CLIENT_CLI_H
#define FLATLINE_CLIENT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "flatline/protocol.h"

#define FL_DEFAULT_SOCKET "/run/flatline.sock"
#define FL_SOCKET_NAME "flatline.sock" /* under $XDG_RUNTIME_DIR */

/* Exit statuses (DESIGN.md §6). 69 is sysexits.h's EX_UNAVAILABLE. */
enum {
  FL_EXIT_OK = 0,
  FL_EXIT_FAILED = 1, /* failed, rejected, cancelled, or a request error */
  FL_EXIT_USAGE = 2,
  FL_EXIT_DIAGNOSED = 3, /* done, but with a diagnosed problem */
  FL_EXIT_UNREACHABLE = 69,
};

/* What a command accepts. Parsing is generic over these flags, so a
 * command's syntax lives in exactly one place: its table entry. */
enum {
  FL_CMD_ARG_SPEC = 1u << 0,       /* one positional SPEC file */
  FL_CMD_ARG_JOB = 1u << 1,        /* one positional job ID */
  FL_CMD_ARG_TOPIC = 1u << 2,      /* optional positional COMMAND (help) */
  FL_CMD_OPT_FOLLOW = 1u << 3,     /* --follow, -f */
  FL_CMD_OPT_FIXED_SPEC = 1u << 4, /* --fixed-spec */
  FL_CMD_OPT_OUTPUT = 1u << 5,     /* -o FILE, --output FILE (required) */
  FL_CMD_ARG_DATA = 1u << 6,       /* DATA [LABELS] after the job ID */
  FL_CMD_OPT_OUTPUT_OPTIONAL = 1u << 7, /* -o FILE, --output FILE (optional) */
  FL_CMD_OPT_CSV = 1u << 8, /* --csv FILE: in place of the required -o */
};

/* Queue control (issue 14); high bits, apart from the other options. */
enum {
  FL_CMD_ARG_JOBS = 1u << 16,      /* one or more positional job IDs */
  FL_CMD_OPT_ALL = 1u << 17,       /* --all (instead of the IDs) */
  FL_CMD_OPT_QUEUE = 1u << 18,     /* --priority N, --after ID (submit) */
  FL_CMD_OPT_FILTER = 1u << 19,    /* --state STATE, --user USER (list) */
};

/* Sweeps (issue 15); bits of their own, apart from the others. */
enum {
  FL_CMD_OPT_SWEEP = 1u << 24, /* --sweep KEY=V1,V2,... (submit) */
  FL_CMD_ARG_GROUP = 1u << 25, /* one positional group id "g17" */
  FL_CMD_OPT_GROUP = 1u << 26, /* --group G (list) */
};

/* Job ids one command line may name (wait, rm, cancel); a shell's
 * argument list holds about this many short ids. */
#define FL_CLI_MAX_IDS 10000

/* Where output goes and how it looks; decided once, in main. */
typedef struct {
  FILE *out;    /* results: tables, events (stdout) */
  FILE *err;    /* errors and upload progress (stderr) */
  size_t columns; /* tables fit this width (COLUMNS, or the terminal's);
                     0: no limit */
  bool json;    /* --json: one JSON object per line on out */
  bool color;   /* ANSI colour on out */
  bool out_tty; /* out is a terminal: in-place progress lines */
  bool err_tty; /* err is a terminal: upload progress */
} fl_cli_out;

typedef struct fl_cli_command fl_cli_command;

/* submit --slurm and list --slurm (client/slurm.h, issue 15): sbatch's
 * options, passed through as given. */
#define FL_CLI_MAX_SBATCH_ARGS 16
typedef struct {
  bool on;                   /* --slurm */
  const char *partition;     /* --partition P */
  const char *time;          /* --time T (sbatch's formats) */
  const char *account;       /* --account A */
  const char *gpus;          /* --gpus N: GRES gpu:N */
  const char *sbatch[FL_CLI_MAX_SBATCH_ARGS]; /* --sbatch ARG, repeatable */
  int n_sbatch;
} fl_cli_slurm_opts;

typedef struct {
  const fl_cli_command *command; /* NULL: none given (only with --help) */
  const char *socket_path;       /* --socket; NULL when not given */
  bool json;
  bool no_color;
  bool help;    /* --help / -h: print the command's (or the global) help */
  bool version; /* --version */
  const char *spec;        /* check, submit */
  char job[FL_JOB_ID_MAX]; /* follow, show, cancel, export: "j17" */
  const char *output;      /* export -o FILE; predict -o FILE or NULL */
  const char *csv;         /* export --csv FILE ("-": stdout) or NULL */
  const char *data;        /* predict, evaluate: DATA */
  const char *labels;      /* predict, evaluate: LABELS or NULL */
  bool follow;             /* submit --follow */
  bool fixed_spec;         /* show --fixed-spec */
  const fl_cli_command *topic; /* help COMMAND */
  /* wait, rm, cancel: the ids as given (each checked by fl_cli_job_id);
   * job above holds the first. */
  const char *ids[FL_CLI_MAX_IDS];
  int n_ids;
  bool all;                 /* cancel --all */
  int priority;             /* submit --priority N */
  char after[FL_JOB_ID_MAX]; /* submit --after ID, "" when not given */
  const char *state_filter; /* list --state STATE */
  const char *user_filter;  /* list --user NAME|UID */
  fl_cli_slurm_opts slurm; /* submit/list --slurm and sbatch's options */
  const char *sweeps[FL_SWEEP_MAX_KEYS]; /* submit --sweep KEY=V1,...: as given */
  int n_sweeps;
  char group[FL_JOB_ID_MAX]; /* list --group G, group G: "g17" */
} fl_cli_args;

/* Handlers return an exit status. */
typedef int (*fl_cli_handler)(const fl_cli_args *args, const fl_cli_out *out);

struct fl_cli_command {
  const char *name;
  fl_cli_handler handler;
  unsigned flags; /* FL_CMD_* */
  const char *usage;   /* what follows the name: "SPEC [--follow]" */
  const char *summary; /* one line for the command list */
  const char *help;    /* what it does, options, examples, exit statuses */
};

/* The handlers the table points at (cmd_*.c, help.c). */
int fl_cli_cmd_check(const fl_cli_args *args, const fl_cli_out *out);
int fl_cli_cmd_submit(const fl_cli_args *args, const fl_cli_out *out);
int fl_cli_cmd_follow(const fl_cli_args *args, const fl_cli_out *out);
int fl_cli_cmd_list(const fl_cli_args *args, const fl_cli_out *out);
int fl_cli_cmd_show(const fl_cli_args *args, const fl_cli_out *out);
int fl_cli_cmd_cancel(const fl_cli_args *args, const fl_cli_out *out);
int fl_cli_cmd_devices(const fl_cli_args *args, const fl_cli_out *out);
int fl_cli_cmd_export(const fl_cli_args *args, const fl_cli_out *out);
int fl_cli_cmd_help(const fl_cli_args *args, const fl_cli_out *out);
int fl_cli_cmd_predict(const fl_cli_args *args, const fl_cli_out *out);
int fl_cli_cmd_evaluate(const fl_cli_args *args, const fl_cli_out *out);
int fl_cli_cmd_log(const fl_cli_args *args, const fl_cli_out *out);
int fl_cli_cmd_wait(const fl_cli_args *args, const fl_cli_out *out);
int fl_cli_cmd_rm(const fl_cli_args *args, const fl_cli_out *out);
int fl_cli_cmd_report(const fl_cli_args *args, const fl_cli_out *out);
int fl_cli_cmd_export_csv(const fl_cli_args *args, const fl_cli_out *out);
int fl_cli_cmd_group(const fl_cli_args *args, const fl_cli_out *out);

/* commands.c */
extern const fl_cli_command fl_cli_commands[];
extern const size_t fl_cli_n_commands;
const fl_cli_command *fl_cli_find_command(const char *name);

/* args.c — parse argv. Global options (--socket, --json, --no-color, --help,
 * --version) are accepted before and after the command. Returns 0 with
 * *args filled, or FL_EXIT_USAGE with msg holding one sentence that names
 * the problem and the fix (no "flatline: " prefix). */
int fl_cli_parse(int argc, char *const *argv, fl_cli_args *args, char *msg,
                 size_t msg_size);

/* args.c — "j17" (or "17", taken as j17) into out; false when text is not a
 * job id. */
bool fl_cli_job_id(const char *text, char out[FL_JOB_ID_MAX]);
/* args.c — "g17" (or "17", taken as g17) into out; false when text is not
 * a group id. */
bool fl_cli_group_id(const char *text, char out[FL_JOB_ID_MAX]);

/* Where the daemon's socket is, and why that one. */
typedef struct {
  char path[FL_PATH_MAX];
  char note[FL_PATH_MAX + 160]; /* "PATH (from ...)": for help and errors */
} fl_cli_socket;

/* socket_path.c — first of: flag (--socket), env_socket (FLATLINE_SOCKET),
 * FL_DEFAULT_SOCKET if exists() says it does, $XDG_RUNTIME_DIR/flatline.sock
 * when env_xdg is set, else FL_DEFAULT_SOCKET. Empty strings count as unset.
 * Returns 0, or FL_EXIT_USAGE with out->note saying why (a path too long
 * for a Unix socket). */
int fl_cli_socket_resolve(const char *flag, const char *env_socket,
                          const char *env_xdg, bool (*exists)(const char *),
                          fl_cli_socket *out);
/* The same from this process's environment and file system. */
int fl_cli_socket_find(const char *flag, fl_cli_socket *out);

/* help.c — the global help (cmd NULL) or a command's, to f. socket_note
 * says which socket would be used and why (NULL: not shown). */
void fl_cli_print_help(FILE *f, const fl_cli_command *cmd,
                       const char *socket_note);
/* The one-line usage of cmd ("usage: flatline submit SPEC [--follow]"). */
void fl_cli_print_usage(FILE *f, const fl_cli_command *cmd);

#endif
