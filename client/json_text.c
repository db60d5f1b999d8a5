/* client/json_text.c — owns the text of --json lines: joining object texts
 * (to put "event" first in front of a reply's object), printing a line as
 * it must appear (whole, newline, flushed), starting an event's object,
 * and pretty-printing a spec for people. It works on the compact text
 * fl_json_print writes, so it never needs to walk an object's keys. */
#include <stdlib.h>
#include <string.h>

#include "output.h"

/* The text between the braces of an object text, and its length; NULL if
 * text is not "{...}". */
static const char *members(const char *text, size_t *len) {
  size_t n = text ? strlen(text) : 0;
  if (n < 2 || text[0] != '{' || text[n - 1] != '}') return NULL;
  *len = n - 2;
  return text + 1;
}

char *fl_cli_json_concat(const char *a, const char *b) {
  size_t la = 0, lb = 0;
  const char *ma = members(a, &la), *mb = members(b, &lb);
  if (!ma || !mb) return NULL;
  char *out = malloc(la + lb + 4);
  if (!out) return NULL;
  size_t at = 0;
  out[at++] = '{';
  memcpy(out + at, ma, la);
  at += la;
  if (la && lb) out[at++] = ',';
  memcpy(out + at, mb, lb);
  at += lb;
  out[at++] = '}';
  out[at] = '\0';
  return out;
}

char *fl_cli_json_with_event(const char *event, const fl_json *obj) {
  fl_jw w;
  fl_jw_init(&w);
  fl_jw_object_begin(&w, NULL);
  fl_jw_str(&w, "event", event);
  fl_jw_object_end(&w);
  char *head = fl_jw_finish(&w);
  if (!head) return NULL;
  char *body = obj ? fl_json_print(obj) : NULL;
  char *line = body ? fl_cli_json_concat(head, body) : NULL;
  free(body);
  if (line) {
    free(head);
    return line;
  }
  return head; /* obj absent or not an object: the event alone */
}

void fl_cli_print_json_line(const fl_cli_out *o, const char *text) {
  if (!text) return;
  fputs(text, o->out);
  fputc('\n', o->out);
  fflush(o->out);
}

bool fl_cli_print_jw(const fl_cli_out *o, fl_jw *w) {
  fl_jw_object_end(w);
  char *line = fl_jw_finish(w);
  fl_cli_print_json_line(o, line);
  free(line);
  return line != NULL;
}

void fl_cli_event_begin(fl_jw *w, const char *event, const char *job) {
  fl_jw_init(w);
  fl_jw_object_begin(w, NULL);
  fl_jw_str(w, "event", event);
  fl_jw_str(w, "job", job);
}

static void newline(FILE *f, int depth) {
  fputc('\n', f);
  for (int i = 0; i < depth; i++) fputs("  ", f);
}

void fl_cli_json_pretty(FILE *f, const char *s, int indent) {
  int depth = indent;
  for (int i = 0; i < indent; i++) fputs("  ", f);
  bool in_string = false;
  for (; s && *s; s++) {
    char c = *s;
    if (in_string) {
      fputc(c, f);
      if (c == '\\' && s[1]) fputc(*++s, f); /* the escaped char, as is */
      else if (c == '"') in_string = false;
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        fputc(c, f);
        break;
      case '{':
      case '[':
        fputc(c, f);
        if (s[1] == '}' || s[1] == ']') {
          fputc(*++s, f); /* {} and [] stay on one line */
        } else {
          newline(f, ++depth);
        }
        break;
      case '}':
      case ']':
        newline(f, --depth > indent ? depth : indent);
        fputc(c, f);
        break;
      case ',':
        fputc(c, f);
        newline(f, depth);
        break;
      case ':':
        fputs(": ", f);
        break;
      default:
        fputc(c, f);
    }
  }
  fputc('\n', f);
}
