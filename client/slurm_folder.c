/* client/slurm_folder.c — what every Slurm command reads (slurm_internal.h):
 * runs Slurm's programs (squeue, scancel, sbatch, scontrol) without a
 * shell (fork + execvp, output through a pipe: nothing a user typed is
 * ever parsed by sh here), asks squeue for a job's state and node, reads a
 * job folder (job.json, spec.json, events.jsonl as the daemon notes its
 * log), and from both makes the job's state and the objects the daemon
 * would send (a list/show job, an end event). */
#define _GNU_SOURCE /* strndup */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slurm_internal.h"

/* ---- running a program ---- */

/* Runs argv[0] with argv (searched in PATH); its stdout (and stderr when
 * err_too) in *out (malloc'd, NUL-terminated). Returns its exit status,
 * 127 when it cannot start. */
int fl_cli_slurm_run(const char *const *argv, char **out, bool err_too) {
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
const char *fl_cli_slurm_trimmed(char *text) {
  if (!text) return "";
  size_t n = strlen(text);
  while (n && (text[n - 1] == '\n' || text[n - 1] == ' ')) text[--n] = '\0';
  const char *nl = strrchr(text, '\n');
  return nl ? nl + 1 : text;
}

/* ---- Slurm's view of a job ---- */


/* squeue -j N: 0 (view->known false when Slurm has forgotten the job),
 * or FL_EXIT_FAILED with the error printed (squeue missing or failing). */
int fl_cli_slurm_ask(const fl_cli_out *o, const char *what, const char *id,
                     fl_cli_slurm_view *v) {
  memset(v, 0, sizeof *v);
  const char *argv[] = {"squeue", "-h", "-r", "-t", "all", "-j", id + 1, "-o", "%T|%N", NULL};
  char *out = NULL;
  int rc = fl_cli_slurm_run(argv, &out, true);
  if (rc == 0) {
    char *bar = out ? strchr(out, '|') : NULL;
    if (bar) {
      v->known = true;
      snprintf(v->slurm, sizeof v->slurm, "%.*s", (int)(bar - out), out);
      snprintf(v->node, sizeof v->node, "%s", fl_cli_slurm_trimmed(bar + 1));
    }
  } else if (out && strstr(out, "Invalid job id")) {
    rc = 0; /* gone from slurmctld's memory (MinJobAge) */
  } else {
    fprintf(o->err, "flatline: %s: cannot ask Slurm (squeue exit %d): %s\n", what, rc,
            rc == 127 ? "squeue is not installed here (a Slurm client is needed)"
                      : fl_cli_slurm_trimmed(out));
    rc = FL_EXIT_FAILED;
  }
  free(out);
  return rc;
}

/* squeue's word for each of this user's jobs, one call: "id|STATE|NODE\n". */
char *fl_cli_slurm_all(void) {
  char uid[32];
  snprintf(uid, sizeof uid, "%u", (unsigned)getuid());
  const char *argv[] = {"squeue", "-h", "-r", "-t", "all", "-u", uid, "-o", "%i|%T|%N", NULL};
  char *out = NULL;
  if (fl_cli_slurm_run(argv, &out, false) != 0) {
    free(out);
    return NULL;
  }
  return out;
}

void fl_cli_slurm_view_from_all(const char *all, const char *id, fl_cli_slurm_view *v) {
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

/* ---- the job folder ---- */


char *fl_cli_slurm_read_text(const char *path, size_t max, size_t *len, int *e) {
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
static void note_line(fl_cli_slurm_folder *f, const char *line, size_t n) {
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

void fl_cli_slurm_folder_free(fl_cli_slurm_folder *f) {
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
int fl_cli_slurm_folder_read(const fl_cli_out *o, const char *what, const char *id, bool spec,
                       fl_cli_slurm_folder *f) {
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
  char *text = fl_cli_slurm_read_text(path, 1 << 20, &len, &e);
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
    f->spec = fl_cli_slurm_read_text(path, FL_SPEC_MAX_BYTES, NULL, &e);
  }
  snprintf(path, sizeof path, "%s/events.jsonl", f->dir);
  char *log = fl_cli_slurm_read_text(path, FL_CLI_SLURM_LOG_MAX, &len, &e);
  for (const char *line = log; log && line < log + len;) {
    const char *nl = memchr(line, '\n', (size_t)(log + len - line));
    if (!nl) break; /* a line being written */
    note_line(f, line, (size_t)(nl - line));
    line = nl + 1;
  }
  free(log);
  return 0;
}

int fl_cli_slurm_open(const fl_cli_out *o, const char *verb, const char *id, bool spec,
                      char *what, size_t what_size, fl_cli_slurm_folder *f,
                      fl_cli_slurm_view *v) {
  snprintf(what, what_size, "%s %s", verb, id);
  int rc = fl_cli_slurm_folder_read(o, what, id, spec, f);
  if (!rc && v) rc = fl_cli_slurm_ask(o, what, id, v);
  if (rc) fl_cli_slurm_folder_free(f);
  return rc;
}


void fl_cli_slurm_state_of(const fl_cli_slurm_folder *f, const fl_cli_slurm_view *v,
                           fl_cli_slurm_job_state *s) {
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

double fl_cli_slurm_num(const fl_json *o, const char *key) {
  double v = 0;
  fl_json_number(fl_json_get(o, key), &v);
  return v;
}

/* The job object of the daemon's list/show reply (daemon/requests.c
 * job_fields), from the folder and Slurm; show adds the spec, the last
 * epoch, the class report and the fix. */
fl_json *fl_cli_slurm_job_object(const fl_cli_slurm_folder *f, const fl_cli_slurm_view *v,
                                 bool show) {
  fl_cli_slurm_job_state s;
  fl_cli_slurm_state_of(f, v, &s);
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_str(&w, "job", f->id);
  fl_jw_str(&w, "name", fl_json_string(fl_json_get(f->job, "name")));
  fl_jw_int(&w, "owner", (long long)fl_cli_slurm_num(f->job, "uid"));
  fl_jw_str(&w, "user", fl_json_string(fl_json_get(f->job, "user")));
  fl_jw_str(&w, "state", s.state);
  fl_jw_null(&w, "device");
  int epoch = f->epoch > (int)fl_cli_slurm_num(f->job, "epoch") ? f->epoch : (int)fl_cli_slurm_num(f->job, "epoch");
  fl_jw_int(&w, "epoch", epoch);
  fl_jw_int(&w, "epochs", (long long)fl_cli_slurm_num(f->job, "epochs"));
  fl_jw_int(&w, "submitted", (long long)fl_cli_slurm_num(f->job, "submitted"));
  bool begun = strcmp(s.state, "queued") != 0 && fl_cli_slurm_num(f->job, "started") > 0;
  if (begun) fl_jw_int(&w, "started", (long long)fl_cli_slurm_num(f->job, "started"));
  else fl_jw_null(&w, "started");
  if (fl_cli_slurm_num(f->job, "ended") > 0 && f->end) fl_jw_int(&w, "ended", (long long)fl_cli_slurm_num(f->job, "ended"));
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
char *fl_cli_slurm_end_event(const char *job, const char *state, const char *cause,
                       const char *message) {
  fl_jw w;
  fl_cli_event_begin(&w, FL_EVENT_END, job);
  fl_jw_str(&w, "state", state);
  fl_jw_str(&w, "cause", cause);
  if (message) fl_jw_str(&w, "message", message);
  fl_jw_object_end(&w);
  return fl_jw_finish(&w);
}
