/* The hostile-input catalogue through the C API (the file catalogue.py expands from
 * runtime/tests/hostile/catalogue.jsonl): each definition compiled with aslrt_builder_compile
 * and, where it compiles, run once with aslrt_machine_execute on its input. Every case must end
 * with its named outcome; run.sh runs this under valgrind (no memory error, nothing lost).
 * Handlers: raise (replies with a failure), panic (returns non-zero without a reply, a C
 * handler's way to crash), sleep (sleeps, then echoes) and non_json (replies "{not json").
 * Each case has its time cap (SLOWDOWN times the case's, for valgrind): past it the program
 * names the case and exits 1 (the 5 s case gets 150 s here; the matcher it guards against takes
 * 15 s natively, far longer under valgrind). Memory is capped in process by RuntimeLimits' arena
 * cap, checked as each state is entered and at each JSONata step (valgrind cannot run under an
 * address-space cap). */
#define _POSIX_C_SOURCE 200809L
#include "aslrt.h"
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

/* How much slower a case may run here than its cap allows natively: valgrind's slowdown. */
#define SLOWDOWN 30

static char current[256]; /* the name of the case running, for the alarm */

static void too_slow(int sig) {
  (void)sig;
  static const char what[] = "catalogue: a case ran past its time cap: ";
  ssize_t w = write(2, what, sizeof what - 1);
  w += write(2, current, strlen(current));
  w += write(2, "\n", 1);
  (void)w;
  _exit(1);
}

struct bytes {
  char *ptr;
  uint32_t len;
};

static FILE *in;

static uint32_t u32(void) {
  unsigned char b[4];
  if (fread(b, 1, 4, in) != 4) {
    fprintf(stderr, "catalogue: the file ends early\n");
    exit(2);
  }
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static struct bytes field(void) {
  struct bytes f = {NULL, u32()};
  f.ptr = malloc(f.len + 1);
  if (f.ptr == NULL || fread(f.ptr, 1, f.len, in) != f.len) {
    fprintf(stderr, "catalogue: the file ends early\n");
    exit(2);
  }
  f.ptr[f.len] = '\0';
  return f;
}

static aslrt_str view(struct bytes b) {
  aslrt_str s = {b.ptr, b.len};
  return s;
}

/* A handler: userdata holds its kind, and the error and cause or time it needs. */
enum kind { RAISE, PANIC, SLEEP, NON_JSON };
struct raise {
  uint32_t kind, millis;
  struct bytes error, cause;
};

static int32_t raising(void *userdata, aslrt_str input, aslrt_task_reply *reply) {
  struct raise *r = userdata;
  switch (r->kind) {
  case RAISE:
    return aslrt_task_reply_fail(reply, view(r->error), view(r->cause)) == ASLRT_OK ? 0 : 1;
  case PANIC:
    return 7;
  case SLEEP: {
    struct timespec pause = {r->millis / 1000, (long)(r->millis % 1000) * 1000 * 1000};
    nanosleep(&pause, NULL);
    return aslrt_task_reply_ok(reply, input) == ASLRT_OK ? 0 : 1;
  }
  default: {
    aslrt_str garbage = {"{not json", 9};
    return aslrt_task_reply_ok(reply, garbage) == ASLRT_INVALID_JSON ? 0 : 1;
  }
  }
}

/* Whether the last error lists exactly the diagnostics whose codes `codes` holds, one per line,
 * in order: it reads "invalid definition:", then a line "CODE: message at POINTER" each. */
static int diagnostics_are(const char *codes) {
  static char buf[1 << 20];
  aslrt_last_error(buf, sizeof buf);
  const char *line = strchr(buf, '\n');
  const char *code = codes;
  while (line != NULL && *code != '\0') {
    line++;
    size_t n = strcspn(code, "\n");
    if (strncmp(line, code, n) != 0 || line[n] != ':') return 0;
    code += n + (code[n] == '\n');
    line = strchr(line, '\n');
  }
  return line == NULL && *code == '\0';
}

static int view_is(aslrt_str v, const char *want) {
  return v.len == strlen(want) && memcmp(v.ptr, want, v.len) == 0;
}

static const char *status_name(aslrt_execution_status s) {
  switch (s) {
  case ASLRT_SUCCEEDED: return "SUCCEEDED";
  case ASLRT_FAILED: return "FAILED";
  case ASLRT_TIMED_OUT: return "TIMED_OUT";
  default: return "ABORTED";
  }
}

int main(int argc, char **argv) {
  if (argc != 2 || (in = fopen(argv[1], "rb")) == NULL) {
    fprintf(stderr, "usage: catalogue FILE (from catalogue.py)\n");
    return 2;
  }
  uint32_t cases = u32();
  signal(SIGALRM, too_slow);
  for (uint32_t c = 0; c < cases; c++) {
    struct bytes name = field(), def = field(), input = field();
    uint32_t kind = u32();
    struct bytes wanted = field(), error = field();
    uint32_t system_clock = u32();
    uint32_t seconds = u32();
    uint32_t nhandlers = u32();
    snprintf(current, sizeof current, "%s", name.ptr);
    alarm(seconds * SLOWDOWN);
    struct raise *raises = calloc(nhandlers ? nhandlers : 1, sizeof *raises);
    aslrt_builder *b = aslrt_builder_new();
    aslrt_builder_set_clock(b, system_clock ? ASLRT_CLOCK_SYSTEM : ASLRT_CLOCK_VIRTUAL, 0);
    for (uint32_t h = 0; h < nhandlers; h++) {
      struct bytes resource = field();
      raises[h].kind = u32();
      raises[h].error = field();
      raises[h].cause = field();
      raises[h].millis = u32();
      aslrt_builder_add_handler(b, view(resource), raising, &raises[h]);
      free(resource.ptr);
    }
    aslrt_machine *machine = NULL;
    aslrt_status compiled = aslrt_builder_compile(b, view(def), &machine);
    int ok;
    if (kind == 0) {
      ok = compiled == ASLRT_INVALID_DEFINITION && diagnostics_are(wanted.ptr);
    } else if (kind == 1) {
      ok = compiled == ASLRT_DEFINITION_TOO_LARGE;
    } else if (kind == 2) {
      ok = compiled == ASLRT_INVALID_UTF8;
    } else if (compiled != ASLRT_OK) {
      ok = 0;
    } else {
      aslrt_result *result = NULL;
      ok = aslrt_machine_execute(machine, view(input), &result) == ASLRT_OK;
      if (ok && kind == 3) {
        ok = strcmp(status_name(aslrt_result_status(result)), wanted.ptr) == 0 &&
             (error.len == 0 || view_is(aslrt_result_error(result), error.ptr));
      }
      aslrt_result_free(result);
    }
    alarm(0);
    aslrt_machine_free(machine);
    if (!ok) fprintf(stderr, "catalogue: case %s did not end as named (compile status %d)\n", name.ptr, compiled);
    CHECK(ok);
    for (uint32_t h = 0; h < nhandlers; h++) {
      free(raises[h].error.ptr);
      free(raises[h].cause.ptr);
    }
    free(raises);
    free(name.ptr);
    free(def.ptr);
    free(input.ptr);
    free(wanted.ptr);
    free(error.ptr);
  }
  fclose(in);
  printf("catalogue: %d cases passed\n", checks);
  return 0;
}
