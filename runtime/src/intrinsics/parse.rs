//! Parses `States.Name(arg, …)` expressions into [`Call`]s, checking names and arity.

use super::{Arg, Call, FUNCTIONS};
use crate::path::parse_path;
use crate::value::Const;

/// An intrinsic call that does not parse.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The deepest intrinsic calls may nest in one another. Deeper ones are a definition error: each
/// call keeps its own text for error messages, so the text kept grows with the square of the
/// depth, and parsing recurses once per level.
pub const MAX_NESTING: usize = crate::common::INTRINSIC_NESTING;

/// Parses `text`, which must be one complete intrinsic call.
pub fn parse_call(text: &str) -> Result<Call, ParseError> {
    let mut p = P { t: text, i: 0, depth: 1 };
    p.ws();
    let call = p.call()?;
    p.ws();
    if p.i != text.len() {
        return Err(p.err("unexpected text after the closing ')'"));
    }
    Ok(call)
}

struct P<'t> {
    t: &'t str,
    i: usize,
    /// How deep the call being parsed is (the outermost is 1).
    depth: usize,
}

impl P<'_> {
    fn err(&self, what: &str) -> ParseError {
        // A long expression is shown by its start: the offset says where.
        let shown = match self.t.char_indices().nth(200) {
            Some((cut, _)) => format!("{}…", &self.t[..cut]),
            None => self.t.to_owned(),
        };
        ParseError { message: format!("{what} at offset {} in '{shown}'", self.i) }
    }

    fn rest(&self) -> &str {
        &self.t[self.i..]
    }

    fn ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.i = self.t.len() - trimmed.len();
    }

    fn call(&mut self) -> Result<Call, ParseError> {
        let start = self.i;
        let name_len =
            self.rest().find(|c: char| !(c.is_ascii_alphanumeric() || c == '.')).unwrap_or(self.rest().len());
        let name = &self.rest()[..name_len];
        let Some(func) = FUNCTIONS.iter().position(|s| s.name == name) else {
            return Err(self.err(&format!("unknown intrinsic function '{name}'")));
        };
        self.i += name_len;
        self.ws();
        if !self.rest().starts_with('(') {
            return Err(self.err("expected '('"));
        }
        self.i += 1;
        let mut args = Vec::new();
        self.ws();
        if self.rest().starts_with(')') {
            self.i += 1;
        } else {
            loop {
                self.ws();
                args.push(self.arg()?);
                self.ws();
                if self.rest().starts_with(',') {
                    self.i += 1;
                } else if self.rest().starts_with(')') {
                    self.i += 1;
                    break;
                } else {
                    return Err(self.err("expected ',' or ')'"));
                }
            }
        }
        let spec = &FUNCTIONS[func];
        for (n, arg) in args.iter_mut().enumerate() {
            // Only the template of States.Format keeps `\{` and `\}` escaped; elsewhere a
            // brace is just a brace.
            if let Arg::Const(Const::Str(s)) = arg {
                if !(spec.name == "States.Format" && n == 0) {
                    *s = super::string::unescape_braces(s).into();
                }
            }
        }
        if args.len() < spec.min || args.len() > spec.max {
            let expected = if spec.min == spec.max {
                spec.min.to_string()
            } else if spec.max == usize::MAX {
                format!("at least {}", spec.min)
            } else {
                format!("{} to {}", spec.min, spec.max)
            };
            return Err(ParseError {
                message: format!("{} takes {expected} arguments, but {} were given", spec.name, args.len()),
            });
        }
        let format = match (FUNCTIONS[func].name, args.first()) {
            ("States.Format", Some(Arg::Const(Const::Str(template)))) => {
                super::string::pieces(template).filter(|p| super::string::placeholders(p) + 1 == args.len())
            }
            _ => None,
        };
        Ok(Call { func: func as u16, args: args.into(), text: self.t[start..self.i].into(), format })
    }

    fn arg(&mut self) -> Result<Arg, ParseError> {
        let r = self.rest();
        if r.starts_with('\'') {
            return self.string().map(|s| Arg::Const(Const::Str(s.into())));
        }
        if r.starts_with("States.") {
            if self.depth == MAX_NESTING {
                return Err(self.err(&format!("intrinsic functions nest deeper than {MAX_NESTING} levels")));
            }
            self.depth += 1;
            let call = self.call();
            self.depth -= 1;
            return call.map(|c| Arg::Call(Box::new(c)));
        }
        if r.starts_with('$') {
            let end = self.path_end();
            let text = &self.t[self.i..end];
            let path = parse_path(text.trim_end()).map_err(|e| self.err(&format!("invalid path '{text}': {e}")))?;
            self.i = end;
            return Ok(Arg::Path(path));
        }
        let end = r.find([',', ')']).unwrap_or(r.len());
        let word = r[..end].trim();
        let c = match word {
            "true" => Const::Bool(true),
            "false" => Const::Bool(false),
            "null" => Const::Null,
            _ => {
                if let Ok(i) = word.parse::<i64>() {
                    Const::Int(i)
                } else if let Some(f) = word.parse::<f64>().ok().filter(|f| f.is_finite() && !word.is_empty()) {
                    Const::Float(f)
                } else {
                    return Err(self.err(&format!("invalid argument '{word}'")));
                }
            }
        };
        self.i += end;
        Ok(Arg::Const(c))
    }

    /// The end of a path argument: the first ',' or ')' outside brackets and quotes.
    fn path_end(&self) -> usize {
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        for (off, c) in self.rest().char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '[' | '(') => depth += 1,
                (None, ']') => depth = depth.saturating_sub(1),
                (None, ')') if depth > 0 => depth -= 1,
                (None, ',' | ')') if depth == 0 => return self.i + off,
                _ => {}
            }
        }
        self.t.len()
    }

    /// A single-quoted string; `\'`, `\{`, `\}` and `\\` are escapes, as in AWS.
    fn string(&mut self) -> Result<String, ParseError> {
        self.i += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((off, c)) = chars.next() {
            match c {
                '\'' => {
                    self.i += off + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, e @ ('\'' | '{' | '}' | '\\'))) => {
                        if e == '{' || e == '}' {
                            // Kept escaped so that States.Format can tell a literal brace from a
                            // placeholder; `string::unescape_braces` removes the backslash.
                            out.push('\\');
                        }
                        out.push(e);
                    }
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, other)) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err(self.err("unterminated string literal"))
    }
}
