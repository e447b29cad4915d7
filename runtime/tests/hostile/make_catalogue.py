"""Writes catalogue.jsonl beside this file: the hostile-input catalogue that
cli/tests/catalogue.rs runs through the `aslrt` command under memory and time caps. Each case
names what it guards and the outcome it must end with. Edit the cases here, then run
`python3 runtime/tests/hostile/make_catalogue.py`."""

import json
import pathlib
cases = []
def P(params=None, **state):
    st = {"Type": "Pass", "End": True}
    if params is not None: st["Parameters"] = params
    st.update(state)
    return json.dumps({"StartAt": "P", "States": {"P": st}})
def M(states, start="A", **top):
    d = {"StartAt": start, "States": states}; d.update(top); return json.dumps(d)
def rep(t, n): return {"repeat": t, "times": n}
def cat(*ts): return {"concat": list(ts)}
def PX(expr_parts):
    return cat('{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"x.$":"', *expr_parts, '"},"End":true}}}')
def add(name, definition, input="{}", expect=None, handlers=None, note=None, seconds=None, clock=None, front_ends=None):
    c = {"name": name, "definition": definition, "input": input, "expect": expect}
    if handlers: c["handlers"] = handlers
    if seconds: c["seconds"] = seconds
    if clock: c["clock"] = clock
    if front_ends: c["front_ends"] = front_ends
    cases.append(c)
# The diagnostics' codes, in order: exactly these, no more.
inv = lambda *codes: {"invalid": codes[0] if len(codes) == 1 else list(codes)}
fails = lambda err: {"status": "FAILED", "error": err}
ok = {"status": "SUCCEEDED"}
# --- malformed and invalid definitions
# AWS's codes (the ValidateStateMachineDefinition diagnostics' list; CreateStateMachine's
# "INVALID_STATE_NAME: Invalid State name: State '…' exceeds the 80-character limit").
add("empty_definition", "", expect=inv("MISSING_DESCRIPTION"))
add("whitespace_definition", " \n\t", expect=inv("MISSING_DESCRIPTION"))
add("definition_not_json", "{nope", expect=inv("INVALID_JSON_DESCRIPTION"))
add("definition_truncated", '{"StartAt":"A","States":{"A":{"Type":"Pass"', expect=inv("INVALID_JSON_DESCRIPTION"))
add("definition_is_an_array", "[]", expect=inv("SCHEMA_VALIDATION_FAILED"))
add("definition_invalid_utf8", cat('{"StartAt":"', {"hex": "ff"}, '","States":{}}'), expect={"bad_utf8": True})
add("definition_trailing_text", P() + " extra", expect=inv("INVALID_JSON_DESCRIPTION"))
add("missing_start_at", json.dumps({"States": {"A": {"Type": "Succeed"}}}), expect=inv("SCHEMA_VALIDATION_FAILED"))
add("start_at_names_no_state", M({"A": {"Type": "Succeed"}}, start="Nope"), expect=inv("MISSING_TRANSITION_TARGET"))
add("next_names_no_state", M({"A": {"Type": "Pass", "Next": "Nowhere"}}), expect=inv("MISSING_TRANSITION_TARGET", "MISSING_END_STATE"))
add("empty_states", M({}), expect=inv("SCHEMA_VALIDATION_FAILED", "MISSING_TRANSITION_TARGET"))
add("state_written_as_empty_object", M({"A": {}}), expect=inv("SCHEMA_VALIDATION_FAILED"))
add("unknown_state_type", M({"A": {"Type": "Teleport", "End": True}}), expect=inv("SCHEMA_VALIDATION_FAILED"))
add("duplicate_state_name", '{"StartAt":"A","States":{"A":{"Type":"Succeed"},"A":{"Type":"Succeed"}}}', expect=inv("DUPLICATE_STATE_NAME"))
add("state_name_of_81_characters", M({"A" * 81: {"Type": "Succeed"}}, start="A" * 81), expect=inv("INVALID_STATE_NAME"))
add("unreachable_state", M({"A": {"Type": "Succeed"}, "B": {"Type": "Succeed"}}), expect=inv("MISSING_TRANSITION_TARGET"))
add("cycle_with_no_end", M({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}), expect=inv("MISSING_END_STATE"))
add("unknown_field", P(Bogus=1), expect=inv("SCHEMA_VALIDATION_FAILED"))
add("bad_jsonpath", P({"x.$": "$.a["}), expect=inv("SCHEMA_VALIDATION_FAILED"))
add("unknown_intrinsic", P({"x.$": "States.Nope($.a)"}), expect=inv("SCHEMA_VALIDATION_FAILED"))
add("intrinsic_wrong_arity", P({"x.$": "States.ArrayLength()"}), expect=inv("SCHEMA_VALIDATION_FAILED"))
add("intrinsic_nested_65_deep", PX([rep("States.Array(", 65), "$.a", rep(")", 65)]), expect=inv("SCHEMA_VALIDATION_FAILED"))
add("intrinsic_nested_20000_deep", PX([rep("States.Array(", 20000), "$.a", rep(")", 20000)]), expect=inv("SCHEMA_VALIDATION_FAILED"))
add("json_nested_600_deep", cat('{"StartAt":"P","States":{"P":{"Type":"Pass","Result":', rep("[", 600), "1", rep("]", 600), ',"End":true}}}'), expect=inv("SCHEMA_VALIDATION_FAILED"))
add("parallel_nested_64_deep", {"parallels": 64}, expect=inv("TOO_DEEPLY_NESTED"))
add("states_65537", {"chain": 65537}, expect=inv("SCHEMA_VALIDATION_FAILED"))  # 2.6 MB, past 1 MiB
add("result_path_to_context", P(ResultPath="$$.x"), expect=inv("SCHEMA_VALIDATION_FAILED"))
add("wait_seconds_negative", M({"A": {"Type": "Wait", "Seconds": -1, "End": True}}), expect=inv("SCHEMA_VALIDATION_FAILED"))
add("wait_timestamp_not_a_date", M({"A": {"Type": "Wait", "Timestamp": "2024-13-45T99:00:00Z", "End": True}}), expect=inv("SCHEMA_VALIDATION_FAILED"))
add("retry_max_attempts_negative", M({"A": {"Type": "Task", "Resource": "arn:aws:states:::local:r", "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": -1}], "End": True}}), expect=inv("SCHEMA_VALIDATION_FAILED"))
add("catch_next_names_no_state", M({"A": {"Type": "Task", "Resource": "arn:aws:states:::local:r", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gone"}], "End": True}}), expect=inv("MISSING_TRANSITION_TARGET"))
add("choice_without_choices", M({"A": {"Type": "Choice", "Default": "B"}, "B": {"Type": "Succeed"}}), expect=inv("SCHEMA_VALIDATION_FAILED"))
add("choice_rule_without_comparison", M({"A": {"Type": "Choice", "Choices": [{"Variable": "$.a", "Next": "B"}]}, "B": {"Type": "Succeed"}}), expect=inv("SCHEMA_VALIDATION_FAILED"))
add("map_without_processor", M({"A": {"Type": "Map", "End": True}}), expect=inv("SCHEMA_VALIDATION_FAILED"))
add("timeout_seconds_zero", M({"A": {"Type": "Task", "Resource": "arn:aws:states:::local:r", "TimeoutSeconds": 0, "End": True}}), expect=inv("SCHEMA_VALIDATION_FAILED"))
add("jsonata_syntax_error", json.dumps({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "Output": "{% $$$( %}", "End": True}}}), expect=inv("INVALID_JSONATA_EXPRESSION"))
add("fail_with_both_error_and_error_path", M({"A": {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}}), expect=inv("SCHEMA_VALIDATION_FAILED"))
# --- malformed events
add("event_empty", P(), input="", expect=fails("States.Runtime"))
add("event_not_json", P(), input="{", expect=fails("States.Runtime"))
add("event_trailing_text", P(), input="{} x", expect=fails("States.Runtime"))
add("event_invalid_utf8", P(), input=cat('{"a":"', {"hex": "ff"}, '"}'), expect=fails("States.Runtime"))
add("event_lone_low_surrogate", P(), input='"\\udc00"', expect=fails("States.Runtime"))
add("event_lone_high_surrogate", P(), input='"\\ud800"', expect=fails("States.Runtime"))
add("event_raw_control_character", P(), input=cat('{"a":"', {"hex": "01"}, '"}'), expect=fails("States.Runtime"))
add("event_integer_past_64_bits", P(), input='{"n":123456789012345678901234567890}', expect=fails("States.Runtime"))
add("event_byte_order_mark", P(), input=cat({"hex": "efbbbf"}, "{}"), expect=fails("States.Runtime"))
add("event_nested_100000_deep", P(), input=cat(rep("[", 100000), rep("]", 100000)), expect=fails("States.Runtime"))
add("event_payload_limit_plus_one", P(), input=cat('{"x":"', rep("a", 262144 - 8 + 1), '"}'), expect=fails("States.DataLimitExceeded"))
add("event_at_the_payload_limit", P(), input=cat('{"x":"', rep("a", 262144 - 8), '"}'), expect=ok)
add("event_escaped_nul", P(), input='{"a":"\\u0000"}', expect=ok)
add("event_negative_zero_and_exponents", P(), input='{"a":-0,"b":1e308,"c":5e-324}', expect=ok)
add("event_huge_exponent", P(), input='{"a":1e999999}', expect=fails("States.Runtime"))
add("event_repeated_key", P(), input='{"a":1,"a":2}', expect=ok)
# --- paths at run time
add("input_path_matches_nothing", P(InputPath="$.missing"), expect=fails("States.Runtime"))
add("output_path_matches_nothing", P(OutputPath="$.missing"), expect=fails("States.Runtime"))
add("parameters_path_matches_nothing", P({"x.$": "$.missing"}), expect=fails("States.Runtime"))
add("result_path_through_a_string", P(Result=1, ResultPath="$.s.x"), input='{"s":"text"}', expect=fails("States.ResultPathMatchFailure"))
add("items_path_not_an_array", M({"A": {"Type": "Map", "ItemsPath": "$.x", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True}}), input='{"x":5}', expect=fails("States.Runtime"))
add("choice_variable_missing", M({"A": {"Type": "Choice", "Choices": [{"Variable": "$.missing", "NumericEquals": 1, "Next": "B"}], "Default": "B"}, "B": {"Type": "Succeed"}}), expect=fails("States.Runtime"))
add("timestamp_path_not_a_date", M({"A": {"Type": "Wait", "TimestampPath": "$.t", "End": True}}), input='{"t":"yesterday"}', expect=fails("States.Runtime"))
add("seconds_path_negative", M({"A": {"Type": "Wait", "SecondsPath": "$.s", "End": True}}), input='{"s":-5}', expect=fails("States.Runtime"))
add("error_path_not_a_string", M({"A": {"Type": "Fail", "ErrorPath": "$.e", "Cause": "c"}}), input='{"e":5}', expect=fails("5"))
# --- intrinsics at run time
add("array_range_of_1001_items", P({"x.$": "States.ArrayRange(0, 1000, 1)"}), expect=fails("States.Runtime"))
add("array_range_step_zero", P({"x.$": "States.ArrayRange(0, 10, 0)"}), expect=fails("States.Runtime"))
add("array_partition_size_zero", P({"x.$": "States.ArrayPartition($.a, 0)"}), input='{"a":[1,2]}', expect=fails("States.Runtime"))
add("array_get_item_out_of_range", P({"x.$": "States.ArrayGetItem($.a, 5)"}), input='{"a":[1]}', expect=fails("States.Runtime"))
add("hash_input_of_10001_characters", P({"x.$": "States.Hash($.s, 'SHA-256')"}), input=cat('{"s":"', rep("a", 10001), '"}'), expect=fails("States.Runtime"))
add("hash_unknown_algorithm", P({"x.$": "States.Hash($.s, 'ROT13')"}), input='{"s":"a"}', expect=fails("States.Runtime"))
add("base64_encode_of_10001_characters", P({"x.$": "States.Base64Encode($.s)"}), input=cat('{"s":"', rep("a", 10001), '"}'), expect=fails("States.Runtime"))
add("base64_decode_not_base64", P({"x.$": "States.Base64Decode($.s)"}), input='{"s":"@@@"}', expect=fails("States.Runtime"))
add("string_to_json_not_json", P({"x.$": "States.StringToJson($.s)"}), input='{"s":"{nope"}', expect=fails("States.Runtime"))
add("json_to_string_nested_30_deep", PX([rep("States.JsonToString(", 30), "$.a", rep(")", 30)]), input='{"a":"\\"q\\""}', expect=fails("States.DataLimitExceeded"))
add("states_array_nested_64_deep", PX([rep("States.Array(", 64), "$.a", rep(")", 64)]), input='{"a":1}', expect=ok)
add("json_merge_of_a_non_object", P({"x.$": "States.JsonMerge($.a, $.b, false)"}), input='{"a":1,"b":{}}', expect=fails("States.Runtime"))
add("math_add_of_a_string", P({"x.$": "States.MathAdd($.a, 1)"}), input='{"a":"1"}', expect=fails("States.Runtime"))
add("math_random_empty_range", P({"x.$": "States.MathRandom(5, 5)"}), expect=fails("States.Runtime"))
add("string_split_of_a_number", P({"x.$": "States.StringSplit($.a, ',')"}), input='{"a":5}', expect=fails("States.Runtime"))
add("format_argument_missing", P({"x.$": "States.Format('{} {}', $.a)"}), input='{"a":1}', expect=fails("States.Runtime"))
# --- regex-like bombs
add("string_matches_star_bomb", M({"A": {"Type": "Choice", "Choices": [{"Variable": "$.s", "StringMatches": "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", "Next": "B"}], "Default": "B"}, "B": {"Type": "Succeed"}}), input=cat('{"s":"', rep("a", 5000), '"}'), expect=ok)
add("jsonata_match_catastrophic_regex", json.dumps({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "Output": "{% $match($states.input.s, /(a+)+b/) %}", "End": True}}}), input=cat('{"s":"', rep("a", 5000), '"}'), expect=fails("States.QueryEvaluationError"))
# The pattern's literal run is 124 Ki bytes, the text 248 Ki: about 1.6e10 byte comparisons for
# a matcher that retries the run at each place (over 10 s, optimised), one pass for one that
# searches for it: the case has 5 s.
add("string_matches_long_run_bomb", cat('{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.s","StringMatches":"*', rep("a", 126976), 'b*","Next":"B"}],"Default":"C"},"B":{"Type":"Fail","Error":"Matched"},"C":{"Type":"Succeed"}}}'), input=cat('{"s":"', rep("a", 253952), '"}'), expect=ok, seconds=5)
# --- JSONata bounded
add("jsonata_infinite_recursion", json.dumps({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "Output": "{% ($f := function($n){ $f($n + 1) }; $f(0)) %}", "End": True}}}), expect=fails("States.QueryEvaluationError"))
add("jsonata_range_of_ten_million", json.dumps({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "Output": "{% $count([1..10000000]) %}", "End": True}}}), expect=fails("States.QueryEvaluationError"))
# AWS, measured: [1..873782] ~> $count() succeeds, [1..873783] fails with its evaluation memory limit.
add("jsonata_range_at_the_aws_memory_limit", json.dumps({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "Output": "{% $count([1..873782]) %}", "End": True}}}), expect=ok)
add("jsonata_string_doubling", json.dumps({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "Output": "{% ($s := function($x, $n){ $n = 0 ? $x : $s($x & $x, $n - 1) }; $s('ab', 40)) %}", "End": True}}}), expect=fails("States.QueryEvaluationError"))
add("jsonata_undefined_output", json.dumps({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "Output": "{% $states.input.missing %}", "End": True}}}), expect=fails("States.QueryEvaluationError"))
# --- handlers
add("task_without_handler", M({"A": {"Type": "Task", "Resource": "arn:aws:states:::local:none", "End": True}}), expect=fails("States.TaskFailed"))
add("task_raises_uncaught", M({"A": {"Type": "Task", "Resource": "arn:aws:states:::local:r", "End": True}}), handlers={"arn:aws:states:::local:r": {"kind": "raise", "error": "Custom.Oops", "cause": "broke"}}, expect=fails("Custom.Oops"))
add("task_raises_and_is_caught", M({"A": {"Type": "Task", "Resource": "arn:aws:states:::local:r", "Catch": [{"ErrorEquals": ["Custom.Oops"], "Next": "B"}], "End": True}, "B": {"Type": "Succeed"}}), handlers={"arn:aws:states:::local:r": {"kind": "raise", "error": "Custom.Oops", "cause": "broke"}}, expect=ok)
add("task_retries_exhausted", M({"A": {"Type": "Task", "Resource": "arn:aws:states:::local:r", "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3, "IntervalSeconds": 1}], "End": True}}), handlers={"arn:aws:states:::local:r": {"kind": "raise", "error": "Custom.Oops", "cause": "broke"}}, expect=fails("Custom.Oops"))
add("lambda_invoke_without_function_name", M({"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"Payload": {}}, "End": True}}), expect=fails("States.Runtime"))
# Handlers that crash, hang or answer with no JSON, each in its front end's own way: a panic in
# Rust, a non-zero return without a reply in C, a raised ZeroDivisionError in Python (whose error
# is the class name, as with Lambda); a sync sleep past TimeoutSeconds on the system clock; a
# reply of "{not json" in C, a set in Python (a Rust handler cannot return anything but JSON).
T = lambda **extra: M({"A": dict({"Type": "Task", "Resource": "arn:aws:states:::local:h", "End": True}, **extra)})
PANIC = {"arn:aws:states:::local:h": {"kind": "panic", "message": "boom"}}
add("task_handler_panics", T(), handlers=PANIC, expect={"status": "FAILED", "error": "States.TaskFailed", "python_error": "ZeroDivisionError"})
add("task_handler_panics_and_is_caught", M({"A": {"Type": "Task", "Resource": "arn:aws:states:::local:h", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "B"}], "End": True}, "B": {"Type": "Succeed"}}), handlers=PANIC, expect=ok)
add("task_handler_panics_in_each_of_200_map_items", M({"A": {"Type": "Map", "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::local:h", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "D"}], "End": True}, "D": {"Type": "Pass", "End": True}}}, "End": True}}), input=json.dumps(list(range(200))), handlers=PANIC, expect=ok)
add("task_handler_sleeps_past_its_timeout", T(TimeoutSeconds=1), handlers={"arn:aws:states:::local:h": {"kind": "sleep", "millis": 2500}}, expect={"status": "FAILED", "error": "States.Timeout"}, clock="system")
add("task_handler_returns_non_json", T(), handlers={"arn:aws:states:::local:h": {"kind": "non_json"}}, expect={"status": "FAILED", "error": "States.TaskFailed", "python_error": "Runtime.MarshalError"}, front_ends=["c", "python"])
# --- limits
add("choice_loop_forever", M({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "C"}], "Default": "A"}, "C": {"Type": "Succeed"}}), expect=fails("States.Runtime"))
# AWS fails this one with States.DataLimitExceeded once an output passes 256 KiB; outputs are not
# measured per state yet, so it ends at the transition limit, bounded.
add("output_doubling_loop", M({"A": {"Type": "Pass", "Parameters": {"a.$": "$", "b.$": "$"}, "Next": "C"}, "C": {"Type": "Choice", "Choices": [{"Variable": "$.never", "IsPresent": True, "Next": "D"}], "Default": "A"}, "D": {"Type": "Succeed"}}), input='{"x":"0123456789"}', expect={"bounded": True})
add("execution_timeout", M({"A": {"Type": "Wait", "Seconds": 10, "End": True}}, TimeoutSeconds=1), expect={"status": "TIMED_OUT", "error": "States.Timeout"})
add("map_over_100000_items", M({"A": {"Type": "Map", "ItemsPath": "$.xs", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True}}), input=cat('{"xs":[', rep("1,", 99999), "1]}"), expect=ok)
add("map_tolerated_failure_percentage_over_100", M({"A": {"Type": "Map", "ToleratedFailurePercentage": 101, "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True}}), expect=inv("SCHEMA_VALIDATION_FAILED"))
add("parallel_nested_63_deep_runs", {"parallels": 63}, expect=ok)
add("wait_until_year_9999", M({"A": {"Type": "Wait", "Timestamp": "9999-12-31T23:59:59Z", "End": True}}), expect={"status": "TIMED_OUT", "error": "States.Timeout"})
with open(pathlib.Path(__file__).with_name("catalogue.jsonl"), "w") as f:
    for c in cases:
        f.write(json.dumps(c, separators=(",", ":")) + "\n")
print(len(cases))
