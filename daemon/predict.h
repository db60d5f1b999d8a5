/* daemon/predict.h — the `predict` request: a done job's model applied to
 * uploaded data on the device (predict.c). */
#ifndef FL_DAEMON_PREDICT_H
#define FL_DAEMON_PREDICT_H

#include "daemon.h"

struct fl_client;

/* Loop: queue the request on the job's device worker (ownership already
 * checked); replies later, from fl_predict_done. */
void fl_predict_request(struct fl_client *c, const fl_request *r, fl_job *job);
/* Worker thread: run the task on dev (NULL: the device did not open) and
 * mail it back to the loop. */
void fl_predict_run(fl_device *dev, fl_predict_task *t);
/* The task queued after t (the worker's list). */
fl_predict_task *fl_predict_task_next(const fl_predict_task *t);
/* Loop: the mailed task: reply to its client (if still there), free it. */
void fl_predict_done(fl_predict_task *t);

/* A model.safetensors that flatline wrote (docs/model-format.md): its
 * parameters in fl_trainer_get_params' order (*params malloc'd, *n of
 * them), layer 0's input width (0 when the header does not say), when
 * image is not NULL a conv2d first layer's input image (H, W, C) (all 0
 * for other models), and when
 * mean and std are not NULL the standardization it was trained with
 * (malloc'd, input_dim each; NULL when it had none), and when classes is
 * not NULL its class names (metadata "classes") as a JSON array's text
 * (malloc'd, checked to hold strings only; NULL when it had none). Also
 * for fine-tuning ("init_from"). */
int fl_model_read_params(const char *path, float **params, size_t *n,
                         size_t *input_dim, size_t image[3], float **mean,
                         float **std, char **classes, fl_error *err);
/* The parameter count of spec's model on input_dim features (the floats
 * of its model file: batch normalization's moving statistics too). */
size_t fl_model_param_count(const fl_job_spec *spec, size_t input_dim);

#endif
