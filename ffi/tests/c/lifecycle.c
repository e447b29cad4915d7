/* A runtime's life from C, run under valgrind: back-pressure, done callbacks that submit more
 * work, one reply answered from two threads at once, aslrt_runtime_free while answers are slow
 * or still being submitted, the calls a done callback must not make, and a runtime from a
 * builder with a bound on queued bytes. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <pthread.h>
#include <time.h>

static void sleep_ms(long ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000 * 1000};
  nanosleep(&pause, NULL);
}

static int load(int *counter) { return __atomic_load_n(counter, __ATOMIC_SEQ_CST); }
static void add(int *counter) { __atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST); }

/* Waits up to ten seconds (valgrind is slow) for *counter to reach n. */
static int reaches(int *counter, int n) {
  for (int i = 0; i < 2000 && load(counter) < n; i++) sleep_ms(5);
  return load(counter) >= n;
}

static const char *TASK =
    "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:states:::local:h\","
    "\"End\":true}}}";
static const char *PASS = "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}";

static void count(void *userdata, aslrt_result *result);

/* Handlers. */
enum mode { SLOW, RACE, EMPTY_ERROR, NEVER, SUBMITTER, HOLD };
static aslrt_runtime *handler_runtime = NULL; /* SUBMITTER: where its handler submits */
static aslrt_machine *handler_target = NULL;
static aslrt_status handler_submitted = ASLRT_PANIC;
static int race_ok = 0, race_refused = 0, race_threads_done = 0;
static int held = 0, released = 0; /* HOLD: calls begun; let them answer */

struct later {
  aslrt_task_reply *reply;
  long delay_ms;
  pthread_barrier_t *barrier; /* RACE: both answerers start together */
};

static void *answer(void *arg) {
  struct later *l = arg;
  if (l->barrier != NULL) {
    pthread_barrier_wait(l->barrier);
  } else {
    sleep_ms(l->delay_ms);
  }
  aslrt_status st = aslrt_task_reply_ok(l->reply, s("\"answered\""));
  if (l->barrier != NULL) {
    add(st == ASLRT_OK ? &race_ok : &race_refused);
    if (pthread_barrier_wait(l->barrier) == PTHREAD_BARRIER_SERIAL_THREAD) {
      pthread_barrier_destroy(l->barrier);
      free(l->barrier);
    }
    add(&race_threads_done);
  }
  free(l);
  return NULL;
}

static void start_answer(aslrt_task_reply *reply, long delay_ms, pthread_barrier_t *barrier) {
  struct later *l = malloc(sizeof *l);
  l->reply = reply;
  l->delay_ms = delay_ms;
  l->barrier = barrier;
  pthread_t t;
  pthread_create(&t, NULL, answer, l);
  pthread_detach(t);
}

static int32_t handler(void *userdata, aslrt_str input, aslrt_task_reply *reply) {
  (void)input;
  switch (*(enum mode *)userdata) {
  case SLOW:
    start_answer(reply, 300, NULL);
    return ASLRT_TASK_PENDING;
  case RACE: {
    pthread_barrier_t *b = malloc(sizeof *b);
    pthread_barrier_init(b, NULL, 2);
    start_answer(reply, 0, b);
    start_answer(reply, 0, b);
    return ASLRT_TASK_PENDING;
  }
  case NEVER:
    return ASLRT_TASK_PENDING;
  case SUBMITTER: /* at the limit of 1, held by this very execution: must not block */
    handler_submitted = aslrt_runtime_submit(handler_runtime, handler_target, s("{}"), count, NULL);
    return aslrt_task_reply_ok(reply, s("\"submitted\"")) == ASLRT_OK ? 0 : 3;
  case HOLD: /* keeps its worker until released */
    add(&held);
    reaches(&released, 1);
    return aslrt_task_reply_ok(reply, s("\"held\"")) == ASLRT_OK ? 0 : 4;
  case EMPTY_ERROR:
    if (aslrt_task_reply_fail(reply, s(""), s("no name")) != ASLRT_INVALID_ARGUMENT) return 1;
    return aslrt_task_reply_ok(reply, s("\"named\"")) == ASLRT_OK ? 0 : 2;
  }
  return 99;
}

static aslrt_machine *compile_with(enum mode *m, const char *definition) {
  return compile_handled(definition, handler, m);
}

/* Done callbacks. */
static int done_calls = 0, succeeded = 0, aborted = 0;

static void count(void *userdata, aslrt_result *result) {
  (void)userdata;
  aslrt_execution_status st = aslrt_result_status(result);
  if (st == ASLRT_SUCCEEDED) add(&succeeded);
  if (st == ASLRT_ABORTED) add(&aborted);
  aslrt_result_free(result);
  add(&done_calls);
}

static void reset(void) {
  __atomic_store_n(&done_calls, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&succeeded, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&aborted, 0, __ATOMIC_SEQ_CST);
}

struct chain {
  aslrt_runtime *rt;
  aslrt_machine *machine;
  int children; /* submitted from callbacks so far */
  int refused;  /* callback submissions that did not return ASLRT_OK */
};

/* Submits one more event from inside the callback, with the blocking submit, until 20. */
static void submit_child(void *userdata, aslrt_result *result) {
  struct chain *c = userdata;
  if (__atomic_fetch_add(&c->children, 1, __ATOMIC_SEQ_CST) < 20) {
    if (aslrt_runtime_submit(c->rt, c->machine, s("{\"child\":true}"), count, NULL) != ASLRT_OK) add(&c->refused);
  }
  count(NULL, result);
}

static aslrt_status batch_in_callback = ASLRT_OK, free_in_callback = ASLRT_OK;
static int freeing = 0, accepted_while_freeing = 0;

/* Tries what a done callback must not do: a batch on its own runtime, and freeing it. */
static void misbehave(void *userdata, aslrt_result *result) {
  struct chain *c = userdata;
  aslrt_str in = s("{}");
  aslrt_result *out = NULL;
  batch_in_callback = aslrt_runtime_execute_batch(c->rt, c->machine, &in, 1, &out);
  aslrt_runtime_free(c->rt); /* refused: frees nothing */
  char why[256];
  aslrt_last_error(why, sizeof why);
  free_in_callback = strstr(why, "aslrt_runtime_free from a done callback") != NULL ? ASLRT_WOULD_DEADLOCK : ASLRT_OK;
  count(NULL, result);
}

/* Submits until aslrt_runtime_free, begun on the main thread, refuses: it waits for this
 * callback, so the refusal must come. Submissions accepted before it are counted. */
static void submit_late(void *userdata, aslrt_result *result) {
  struct chain *c = userdata;
  reaches(&freeing, 1);
  while (aslrt_runtime_submit(c->rt, c->machine, s("{}"), count, NULL) == ASLRT_OK) {
    add(&accepted_while_freeing);
    sleep_ms(1);
  }
  count(NULL, result);
}

/* Submits once with the blocking call, notes what it returned, then lets HOLD handlers go. */
struct blocked {
  aslrt_runtime *rt;
  aslrt_machine *machine;
  aslrt_status status;
  int returned;
};

static void *submit_blocked(void *arg) {
  struct blocked *b = arg;
  b->status = aslrt_runtime_submit(b->rt, b->machine, s("{}"), count, NULL);
  add(&b->returned);
  add(&released);
  return NULL;
}

int main(void) {
  /* More threads than a runtime may have. */
  CHECK(aslrt_runtime_new(5000) == NULL);
  char why[256];
  aslrt_last_error(why, sizeof why);
  CHECK(strstr(why, "at most 1024") != NULL);

  /* One reply answered by two threads at once, fifty times: exactly one answer is taken. */
  enum mode race = RACE;
  aslrt_runtime *rt = aslrt_runtime_new(2);
  aslrt_machine *machine = compile_with(&race, TASK);
  for (int i = 0; i < 50; i++) CHECK(aslrt_runtime_submit(rt, machine, s("{}"), count, NULL) == ASLRT_OK);
  CHECK(reaches(&done_calls, 50) && reaches(&race_threads_done, 100));
  CHECK(load(&succeeded) == 50 && load(&race_ok) == 50 && load(&race_refused) == 50);
  aslrt_runtime_free(rt);
  aslrt_machine_free(machine);

  /* An empty error name is refused, and the reply can still be answered. */
  enum mode empty = EMPTY_ERROR;
  machine = compile_with(&empty, TASK);
  aslrt_result *r = NULL;
  CHECK(aslrt_machine_execute(machine, s("{}"), &r) == ASLRT_OK && aslrt_result_status(r) == ASLRT_SUCCEEDED);
  aslrt_result_free(r);
  aslrt_machine_free(machine);

  /* Back-pressure: at the limit try_submit is refused at once and submit waits for a slot. */
  reset();
  enum mode slow = SLOW;
  rt = aslrt_runtime_new(2);
  machine = compile_with(&slow, TASK);
  CHECK(aslrt_runtime_set_max_in_flight(rt, 2) == ASLRT_OK);
  CHECK(aslrt_runtime_set_shutdown_grace(rt, 20000) == ASLRT_OK); /* valgrind is slow */
  for (int i = 0; i < 2; i++) CHECK(aslrt_runtime_submit(rt, machine, s("{}"), count, NULL) == ASLRT_OK);
  CHECK(aslrt_runtime_try_submit(rt, machine, s("{}"), count, NULL) == ASLRT_BUSY);
  CHECK(aslrt_runtime_submit(rt, machine, s("{}"), count, NULL) == ASLRT_OK); /* after a slow answer */
  CHECK(reaches(&done_calls, 1));
  /* Freed while answers are on their way (300 ms, within the default grace): none aborted. */
  aslrt_runtime_free(rt);
  CHECK(load(&done_calls) == 3 && load(&succeeded) == 3 && load(&aborted) == 0);
  aslrt_machine_free(machine);

  /* Callbacks that submit at the limit while the main thread submits too: nothing deadlocks. */
  reset();
  rt = aslrt_runtime_new(2);
  CHECK(aslrt_runtime_set_max_in_flight(rt, 1) == ASLRT_OK);
  struct chain chain = {rt, NULL, 0, 0};
  CHECK(aslrt_machine_compile(s(PASS), &chain.machine) == ASLRT_OK);
  for (int i = 0; i < 20; i++) CHECK(aslrt_runtime_submit(rt, chain.machine, s("{}"), submit_child, &chain) == ASLRT_OK);
  CHECK(reaches(&done_calls, 40));
  CHECK(load(&chain.refused) == 0 && load(&succeeded) == 40);

  /* A done callback's batch on its own runtime, and its aslrt_runtime_free, are refused. */
  CHECK(aslrt_runtime_submit(rt, chain.machine, s("{}"), misbehave, &chain) == ASLRT_OK);
  CHECK(reaches(&done_calls, 41));
  CHECK(batch_in_callback == ASLRT_WOULD_DEADLOCK && free_in_callback == ASLRT_WOULD_DEADLOCK);

  /* A callback submitting after aslrt_runtime_free has begun is told ASLRT_SHUT_DOWN, and
   * whatever it submitted before still runs and calls back. */
  CHECK(aslrt_runtime_submit(rt, chain.machine, s("{}"), submit_late, &chain) == ASLRT_OK);
  __atomic_store_n(&freeing, 1, __ATOMIC_SEQ_CST);
  aslrt_runtime_free(rt);
  CHECK(load(&done_calls) == 42 + load(&accepted_while_freeing));

  /* A handler submitting at the limit held by its own execution goes past it. */
  reset();
  enum mode submitter = SUBMITTER;
  rt = aslrt_runtime_new(2);
  CHECK(aslrt_runtime_set_max_in_flight(rt, 1) == ASLRT_OK);
  handler_runtime = rt;
  handler_target = chain.machine;
  machine = compile_with(&submitter, TASK);
  CHECK(aslrt_runtime_submit(rt, machine, s("{}"), count, NULL) == ASLRT_OK);
  CHECK(reaches(&done_calls, 2) && handler_submitted == ASLRT_OK && load(&succeeded) == 2);
  aslrt_runtime_free(rt);
  aslrt_machine_free(machine);
  aslrt_machine_free(chain.machine);

  /* With no grace, replies never answered end ABORTED as soon as nothing else can run. */
  reset();
  enum mode never = NEVER;
  rt = aslrt_runtime_new(2);
  CHECK(aslrt_runtime_set_shutdown_grace(NULL, 0) == ASLRT_NULL_ARGUMENT);
  CHECK(aslrt_runtime_set_shutdown_grace(rt, 0) == ASLRT_OK);
  machine = compile_with(&never, TASK);
  for (int i = 0; i < 3; i++) CHECK(aslrt_runtime_submit(rt, machine, s("{}"), count, NULL) == ASLRT_OK);
  aslrt_runtime_free(rt);
  CHECK(load(&done_calls) == 3 && load(&aborted) == 3);
  aslrt_machine_free(machine);

  /* A runtime from a builder: a bad setting is refused and leaves the builder as it was; a
   * build that fails consumes the builder all the same. */
  CHECK(aslrt_runtime_builder_set_max_queued_bytes(NULL, 1) == ASLRT_NULL_ARGUMENT);
  aslrt_runtime_builder *b = aslrt_runtime_builder_new(5000);
  rt = NULL;
  CHECK(aslrt_runtime_builder_build(b, &rt) == ASLRT_INVALID_ARGUMENT && rt == NULL);
  aslrt_runtime_builder_free(NULL);
  aslrt_runtime_builder_free(aslrt_runtime_builder_new(1)); /* never built: freed */
  b = aslrt_runtime_builder_new(1);
  CHECK(aslrt_runtime_builder_set_max_queued_bytes(b, 1) == ASLRT_OK);
  CHECK(aslrt_runtime_builder_set_max_queued_bytes(b, 0) == ASLRT_INVALID_ARGUMENT); /* 1 stays */
  CHECK(aslrt_runtime_builder_set_pack_waits_after(b, -1) == ASLRT_OK);
  CHECK(aslrt_runtime_builder_set_replay_from_start(b, true) == ASLRT_OK);
  CHECK(aslrt_runtime_builder_build(b, &rt) == ASLRT_OK && rt != NULL);

  /* Its bound on queued bytes, with its one worker held by a handler: one execution waits in
   * the queue, past the bound, so the next try_submit is refused (the in-flight limit is far);
   * once the worker has started them all, it is taken. */
  reset();
  enum mode hold = HOLD;
  machine = compile_with(&hold, TASK);
  CHECK(aslrt_runtime_submit(rt, machine, s("{}"), count, NULL) == ASLRT_OK);
  CHECK(reaches(&held, 1));
  CHECK(aslrt_runtime_submit(rt, machine, s("{}"), count, NULL) == ASLRT_OK);
  CHECK(aslrt_runtime_try_submit(rt, machine, s("{}"), count, NULL) == ASLRT_BUSY);
  add(&released);
  CHECK(reaches(&done_calls, 2));
  CHECK(aslrt_runtime_try_submit(rt, machine, s("{}"), count, NULL) == ASLRT_OK);
  CHECK(reaches(&done_calls, 3) && load(&succeeded) == 3 && load(&held) == 3);
  aslrt_runtime_free(rt);

  /* A submission blocked at that bound when aslrt_runtime_free begins returns ASLRT_SHUT_DOWN;
   * what was queued before still runs. */
  reset();
  __atomic_store_n(&held, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&released, 0, __ATOMIC_SEQ_CST);
  b = aslrt_runtime_builder_new(1);
  CHECK(aslrt_runtime_builder_set_max_queued_bytes(b, 1) == ASLRT_OK);
  CHECK(aslrt_runtime_builder_build(b, &rt) == ASLRT_OK);
  CHECK(aslrt_runtime_submit(rt, machine, s("{}"), count, NULL) == ASLRT_OK);
  CHECK(reaches(&held, 1));
  CHECK(aslrt_runtime_submit(rt, machine, s("{}"), count, NULL) == ASLRT_OK);
  struct blocked blocked = {rt, machine, ASLRT_PANIC, 0};
  pthread_t t;
  pthread_create(&t, NULL, submit_blocked, &blocked);
  sleep_ms(300);
  CHECK(load(&blocked.returned) == 0); /* still waiting for room */
  aslrt_runtime_free(rt);               /* the blocked thread lets the handler go once refused */
  pthread_join(t, NULL);
  CHECK(blocked.status == ASLRT_SHUT_DOWN && load(&done_calls) == 2 && load(&succeeded) == 2);
  aslrt_machine_free(machine);

  printf("lifecycle: %d checks passed\n", checks);
  return 0;
}
