/* daemon/probes.h — runs a diagnosis's probes on a device (engine). */
#ifndef FL_DAEMON_PROBES_H
#define FL_DAEMON_PROBES_H

#include "flatline/diagnose.h"
#include "flatline/engine.h"

/* Runs the probes fl_probe_plan picks for `signals`, within budget_s
 * seconds (the baseline and one more always run), filling
 * res[FL_PROBE_COUNT]; *spent = seconds used. val may be NULL. */
int fl_probes_run(fl_device *dev, const fl_job_spec *spec, const fl_dataset *train,
                  const fl_dataset *val, const fl_signals *signals, double budget_s,
                  fl_probe_result *res, double *spent);

#endif
