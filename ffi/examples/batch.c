/* Throughput of aslrt_runtime_execute_batch: N copies of one event through one definition on a
 * pool of THREADS workers. After a warm-up batch, RUNS batches (default 5) are timed; the median
 * is reported, as `aslrt bench` reports the median of its five runs. exec_per_s times the call
 * alone; free_ns_per_exec is what aslrt_result_free then costs per result, on this thread.
 *
 *   batch DEFINITION.json EVENT.json N THREADS [RUNS]
 *
 * Prints {"exec_per_s":…,"ns_per_exec":…,"free_ns_per_exec":…,"failed":…} on one line. */
#define _POSIX_C_SOURCE 200809L
#include "aslrt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    exit(1);
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  char *text = malloc((size_t)n + 1);
  if (fread(text, 1, (size_t)n, f) != (size_t)n) exit(1);
  fclose(f);
  while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' ')) n--;
  text[n] = 0;
  *len = (size_t)n;
  return text;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: batch DEFINITION.json EVENT.json N THREADS [RUNS]\n");
    return 2;
  }
  int runs = argc == 6 ? atoi(argv[5]) : 5;
  if (runs < 1 || runs > 99) {
    fprintf(stderr, "batch: RUNS must be 1 to 99\n");
    return 2;
  }
  size_t def_len, event_len, n = strtoul(argv[3], NULL, 10), threads = strtoul(argv[4], NULL, 10);
  char *definition = slurp(argv[1], &def_len), *event = slurp(argv[2], &event_len);
  aslrt_machine *machine = NULL;
  aslrt_str d = {definition, def_len};
  if (aslrt_machine_compile(d, &machine) != ASLRT_OK) {
    char why[4096];
    aslrt_last_error(why, sizeof why);
    fprintf(stderr, "batch: %s\n", why);
    return 1;
  }
  aslrt_runtime *rt = aslrt_runtime_new(threads);
  aslrt_str *inputs = malloc(n * sizeof *inputs);
  aslrt_result **results = malloc(n * sizeof *results);
  for (size_t i = 0; i < n; i++) inputs[i] = (aslrt_str){event, event_len};
  size_t failed = 0;
  double seconds[100], freeing[100];
  for (int run = 0; run <= runs; run++) { /* run 0 warms up */
    double start = now();
    if (aslrt_runtime_execute_batch(rt, machine, inputs, n, results) != ASLRT_OK) return 1;
    double ran = now();
    for (size_t i = 0; i < n; i++) failed += aslrt_result_status(results[i]) != ASLRT_SUCCEEDED;
    double counted = now();
    for (size_t i = 0; i < n; i++) aslrt_result_free(results[i]);
    seconds[run] = ran - start;
    freeing[run] = now() - counted;
  }
  qsort(seconds + 1, (size_t)runs, sizeof *seconds, by_value);
  qsort(freeing + 1, (size_t)runs, sizeof *freeing, by_value);
  double median = seconds[1 + runs / 2];
  printf("{\"exec_per_s\":%.0f,\"ns_per_exec\":%.1f,\"free_ns_per_exec\":%.1f,\"failed\":%zu}\n",
         (double)n / median, median * 1e9 / (double)n, freeing[1 + runs / 2] * 1e9 / (double)n, failed);
  aslrt_runtime_free(rt);
  aslrt_machine_free(machine);
  free(inputs);
  free(results);
  free(definition);
  free(event);
  return failed != 0;
}
