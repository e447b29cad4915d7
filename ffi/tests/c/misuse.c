/* Misuse of the C API, as a careless or hostile caller would: NULL for every pointer, bad
 * lengths, invalid UTF-8, bad definitions, handlers that answer wrongly or call back into the
 * library, and freeing NULL. Every call must return a named status (or a named failure in the
 * execution's result) and nothing may crash or leak: run under valgrind by ffi/tests/c/run.sh. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <pthread.h>
#include <time.h>

static int view_is(aslrt_str v, const char *text) {
  return v.ptr != NULL && v.len == strlen(text) && memcmp(v.ptr, text, v.len) == 0;
}

static int view_has(aslrt_str v, const char *part) { /* views are not NUL-terminated */
  size_t n = strlen(part);
  for (size_t i = 0; v.ptr != NULL && i + n <= v.len; i++)
    if (memcmp(v.ptr + i, part, n) == 0) return 1;
  return 0;
}

static int last_error_has(const char *part) {
  char buf[4096];
  aslrt_last_error(buf, sizeof buf);
  return strstr(buf, part) != NULL;
}

static const char *TASK =
    "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:states:::local:h\","
    "\"Catch\":[{\"ErrorEquals\":[\"Custom.Error\"],\"Next\":\"Caught\"}],\"End\":true},"
    "\"Caught\":{\"Type\":\"Pass\",\"Result\":\"caught\",\"End\":true}}}";

static const char *PASS = "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}";

/* Handlers: userdata says which misbehaviour. */
enum mode { GARBAGE, SILENT, TWICE, NONZERO, CUSTOM_FAIL, REENTRANT, ECHO, LATER, LATER_TWICE, NEVER, KEEP };

/* Deferred replies: a thread of the handler's own answers after a short sleep. */
struct later {
  aslrt_task_reply *reply;
  char *output;
  size_t len;
  int twice;
};
static aslrt_status second_answer = ASLRT_OK;
static aslrt_task_reply *kept = NULL; /* KEEP: a reply never answered, answered at the end */

static void *answer_later(void *arg) {
  struct later *l = arg;
  struct timespec pause = {0, 10 * 1000 * 1000};
  nanosleep(&pause, NULL);
  aslrt_str out = {l->output, l->len};
  aslrt_task_reply_ok(l->reply, out);
  if (l->twice) __atomic_store_n(&second_answer, aslrt_task_reply_ok(l->reply, out), __ATOMIC_SEQ_CST);
  free(l->output);
  free(l);
  return NULL;
}

static int32_t handler(void *userdata, aslrt_str input, aslrt_task_reply *reply) {
  enum mode m = *(enum mode *)userdata;
  switch (m) {
  case GARBAGE:
    return aslrt_task_reply_ok(reply, s("{not json")) == ASLRT_INVALID_JSON ? 0 : 8;
  case SILENT:
    return 0;
  case TWICE:
    if (aslrt_task_reply_ok(reply, s("\"first\"")) != ASLRT_OK) return 1;
    return aslrt_task_reply_ok(reply, s("\"second\"")) == ASLRT_ALREADY_ANSWERED ? 0 : 2;
  case NONZERO:
    return 7;
  case CUSTOM_FAIL:
    return aslrt_task_reply_fail(reply, s("Custom.Error"), s("it went wrong")) == ASLRT_OK ? 0 : 3;
  case REENTRANT: {
    /* Compile and run a machine from inside a handler: works, and does not deadlock. */
    aslrt_machine *inner = NULL;
    aslrt_result *r = NULL;
    if (aslrt_machine_compile(s(PASS), &inner) != ASLRT_OK) return 4;
    if (aslrt_machine_execute(inner, input, &r) != ASLRT_OK) return 5;
    aslrt_str out = aslrt_result_output(r);
    aslrt_status st = aslrt_task_reply_ok(reply, out);
    aslrt_result_free(r);
    aslrt_machine_free(inner);
    return st == ASLRT_OK ? 0 : 6;
  }
  case ECHO:
    aslrt_task_reply_ok(reply, input);
    return 0;
  case LATER:
  case LATER_TWICE: {
    struct later *l = malloc(sizeof *l);
    l->reply = reply;
    l->output = malloc(input.len);
    memcpy(l->output, input.ptr, input.len);
    l->len = input.len;
    l->twice = m == LATER_TWICE;
    pthread_t t;
    pthread_create(&t, NULL, answer_later, l);
    pthread_detach(t);
    return ASLRT_TASK_PENDING;
  }
  case NEVER:
    return ASLRT_TASK_PENDING;
  case KEEP:
    kept = reply;
    return ASLRT_TASK_PENDING;
  }
  return 99;
}

static const char *TASK_TIMEOUT =
    "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:states:::local:h\","
    "\"TimeoutSeconds\":1,\"End\":true}}}";

/* `definition` compiled with `handler` in mode `m` for every local resource. */
static aslrt_machine *compile_with(enum mode *m, const char *definition) {
  return compile_handled(definition, handler, m);
}

static aslrt_result *run_def(enum mode *m, const char *definition, const char *input) {
  aslrt_machine *machine = compile_with(m, definition);
  aslrt_result *r = NULL;
  CHECK(aslrt_machine_execute(machine, s(input), &r) == ASLRT_OK);
  aslrt_machine_free(machine);
  return r;
}

static aslrt_result *run_with(enum mode *m, const char *input) { return run_def(m, TASK, input); }

static int done_calls = 0, aborted_calls = 0;

static void on_done(void *userdata, aslrt_result *result) {
  (void)userdata;
  __atomic_fetch_add(&done_calls, 1, __ATOMIC_SEQ_CST);
  if (aslrt_result_status(result) == ASLRT_ABORTED) __atomic_fetch_add(&aborted_calls, 1, __ATOMIC_SEQ_CST);
  aslrt_result_free(result);
}

/* A batch of outputs from a few bytes to 20 KB, failures among them, each checked and then freed
 * out of order (odd ones first). */
static void batch_of_mixed_sizes(void) {
  enum { N = 300 };
  static char texts[N][24000];
  aslrt_str inputs[N];
  aslrt_result *results[N];
  for (int i = 0; i < N; i++) {
    if (i % 7 == 0) {
      snprintf(texts[i], sizeof texts[i], "{\"broken\":%d", i); /* not JSON: a FAILED result */
    } else {
      int pad = (i * 977) % 20000;
      int n = snprintf(texts[i], sizeof texts[i], "{\"i\":%d,\"pad\":\"", i);
      memset(texts[i] + n, 'x', (size_t)pad);
      strcpy(texts[i] + n + pad, "\"}");
    }
    inputs[i] = s(texts[i]);
  }
  aslrt_machine *machine = NULL;
  CHECK(aslrt_machine_compile(s(PASS), &machine) == ASLRT_OK);
  aslrt_runtime *rt = aslrt_runtime_new(2);
  CHECK(aslrt_runtime_execute_batch(rt, machine, inputs, N, results) == ASLRT_OK);
  int right = 0;
  for (int i = 0; i < N; i++) {
    if (i % 7 == 0) {
      right += aslrt_result_status(results[i]) == ASLRT_FAILED && aslrt_result_output(results[i]).ptr == NULL &&
               aslrt_result_error(results[i]).len > 0 && aslrt_result_cause(results[i]).len > 0;
    } else {
      right += aslrt_result_status(results[i]) == ASLRT_SUCCEEDED && view_is(aslrt_result_output(results[i]), texts[i]);
    }
  }
  CHECK(right == N);
  for (int i = 1; i < N; i += 2) aslrt_result_free(results[i]);
  for (int i = 0; i < N; i += 2) aslrt_result_free(results[i]);
  aslrt_runtime_free(rt);
  aslrt_machine_free(machine);
}

/* What an output parameter holds before a failing call: it must still hold it after. */
static char sentinel;
#define UNTOUCHED(type) ((type *)(void *)&sentinel)

int main(void) {
  aslrt_machine *machine = UNTOUCHED(aslrt_machine);
  aslrt_result *result = UNTOUCHED(aslrt_result);
  char buf[64];

  /* NULL for every pointer. */
  CHECK(aslrt_machine_compile(s(PASS), NULL) == ASLRT_NULL_ARGUMENT);
  aslrt_str null_with_length = {NULL, 5};
  CHECK(aslrt_machine_compile(null_with_length, &machine) == ASLRT_NULL_ARGUMENT &&
        machine == UNTOUCHED(aslrt_machine));
  aslrt_str empty = {NULL, 0};
  CHECK(aslrt_machine_compile(empty, &machine) == ASLRT_INVALID_DEFINITION && machine == UNTOUCHED(aslrt_machine));
  CHECK(aslrt_builder_add_handler(NULL, s("r"), handler, NULL) == ASLRT_NULL_ARGUMENT);
  aslrt_builder *b = aslrt_builder_new();
  CHECK(aslrt_builder_add_handler(b, s("r"), NULL, NULL) == ASLRT_NULL_ARGUMENT);
  CHECK(aslrt_builder_add_handler(b, s(""), handler, NULL) == ASLRT_INVALID_ARGUMENT);
  CHECK(aslrt_builder_set_clock(b, 99, 0) == ASLRT_INVALID_ARGUMENT);
  CHECK(aslrt_builder_set_clock(NULL, ASLRT_CLOCK_VIRTUAL, 0) == ASLRT_NULL_ARGUMENT);
  CHECK(aslrt_builder_add_handler(b, null_with_length, handler, NULL) == ASLRT_NULL_ARGUMENT);
  CHECK(aslrt_builder_compile(b, s(PASS), NULL) == ASLRT_NULL_ARGUMENT); /* consumed all the same */
  CHECK(aslrt_builder_compile(NULL, s(PASS), &machine) == ASLRT_NULL_ARGUMENT && machine == UNTOUCHED(aslrt_machine));
  CHECK(aslrt_machine_execute(NULL, s("{}"), &result) == ASLRT_NULL_ARGUMENT && result == UNTOUCHED(aslrt_result));
  CHECK(aslrt_task_reply_ok(NULL, s("1")) == ASLRT_NULL_ARGUMENT);
  CHECK(aslrt_task_reply_fail(NULL, s("E"), s("c")) == ASLRT_NULL_ARGUMENT);
  CHECK(aslrt_result_status(NULL) == ASLRT_ABORTED);
  CHECK(aslrt_result_output(NULL).ptr == NULL && aslrt_result_output(NULL).len == 0);
  CHECK(aslrt_result_error(NULL).ptr == NULL && aslrt_result_cause(NULL).ptr == NULL);
  CHECK(aslrt_runtime_execute_batch(NULL, NULL, NULL, 0, NULL) == ASLRT_NULL_ARGUMENT);
  CHECK(aslrt_runtime_submit(NULL, NULL, s("{}"), on_done, NULL) == ASLRT_NULL_ARGUMENT);
  CHECK(aslrt_runtime_set_max_in_flight(NULL, 1) == ASLRT_NULL_ARGUMENT);
  CHECK(aslrt_runtime_metrics(NULL, buf, sizeof buf) == 0);
  aslrt_runtime *runtime = UNTOUCHED(aslrt_runtime);
  CHECK(aslrt_runtime_builder_set_pack_waits_after(NULL, 0) == ASLRT_NULL_ARGUMENT);
  CHECK(aslrt_runtime_builder_set_replay_from_start(NULL, true) == ASLRT_NULL_ARGUMENT);
  CHECK(aslrt_runtime_builder_build(NULL, &runtime) == ASLRT_NULL_ARGUMENT && runtime == UNTOUCHED(aslrt_runtime));
  /* consumed all the same: valgrind sees no leak */
  CHECK(aslrt_runtime_builder_build(aslrt_runtime_builder_new(1), NULL) == ASLRT_NULL_ARGUMENT);
  /* Freeing NULL. */
  aslrt_result_free(NULL);
  aslrt_machine_free(NULL);
  aslrt_builder_free(NULL);
  aslrt_runtime_builder_free(NULL);
  aslrt_runtime_free(NULL);

  /* The last error: its full length, with or without a buffer, truncated and NUL-terminated. */
  size_t full = aslrt_last_error(NULL, 0);
  CHECK(full > 0);
  char tiny[8];
  CHECK(aslrt_last_error(tiny, sizeof tiny) == full && strlen(tiny) == sizeof tiny - 1);

  /* Invalid UTF-8, and a bad definition twice: every diagnostic, with code and pointer. */
  CHECK(aslrt_machine_compile(s("{\"StartAt\":\"\xff\"}"), &machine) == ASLRT_INVALID_UTF8);
  for (int i = 0; i < 2; i++) {
    CHECK(aslrt_machine_compile(s("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"Next\":\"B\"}}}"),
                                &machine) == ASLRT_INVALID_DEFINITION);
    CHECK(machine == UNTOUCHED(aslrt_machine));
    CHECK(last_error_has("MISSING_TRANSITION_TARGET") && last_error_has("/States/A/Next"));
  }
  CHECK(aslrt_machine_compile(s("{nope"), &machine) == ASLRT_INVALID_DEFINITION);
  CHECK(last_error_has("INVALID_JSON_DESCRIPTION"));

  /* An allow-list: a Task naming another resource does not compile. */
  CHECK(aslrt_builder_allow_resource(NULL, s("r")) == ASLRT_NULL_ARGUMENT);
  b = aslrt_builder_new();
  CHECK(aslrt_builder_allow_resource(b, s("")) == ASLRT_INVALID_ARGUMENT);
  CHECK(aslrt_builder_allow_resource(b, null_with_length) == ASLRT_NULL_ARGUMENT);
  CHECK(aslrt_builder_allow_resource(b, s("arn:aws:states:::other:*")) == ASLRT_OK);
  CHECK(aslrt_builder_compile(b, s(TASK), &machine) == ASLRT_INVALID_DEFINITION && machine == UNTOUCHED(aslrt_machine));
  CHECK(last_error_has("is not among the resources this state machine may invoke"));
  b = aslrt_builder_new();
  CHECK(aslrt_builder_allow_resource(b, s("arn:aws:states:::local:*")) == ASLRT_OK);
  CHECK(aslrt_builder_compile(b, s(TASK), &machine) == ASLRT_OK);
  aslrt_machine_free(machine);
  machine = UNTOUCHED(aslrt_machine);

  /* Limits by name: an unknown one is refused naming the known ones; a set one holds. */
  CHECK(aslrt_builder_set_limit(NULL, s("max_map_items"), 1) == ASLRT_NULL_ARGUMENT);
  b = aslrt_builder_new();
  CHECK(aslrt_builder_set_limit(b, s("max_bananas"), 1) == ASLRT_INVALID_ARGUMENT);
  CHECK(last_error_has("max_jsonata_steps"));
  CHECK(aslrt_builder_set_limit(b, s("max_map_items"), 2) == ASLRT_OK);
  CHECK(aslrt_builder_set_limit(b, s("max_states"), UINT64_MAX) == ASLRT_OK);
  const char *MAP = "{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",\"ItemProcessor\":{\"StartAt\":\"P\","
                    "\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}},\"End\":true}}}";
  CHECK(aslrt_builder_compile(b, s(MAP), &machine) == ASLRT_OK);
  CHECK(aslrt_machine_execute(machine, s("[1,2]"), &result) == ASLRT_OK);
  CHECK(aslrt_result_status(result) == ASLRT_SUCCEEDED);
  aslrt_result_free(result);
  CHECK(aslrt_machine_execute(machine, s("[1,2,3]"), &result) == ASLRT_OK);
  CHECK(aslrt_result_status(result) == ASLRT_FAILED);
  CHECK(view_has(aslrt_result_cause(result), "more than RuntimeLimits::max_map_items (2)"));
  aslrt_result_free(result);
  aslrt_machine_free(machine);
  machine = UNTOUCHED(aslrt_machine);

  /* Handlers that answer wrongly fail the Task with a cause that says how. */
  enum mode m = GARBAGE;
  result = run_with(&m, "{}");
  CHECK(aslrt_result_status(result) == ASLRT_FAILED);
  CHECK(view_is(aslrt_result_error(result), "States.TaskFailed"));
  CHECK(view_has(aslrt_result_cause(result), "replied with invalid JSON"));
  aslrt_result_free(result);
  m = SILENT;
  result = run_with(&m, "{}");
  CHECK(view_has(aslrt_result_cause(result), "returned without replying"));
  aslrt_result_free(result);
  m = NONZERO;
  result = run_with(&m, "{}");
  CHECK(view_has(aslrt_result_cause(result), "returned 7"));
  aslrt_result_free(result);
  m = TWICE;
  result = run_with(&m, "{}");
  CHECK(aslrt_result_status(result) == ASLRT_SUCCEEDED && view_is(aslrt_result_output(result), "\"first\""));
  aslrt_result_free(result);
  /* A failure the handler names is caught by the definition's Catch. */
  m = CUSTOM_FAIL;
  result = run_with(&m, "{}");
  CHECK(aslrt_result_status(result) == ASLRT_SUCCEEDED && view_is(aslrt_result_output(result), "\"caught\""));
  aslrt_result_free(result);
  /* A handler that compiles and executes from inside its call. */
  m = REENTRANT;
  result = run_with(&m, "{\"a\":[1,2]}");
  CHECK(view_is(aslrt_result_output(result), "{\"a\":[1,2]}"));
  aslrt_result_free(result);
  /* Malformed input is a FAILED result that says where, not an error. */
  m = ECHO;
  result = run_with(&m, "{\"a\":1,}");
  CHECK(aslrt_result_status(result) == ASLRT_FAILED && view_is(aslrt_result_error(result), "States.Runtime"));
  CHECK(view_has(aslrt_result_cause(result), "(line 1, column 8)"));
  aslrt_result_free(result);

  /* The runtime: a batch in input order, submissions with callbacks, metrics. */
  aslrt_runtime *rt = aslrt_runtime_new(2);
  CHECK(rt != NULL);
  CHECK(aslrt_machine_compile(s(PASS), &machine) == ASLRT_OK);
  aslrt_str inputs[3] = {s("{\"i\":0}"), s("[1"), s("{\"i\":2}")};
  aslrt_result *results[3] = {UNTOUCHED(aslrt_result), UNTOUCHED(aslrt_result), UNTOUCHED(aslrt_result)};
  CHECK(aslrt_runtime_execute_batch(rt, machine, inputs, 3, NULL) == ASLRT_NULL_ARGUMENT);
  aslrt_str bad_inputs[2] = {s("{}"), null_with_length};
  CHECK(aslrt_runtime_execute_batch(rt, machine, bad_inputs, 2, results) == ASLRT_NULL_ARGUMENT);
  CHECK(results[0] == UNTOUCHED(aslrt_result) && results[1] == UNTOUCHED(aslrt_result));
  CHECK(aslrt_runtime_execute_batch(rt, machine, inputs, 3, results) == ASLRT_OK);
  CHECK(view_is(aslrt_result_output(results[0]), "{\"i\":0}"));
  CHECK(aslrt_result_status(results[1]) == ASLRT_FAILED);
  CHECK(view_is(aslrt_result_output(results[2]), "{\"i\":2}"));
  for (int i = 0; i < 3; i++) aslrt_result_free(results[i]);
  CHECK(aslrt_runtime_set_max_in_flight(rt, 0) == ASLRT_INVALID_ARGUMENT);
  CHECK(aslrt_runtime_set_max_in_flight(rt, 4) == ASLRT_OK);
  CHECK(aslrt_runtime_submit(rt, machine, s("{}"), NULL, NULL) == ASLRT_NULL_ARGUMENT);
  for (int i = 0; i < 100; i++) CHECK(aslrt_runtime_submit(rt, machine, s("{\"x\":1}"), on_done, NULL) == ASLRT_OK);
  aslrt_machine_free(machine); /* submitted executions keep what they need */
  size_t need = aslrt_runtime_metrics(rt, NULL, 0);
  CHECK(need > 0);
  char *metrics = malloc(need + 1);
  CHECK(aslrt_runtime_metrics(rt, metrics, need + 1) == need && strlen(metrics) == need);
  CHECK(strstr(metrics, "aslrt_executions_started_total") != NULL);
  free(metrics);
  aslrt_runtime_free(rt); /* waits for every callback */
  CHECK(done_calls == 100);

  /* Deferred replies: answered later from another thread; answered twice (the second is a
   * named status); never answered (TimeoutSeconds ends it, and a late answer is refused);
   * never answered under a runtime (freeing the runtime ends the executions ABORTED). */
  m = LATER;
  result = run_with(&m, "{\"later\":true}");
  CHECK(aslrt_result_status(result) == ASLRT_SUCCEEDED && view_is(aslrt_result_output(result), "{\"later\":true}"));
  aslrt_result_free(result);
  m = LATER_TWICE;
  result = run_with(&m, "{\"later\":2}");
  CHECK(view_is(aslrt_result_output(result), "{\"later\":2}"));
  aslrt_result_free(result);
  for (int i = 0; i < 200 && __atomic_load_n(&second_answer, __ATOMIC_SEQ_CST) == ASLRT_OK; i++) {
    struct timespec pause = {0, 5 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  CHECK(__atomic_load_n(&second_answer, __ATOMIC_SEQ_CST) == ASLRT_ALREADY_ANSWERED);
  m = KEEP;
  result = run_def(&m, TASK_TIMEOUT, "{}");
  CHECK(aslrt_result_status(result) == ASLRT_FAILED && view_is(aslrt_result_error(result), "States.Timeout"));
  aslrt_result_free(result);
  CHECK(kept != NULL && aslrt_task_reply_ok(kept, s("1")) == ASLRT_ALREADY_ANSWERED);
  CHECK(aslrt_task_reply_fail(kept, s("E"), s("")) == ASLRT_ALREADY_ANSWERED);
  /* Answers that come just after the runtime is freed are waited for, not aborted. */
  m = LATER;
  rt = aslrt_runtime_new(2);
  machine = compile_with(&m, TASK);
  done_calls = 0;
  aborted_calls = 0;
  for (int i = 0; i < 3; i++) CHECK(aslrt_runtime_submit(rt, machine, s("{}"), on_done, NULL) == ASLRT_OK);
  aslrt_machine_free(machine);
  aslrt_runtime_free(rt);
  CHECK(done_calls == 3 && aborted_calls == 0);

  m = NEVER;
  rt = aslrt_runtime_new(2);
  machine = compile_with(&m, TASK);
  done_calls = 0;
  for (int i = 0; i < 3; i++) CHECK(aslrt_runtime_submit(rt, machine, s("{}"), on_done, NULL) == ASLRT_OK);
  /* At the limit, try_submit refuses at once instead of blocking. */
  CHECK(aslrt_runtime_set_max_in_flight(rt, 3) == ASLRT_OK);
  CHECK(aslrt_runtime_try_submit(rt, machine, s("{}"), on_done, NULL) == ASLRT_BUSY);
  aslrt_machine_free(machine);
  aslrt_runtime_free(rt); /* the three wait for replies never answered: ABORTED */
  CHECK(done_calls == 3 && aborted_calls == 3);

  batch_of_mixed_sizes();

  printf("misuse: %d checks passed (aslrt %s)\n", checks, aslrt_version());
  return 0;
}
