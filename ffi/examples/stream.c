/* aslrt from C: a stream of NDJSON events through a state machine whose Task is a C function.
 *
 *   stream EVENTS.ndjson [--defer MILLIS]
 *
 * With --defer, the Task's handler answers every call later: it returns ASLRT_TASK_PENDING and
 * hands the reply to a thread of its own, which answers MILLIS milliseconds after the call, as
 * a handler waiting on a network reply would. The executions wait without holding any of the
 * two workers, so the whole stream takes about one such wait, not one per event.
 *
 * Each line is one execution, submitted with aslrt_runtime_submit; results arrive on worker
 * threads in any order and are printed in input order (a reorder buffer keyed by line number),
 * one line each, like `aslrt stream`. The runtime's metrics follow on standard error. */
#define _POSIX_C_SOURCE 200809L
#include "aslrt.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* An order event enriched, scored by a C handler, and routed: the w2 workload's shape. */
static const char *DEFINITION =
    "{\"StartAt\":\"Normalize\",\"States\":{"
    "\"Normalize\":{\"Type\":\"Pass\",\"Parameters\":{\"id.$\":\"$.detail.id\",\"customer.$\":\"$.detail.customer\","
    "\"items.$\":\"$.detail.items\",\"count.$\":\"States.ArrayLength($.detail.items)\"},\"Next\":\"Score\"},"
    "\"Score\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:states:::local:score\",\"ResultPath\":\"$.score\","
    "\"Retry\":[{\"ErrorEquals\":[\"Busy\"],\"IntervalSeconds\":1,\"MaxAttempts\":2}],\"Next\":\"Route\"},"
    "\"Route\":{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$.score.points\",\"NumericGreaterThanEquals\":100,"
    "\"Next\":\"Priority\"}],\"Default\":\"Standard\"},"
    "\"Priority\":{\"Type\":\"Pass\",\"Result\":\"priority\",\"ResultPath\":\"$.queue\",\"Next\":\"Emit\"},"
    "\"Standard\":{\"Type\":\"Pass\",\"Result\":\"standard\",\"ResultPath\":\"$.queue\",\"Next\":\"Emit\"},"
    "\"Emit\":{\"Type\":\"Pass\",\"Parameters\":{\"id.$\":\"$.id\",\"queue.$\":\"$.queue\",\"points.$\":\"$.score.points\","
    "\"summary.$\":\"States.Format('order {} of {} item(s) to {}', $.id, $.count, $.queue)\"},\"End\":true}}}";

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Replies to answer later, first in first out, each when its time comes. */
struct deferred {
  aslrt_task_reply *reply;
  char out[64];
  double due;
  struct deferred *next;
};
static struct {
  pthread_mutex_t lock;
  pthread_cond_t more;
  struct deferred *head, *tail;
  double millis;
  int stop;
} later = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0};

static void *answer_later(void *arg) {
  (void)arg;
  pthread_mutex_lock(&later.lock);
  for (;;) {
    while (later.head == NULL && !later.stop) pthread_cond_wait(&later.more, &later.lock);
    if (later.head == NULL) break;
    struct deferred *d = later.head;
    later.head = d->next;
    if (later.head == NULL) later.tail = NULL;
    pthread_mutex_unlock(&later.lock);
    double wait = d->due - now();
    if (wait > 0) {
      struct timespec pause = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
      nanosleep(&pause, NULL);
    }
    aslrt_str v = {d->out, strlen(d->out)};
    aslrt_task_reply_ok(d->reply, v);
    free(d);
    pthread_mutex_lock(&later.lock);
  }
  pthread_mutex_unlock(&later.lock);
  return NULL;
}

/* The Task: scores an order by the size of its JSON (a stand-in for a real computation). It may
 * run on any worker thread at once, so it keeps no state of its own. */
static int32_t score(void *userdata, aslrt_str input, aslrt_task_reply *reply) {
  (void)userdata;
  char out[64];
  int n = snprintf(out, sizeof out, "{\"points\":%zu}", input.len);
  if (later.millis > 0) {
    struct deferred *d = malloc(sizeof *d);
    d->reply = reply;
    memcpy(d->out, out, (size_t)n + 1);
    d->due = now() + later.millis / 1000.0;
    d->next = NULL;
    pthread_mutex_lock(&later.lock);
    if (later.tail) later.tail->next = d; else later.head = d;
    later.tail = d;
    pthread_cond_signal(&later.more);
    pthread_mutex_unlock(&later.lock);
    return ASLRT_TASK_PENDING;
  }
  aslrt_str v = {out, (size_t)n};
  return aslrt_task_reply_ok(reply, v) == ASLRT_OK ? 0 : 1;
}

/* The reorder buffer: results by line number, printed as soon as every earlier one is. */
struct printer {
  pthread_mutex_t lock;
  pthread_cond_t all_printed;
  char **lines; /* lines[i]: line i+1's result, until printed */
  size_t cap, next;
};

struct job {
  struct printer *p;
  size_t index;
};

static void put_json_string(char **buf, size_t *len, size_t *cap, aslrt_str v) {
  for (size_t i = 0; i < v.len + 2; i++) {
    if (*len + 8 > *cap) {
      *cap = *cap * 2 + 64;
      *buf = realloc(*buf, *cap);
    }
    if (i == 0 || i == v.len + 1) {
      (*buf)[(*len)++] = '"';
      continue;
    }
    unsigned char c = (unsigned char)v.ptr[i - 1];
    if (c == '"' || c == '\\') {
      (*buf)[(*len)++] = '\\';
      (*buf)[(*len)++] = (char)c;
    } else if (c < 0x20) {
      *len += (size_t)sprintf(*buf + *len, "\\u%04x", c);
    } else {
      (*buf)[(*len)++] = (char)c;
    }
  }
}

static char *format_result(size_t line, aslrt_result *r) {
  static const char *names[] = {"", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"};
  aslrt_str out = aslrt_result_output(r), error = aslrt_result_error(r), cause = aslrt_result_cause(r);
  size_t cap = 128 + out.len + error.len + cause.len, len = 0;
  char *buf = malloc(cap);
  len += (size_t)sprintf(buf, "{\"line\":%zu,\"status\":\"%s\"", line, names[aslrt_result_status(r)]);
  if (out.ptr != NULL) {
    memcpy(buf + len, ",\"output\":", 10);
    len += 10;
    if (len + out.len + 4 > cap) buf = realloc(buf, cap = len + out.len + 4);
    memcpy(buf + len, out.ptr, out.len);
    len += out.len;
  }
  if (error.ptr != NULL) {
    memcpy(buf + len, ",\"error\":", 9);
    len += 9;
    put_json_string(&buf, &len, &cap, error);
  }
  if (cause.ptr != NULL) {
    if (len + 12 > cap) buf = realloc(buf, cap = cap * 2 + 12);
    memcpy(buf + len, ",\"cause\":", 9);
    len += 9;
    put_json_string(&buf, &len, &cap, cause);
  }
  if (len + 2 > cap) buf = realloc(buf, cap = len + 2);
  buf[len++] = '}';
  buf[len] = 0;
  return buf;
}

static void done(void *userdata, aslrt_result *result) {
  struct job *job = userdata;
  struct printer *p = job->p;
  char *line = format_result(job->index + 1, result);
  aslrt_result_free(result);
  pthread_mutex_lock(&p->lock);
  p->lines[job->index] = line;
  while (p->next < p->cap && p->lines[p->next] != NULL) {
    puts(p->lines[p->next]);
    free(p->lines[p->next]);
    p->lines[p->next++] = NULL;
  }
  if (p->next == p->cap) pthread_cond_signal(&p->all_printed);
  pthread_mutex_unlock(&p->lock);
  free(job);
}

static void fail(const char *what, aslrt_status status) {
  size_t n = aslrt_last_error(NULL, 0);
  char *why = malloc(n + 1);
  aslrt_last_error(why, n + 1);
  fprintf(stderr, "stream: %s failed (status %d): %s\n", what, (int)status, why);
  free(why);
  exit(1);
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[2], "--defer") == 0) {
    later.millis = atof(argv[3]);
  } else if (argc != 2) {
    fprintf(stderr, "usage: stream EVENTS.ndjson [--defer MILLIS]\n");
    return 2;
  }
  double started = now();
  pthread_t answerer;
  pthread_create(&answerer, NULL, answer_later, NULL);
  FILE *in = fopen(argv[1], "r");
  if (in == NULL) {
    perror(argv[1]);
    return 1;
  }
  /* Count the lines first, so the reorder buffer has a slot for each. */
  size_t lines = 0;
  for (int c; (c = fgetc(in)) != EOF;) lines += c == '\n';
  rewind(in);

  aslrt_builder *builder = aslrt_builder_new();
  aslrt_status st;
  aslrt_str resource = {"arn:aws:states:::local:score", strlen("arn:aws:states:::local:score")};
  if ((st = aslrt_builder_add_handler(builder, resource, score, NULL)) != ASLRT_OK) fail("add_handler", st);
  aslrt_machine *machine = NULL;
  aslrt_str definition = {DEFINITION, strlen(DEFINITION)};
  if ((st = aslrt_builder_compile(builder, definition, &machine)) != ASLRT_OK) fail("compile", st);

  struct printer p = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, calloc(lines + 1, sizeof(char *)), lines, 0};
  aslrt_runtime *rt = aslrt_runtime_new(2);
  aslrt_runtime_set_max_in_flight(rt, 20000);
  char *text = NULL;
  size_t size = 0;
  ssize_t n;
  for (size_t i = 0; i < lines && (n = getline(&text, &size, in)) > 0; i++) {
    if (text[n - 1] == '\n') n--;
    struct job *job = malloc(sizeof *job);
    job->p = &p;
    job->index = i;
    aslrt_str event = {text, (size_t)n};
    if ((st = aslrt_runtime_submit(rt, machine, event, done, job)) != ASLRT_OK) fail("submit", st);
  }
  free(text);
  fclose(in);
  aslrt_machine_free(machine);

  /* Every line printed, then the metrics of all of them. */
  pthread_mutex_lock(&p.lock);
  while (p.next < p.cap) pthread_cond_wait(&p.all_printed, &p.lock);
  pthread_mutex_unlock(&p.lock);
  fflush(stdout);
  size_t need = aslrt_runtime_metrics(rt, NULL, 0);
  char *metrics = malloc(need + 1);
  aslrt_runtime_metrics(rt, metrics, need + 1);
  fputs(metrics, stderr);
  free(metrics);
  aslrt_runtime_free(rt);
  pthread_mutex_lock(&later.lock);
  later.stop = 1;
  pthread_cond_signal(&later.more);
  pthread_mutex_unlock(&later.lock);
  pthread_join(answerer, NULL);
  free(p.lines);
  fprintf(stderr, "stream: %zu events in %.3f s on 2 workers\n", lines, now() - started);
  return 0;
}
