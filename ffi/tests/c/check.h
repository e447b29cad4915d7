/* What the C test programs share: CHECK, which counts checks and stops at the first failure with
 * the library's last error, and views of C strings. */
#ifndef ASLRT_TESTS_CHECK_H
#define ASLRT_TESTS_CHECK_H

#include "aslrt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks = 0;

#define CHECK(cond)                                                                        \
  do {                                                                                     \
    checks++;                                                                              \
    if (!(cond)) {                                                                         \
      char why_[4096];                                                                     \
      aslrt_last_error(why_, sizeof why_);                                                 \
      fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
              why_);                                                                       \
      exit(1);                                                                             \
    }                                                                                      \
  } while (0)

static inline aslrt_str s(const char *text) {
  aslrt_str v = {text, strlen(text)};
  return v;
}

/* `definition` compiled with `fn(userdata, …)` as the handler of every local resource. */
static inline aslrt_machine *compile_handled(const char *definition, aslrt_task_fn fn, void *userdata) {
  aslrt_builder *b = aslrt_builder_new();
  CHECK(b != NULL);
  CHECK(aslrt_builder_add_handler(b, s("arn:aws:states:::local:*"), fn, userdata) == ASLRT_OK);
  aslrt_machine *machine = NULL;
  CHECK(aslrt_builder_compile(b, s(definition), &machine) == ASLRT_OK);
  return machine;
}

#endif
