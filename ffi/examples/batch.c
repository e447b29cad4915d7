/* Throughput of aslrt_runtime_execute_batch: N copies of one event through one definition on a
 * pool of THREADS workers, timed after a warm-up batch.
 *
 *   batch DEFINITION.json EVENT.json N THREADS
 *
 * Prints {"exec_per_s":…,"ns_per_exec":…,"failed":…} on one line. */
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

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: batch DEFINITION.json EVENT.json N THREADS\n");
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
  double start = 0, seconds = 0;
  for (int round = 0; round < 2; round++) { /* round 0 warms up */
    start = now();
    if (aslrt_runtime_execute_batch(rt, machine, inputs, n, results) != ASLRT_OK) return 1;
    seconds = now() - start;
    failed = 0;
    for (size_t i = 0; i < n; i++) {
      failed += aslrt_result_status(results[i]) != ASLRT_SUCCEEDED;
      aslrt_result_free(results[i]);
    }
  }
  printf("{\"exec_per_s\":%.0f,\"ns_per_exec\":%.1f,\"failed\":%zu}\n", (double)n / seconds, seconds * 1e9 / (double)n,
         failed);
  aslrt_runtime_free(rt);
  aslrt_machine_free(machine);
  free(inputs);
  free(results);
  free(definition);
  free(event);
  return failed != 0;
}
