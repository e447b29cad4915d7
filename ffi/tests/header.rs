//! The committed header is exactly what cbindgen generates from the code: a changed signature
//! without a regenerated header fails here. `ASLRT_UPDATE_HEADER=1` rewrites the header instead.

use std::path::Path;

#[test]
fn the_committed_header_is_generated_from_the_code() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let generated =
        cbindgen::Builder::new().with_crate(dir).with_config(config).generate().expect("cbindgen generates the header");
    let mut text = Vec::new();
    generated.write(&mut text);
    let text = String::from_utf8(text).expect("UTF-8");
    let path = dir.join("include/aslrt.h");
    if std::env::var_os("ASLRT_UPDATE_HEADER").is_some_and(|v| v == "1") {
        std::fs::write(&path, &text).expect("writing include/aslrt.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != text {
        let line = committed
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| committed.lines().count().min(text.lines().count()) + 1, |i| i + 1);
        panic!(
            "ffi/include/aslrt.h is not what the code generates (first difference at line {line}): \
             run `ASLRT_UPDATE_HEADER=1 cargo test -p aslrt-ffi --test header` and commit the header"
        );
    }
}
