//! Any JSONPath text: parsing never panics, and a path that parses evaluates (and places, if it
//! is a reference path) on a fixed document without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;

const DOC: &str = r#"{"a":{"b":[1,2,{"c":"x"}],"d":null},"e":[{"f":1},{"f":2.5,"g":"h"}],"k l":true}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let arena = bumpalo::Bump::new();
    let doc: serde_json::Value = serde_json::from_str(DOC).unwrap();
    let root = aslrt::value::from_serde(&arena, &doc);
    if let Ok(p) = aslrt::path::parse_path(text) {
        let _ = p.eval(&arena, root);
        let _ = p.not_found_message(root);
    }
    if let Ok(r) = aslrt::path::parse_reference_path(text) {
        let _ = r.place(&arena, root, aslrt::value::Value::Int(1));
    }
});
