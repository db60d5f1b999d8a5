/* tests/report_sample.c — writes the report page of a made-up job that
 * has every section (1,200 epochs with a learning-rate drop, NaN losses,
 * a plateau and a divergence diagnosis with probes, early stopping, a
 * verdict with a fix, a class report with class names, a hostile name)
 * to argv[1], for tests/report_browser.sh to load in a real browser.
 * Usage: report_sample FILE.html */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static int add(fl_history *h, const char *json) {
  fl_json *ev = fl_json_parse(json, strlen(json), NULL);
  int rc = ev ? fl_history_add(h, ev) : FL_EPARSE;
  fl_json_free(ev);
  return rc;
}

static const char *const probes =
    "[{\"probe\":\"baseline\",\"loss_start\":2.3,\"loss_end\":2.29,\"val_accuracy\":0.11,"
    "\"held_rows\":512,\"steps\":160,\"seconds\":0.3,\"failed\":false},"
    "{\"probe\":\"learning rate x 10\",\"loss_start\":2.3,\"loss_end\":0.61,\"val_accuracy\":0.79,"
    "\"held_rows\":512,\"steps\":160,\"seconds\":0.2,\"failed\":false},"
    "{\"probe\":\"learning rate x 100\",\"loss_start\":2.3,\"loss_end\":0.45,\"val_accuracy\":0.84,"
    "\"held_rows\":512,\"steps\":160,\"seconds\":0.2,\"failed\":false},"
    "{\"probe\":\"Adam (lr 0.001)\",\"loss_start\":2.3,\"loss_end\":0.40,\"val_accuracy\":0.86,"
    "\"held_rows\":512,\"steps\":160,\"seconds\":0.2,\"failed\":false},"
    "{\"probe\":\"labels shuffled across rows\",\"loss_start\":2.3,\"loss_end\":2.30,"
    "\"val_accuracy\":0.10,\"held_rows\":512,\"steps\":160,\"seconds\":0.2,\"failed\":false}]";

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: report_sample FILE.html\n");
    return 2;
  }
  fl_history h;
  fl_history_init(&h);
  int rc = 0;
  char json[4096];
  for (int e = 1; e <= 1200 && !rc; e++) {
    double loss = e < 300 ? 2.3 - 0.0001 * e : 2.27 * exp(-(e - 300) / 120.0) + 0.004;
    double lr = e < 300 ? 0.0001 : e < 800 ? 0.01 : 0.001;
    char l[32];
    if (e >= 600 && e <= 604) snprintf(l, sizeof l, "null");
    else snprintf(l, sizeof l, "%.9g", loss);
    snprintf(json, sizeof json,
             "{\"event\":\"epoch\",\"job\":\"j42\",\"epoch\":%d,\"loss\":%s,\"accuracy\":%.6f,"
             "\"val_loss\":%.9g,\"val_accuracy\":%.6f,\"lr\":%g,\"seconds\":0.01}",
             e, l, 1 - 0.9 * fmin(1, loss / 2.3), loss * 1.1 + (e > 900 ? (e - 900) * 1e-4 : 0),
             1 - 0.92 * fmin(1, loss / 2.3), lr);
    rc = add(&h, json);
  }
  snprintf(json, sizeof json,
           "{\"event\":\"diagnosis\",\"job\":\"j42\",\"epoch\":120,\"causes\":[{\"cause\":"
           "\"learning_rate_too_low\",\"confidence\":0.9,\"evidence\":\"update/weight ratio "
           "3e-07; learning rate x 100 reached 0.45\",\"advice\":\"raise the rate\",\"fix\":"
           "{\"optimizer\":{\"learning_rate\":0.01}}}],\"signals\":\"loss improved less than "
           "0.1%% over the last 5 epochs\",\"probes\":%s,\"probe_seconds\":1.3}", probes);
  if (!rc) rc = add(&h, json);
  if (!rc) rc = add(&h, "{\"event\":\"callback\",\"job\":\"j42\",\"callback\":"
                        "\"reduce_lr_on_plateau\",\"action\":\"reduce_lr\",\"epoch\":800,"
                        "\"lr\":0.001,\"message\":\"val_loss did not improve\"}");
  if (!rc) rc = add(&h, "{\"event\":\"diagnosis\",\"job\":\"j42\",\"epoch\":601,\"causes\":"
                        "[{\"cause\":\"numerical_instability\",\"confidence\":0.8,\"evidence\":"
                        "\"the loss or the weights became NaN/Inf in epoch 600\",\"advice\":"
                        "\"clip\",\"fix\":null}],\"signals\":\"the loss or the weights became "
                        "NaN/Inf in epoch 600\",\"probes\":[]}");
  if (!rc) rc = add(&h, "{\"event\":\"verdict\",\"job\":\"j42\",\"epoch\":1200,\"verdict\":"
                        "\"problem\",\"causes\":[{\"cause\":\"learning_rate_too_low\","
                        "\"confidence\":0.9,\"evidence\":\"x100 probe: 0.45 vs 2.29\",\"advice\":"
                        "\"raise the rate\",\"fix\":{\"optimizer\":{\"learning_rate\":0.01}}}],"
                        "\"tried\":[\"baseline\",\"learning rate x 10\"],\"metrics\":{\"on\":"
                        "\"validation\",\"rows\":300,\"accuracy\":0.9,\"class_names\":[\"cat\","
                        "\"<dog>\",\"bird & fish\"],\"per_class\":[{\"class\":0,\"precision\":0.9,"
                        "\"recall\":0.92,\"f1\":0.91,\"support\":100},{\"class\":1,\"precision\":"
                        "0.88,\"recall\":0.9,\"f1\":0.89,\"support\":100},{\"class\":2,"
                        "\"precision\":0.92,\"recall\":0.88,\"f1\":0.9,\"support\":100}],"
                        "\"macro_f1\":0.9,\"confusion\":[[92,5,3],[6,90,4],[5,7,88]]}}");
  if (!rc) rc = add(&h, "{\"event\":\"end\",\"job\":\"j42\",\"state\":\"done\",\"cause\":"
                        "\"learning_rate_too_low\"}");
  const char *info_json =
      "{\"job\":\"j42\",\"name\":\"sample <script>alert(1)</script>\",\"state\":\"done\","
      "\"user\":\"ada\",\"device\":\"0\",\"epochs\":1200,\"spec\":{\"name\":\"sample\","
      "\"epochs\":1200,\"optimizer\":{\"name\":\"sgd\",\"learning_rate\":0.0001}}}";
  fl_json *info = fl_json_parse(info_json, strlen(info_json), NULL);
  FILE *f = fopen(argv[1], "w");
  if (rc || !info || !f) {
    fprintf(stderr, "report_sample: cannot make the page (%d)\n", rc);
    return 1;
  }
  fl_report_input in = {"j42", info, &h, NULL};
  rc = fl_report_write_html(f, &in);
  if (fclose(f) != 0) rc = FL_EIO;
  fl_json_free(info);
  fl_history_free(&h);
  return rc ? 1 : 0;
}
