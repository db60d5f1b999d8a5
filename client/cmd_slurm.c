/* client/cmd_slurm.c — the commands on Slurm jobs (slurm.h): submit
 * --slurm (sbatch as the user), follow, show, list --slurm, cancel and
 * export. Events come from the job folder's log, read as the daemon's
 * follow replays it; state and cancel from Slurm (squeue, scancel). The
 * replies the daemon would send are built here from the folder (job.json,
 * events.jsonl, spec.json) and printed by the same renderers, so the
 * output and the exit statuses are those of daemon jobs.
 *
 * Programs are run without a shell (fork + execvp), their output read
 * through a pipe: nothing a user typed is ever parsed by sh here. */
#define _GNU_SOURCE /* strndup, mkostemps */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "session.h"
#include "slurm.h"
#include "sweep.h"

#define LOG_MAX ((size_t)1 << 30)
#define POLL_S 0.5        /* the follow's read of the log */
#define STATE_EVERY_S 2.0 /* the follow's question to Slurm */

/* ---- running a program ---- */

/* Runs argv[0] with argv (searched in PATH); its stdout (and stderr when
 * err_too) in *out (malloc'd, NUL-terminated). Returns its exit status,
 * 127 when it cannot start. */
static int run_prog(const char *const *argv, char **out, bool err_too) {
  int fds[2];
  *out = NULL;
  if (pipe(fds) != 0) return 127;
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return 127;
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    if (err_too) dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    execvp(argv[0], (char *const *)argv);
    dprintf(STDOUT_FILENO, "cannot run %s: %s", argv[0], strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  ssize_t n;
  while (buf && (n = read(fds[0], buf + len, cap - len - 1)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    len += (size_t)n;
    if (len + 1 == cap) {
      char *b2 = cap < ((size_t)1 << 26) ? realloc(buf, cap *= 2) : NULL;
      if (!b2) break;
      buf = b2;
    }
  }
  close(fds[0]);
  if (buf) buf[len] = '\0';
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  *out = buf;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 127;
}

/* The last line of text without its newline, for error messages. */
static const char *trimmed(char *text) {
  if (!text) return "";
  size_t n = strlen(text);
  while (n && (text[n - 1] == '\n' || text[n - 1] == ' ')) text[--n] = '\0';
  const char *nl = strrchr(text, '\n');
  return nl ? nl + 1 : text;
}

/* ---- Slurm's view of a job ---- */

typedef struct {
  bool known;          /* squeue knows the job */
  char slurm[32];      /* its state word: RUNNING, PENDING, ... */
  char node[64];       /* where it runs or ran */
} slurm_view;

/* squeue -j N: 0 (view->known false when Slurm has forgotten the job),
 * or FL_EXIT_FAILED with the error printed (squeue missing or failing). */
static int slurm_ask(const fl_cli_out *o, const char *what, const char *id, slurm_view *v) {
  memset(v, 0, sizeof *v);
  const char *argv[] = {"squeue", "-h", "-r", "-t", "all", "-j", id + 1, "-o", "%T|%N", NULL};
  char *out = NULL;
  int rc = run_prog(argv, &out, true);
  if (rc == 0) {
    char *bar = out ? strchr(out, '|') : NULL;
    if (bar) {
      v->known = true;
      snprintf(v->slurm, sizeof v->slurm, "%.*s", (int)(bar - out), out);
      snprintf(v->node, sizeof v->node, "%s", trimmed(bar + 1));
    }
  } else if (out && strstr(out, "Invalid job id")) {
    rc = 0; /* gone from slurmctld's memory (MinJobAge) */
  } else {
    fprintf(o->err, "flatline: %s: cannot ask Slurm (squeue exit %d): %s\n", what, rc,
            rc == 127 ? "squeue is not installed here (a Slurm client is needed)"
                      : trimmed(out));
    rc = FL_EXIT_FAILED;
  }
  free(out);
  return rc;
}

/* ---- the job folder ---- */

typedef struct {
  char id[FL_JOB_ID_MAX];
  char dir[FL_PATH_MAX];
  fl_json *job;        /* job.json, NULL when unreadable */
  char *spec;          /* spec.json text, or NULL */
  char *last_epoch;    /* the last epoch line */
  char *end;           /* the end line */
  char *metrics;       /* the verdict's class report */
  char *fix;           /* the top diagnosed cause's merge patch */
  int epoch;           /* the highest logged epoch */
  char verdict[16];    /* the verdict's word, for a sweep's summary */
  char verdict_cause[64]; /* and its first cause */
} job_folder;

static char *read_text(const char *path, size_t max, size_t *len, int *e) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    *e = errno;
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || (size_t)st.st_size > max) {
    *e = EFBIG;
    close(fd);
    return NULL;
  }
  char *buf = malloc((size_t)st.st_size + 1);
  size_t n = 0;
  ssize_t r;
  while (buf && n < (size_t)st.st_size && (r = read(fd, buf + n, (size_t)st.st_size - n)) > 0)
    n += (size_t)r;
  close(fd);
  if (!buf) {
    *e = ENOMEM;
    return NULL;
  }
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

/* What the log says (as the daemon notes it, daemon/jobs.c). */
static void note_line(job_folder *f, const char *line, size_t n) {
  fl_json *ev = fl_json_parse(line, n, NULL);
  const char *name = ev ? fl_json_string(fl_json_get(ev, "event")) : NULL;
  if (!name) {
    fl_json_free(ev);
    return;
  }
  if (strcmp(name, FL_EVENT_EPOCH) == 0) {
    double e = 0;
    fl_json_number(fl_json_get(ev, "epoch"), &e);
    if ((int)e > f->epoch) f->epoch = (int)e;
    free(f->last_epoch);
    f->last_epoch = strndup(line, n);
  } else if (strcmp(name, FL_EVENT_END) == 0 && !f->end) {
    f->end = strndup(line, n);
  } else if (strcmp(name, FL_EVENT_VERDICT) == 0) {
    const char *word = fl_json_string(fl_json_get(ev, "verdict"));
    const char *cause = fl_json_string(
        fl_json_get(fl_json_array_at(fl_json_get(ev, "causes"), 0), "cause"));
    snprintf(f->verdict, sizeof f->verdict, "%s", word ? word : "");
    snprintf(f->verdict_cause, sizeof f->verdict_cause, "%s", cause ? cause : "");
    const fl_json *m = fl_json_get(ev, "metrics");
    if (m && !fl_json_is_null(m)) {
      free(f->metrics);
      f->metrics = fl_json_print(m);
    }
  } else if (strcmp(name, FL_EVENT_DIAGNOSIS) == 0 || strcmp(name, FL_EVENT_PREFLIGHT) == 0) {
    const fl_json *list =
        fl_json_get(ev, strcmp(name, FL_EVENT_DIAGNOSIS) == 0 ? "causes" : "findings");
    for (size_t i = 0; i < fl_json_array_size(list); i++) {
      const fl_json *fix = fl_json_get(fl_json_array_at(list, i), "fix");
      if (!fix || fl_json_is_null(fix)) continue;
      free(f->fix);
      f->fix = fl_json_print(fix);
      break;
    }
  }
  fl_json_free(ev);
}

static void folder_free(job_folder *f) {
  fl_json_free(f->job);
  free(f->spec);
  free(f->last_epoch);
  free(f->end);
  free(f->metrics);
  free(f->fix);
  memset(f, 0, sizeof *f);
}

/* Reads the folder of job id. 0, or FL_EXIT_FAILED with the reason
 * printed ("what": the error prefix). */
static int folder_read(const fl_cli_out *o, const char *what, const char *id, bool spec,
                       job_folder *f) {
  memset(f, 0, sizeof *f);
  snprintf(f->id, sizeof f->id, "%s", id);
  char root[FL_PATH_MAX], path[FL_PATH_MAX + 64];
  if (!fl_cli_slurm_root(root, sizeof root)) {
    fprintf(o->err, "flatline: %s: no job root: set FLATLINE_SLURM_DIR (or HOME)\n", what);
    return FL_EXIT_FAILED;
  }
  snprintf(f->dir, sizeof f->dir, "%.*s/%s", (int)(sizeof f->dir - 40), root, id);
  snprintf(path, sizeof path, "%s/job.json", f->dir);
  int e = 0;
  size_t len = 0;
  char *text = read_text(path, 1 << 20, &len, &e);
  if (!text) {
    if (e == ENOENT)
      fprintf(o->err, "flatline: %s: no job %s in %s (submitted with another "
              "FLATLINE_SLURM_DIR, or not a flatline job)\n", what, id, root);
    else
      fprintf(o->err, "flatline: %s: cannot read %s: %s%s\n", what, path, strerror(e),
              e == EACCES ? " (only the job's owner can)" : "");
    return FL_EXIT_FAILED;
  }
  f->job = fl_json_parse(text, len, NULL);
  free(text);
  if (!f->job) {
    fprintf(o->err, "flatline: %s: %s is not valid JSON\n", what, path);
    return FL_EXIT_FAILED;
  }
  if (spec) {
    snprintf(path, sizeof path, "%s/spec.json", f->dir);
    f->spec = read_text(path, FL_SPEC_MAX_BYTES, NULL, &e);
  }
  snprintf(path, sizeof path, "%s/events.jsonl", f->dir);
  char *log = read_text(path, LOG_MAX, &len, &e);
  for (const char *line = log; log && line < log + len;) {
    const char *nl = memchr(line, '\n', (size_t)(log + len - line));
    if (!nl) break; /* a line being written */
    note_line(f, line, (size_t)(nl - line));
    line = nl + 1;
  }
  free(log);
  return 0;
}

/* The job's state, cause and message: its end line when it has one, else
 * Slurm's word for it. */
typedef struct {
  const char *state;
  char cause[64];
  char message[FL_ERRMSG_MAX];
} job_state;

static void state_of(const job_folder *f, const slurm_view *v, job_state *s) {
  memset(s, 0, sizeof *s);
  if (f->end) {
    fl_json *end = fl_json_parse(f->end, strlen(f->end), NULL);
    const char *st = fl_json_string(fl_json_get(end, "state"));
    static const char *const finals[] = {"done", "failed", "cancelled", "rejected"};
    s->state = "failed";
    for (size_t i = 0; st && i < 4; i++)
      if (strcmp(st, finals[i]) == 0) s->state = finals[i];
    const char *c = fl_json_string(fl_json_get(end, "cause"));
    const char *m = fl_json_string(fl_json_get(end, "message"));
    snprintf(s->cause, sizeof s->cause, "%s", c ? c : "");
    snprintf(s->message, sizeof s->message, "%s", m ? m : "");
    fl_json_free(end);
    return;
  }
  const char *ours = v->known ? fl_cli_slurm_state(v->slurm) : NULL;
  if (ours && (strcmp(ours, "queued") == 0 || strcmp(ours, "running") == 0)) {
    s->state = ours;
    return;
  }
  /* Slurm ended it (or forgot it) before flatlined wrote its end. */
  s->state = ours && strcmp(ours, "done") != 0 ? ours : "failed";
  char root[FL_PATH_MAX] = "";
  fl_cli_slurm_root(root, sizeof root);
  snprintf(s->message, sizeof s->message, "the Slurm job ended (%s) before the "
           "training did; its output is in %.*s/%s.out",
           v->known ? v->slurm : "no longer known to Slurm", 200, root, f->id);
}

static double num(const fl_json *o, const char *key) {
  double v = 0;
  fl_json_number(fl_json_get(o, key), &v);
  return v;
}

/* The job object of the daemon's list/show reply (daemon/requests.c
 * job_fields), from the folder and Slurm; show adds the spec, the last
 * epoch, the class report and the fix. */
static fl_json *job_object(const job_folder *f, const slurm_view *v, bool show) {
  job_state s;
  state_of(f, v, &s);
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_str(&w, "job", f->id);
  fl_jw_str(&w, "name", fl_json_string(fl_json_get(f->job, "name")));
  fl_jw_int(&w, "owner", (long long)num(f->job, "uid"));
  fl_jw_str(&w, "user", fl_json_string(fl_json_get(f->job, "user")));
  fl_jw_str(&w, "state", s.state);
  fl_jw_null(&w, "device");
  int epoch = f->epoch > (int)num(f->job, "epoch") ? f->epoch : (int)num(f->job, "epoch");
  fl_jw_int(&w, "epoch", epoch);
  fl_jw_int(&w, "epochs", (long long)num(f->job, "epochs"));
  fl_jw_int(&w, "submitted", (long long)num(f->job, "submitted"));
  bool begun = strcmp(s.state, "queued") != 0 && num(f->job, "started") > 0;
  if (begun) fl_jw_int(&w, "started", (long long)num(f->job, "started"));
  else fl_jw_null(&w, "started");
  if (num(f->job, "ended") > 0 && f->end) fl_jw_int(&w, "ended", (long long)num(f->job, "ended"));
  else fl_jw_null(&w, "ended");
  fl_jw_int(&w, "priority", 0);
  fl_jw_null(&w, "after");
  fl_jw_bool(&w, "cancelling", false);
  /* Where it runs: Slurm's node list (the device is the node's, chosen
   * from what Slurm handed the job). */
  char where[96];
  snprintf(where, sizeof where, "slurm:%s", v->node);
  fl_jw_str(&w, "device_name", v->node[0] ? where : NULL);
  fl_jw_str(&w, "slurm_state", v->known ? v->slurm : NULL);
  const char *group = fl_json_string(fl_json_get(f->job, "group"));
  fl_jw_str(&w, "group", group); /* a sweep's job array, as daemon jobs carry it */
  if (show) {
    if (f->spec) fl_jw_raw(&w, "spec", f->spec);
    else fl_jw_null(&w, "spec");
    if (f->last_epoch) fl_jw_raw(&w, "last_epoch", f->last_epoch);
    else fl_jw_null(&w, "last_epoch");
    fl_jw_str(&w, "cause", s.cause[0] ? s.cause : NULL);
    fl_jw_str(&w, "message", s.message[0] ? s.message : NULL);
    if (f->metrics) fl_jw_raw(&w, "metrics", f->metrics);
    char *fixed = NULL;
    fl_error err = {0};
    if (f->fix && f->spec &&
        fl_json_merge_patch(f->spec, strlen(f->spec), f->fix, &fixed, &err) == 0) {
      fl_jw_raw(&w, "fix", f->fix);
      fl_jw_raw(&w, "fixed_spec", fixed);
    }
    free(fixed);
  }
  fl_jw_object_end(&w);
  char *text = fl_jw_finish(&w);
  fl_json *o = text ? fl_json_parse(text, strlen(text), NULL) : NULL;
  free(text);
  return o;
}

/* The end event as the job library writes it (job/events.c), for a job
 * whose end flatlined could not write (malloc'd). */
static char *end_event(const char *job, const char *state, const char *cause,
                       const char *message) {
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_str(&w, "event", FL_EVENT_END);
  fl_jw_str(&w, "job", job);
  fl_jw_str(&w, "state", state);
  fl_jw_str(&w, "cause", cause);
  if (message) fl_jw_str(&w, "message", message);
  fl_jw_object_end(&w);
  return fl_jw_finish(&w);
}

/* ---- show, list ---- */

static int cmd_show(const fl_cli_args *a, const fl_cli_out *o) {
  char what[64];
  snprintf(what, sizeof what, "show %s", a->job);
  job_folder f;
  slurm_view v;
  int rc = folder_read(o, what, a->job, true, &f);
  if (!rc) rc = slurm_ask(o, what, a->job, &v);
  fl_json *job = rc ? NULL : job_object(&f, &v, true);
  if (!rc && !job) {
    fprintf(o->err, "flatline: %s: out of memory\n", what);
    rc = FL_EXIT_FAILED;
  }
  if (!rc && a->fixed_spec) {
    /* The renderer takes the whole reply: {"job": {...}}. */
    fl_jw w;
    fl_jw_init(&w);
    fl_jw_object_begin(&w, NULL);
    char *inner = fl_json_print(job);
    fl_jw_raw(&w, "job", inner ? inner : "{}");
    free(inner);
    fl_jw_object_end(&w);
    char *text = fl_jw_finish(&w);
    fl_json *reply = text ? fl_json_parse(text, strlen(text), NULL) : NULL;
    free(text);
    rc = fl_cli_render_fixed_spec(o, a->job, reply);
    fl_json_free(reply);
  } else if (!rc) {
    rc = fl_cli_render_job(o, job);
  }
  fl_json_free(job);
  folder_free(&f);
  return rc;
}

/* s12 < s12_0 < s12_1 < s13: by job number, then task. */
static int by_number(const void *x, const void *y) {
  char *ea, *eb;
  long a = strtol(*(char *const *)x + 1, &ea, 10), b = strtol(*(char *const *)y + 1, &eb, 10);
  if (a != b) return a < b ? -1 : 1;
  long ta = *ea == '_' ? strtol(ea + 1, NULL, 10) : -1;
  long tb = *eb == '_' ? strtol(eb + 1, NULL, 10) : -1;
  return ta < tb ? -1 : ta > tb;
}

/* squeue's word for each of this user's jobs, one call: "id|STATE|NODE\n". */
static char *slurm_all(void) {
  char uid[32];
  snprintf(uid, sizeof uid, "%u", (unsigned)getuid());
  const char *argv[] = {"squeue", "-h", "-r", "-t", "all", "-u", uid, "-o", "%i|%T|%N", NULL};
  char *out = NULL;
  if (run_prog(argv, &out, false) != 0) {
    free(out);
    return NULL;
  }
  return out;
}

static void view_from_all(const char *all, const char *id, slurm_view *v) {
  memset(v, 0, sizeof *v);
  size_t n = strlen(id + 1);
  for (const char *l = all; l && *l;) {
    const char *nl = strchr(l, '\n');
    if (strncmp(l, id + 1, n) == 0 && l[n] == '|') {
      const char *st = l + n + 1, *bar = strchr(st, '|');
      if (bar && (!nl || bar < nl)) {
        v->known = true;
        snprintf(v->slurm, sizeof v->slurm, "%.*s", (int)(bar - st), st);
        snprintf(v->node, sizeof v->node, "%.*s", (int)((nl ? nl : bar + strlen(bar)) - bar - 1),
                 bar + 1);
      }
      return;
    }
    l = nl ? nl + 1 : NULL;
  }
}

/* A number of the last epoch line (null when absent), for a summary. */
static void epoch_number(fl_jw *w, const fl_json *ev, const char *key) {
  double v;
  if (ev && fl_json_number(fl_json_get(ev, key), &v)) fl_jw_num(w, key, v);
  else fl_jw_null(w, key);
}

/* A job of a sweep's summary, as the daemon's group reply has it
 * (daemon/queue.c fl_on_group). */
static void summary_object(fl_jw *w, const job_folder *f, const slurm_view *v) {
  job_state s;
  state_of(f, v, &s);
  fl_json *ev = f->last_epoch ? fl_json_parse(f->last_epoch, strlen(f->last_epoch), NULL) : NULL;
  fl_jw_object_begin(w, NULL);
  fl_jw_str(w, "job", f->id);
  fl_jw_str(w, "name", fl_json_string(fl_json_get(f->job, "name")));
  fl_jw_str(w, "state", s.state);
  fl_jw_bool(w, "cancelling", false);
  fl_jw_int(w, "epoch", f->epoch);
  fl_jw_int(w, "epochs", (long long)num(f->job, "epochs"));
  const fl_json *sweep = fl_json_get(f->job, "sweep");
  char *sw = sweep && !fl_json_is_null(sweep) ? fl_json_print(sweep) : NULL;
  if (sw) fl_jw_raw(w, "sweep", sw);
  else fl_jw_null(w, "sweep");
  free(sw);
  epoch_number(w, ev, "loss");
  epoch_number(w, ev, "accuracy");
  epoch_number(w, ev, "val_loss");
  epoch_number(w, ev, "val_accuracy");
  fl_jw_str(w, "verdict", f->verdict[0] ? f->verdict : NULL);
  const char *cause = f->verdict[0] ? f->verdict_cause : s.cause;
  fl_jw_str(w, "cause", cause[0] ? cause : NULL);
  fl_jw_object_end(w);
  fl_json_free(ev);
}

/* Your Slurm jobs from the job root, in id order, as a JSON array: list
 * rows, or (summary) a sweep's summary rows; only group's when given. */
static int collect(const fl_cli_out *o, const char *what, const char *group, bool summary,
                   fl_json **out) {
  *out = NULL;
  char root[FL_PATH_MAX];
  if (!fl_cli_slurm_root(root, sizeof root)) {
    fprintf(o->err, "flatline: %s: no job root: set FLATLINE_SLURM_DIR (or HOME)\n", what);
    return FL_EXIT_FAILED;
  }
  DIR *d = opendir(root);
  if (!d && errno != ENOENT) {
    fprintf(o->err, "flatline: %s: cannot read %s: %s\n", what, root, strerror(errno));
    return FL_EXIT_FAILED;
  }
  char **ids = NULL;
  size_t n = 0;
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (!fl_cli_slurm_id(de->d_name)) continue;
    char **n2 = realloc(ids, (n + 1) * sizeof *ids);
    if (!n2) break;
    ids = n2;
    ids[n++] = strdup(de->d_name);
  }
  if (d) closedir(d);
  if (n) qsort(ids, n, sizeof *ids, by_number);
  char *all = n ? slurm_all() : NULL;
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_array_begin(&w, NULL);
  FILE *null_err = fopen("/dev/null", "w"); /* a half-made folder: not listed */
  fl_cli_out quiet = *o;
  if (null_err) quiet.err = null_err;
  for (size_t i = 0; i < n; i++) {
    job_folder f;
    slurm_view v;
    int rc = ids[i] ? folder_read(&quiet, what, ids[i], false, &f) : 1;
    const char *g = rc ? NULL : fl_json_string(fl_json_get(f.job, "group"));
    if (!rc && (!group || (g && strcmp(g, group) == 0))) {
      view_from_all(all, ids[i], &v);
      if (summary) {
        summary_object(&w, &f, &v);
      } else {
        fl_json *job = job_object(&f, &v, false);
        char *text = job ? fl_json_print(job) : NULL;
        if (text) fl_jw_raw(&w, NULL, text);
        free(text);
        fl_json_free(job);
      }
    }
    if (!rc) folder_free(&f);
    free(ids[i]);
  }
  if (null_err) fclose(null_err);
  free(ids);
  free(all);
  fl_jw_array_end(&w);
  char *text = fl_jw_finish(&w);
  *out = text ? fl_json_parse(text, strlen(text), NULL) : NULL;
  free(text);
  if (!*out) {
    fprintf(o->err, "flatline: %s: out of memory\n", what);
    return FL_EXIT_FAILED;
  }
  return 0;
}

static int cmd_list(const fl_cli_args *a, const fl_cli_out *o) {
  fl_json *jobs = NULL;
  int rc = collect(o, "list --slurm", a->group[0] ? a->group : NULL, false, &jobs);
  const fl_json *pages[1] = {jobs};
  if (!rc) rc = fl_cli_render_job_pages_filtered(o, pages, 1, a->state_filter, a->user_filter);
  fl_json_free(jobs);
  return rc;
}

/* group sN: the summary of the sweep that ran as job array N. */
static int cmd_group(const fl_cli_args *a, const fl_cli_out *o) {
  char what[64];
  snprintf(what, sizeof what, "group %s", a->group);
  fl_json *jobs = NULL;
  int rc = collect(o, what, a->group, true, &jobs);
  if (!rc && fl_json_array_size(jobs) == 0) {
    fprintf(o->err, "flatline: %s: no jobs of group %s in your job root\n", what, a->group);
    rc = FL_EXIT_FAILED;
  }
  if (!rc) rc = fl_cli_render_group(o, a->group, jobs);
  fl_json_free(jobs);
  return rc;
}

/* ---- follow ---- */

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
  nanosleep(&ts, NULL);
}

/* Feeds the log's whole lines from *offset on to the view; 1 once the
 * end event was shown. */
static int feed_log(const char *path, long *offset, fl_follow_view *view) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  if (fseek(f, *offset, SEEK_SET) != 0) {
    fclose(f);
    return 0;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int ended = 0;
  while (!ended && (n = getline(&line, &cap, f)) > 0) {
    if (line[n - 1] != '\n') break; /* being written: read it next time */
    *offset += n;
    fl_json *ev = fl_json_parse(line, (size_t)n - 1, NULL);
    if (ev) ended = fl_follow_event(view, ev);
    fl_json_free(ev);
  }
  free(line);
  fclose(f);
  return ended;
}

/* Follows job id until its end line, or until Slurm says it ended
 * without one (then an end event is made from Slurm's state). */
static int follow_job(const fl_cli_out *o, const char *id) {
  char what[64];
  snprintf(what, sizeof what, "follow %s", id);
  job_folder f;
  int rc = folder_read(o, what, id, false, &f);
  if (rc) return rc;
  fl_follow_view view;
  fl_follow_init(&view, o, id, o->json ? 0 : (int)num(f.job, "epochs"));
  char path[FL_PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/events.jsonl", f.dir);
  long offset = 0;
  double since_ask = STATE_EVERY_S;
  bool gone = false; /* Slurm says it ended: one more read, then stop */
  for (;;) {
    if (feed_log(path, &offset, &view)) break;
    if (gone) {
      slurm_view v;
      job_state s;
      if (slurm_ask(o, what, id, &v) != 0) memset(&v, 0, sizeof v);
      state_of(&f, &v, &s);
      char *end = end_event(id, s.state, s.cause[0] ? s.cause : NULL, s.message);
      fl_json *ev = end ? fl_json_parse(end, strlen(end), NULL) : NULL;
      if (ev) fl_follow_event(&view, ev);
      fl_json_free(ev);
      free(end);
      break;
    }
    sleep_s(POLL_S);
    since_ask += POLL_S;
    if (since_ask >= STATE_EVERY_S) {
      since_ask = 0;
      slurm_view v;
      if (slurm_ask(o, what, id, &v) != 0) {
        rc = FL_EXIT_FAILED;
        break;
      }
      const char *ours = v.known ? fl_cli_slurm_state(v.slurm) : NULL;
      gone = !ours || (strcmp(ours, "queued") != 0 && strcmp(ours, "running") != 0);
    }
  }
  if (!rc) rc = view.ended ? view.exit_status : FL_EXIT_FAILED;
  fl_follow_free(&view);
  folder_free(&f);
  return rc;
}

/* ---- cancel ---- */

/* A queued job cancelled before it started ends as the daemon ends one
 * (jobs.c): job.json final, then the end line. */
static void end_queued(const job_folder *f, const char *user) {
  char path[FL_PATH_MAX + 64], msg[160];
  snprintf(msg, sizeof msg, "cancelled by %s before it started", user);
  char *end = end_event(f->id, "cancelled", NULL, msg);
  snprintf(path, sizeof path, "%s/events.jsonl", f->dir);
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0 && end) {
    size_t n = strlen(end);
    end[n] = '\n'; /* one write: the line whole or not at all */
    if (write(fd, end, n + 1) < 0) { /* the follow then ends from Slurm's word */
    }
  }
  if (fd >= 0) close(fd);
  free(end);
}

static void print_event(const fl_cli_out *o, const char *event, const char *job) {
  if (o->json) {
    fl_jw w;
    fl_jw_init(&w);
    fl_jw_object_begin(&w, NULL);
    fl_jw_str(&w, "event", event);
    fl_jw_str(&w, "job", job);
    fl_cli_print_jw(o, &w);
    return;
  }
  fprintf(o->out, "%s %s\n", event, job);
}

static int cancel_one(const fl_cli_out *o, const char *id) {
  char what[64];
  snprintf(what, sizeof what, "cancel %s", id);
  job_folder f;
  slurm_view v;
  int rc = folder_read(o, what, id, false, &f);
  if (!rc) rc = slurm_ask(o, what, id, &v);
  if (rc) {
    folder_free(&f);
    return rc;
  }
  job_state s;
  state_of(&f, &v, &s);
  if (strcmp(s.state, "queued") != 0 && strcmp(s.state, "running") != 0) {
    fprintf(o->err, "flatline: %s: job %s already ended (%s)\n", what, id, s.state);
    folder_free(&f);
    return FL_EXIT_FAILED;
  }
  bool pending = strcmp(s.state, "queued") == 0 && v.known && strcmp(v.slurm, "PENDING") == 0;
  /* Running: USR2 to the batch script, which passes it to flatlined: the
   * job ends cancelled with a verdict from what it measured, as a daemon
   * job does. Pending: Slurm drops it. */
  const char *argv_run[] = {"scancel", "--batch", "--signal=USR2", id + 1, NULL};
  const char *argv_pending[] = {"scancel", id + 1, NULL};
  char *out = NULL;
  rc = run_prog(pending ? argv_pending : argv_run, &out, true);
  if (rc != 0) {
    fprintf(o->err, "flatline: %s: Slurm refused: %s\n", what, trimmed(out));
    free(out);
    folder_free(&f);
    return FL_EXIT_FAILED;
  }
  free(out);
  if (pending) {
    struct passwd *pw = getpwuid(getuid());
    end_queued(&f, pw ? pw->pw_name : "its owner");
  }
  print_event(o, pending ? "cancelled" : "cancelling", id);
  folder_free(&f);
  return FL_EXIT_OK;
}

/* ---- export ---- */

static int export_model(const fl_cli_args *a, const fl_cli_out *o) {
  char what[64];
  snprintf(what, sizeof what, "export %s", a->job);
  job_folder f;
  slurm_view v;
  int rc = folder_read(o, what, a->job, false, &f);
  if (!rc) rc = slurm_ask(o, what, a->job, &v);
  if (rc) {
    folder_free(&f);
    return rc;
  }
  job_state s;
  state_of(&f, &v, &s);
  char path[FL_PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/model.safetensors", f.dir);
  size_t len = 0;
  int e = 0;
  char *model = strcmp(s.state, "done") == 0 ? read_text(path, (size_t)1 << 40, &len, &e) : NULL;
  if (!model) {
    if (strcmp(s.state, "done") != 0)
      fprintf(o->err, "flatline: %s: job %s has no model: it is %s\n", what, a->job, s.state);
    else
      fprintf(o->err, "flatline: %s: cannot read %s: %s\n", what, path, strerror(e));
    folder_free(&f);
    return FL_EXIT_FAILED;
  }
  /* As the daemon's export is written (cmd_export.c): FILE.tmp, synced,
   * renamed over FILE. */
  char tmp[FL_PATH_MAX + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp", a->output);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
  size_t done = 0;
  ssize_t w = 0;
  while (fd >= 0 && done < len && (w = write(fd, model + done, len - done)) > 0) done += (size_t)w;
  bool ok = fd >= 0 && done == len && fsync(fd) == 0;
  if (fd >= 0 && close(fd) != 0) ok = false;
  if (ok && rename(tmp, a->output) != 0) ok = false;
  if (!ok) {
    fprintf(o->err, "flatline: %s: cannot write %s: %s\n", what, a->output, strerror(errno));
    unlink(tmp);
    rc = FL_EXIT_FAILED;
  } else if (o->json) {
    fl_jw jw;
    fl_jw_init(&jw);
    fl_jw_object_begin(&jw, NULL);
    fl_jw_str(&jw, "event", "exported");
    fl_jw_str(&jw, "job", a->job);
    fl_jw_str(&jw, "file", a->output);
    fl_jw_int(&jw, "bytes", (long long)len);
    fl_jw_str(&jw, "format", "safetensors");
    fl_cli_print_jw(o, &jw);
  } else {
    char name[FL_PATH_MAX];
    fl_cli_sanitize(name, sizeof name, a->output);
    fprintf(o->out, "wrote %s (%zu bytes, safetensors)\n", name, len);
  }
  free(model);
  folder_free(&f);
  return rc;
}

static int export_csv(const fl_cli_args *a, const fl_cli_out *o) {
  char what[64];
  snprintf(what, sizeof what, "export %s", a->job);
  job_folder f;
  int rc = folder_read(o, what, a->job, false, &f);
  if (rc) return rc;
  char path[FL_PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/events.jsonl", f.dir);
  size_t len = 0;
  int e = 0;
  char *log = read_text(path, LOG_MAX, &len, &e);
  fl_history h;
  fl_history_init(&h);
  for (const char *line = log; log && line < log + len;) {
    const char *nl = memchr(line, '\n', (size_t)(log + len - line));
    if (!nl) break;
    fl_json *ev = fl_json_parse(line, (size_t)(nl - line), NULL);
    if (ev) fl_history_add(&h, ev);
    fl_json_free(ev);
    line = nl + 1;
  }
  free(log);
  bool to_stdout = strcmp(a->csv, "-") == 0;
  char tmp[FL_PATH_MAX + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp", a->csv);
  FILE *out = to_stdout ? o->out : NULL;
  if (!to_stdout) {
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
    out = fd >= 0 ? fdopen(fd, "w") : NULL;
  }
  bool ok = out && fl_csv_write(out, &h) == 0 && fflush(out) == 0;
  if (!to_stdout && out) ok = fsync(fileno(out)) == 0 && fclose(out) == 0 && ok;
  if (ok && !to_stdout) ok = rename(tmp, a->csv) == 0;
  if (!ok) {
    fprintf(o->err, "flatline: %s: cannot write %s: %s\n", what, a->csv, strerror(errno));
    if (!to_stdout) unlink(tmp);
    rc = FL_EXIT_FAILED;
  } else if (!to_stdout && !o->json) {
    fprintf(o->out, "wrote %s (%zu epochs, csv)\n", a->csv, h.n_epochs);
  }
  fl_history_free(&h);
  folder_free(&f);
  return rc;
}

/* ---- submit ---- */

/* Where flatlined is, for the batch script: $FLATLINED, else beside this
 * flatline (a build folder), else the installed sbin. The compute nodes
 * must have it at the same path. */
static void flatlined_path(char *out, size_t size) {
  const char *env = getenv("FLATLINED");
  if (env && *env) {
    snprintf(out, size, "%s", env);
    return;
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    char *dir = dirname(self);
    const char *cands[] = {"%s/flatlined", "%s/../sbin/flatlined"};
    for (size_t i = 0; i < 2; i++) {
      char p[PATH_MAX + 32];
      snprintf(p, sizeof p, cands[i], dir);
      char real[PATH_MAX];
      if (access(p, X_OK) == 0 && realpath(p, real)) {
        snprintf(out, size, "%s", real);
        return;
      }
    }
  }
  snprintf(out, size, "/usr/sbin/flatlined");
}

/* The spec with its data paths made absolute (the job folder is not the
 * spec's folder), as a merge patch on the text. */
static int spec_for_folder(const fl_cli_job_files *jf, char **out, fl_error *err) {
  const fl_data_source *srcs[2] = {&jf->spec.train, &jf->spec.validation};
  const char *names[2] = {"train", "validation"};
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_object_begin(&w, "data");
  for (int i = 0; i < 2; i++) {
    const fl_data_source *s = srcs[i];
    if (s->kind == FL_SRC_NONE) continue;
    const char *k1 = s->kind == FL_SRC_NPY ? "features" : s->kind == FL_SRC_CSV ? "csv" : "idx_images";
    const char *k2 = s->kind == FL_SRC_NPY ? "labels" : s->kind == FL_SRC_IDX ? "idx_labels" : NULL;
    fl_jw_object_begin(&w, names[i]);
    const char *paths[2] = {s->features, s->labels};
    const char *keys[2] = {k1, k2};
    for (int j = 0; j < 2; j++) {
      if (!keys[j] || !paths[j][0]) continue;
      char *rel = fl_cli_resolve_path(jf->spec_path, paths[j]);
      char real[PATH_MAX];
      if (!rel || !realpath(rel, real)) {
        int e = errno;
        fl_error_set(err, FL_ENOTFOUND, "data.%s.%s: cannot read %s: %s", names[i], keys[j],
                     rel ? rel : paths[j], strerror(e));
        free(rel);
        free(fl_jw_finish(&w));
        return FL_ENOTFOUND;
      }
      free(rel);
      fl_jw_str(&w, keys[j], real);
    }
    fl_jw_object_end(&w);
  }
  fl_jw_object_end(&w);
  fl_jw_object_end(&w);
  char *patch = fl_jw_finish(&w);
  if (!patch) return fl_error_set(err, FL_ENOMEM, "out of memory");
  int rc = fl_json_merge_patch(jf->text, jf->len, patch, out, err);
  free(patch);
  return rc;
}

static int write_new(const char *path, const char *text, fl_error *err) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  size_t n = strlen(text), done = 0;
  ssize_t w = 0;
  while (fd >= 0 && done < n && (w = write(fd, text + done, n - done)) > 0) done += (size_t)w;
  bool ok = fd >= 0 && done == n;
  int e = errno;
  if (fd >= 0 && close(fd) != 0) ok = false;
  if (!ok) return fl_error_set(err, FL_EIO, "cannot write %s: %s", path, strerror(e));
  return 0;
}

/* mkdir -p with mode for the missing folders. */
static int make_dirs(const char *path, mode_t mode) {
  char p[FL_PATH_MAX];
  snprintf(p, sizeof p, "%s", path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    if (mkdir(p, mode) != 0 && errno != EEXIST) return -1;
    *s = '/';
  }
  return mkdir(p, mode) != 0 && errno != EEXIST ? -1 : 0;
}

/* job.json as the service writes it (daemon/jobs.c fl_job_save), queued. */
static char *queued_job_json(const char *id, const fl_cli_job_files *jf, const char *group,
                             const char *sweep) {
  struct passwd *pw = getpwuid(getuid());
  char user[64];
  snprintf(user, sizeof user, "%s", pw ? pw->pw_name : "");
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_str(&w, "id", id);
  fl_jw_int(&w, "number", strtoll(id + 1, NULL, 10));
  fl_jw_int(&w, "uid", getuid());
  fl_jw_int(&w, "gid", getgid());
  fl_jw_str(&w, "user", user);
  fl_jw_str(&w, "name", jf->spec.name);
  fl_jw_str(&w, "state", "queued");
  fl_jw_int(&w, "device", -1);
  fl_jw_str(&w, "device_want", jf->spec.device);
  fl_jw_int(&w, "epochs", jf->spec.epochs);
  fl_jw_int(&w, "epoch", 0);
  fl_jw_int(&w, "submitted", (long long)time(NULL));
  fl_jw_int(&w, "started", 0);
  fl_jw_int(&w, "ended", 0);
  fl_jw_int(&w, "priority", 0);
  fl_jw_str(&w, "after", "");
  fl_jw_null(&w, "cause");
  fl_jw_null(&w, "message");
  fl_jw_int(&w, "data_bytes", 0);
  fl_jw_bool(&w, "cancel_requested", false);
  if (group) fl_jw_str(&w, "group", group);
  if (sweep) fl_jw_raw(&w, "sweep", sweep); /* built by sweep.c: valid JSON */
  fl_jw_array_begin(&w, "files");
  fl_jw_array_end(&w);
  fl_jw_object_end(&w);
  return fl_jw_finish(&w);
}

/* The job's folder ROOT/id with its spec and job.json (queued). */
static int make_folder(const fl_cli_out *o, const char *what, const char *root, const char *id,
                       const char *spec, const fl_cli_job_files *jf, const char *group,
                       const char *sweep) {
  char dir[FL_PATH_MAX + 32], path[FL_PATH_MAX + 64];
  fl_error err = {0};
  snprintf(dir, sizeof dir, "%s/%s", root, id);
  char *job_json = queued_job_json(id, jf, group, sweep);
  snprintf(path, sizeof path, "%s/spec.json", dir);
  int rc = 0;
  if (mkdir(dir, 0700) != 0 || write_new(path, spec, &err) != 0 || !job_json) {
    fprintf(o->err, "flatline: %s: cannot make the job folder %s: %s\n", what, dir,
            err.msg[0] ? err.msg : strerror(errno));
    rc = FL_EXIT_FAILED;
  }
  snprintf(path, sizeof path, "%s/job.json", dir);
  if (!rc && write_new(path, job_json, &err) != 0) {
    fprintf(o->err, "flatline: %s: %s\n", what, err.msg);
    rc = FL_EXIT_FAILED;
  }
  free(job_json);
  return rc;
}

/* The sweep's grid over spec (the folder's text: data paths absolute). */
static int expand_sweep(const fl_cli_args *a, const fl_cli_out *o, const char *spec,
                        fl_sweep_points *pts) {
  fl_sweep_grid g = {0};
  fl_error err = {0};
  int rc = 0;
  for (int i = 0; i < a->n_sweeps && !rc; i++) rc = fl_sweep_parse_arg(&g, a->sweeps[i], &err);
  if (!rc) rc = fl_sweep_expand(spec, strlen(spec), &g, pts, &err);
  fl_sweep_grid_free(&g);
  if (rc) fprintf(o->err, "flatline: submit %s: %s\n", a->spec, err.msg);
  return rc == 0 ? 0 : rc == FL_ENOMEM ? FL_EXIT_FAILED : FL_EXIT_USAGE;
}

static void print_submitted(const fl_cli_out *o, const char *id, const char *group,
                            const fl_sweep_point *pt) {
  if (o->json) {
    fl_jw w;
    fl_jw_init(&w);
    fl_jw_object_begin(&w, NULL);
    fl_jw_str(&w, "event", "submitted");
    fl_jw_str(&w, "job", id);
    if (group) fl_jw_str(&w, "group", group);
    if (pt) fl_jw_raw(&w, "sweep", pt->values);
    fl_cli_print_jw(o, &w);
    return;
  }
  char label[1024] = "";
  if (pt) fl_cli_sanitize(label, sizeof label, pt->label);
  fprintf(o->out, "submitted %s%s%s\n", id, pt ? "  " : "", label);
  fflush(o->out);
}

/* submit --slurm: one job, or (--sweep) one job array with a task per
 * grid point, the sweep's group being "s" and the array's id. */
static int cmd_submit(const fl_cli_args *a, const fl_cli_out *o) {
  char what[FL_PATH_MAX + 16];
  snprintf(what, sizeof what, "submit %s", a->spec);
  fl_cli_job_files jf;
  fl_error err = {0};
  fl_sweep_points pts = {0};
  char *spec = NULL, *script = NULL, *out = NULL;
  char root[FL_PATH_MAX], script_path[FL_PATH_MAX + 32] = "", id[FL_JOB_ID_MAX] = "";
  char bin[PATH_MAX];
  int rc = FL_EXIT_FAILED;
  bool held = false, sweep = a->n_sweeps > 0;
  if (fl_cli_spec_load(a->spec, &jf, &err) || spec_for_folder(&jf, &spec, &err)) {
    fprintf(o->err, "flatline: %s\n", err.msg);
    goto out;
  }
  if (jf.spec.init_from[0]) {
    fprintf(o->err, "flatline: %s: init_from names a daemon job; a Slurm job "
            "cannot start from it\n", what);
    goto out;
  }
  if (sweep && (rc = expand_sweep(a, o, spec, &pts))) goto out;
  rc = FL_EXIT_FAILED;
  if (!fl_cli_slurm_root(root, sizeof root) || make_dirs(root, 0700) != 0) {
    fprintf(o->err, "flatline: %s: cannot create the job root %s: %s (set "
            "FLATLINE_SLURM_DIR to a folder on a file system the compute nodes share)\n",
            what, root, strerror(errno));
    goto out;
  }
  flatlined_path(bin, sizeof bin);
  script = fl_cli_slurm_script(bin, root, jf.spec.name, sweep);
  snprintf(script_path, sizeof script_path, "%s/.submit-XXXXXX", root);
  int fd = script ? mkstemp(script_path) : -1;
  if (fd < 0 || write(fd, script, strlen(script)) != (ssize_t)strlen(script)) {
    fprintf(o->err, "flatline: %s: cannot write the batch script in %s: %s\n", what, root,
            strerror(errno));
    if (fd >= 0) close(fd);
    goto out;
  }
  close(fd);
  /* Held until its folders are there: no task may start first. */
  const char *argv[24 + FL_CLI_MAX_SBATCH_ARGS];
  char part[160], time_opt[96], account[160], gres[48], array[48];
  int n = 0;
  argv[n++] = "sbatch";
  argv[n++] = "--parsable";
  argv[n++] = "--hold";
  if (sweep) snprintf(array, sizeof array, "--array=0-%d", pts.n - 1), argv[n++] = array;
  if (a->slurm.partition) snprintf(part, sizeof part, "--partition=%s", a->slurm.partition), argv[n++] = part;
  if (a->slurm.time) snprintf(time_opt, sizeof time_opt, "--time=%s", a->slurm.time), argv[n++] = time_opt;
  if (a->slurm.account) snprintf(account, sizeof account, "--account=%s", a->slurm.account), argv[n++] = account;
  if (a->slurm.gpus) snprintf(gres, sizeof gres, "--gres=gpu:%s", a->slurm.gpus), argv[n++] = gres;
  for (int i = 0; i < a->slurm.n_sbatch; i++) argv[n++] = a->slurm.sbatch[i];
  argv[n++] = script_path;
  argv[n] = NULL;
  int st = run_prog(argv, &out, true);
  const char *reply = trimmed(out);
  char *end = NULL;
  long num = st == 0 ? strtol(reply, &end, 10) : 0;
  if (st != 0 || num <= 0 || (end && *end && *end != ';')) {
    fprintf(o->err, "flatline: %s: sbatch %s: %s\n", what,
            st == 127 ? "is not installed here (a Slurm client is needed)" : "refused the job",
            reply);
    goto out;
  }
  held = true;
  snprintf(id, sizeof id, "s%ld", num);
  if (!sweep && make_folder(o, what, root, id, spec, &jf, NULL, NULL)) goto out;
  for (int i = 0; i < pts.n; i++) {
    char task[FL_JOB_ID_MAX];
    snprintf(task, sizeof task, "%s_%d", id, i);
    if (make_folder(o, what, root, task, pts.points[i].spec, &jf, id, pts.points[i].values))
      goto out;
  }
  free(out);
  const char *release[] = {"scontrol", "release", id + 1, NULL};
  st = run_prog(release, &out, true);
  if (st != 0) {
    fprintf(o->err, "flatline: %s: scontrol release %s failed: %s\n", what, id + 1, trimmed(out));
    goto out;
  }
  held = false; /* it stands */
  rc = FL_EXIT_OK;
  if (!sweep) print_submitted(o, id, NULL, NULL);
  for (int i = 0; i < pts.n; i++) {
    char task[FL_JOB_ID_MAX];
    snprintf(task, sizeof task, "%s_%d", id, i);
    print_submitted(o, task, id, &pts.points[i]);
  }
  if (sweep && !o->json)
    fprintf(o->out, "submitted group %s: %d jobs (Slurm job array %ld); 'flatline group "
            "%s' shows them, best first\n", id, pts.n, num, id);
  if (sweep && o->json) {
    fl_jw w;
    fl_jw_init(&w);
    fl_jw_object_begin(&w, NULL);
    fl_jw_str(&w, "event", "submitted_group");
    fl_jw_str(&w, "group", id);
    fl_jw_int(&w, "jobs", pts.n);
    fl_cli_print_jw(o, &w);
  }
  if (a->follow && !sweep) rc = follow_job(o, id);
out:
  if (held) { /* held, and without its folders: gone */
    free(out);
    const char *cancel[] = {"scancel", id + 1, NULL};
    run_prog(cancel, &out, true);
  }
  if (script_path[0] && script_path[strlen(script_path) - 1] != 'X') unlink(script_path);
  free(out);
  free(spec);
  free(script);
  fl_sweep_points_free(&pts);
  fl_cli_job_files_free(&jf);
  return rc;
}

/* ---- dispatch ---- */

static bool any_slurm_opt(const fl_cli_slurm_opts *s) {
  return s->partition || s->time || s->account || s->gpus || s->n_sbatch;
}

int fl_cli_slurm_dispatch(const fl_cli_args *a, const fl_cli_out *o) {
  const char *cmd = a->command ? a->command->name : "";
  if (strcmp(cmd, "submit") == 0) {
    if (!a->slurm.on && any_slurm_opt(&a->slurm)) {
      fprintf(o->err, "flatline: submit: --partition, --time, --account, --gpus and "
              "--sbatch go with --slurm\n");
      return FL_EXIT_USAGE;
    }
    if (a->slurm.on && a->n_sweeps > 0 && a->follow) {
      fprintf(o->err, "flatline: submit: --follow follows one job; a sweep's are "
              "followed one by one (flatline follow sN_I)\n");
      return FL_EXIT_USAGE;
    }
    return a->slurm.on ? cmd_submit(a, o) : -1;
  }
  if (strcmp(cmd, "list") == 0)
    return a->slurm.on || fl_cli_slurm_id(a->group) ? cmd_list(a, o) : -1;
  if (strcmp(cmd, "group") == 0) return fl_cli_slurm_id(a->group) ? cmd_group(a, o) : -1;
  if (!fl_cli_slurm_id(a->job)) return -1;
  if (strcmp(cmd, "show") == 0) return cmd_show(a, o);
  if (strcmp(cmd, "follow") == 0) return follow_job(o, a->job);
  if (strcmp(cmd, "export") == 0) return a->csv ? export_csv(a, o) : export_model(a, o);
  if (strcmp(cmd, "cancel") == 0) {
    int worst = FL_EXIT_OK;
    for (int i = 0; i < a->n_ids; i++)
      if (!fl_cli_slurm_id(a->ids[i])) {
        fprintf(o->err, "flatline: cancel: give Slurm jobs (s17) and daemon jobs "
                "(j17) in separate commands\n");
        return FL_EXIT_USAGE;
      }
    for (int i = 0; i < a->n_ids; i++) {
      int one = cancel_one(o, a->ids[i]);
      if (one) worst = FL_EXIT_FAILED;
    }
    return worst;
  }
  fprintf(o->err, "flatline: %s: %s is a Slurm job; %s works on daemon jobs (for "
          "Slurm jobs: follow, show, list --slurm, cancel, export)\n", cmd, a->job, cmd);
  return FL_EXIT_USAGE;
}
