#!/usr/bin/env bash
# Builds the C programs of the C API against the generated header and the static library, with
# every warning an error, and runs each under valgrind: any memory error, or any byte definitely
# or indirectly lost, fails. Called by scripts/test-all.sh; needs cc and valgrind.
set -euo pipefail
cd "$(dirname "$0")/../../.."
target="${CARGO_TARGET_DIR:-target}"
cargo build -q -p aslrt-ffi
lib="$target/debug/libaslrt_ffi.a"
out="$target/ffi-c"
mkdir -p "$out"
command -v valgrind >/dev/null || { echo "valgrind is required (Debian: apt-get install valgrind)" >&2; exit 1; }

build() { # name source
  cc -std=c11 -Wall -Wextra -Werror -g -I ffi/include -I ffi/tests/c "$2" "$lib" -lpthread -ldl -lm -o "$out/$1"
}
grind() { # program args...
  valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --show-leak-kinds=definite,indirect "$@"
}

echo "== C API: misuse under valgrind"
build misuse ffi/tests/c/misuse.c
grind "$out/misuse"

echo "== C API: a runtime's life under valgrind"
build lifecycle ffi/tests/c/lifecycle.c
grind "$out/lifecycle"

echo "== C API: the hostile-input catalogue under valgrind"
python3 ffi/tests/c/catalogue.py "$out/catalogue.bin"
build catalogue ffi/tests/c/catalogue.c
grind "$out/catalogue" "$out/catalogue.bin"

echo "== C API: from C++ under valgrind"
c++ -std=c++17 -Wall -Wextra -Werror -g -I ffi/include ffi/tests/c/smoke.cpp "$lib" -lpthread -ldl -lm -o "$out/smoke"
grind "$out/smoke"

echo "== C API: ffi/examples/stream.c under valgrind"
build stream ffi/examples/stream.c
grind "$out/stream" ffi/examples/events.ndjson > "$out/stream.out" 2> "$out/stream.err"
cat "$out/stream.out"
# One result line per event, in input order.
expected=$(wc -l < ffi/examples/events.ndjson)
[ "$(wc -l < "$out/stream.out")" -eq "$expected" ] || { echo "stream: not one line per event" >&2; exit 1; }
for i in $(seq 1 "$expected"); do
  sed -n "${i}p" "$out/stream.out" | grep -q "^{\"line\":$i," || { echo "stream: line $i out of order" >&2; exit 1; }
done
grep -q "^aslrt_executions_started_total $expected$" "$out/stream.err" || { cat "$out/stream.err" >&2; exit 1; }

echo "== C API: the README's example under valgrind"
awk '/^```c$/{f=1;next} /^```$/{f=0} f' README.md > "$out/readme.c"
build readme "$out/readme.c"
grind "$out/readme" > "$out/readme.out"
[ "$(cat "$out/readme.out")" = '{"id":1}' ] || { echo "the README's C example printed something else" >&2; exit 1; }

echo "== C API: ffi/examples/batch.c under valgrind (a batch of 200 on 2 threads)"
build batch ffi/examples/batch.c
printf '%s' '{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"id.$":"$.detail.orderId"},"End":true}}}' > "$out/pass.json"
grind "$out/batch" "$out/pass.json" examples/order-routing/input.json 200 2 1 > "$out/batch.out"
grep -q '"failed":0' "$out/batch.out"

echo "== C API: ffi/examples/stream.c with deferred replies"
grind "$out/stream" ffi/examples/events.ndjson --defer 50 > "$out/stream-deferred.out" 2> "$out/stream-deferred.err"
cmp "$out/stream.out" "$out/stream-deferred.out"
# 10,000 events whose every reply comes 200 ms later, from the handler's own thread: they wait
# together, on 2 workers (the time is printed, not asserted).
for i in $(seq 1 10000); do
  printf '{"detail":{"id":"o-%d","customer":"C","items":[{"sku":"S","qty":%d}]}}\n' "$i" "$i"
done > "$out/events-10000.ndjson"
"$out/stream" "$out/events-10000.ndjson" --defer 200 > "$out/stream-10000.out" 2> "$out/stream-10000.err"
[ "$(wc -l < "$out/stream-10000.out")" -eq 10000 ]
[ "$(grep -c '"status":"SUCCEEDED"' "$out/stream-10000.out")" -eq 10000 ]
sed -n '10000p' "$out/stream-10000.out" | grep -q '^{"line":10000,'
tail -1 "$out/stream-10000.err"
