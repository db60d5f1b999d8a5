/* diagnose/causes.c — owns the names of the stable cause codes (DESIGN.md
 * §4), generated from FL_CAUSE_MAP so that codes and names cannot drift. */
#include "flatline/diagnose.h"

static const char *const cause_names[FL_CAUSE_COUNT] = {
    [FL_CAUSE_NONE] = NULL,
#define FL__CAUSE_NAME(id, name) [FL_CAUSE_##id] = name,
    FL_CAUSE_MAP(FL__CAUSE_NAME)
#undef FL__CAUSE_NAME
};

const char *fl_cause_name(fl_cause c) {
  if ((int)c <= (int)FL_CAUSE_NONE || (int)c >= (int)FL_CAUSE_COUNT) return NULL;
  return cause_names[c];
}
