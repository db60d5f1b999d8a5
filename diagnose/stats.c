/* diagnose/stats.c — the few statistics the diagnosis decides with: the
 * Wilson score interval for a proportion (held-out accuracy against
 * chance) and Newcombe's hybrid score interval for a difference of two
 * proportions (a probe against the baseline on held-out rows). Both are
 * the textbook forms (Wilson 1927; Newcombe, Stat. Med. 17:873, 1998,
 * method 10); the z for a two-sided 95% interval is FL_Z95. And the one
 * seeded random stream of diagnose/ and job/ (SplitMix64, Steele, Lea &
 * Flood 2014) with the Fisher-Yates shuffle on it. And Pearson's
 * chi-square test of homogeneity (two class-count rows), its p-value the
 * regularized upper incomplete gamma function by its series and its
 * continued fraction (Press et al., Numerical Recipes, 3rd ed., 6.2). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "flatline/diagnose.h"

fl_interval fl_wilson(double successes, double n, double z) {
  if (!(n > 0)) return (fl_interval){0.0, 1.0};
  double p = successes / n, z2 = z * z;
  double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  double half = z * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
  return (fl_interval){fmax(0.0, centre - half), fmin(1.0, centre + half)};
}

fl_interval fl_newcombe_diff(double s1, double n1, double s2, double n2, double z) {
  fl_interval a = fl_wilson(s1, n1, z), b = fl_wilson(s2, n2, z);
  double p1 = n1 > 0 ? s1 / n1 : 0, p2 = n2 > 0 ? s2 / n2 : 0, d = p1 - p2;
  double lo = d - sqrt((p1 - a.lo) * (p1 - a.lo) + (b.hi - p2) * (b.hi - p2));
  double hi = d + sqrt((a.hi - p1) * (a.hi - p1) + (p2 - b.lo) * (p2 - b.lo));
  return (fl_interval){lo, hi};
}

double fl_z_two_sided(double alpha) {
  /* Solve erfc(z / sqrt 2) = alpha by bisection: erfc is decreasing. */
  double lo = 0, hi = 40;
  if (!(alpha > 0 && alpha < 1)) return alpha >= 1 ? 0 : hi;
  for (int i = 0; i < 100; i++) {
    double mid = 0.5 * (lo + hi);
    if (erfc(mid / sqrt(2.0)) > alpha) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

uint64_t fl_splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void fl_shuffle_u32(uint32_t *a, size_t n, uint64_t *state) {
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)(fl_splitmix64(state) % i);
    uint32_t t = a[i - 1];
    a[i - 1] = a[j];
    a[j] = t;
  }
}

fl_interval fl_t_interval95(const double *d, int n) {
  /* t_{0.975, df} for df = 1..30 (any statistics table). */
  static const double t975[30] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                  2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                  2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                  2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  if (n < 2) return (fl_interval){-INFINITY, INFINITY};
  if (n > 31) n = 31;
  double mean = 0, ss = 0;
  for (int i = 0; i < n; i++) mean += d[i];
  mean /= n;
  for (int i = 0; i < n; i++) ss += (d[i] - mean) * (d[i] - mean);
  double half = t975[n - 2] * sqrt(ss / (n - 1) / n);
  return (fl_interval){mean - half, mean + half};
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

void fl_sort_doubles(double *v, size_t n) { qsort(v, n, sizeof *v, cmp_double); }

/* Q(a, x) = Gamma(a, x) / Gamma(a), a > 0, x >= 0. */
static double gamma_q(double a, double x) {
  if (!(x > 0)) return 1.0;
  double lead = exp(-x + a * log(x) - lgamma(a));
  if (x < a + 1) { /* the series of P(a, x) */
    double term = 1.0 / a, sum = term;
    for (int n = 1; n < 1000 && fabs(term) > fabs(sum) * 1e-15; n++) {
      term *= x / (a + n);
      sum += term;
    }
    return fmax(0.0, 1.0 - sum * lead);
  }
  /* Lentz's continued fraction for Q(a, x). */
  double tiny = 1e-300, b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (int i = 1; i < 1000; i++) {
    double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (fabs(c) < tiny) c = tiny;
    d = 1 / d;
    double del = d * c;
    h *= del;
    if (fabs(del - 1) < 1e-15) break;
  }
  return fmin(1.0, lead * h);
}

double fl_chi2_sf(double x, double dof) {
  if (!(dof > 0)) return 1.0;
  return gamma_q(0.5 * dof, 0.5 * x);
}

double fl_chi2_homogeneity(const uint64_t *a, const uint64_t *b, size_t k, double *min_expected) {
  double na = 0, nb = 0;
  for (size_t c = 0; c < k; c++) na += (double)a[c], nb += (double)b[c];
  double stat = 0, low = INFINITY;
  int used = 0;
  for (size_t c = 0; c < k; c++) {
    double col = (double)a[c] + (double)b[c];
    if (col == 0) continue;
    used++;
    double ea = col * na / (na + nb), eb = col * nb / (na + nb);
    low = fmin(low, fmin(ea, eb));
    double da = (double)a[c] - ea, db = (double)b[c] - eb;
    stat += da * da / ea + db * db / eb;
  }
  if (min_expected) *min_expected = used ? low : 0;
  if (!(na > 0 && nb > 0) || used < 2) return 1.0;
  return fl_chi2_sf(stat, used - 1);
}
