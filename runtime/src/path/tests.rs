use super::*;
use crate::value::{from_serde, to_json_string};
use proptest::prelude::*;
use serde_json::json;

/// `text` parsed, with its walk planned as an optimised program plans it.
fn planned(text: &str) -> Path {
    let mut p = parse_path(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    p.plan();
    p
}

/// `path` selects `expect` from `doc`, planned and unplanned alike.
fn check(path: &str, doc: serde_json::Value, expect: Option<serde_json::Value>) {
    let arena = Bump::new();
    let root = from_serde(&arena, &doc);
    for p in [parse_path(path).unwrap_or_else(|e| panic!("{path}: {e}")), planned(path)] {
        let got = p.eval(&arena, root).map(|v| v.to_serde());
        assert_eq!(got, expect, "{path} (planned: {})", p.names.is_some() || p.wildcard.is_some());
    }
}

#[test]
fn definite_paths() {
    let doc = json!({"a": {"b": [10, 20, 30]}, "x y": 1, "k-1": 2});
    check("$", doc.clone(), Some(doc.clone()));
    check("$.a.b[1]", doc.clone(), Some(json!(20)));
    check("$.a.b[-1]", doc.clone(), Some(json!(30)));
    check("$['a']['b'][0]", doc.clone(), Some(json!(10)));
    check("$['x y']", doc.clone(), Some(json!(1)));
    check("$.k-1", doc.clone(), Some(json!(2)));
    check("$.a.c", doc.clone(), None);
    check("$.a.b[-3]", doc.clone(), Some(json!(10)));
    check("$.a.b[-4]", doc.clone(), None);
    check("$.a[0]", doc.clone(), None);
    check("$.a.b.c", doc.clone(), None);
    check("$.a.b[1].c", doc.clone(), None);
    check("$.a.b[7]", doc, None);
}

/// A definite path walks an object's members by reference: with a repeated key the last
/// member wins, at every step, as in Jackson.
#[test]
fn definite_paths_take_the_last_of_repeated_keys() {
    let arena = Bump::new();
    let mut text = br#"{"a":{"b":1},"x":0,"a":{"b":2,"c":{"d":3},"c":{"d":4}}}"#.to_vec();
    let root = crate::value::parse_in_place(&arena, &mut text, &mut crate::value::ParseBuffers::default())
        .expect("valid JSON");
    for (path, expect) in [("$.a.b", json!(2)), ("$.a.c.d", json!(4)), ("$.a.c", json!({"d": 4}))] {
        for p in [parse_path(path).expect("path"), planned(path)] {
            assert_eq!(p.eval(&arena, root).map(|v| v.to_serde()), Some(expect.clone()), "{path}");
        }
    }
}

#[test]
fn indefinite_paths() {
    let doc = json!({"items": [{"id": 1, "p": 5}, {"id": 2, "p": 15}, {"p": 20}]});
    check("$.items[*].id", doc.clone(), Some(json!([1, 2])));
    check("$.items[?(@.p > 10)].p", doc.clone(), Some(json!([15, 20])));
    check("$.items[?(@.id)].id", doc.clone(), Some(json!([1, 2])));
    check("$.items[?(@.p >= 5 && @.id == 2)].id", doc.clone(), Some(json!([2])));
    check("$.items[?(@.p < 6 || @.p == 20)].p", doc.clone(), Some(json!([5, 20])));
    check("$.items[0:2].id", doc.clone(), Some(json!([1, 2])));
    check("$..id", doc.clone(), Some(json!([1, 2])));
    check("$.items[0,2].p", doc.clone(), Some(json!([5, 20])));
    check("$.nothing[*]", doc, Some(json!([])));
}

#[test]
fn rejects_bad_syntax() {
    for bad in ["", "a.b", "$.", "$[", "$[?(@.a]", "$.a[1", "$['a"] {
        assert!(parse_path(bad).is_err(), "{bad}");
    }
    assert!(parse_reference_path("$.a[*]").is_err());
    assert!(parse_reference_path("$$.a").is_err());
}

#[test]
fn places_results_by_reference_path() {
    let arena = Bump::new();
    let doc = json!({"a": {"b": 1}, "c": 2});
    let root = from_serde(&arena, &doc);
    let p = parse_reference_path("$.a.x.y").unwrap();
    let out = p.place(&arena, root, Value::Int(9)).unwrap();
    assert_eq!(to_json_string(&out), r#"{"a":{"b":1,"x":{"y":9}},"c":2}"#);
    let p = parse_reference_path("$.c.d").unwrap();
    assert!(p.place(&arena, root, Value::Int(9)).is_err());
}

/// A path of names and indices around one wildcard is walked around it (`around_wildcard`);
/// it selects what the general collection selects: over arrays and objects, with the wildcard
/// first, last or between, with members missing, and on scalars.
#[test]
fn wildcard_paths_select_what_the_general_collection_selects() {
    let docs = [
        json!({"items": [{"id": 1, "p": {"q": [5, 6]}}, {"p": 2}, {"id": 3, "id": 4}, 7, [8]], "o": {"a": {"id": 9}, "b": 1}}),
        json!([{"id": 1}, {"id": 2, "x": [1, 2]}, null, "s", [3, [4]]]),
        json!({"items": {"k": {"id": 1}}, "o": [1, 2]}),
        json!("scalar"),
        json!({}),
    ];
    let paths = [
        "$.items[*].id",
        "$.items[*]",
        "$[*]",
        "$[*].id",
        "$.o.*",
        "$.o.*.id",
        "$.items[*].p.q[1]",
        "$.items[*][0]",
        "$[*][-1]",
        "$[*].x[0]",
        "$.missing[*].id",
        "$.items[0].p.*",
        "$.o[*]",
        "$.items.*.id",
    ];
    let arena = Bump::new();
    for doc in &docs {
        let root = from_serde(&arena, doc);
        for text in paths {
            let p = planned(text);
            assert!(p.wildcard.is_some(), "{text}");
            let general = collect_all(&arena, root, &p.segments);
            assert_eq!(p.eval(&arena, root), Some(general), "{text} on {doc}");
        }
    }
    // A repeated key, as parsed from an event: the wildcard sees both members, and the walk
    // after it the last of a repeated key.
    let mut text = br#"{"o":{"a":{"id":1,"id":2},"a":{"id":3}},"xs":[{"id":4,"id":5}]}"#.to_vec();
    let root = crate::value::parse_in_place(&arena, &mut text, &mut crate::value::ParseBuffers::default())
        .expect("valid JSON");
    for (text, expect) in
        [("$.o.*.id", json!([2, 3])), ("$.xs[*].id", json!([5])), ("$.o[*]", json!([{"id": 2}, {"id": 3}]))]
    {
        let p = planned(text);
        assert_eq!(p.eval(&arena, root).map(|v| v.to_serde()), Some(expect), "{text}");
        let written = p.eval(&arena, root).map(|v| to_json_string(&v));
        assert_eq!(written, Some(to_json_string(&collect_all(&arena, root, &p.segments))), "{text}");
    }
    for text in ["$.a[*].b[*]", "$..id", "$.a[*][?(@.x)]", "$.a.b", "$.a[0:2].b"] {
        assert_eq!(planned(text).wildcard, None, "{text}");
    }
}

proptest! {
    // A definite path built from the keys of a nested object finds exactly the leaf it names.
    #[test]
    fn definite_path_finds_what_it_names(keys in proptest::collection::vec("[a-zA-Z_][a-zA-Z0-9_]{0,6}", 1..6), leaf in any::<i64>()) {
        let mut doc = json!(leaf);
        for k in keys.iter().rev() {
            doc = json!({ k.as_str(): doc });
        }
        let dotted = format!("$.{}", keys.join("."));
        let bracketed = format!("${}", keys.iter().map(|k| format!("['{k}']")).collect::<String>());
        let arena = Bump::new();
        let root = from_serde(&arena, &doc);
        for text in [dotted, bracketed] {
            prop_assert_eq!(parse_path(&text).unwrap().eval(&arena, root), Some(Value::Int(leaf)));
            prop_assert_eq!(planned(&text).eval(&arena, root), Some(Value::Int(leaf)));
        }
    }

    // Placing a value at a reference path and reading it back with the same path gives the value.
    #[test]
    fn place_then_read_round_trips(keys in proptest::collection::vec("[a-z]{1,5}", 1..5), v in any::<i64>()) {
        let arena = Bump::new();
        let text = format!("$.{}", keys.join("."));
        let r = parse_reference_path(&text).unwrap();
        let placed = r.place(&arena, Value::EMPTY_OBJECT, Value::Int(v)).unwrap();
        prop_assert_eq!(parse_path(&text).unwrap().eval(&arena, placed), Some(Value::Int(v)));
    }

    // The parser never panics, whatever the text.
    #[test]
    fn parser_never_panics(s in "\\PC{0,24}") {
        let _ = parse_path(&s);
        let _ = parse_path(&format!("${s}"));
    }
}

/// A definite path's walk compares keys itself (every length, through `walk` or, for names of
/// 4 to 16 bytes, `walk_names`): at each length it tells apart keys that differ in any one byte
/// or are one byte shorter or longer, and a repeated key gives its last value, at the first
/// step and after it.
#[test]
fn definite_paths_match_keys_of_every_length() {
    let arena = Bump::new();
    for n in 0..=24usize {
        let (key, near) = crate::value::key_lengths::keys(n);
        for members in crate::value::key_lengths::objects(&key, &near) {
            let inner = Value::Object(&members);
            // `outer` (5 bytes) makes every path below one of names when `key` is 4 to 16 bytes
            // long, which `walk_names` takes; the other lengths take `walk`.
            let outer = [("outer", Value::Null), ("x", Value::Null), ("outer", inner), ("outez", Value::Int(9))];
            let root = Value::Object(&outer);
            let eval = |text: &str, at: Value<'_>| {
                let general = parse_path(text).expect("path").eval(&arena, at).map(|v| v.to_serde());
                let walked = planned(text).eval(&arena, at).map(|v| v.to_serde());
                assert_eq!(walked, general, "{text}");
                walked
            };
            assert_eq!(eval(&format!("$['{key}']"), inner), Some(json!(2)), "{key:?}");
            assert_eq!(eval(&format!("$.outer['{key}']"), root), Some(json!(2)), "{key:?}");
            for k in &near {
                assert_eq!(eval(&format!("$.outer['{k}']"), root), Some(json!(-2)), "{k:?}");
            }
            assert_eq!(eval(&format!("$.outer['{key}b']"), root), None, "{key:?}b");
            assert_eq!(eval(&format!("$.outer['{key}'].inner"), root), None, "{key:?} on a number");
        }
    }
}
