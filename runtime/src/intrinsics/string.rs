//! String intrinsics: States.Format, States.StringSplit.

use super::{want_str, Env, Failure, Result};
use crate::value::{write_json, ArenaExt, Value};

/// `States.Format(template, args…)`: each `{}` takes the next argument; strings go in as they
/// are, anything else as JSON. `\{` and `\}` are literal braces.
pub fn format<'a>(env: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    let template = want_str("States.Format", 0, args[0])?;
    let mut out = bumpalo::collections::Vec::with_capacity_in(template.len() + 16, env.arena);
    let mut next = 1;
    let bytes = template.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if matches!(bytes.get(i + 1), Some(b'{' | b'}' | b'\\')) => {
                out.push(bytes[i + 1]);
                i += 2;
            }
            b'{' if bytes.get(i + 1) == Some(&b'}') => {
                let Some(arg) = args.get(next) else {
                    return Err(Failure::new(
                        "Number of arguments in States.Format does not match the number of placeholders",
                    ));
                };
                match arg {
                    Value::Str(s) => out.extend_from_slice(s.as_bytes()),
                    other => write_json(&mut out, other),
                }
                next += 1;
                i += 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    if next != args.len() {
        return Err(Failure::new("Number of arguments in States.Format does not match the number of placeholders"));
    }
    // Only whole strings and ASCII are copied in, so the bytes stay UTF-8.
    let s = bumpalo::collections::String::from_utf8(out)
        .map_err(|_| Failure::new("States.Format produced invalid UTF-8"))?;
    Ok(Value::Str(s.into_bump_str()))
}

/// `States.StringSplit(s, delimiters)`: splits at every character of `delimiters` and drops
/// empty pieces, as Java's StringTokenizer (`",,,,"` gives `[]`).
pub fn split<'a>(env: &mut Env<'a, '_>, args: &[Value<'a>]) -> Result<Value<'a>> {
    let s = want_str("States.StringSplit", 0, args[0])?;
    let delims = want_str("States.StringSplit", 1, args[1])?;
    Ok(env.arena.array(s.split(|c| delims.contains(c)).filter(|p| !p.is_empty()).map(Value::Str)))
}

/// Removes the backslash of `\{` and `\}` (string literals outside a Format template).
pub fn unescape_braces(s: &str) -> String {
    s.replace("\\{", "{").replace("\\}", "}")
}
