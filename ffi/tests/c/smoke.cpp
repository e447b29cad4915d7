// The header from C++: it compiles with `extern "C"` linkage through cpp_compat, and a handler
// written in C++ runs. Run under valgrind by ffi/tests/c/run.sh.
#include "aslrt.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

static aslrt_str view(const std::string &s) { return aslrt_str{s.data(), s.size()}; }

// Doubles the input's "n" (a real handler would parse the JSON; this one finds the digits). It
// must not throw: an exception may not unwind through the library.
extern "C" int32_t twice(void *, aslrt_str input, aslrt_task_reply *reply) noexcept {
  std::string in(input.ptr, input.len);
  std::size_t colon = in.find(':');
  if (colon == std::string::npos) return 1;
  long n = std::strtol(in.c_str() + colon + 1, nullptr, 10);
  std::string out = "{\"twice\":" + std::to_string(2 * n) + "}";
  return aslrt_task_reply_ok(reply, view(out)) == ASLRT_OK ? 0 : 1;
}

int main() {
  aslrt_builder *b = aslrt_builder_new();
  if (aslrt_builder_add_handler(b, view("twice"), twice, nullptr) != ASLRT_OK) return 1;
  const std::string definition =
      R"({"StartAt":"L","States":{"L":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",)"
      R"("Parameters":{"FunctionName":"twice","Payload.$":"$"},)"
      R"("ResultSelector":{"v.$":"$.Payload.twice"},"End":true}}})";
  aslrt_machine *m = nullptr;
  if (aslrt_builder_compile(b, view(definition), &m) != ASLRT_OK) {
    char why[2048];
    aslrt_last_error(why, sizeof why);
    std::fprintf(stderr, "%s\n", why);
    return 1;
  }
  aslrt_result *r = nullptr;
  if (aslrt_machine_execute(m, view(R"({"n":21})"), &r) != ASLRT_OK) return 1;
  aslrt_str out = aslrt_result_output(r);
  std::string got = out.ptr ? std::string(out.ptr, out.len) : std::string("(none)");
  aslrt_result_free(r);
  aslrt_machine_free(m);
  if (got != R"({"v":42})") {
    std::fprintf(stderr, "smoke.cpp: got %s\n", got.c_str());
    return 1;
  }
  std::printf("smoke.cpp: %s\n", got.c_str());
  return 0;
}
