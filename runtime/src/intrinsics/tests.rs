use super::*;
use crate::value::{from_serde, to_json_string};
use proptest::prelude::*;
use serde_json::json;

/// Parses `call`, evaluates its literal arguments (paths read `input`), and returns the JSON text
/// of the result or the failure cause.
fn check(call: &str, input: serde_json::Value) -> std::result::Result<String, String> {
    let arena = Bump::new();
    let mut rng = crate::common::Rng::seeded(7);
    let c = parse_call(call).map_err(|e| e.message)?;
    let root = from_serde(&arena, &input);
    eval(&arena, &mut rng, &c, root).map(|v| to_json_string(&v)).map_err(|f| f.cause)
}

fn eval<'a>(arena: &'a Bump, rng: &mut crate::common::Rng, c: &'a Call, root: Value<'a>) -> Result<Value<'a>> {
    let mut args = Vec::new();
    for a in c.args.iter() {
        args.push(match a {
            Arg::Const(k) => k.materialize(arena),
            Arg::Path(p) => p.eval(arena, root).ok_or_else(|| Failure::new("path not found"))?,
            Arg::Call(inner) => eval(arena, rng, inner, root)?,
        });
    }
    c.apply(&mut Env { arena, rng, parse: &mut crate::value::ParseBuffers::default() }, &args)
}

#[test]
fn format_and_escapes() {
    // Issue #13: objects and arrays as Java's Map.toString and List.toString write them, strings
    // inside them unquoted, as AWS does (`{"Arg1": 1, "Arg2": []}` gives `{Arg1=1, Arg2=[]}`).
    let input = json!({"o": {"Arg1": 1, "Arg2": [], "s": "x y", "n": null, "f": 1.5, "in": {"a": ["b", {}]}}});
    assert_eq!(
        check("States.Format('arg {}.', $.o)", input).unwrap(),
        r#""arg {Arg1=1, Arg2=[], s=x y, n=null, f=1.5, in={a=[b, {}]}}.""#
    );
    assert_eq!(
        check("States.Format('{}', $.v)", json!({"v": ["a", 1, true, null]})).unwrap(),
        r#""[a, 1, true, null]""#
    );
    assert_eq!(check("States.Format('a {} b {}', 1, 'x')", json!({})).unwrap(), r#""a 1 b x""#);
    assert_eq!(check(r"States.Format('\{\} {}', $.v)", json!({"v": null})).unwrap(), r#""{} null""#);
    assert_eq!(check(r"States.Format('it\'s {}', $.v)", json!({"v": [1, 2]})).unwrap(), r#""it's [1, 2]""#);
    assert!(check("States.Format('{} {}', 1)", json!({})).is_err());
}

/// A literal template is split when the call is parsed; a template from a path is read at run
/// time. Both give the same text for every kind of argument.
#[test]
fn format_from_literal_and_from_path_agree() {
    let input = json!({"t": r"é{}\{\}{}-{}{}", "s": "x\"y", "f": 2.5, "o": {"k": [1, true]}, "i": -7});
    let literal = check(r"States.Format('é{}\{\}{}-{}{}', $.s, $.f, $.o, $.i)", input.clone()).unwrap();
    let dynamic = check("States.Format($.t, $.s, $.f, $.o, $.i)", input).unwrap();
    assert_eq!(literal, dynamic);
    assert_eq!(literal, r#""éx\"y{}2.5-{k=[1, true]}-7""#);
    let call = crate::intrinsics::parse_call(r"States.Format('a{}\{b', 1)").unwrap();
    assert_eq!(call.format.as_deref(), Some(&[Piece::Text("a".into()), Piece::Arg, Piece::Text("{b".into())][..]));
    // A placeholder count that does not match the arguments keeps the run-time error.
    assert!(crate::intrinsics::parse_call("States.Format('{}{}', 1)").unwrap().format.is_none());
}

#[test]
fn arrays() {
    assert_eq!(check("States.ArrayPartition($.a, 2)", json!({"a": [1, 2, 3]})).unwrap(), "[[1,2],[3]]");
    assert!(check("States.ArrayPartition($.a, 0)", json!({"a": [1]})).is_err());
    assert_eq!(check("States.ArrayRange(1, 9, 2)", json!({})).unwrap(), "[1,3,5,7,9]");
    assert_eq!(check("States.ArrayRange(5, 1, 1)", json!({})).unwrap(), "[]");
    assert!(check("States.ArrayRange(0, 1000, 1)", json!({})).is_err());
    assert_eq!(check("States.ArrayGetItem($.a, 1)", json!({"a": [1, 2]})).unwrap(), "2");
    assert!(check("States.ArrayGetItem($.a, 5)", json!({"a": [1, 2]})).is_err());
    assert_eq!(check("States.ArrayUnique($.a)", json!({"a": [1, 1.0, "1", 2, 1]})).unwrap(), r#"[1,"1",2]"#);
    assert_eq!(check("States.ArrayContains($.a, $.v)", json!({"a": [{"x": 1}], "v": {"x": 1}})).unwrap(), "true");
    assert_eq!(check("States.ArrayLength(States.Array(1, 2, 3))", json!({})).unwrap(), "3");
}

#[test]
fn strings_json_math_hash() {
    assert_eq!(check("States.StringSplit($.s, ',;')", json!({"s": ",a;;b,"})).unwrap(), r#"["a","b"]"#);
    assert_eq!(check("States.StringToJson($.s)", json!({"s": "{\"a\":[1]}"})).unwrap(), r#"{"a":[1]}"#);
    assert!(check("States.StringToJson($.s)", json!({"s": "{"})).is_err());
    assert_eq!(check("States.JsonToString($.v)", json!({"v": {"a": "b"}})).unwrap(), r#""{\"a\":\"b\"}""#);
    assert_eq!(
        check("States.JsonMerge($.a, $.b, false)", json!({"a": {"x": 1, "y": 2}, "b": {"y": 3}})).unwrap(),
        r#"{"x":1,"y":3}"#
    );
    assert!(check("States.JsonMerge($.a, $.b, true)", json!({"a": {}, "b": {}})).is_err());
    assert_eq!(check("States.MathAdd(-2.5, 0)", json!({})).unwrap(), "-2");
    assert_eq!(check("States.MathAdd(2.5, 1)", json!({})).unwrap(), "4");
    assert_eq!(check("States.Hash('input data', 'MD5')", json!({})).unwrap(), r#""812f45842bc6d66ee14572ce20db8e86""#);
    assert!(check("States.Hash('x', 'SHA-999')", json!({})).is_err());
    assert_eq!(check("States.Base64Decode(States.Base64Encode('héllo'))", json!({})).unwrap(), r#""héllo""#);
    let a = check("States.MathRandom(1, 10, 42)", json!({})).unwrap();
    assert_eq!(a, check("States.MathRandom(1, 10, 42)", json!({})).unwrap(), "a seeded draw is reproducible");
    let uuid = check("States.UUID()", json!({})).unwrap();
    assert_eq!(uuid.len(), 38);
    assert_eq!(&uuid[15..16], "4");
}

#[test]
fn parse_errors_name_the_problem() {
    assert!(parse_call("States.Nope(1)").unwrap_err().message.contains("unknown intrinsic function 'States.Nope'"));
    assert!(parse_call("States.ArrayLength()").unwrap_err().message.contains("takes 1 arguments, but 0 were given"));
    assert!(parse_call("States.Format('x'").is_err());
    assert!(parse_call("States.Format('x') trailing").is_err());
}

proptest! {
    // MathRandom stays in [start, end) for every seed.
    #[test]
    fn math_random_in_range(start in -1000i64..1000, span in 1i64..1000, seed in any::<i64>()) {
        let v: i64 = check(&format!("States.MathRandom({start}, {}, {seed})", start + span), json!({})).unwrap().parse().unwrap();
        prop_assert!(v >= start && v < start + span);
    }

    // Base64 round-trips any short text.
    #[test]
    fn base64_round_trips(s in "\\PC{0,40}") {
        let input = json!({"s": s});
        let out = check("States.Base64Decode(States.Base64Encode($.s))", input).unwrap();
        prop_assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
    }

    // ArrayPartition keeps every element, in order.
    #[test]
    fn partition_preserves_elements(items in proptest::collection::vec(any::<i32>(), 0..30), size in 1i64..8) {
        let out = check(&format!("States.ArrayPartition($.a, {size})"), json!({"a": items})).unwrap();
        let chunks: Vec<Vec<i32>> = serde_json::from_str(&out).unwrap();
        prop_assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= size as usize));
        prop_assert_eq!(chunks.concat(), items);
    }

    // The call parser never panics.
    #[test]
    fn parser_never_panics(s in "\\PC{0,30}") {
        let _ = parse_call(&format!("States.Format({s})"));
        let _ = parse_call(&s);
    }
}
