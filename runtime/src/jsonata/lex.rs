//! The JSONata tokenizer. A `/` starts a regular expression where an operand is expected and is
//! a division elsewhere, so the parser tells the lexer which it expects.

/// A token and the byte offset where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub kind: Tok,
    pub at: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Num(f64),
    Str(String),
    /// A field name (plain or backtick-quoted); `quoted` for backticks.
    Name(String, bool),
    /// `$name`; `$` alone is `Var("")`, `$$` is `Var("$")`.
    Var(String),
    Regex(String, String),
    Op(&'static str),
    End,
}

/// A syntax error with JSONata's code and the offset.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxError {
    pub code: &'static str,
    pub message: String,
    pub at: usize,
}

const OPERATORS: &[&str] = &[
    "..", ":=", "!=", "<=", ">=", "~>", "**", "^(", ".", "[", "]", "{", "}", "(", ")", ",", "@", "#", ";", ":", "?",
    "+", "-", "*", "/", "%", "|", "=", "<", ">", "^", "&", "!", "~",
];

pub struct Lexer<'t> {
    pub src: &'t str,
    pub pos: usize,
}

impl<'t> Lexer<'t> {
    pub fn new(src: &'t str) -> Self {
        Lexer { src, pos: 0 }
    }

    fn err(&self, code: &'static str, message: impl Into<String>, at: usize) -> SyntaxError {
        SyntaxError { code, message: message.into(), at }
    }

    fn skip_ws_and_comments(&mut self) -> Result<(), SyntaxError> {
        loop {
            let rest = &self.src[self.pos..];
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if let Some(comment) = trimmed.strip_prefix("/*") {
                match comment.find("*/") {
                    Some(end) => self.pos += end + 4,
                    None => return Err(self.err("S0106", "Comment has no closing tag", self.pos)),
                }
            } else {
                return Ok(());
            }
        }
    }

    /// The next token; `operand` says whether the parser expects an operand (so `/` is a regex).
    pub fn next(&mut self, operand: bool) -> Result<Token, SyntaxError> {
        self.skip_ws_and_comments()?;
        let at = self.pos;
        let rest = &self.src[self.pos..];
        let Some(c) = rest.chars().next() else {
            return Ok(Token { kind: Tok::End, at });
        };
        if operand && c == '/' {
            return self.regex(at);
        }
        if c == '"' || c == '\'' {
            return self.string(c, at);
        }
        if c.is_ascii_digit() || (c == '.' && rest[1..].starts_with(|d: char| d.is_ascii_digit()) && operand) {
            return self.number(at);
        }
        if c == '`' {
            let Some(end) = rest[1..].find('`') else {
                return Err(self.err("S0105", "Quoted property name must be terminated with a backquote (`)", at));
            };
            self.pos += end + 2;
            return Ok(Token { kind: Tok::Name(rest[1..1 + end].to_owned(), true), at });
        }
        if c == '$' {
            let name_len = rest[1..].find(|ch: char| is_name_end(ch)).unwrap_or(rest.len() - 1);
            self.pos += 1 + name_len;
            if name_len == 0 && rest[1..].starts_with('$') {
                self.pos += 1;
                return Ok(Token { kind: Tok::Var("$".into()), at });
            }
            return Ok(Token { kind: Tok::Var(rest[1..1 + name_len].to_owned()), at });
        }
        for op in OPERATORS {
            if rest.starts_with(op) {
                // `..` only as the range operator, never before a digit handled above.
                self.pos += op.len();
                return Ok(Token { kind: Tok::Op(op), at });
            }
        }
        let name_len = rest.find(is_name_end).unwrap_or(rest.len());
        if name_len == 0 {
            return Err(self.err("S0204", format!("Unknown operator: \"{c}\""), at));
        }
        self.pos += name_len;
        let word = &rest[..name_len];
        let kind = match word {
            "and" | "or" | "in" => Tok::Op(match word {
                "and" => "and",
                "or" => "or",
                _ => "in",
            }),
            "true" | "false" | "null" | "function" | "λ" => Tok::Name(word.to_owned(), false),
            _ => Tok::Name(word.to_owned(), false),
        };
        Ok(Token { kind, at })
    }

    fn number(&mut self, at: usize) -> Result<Token, SyntaxError> {
        let b = self.src.as_bytes();
        let mut i = self.pos;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        // A fraction, but not the `..` range operator.
        if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            let mut j = i + 1;
            if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                j += 1;
            }
            if j < b.len() && b[j].is_ascii_digit() {
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                i = j;
            }
        }
        let text = &self.src[self.pos..i];
        self.pos = i;
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(Token { kind: Tok::Num(n), at }),
            _ => Err(self.err("S0102", format!("Number out of range: {text}"), at)),
        }
    }

    fn string(&mut self, quote: char, at: usize) -> Result<Token, SyntaxError> {
        let mut out = String::new();
        let mut chars = self.src[self.pos + 1..].char_indices();
        while let Some((off, c)) = chars.next() {
            if c == quote {
                self.pos += 1 + off + 1;
                return Ok(Token { kind: Tok::Str(out), at });
            }
            if c == '\\' {
                let Some((_, e)) = chars.next() else { break };
                match e {
                    '"' | '\\' | '/' | '\'' => out.push(e),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'u' => {
                        let hex: String = (0..4).filter_map(|_| chars.next().map(|(_, h)| h)).collect();
                        let Ok(code) = u32::from_str_radix(&hex, 16) else {
                            return Err(self.err(
                                "S0104",
                                "The escape sequence \\u must be followed by 4 hex digits",
                                at,
                            ));
                        };
                        // A surrogate pair: \uD83D\uDE00.
                        if (0xD800..0xDC00).contains(&code) {
                            let save = chars.clone();
                            let low = match (chars.next(), chars.next()) {
                                (Some((_, '\\')), Some((_, 'u'))) => {
                                    let hex: String = (0..4).filter_map(|_| chars.next().map(|(_, h)| h)).collect();
                                    u32::from_str_radix(&hex, 16).ok()
                                }
                                _ => None,
                            };
                            match low.filter(|l| (0xDC00..0xE000).contains(l)) {
                                Some(l) => out.push(
                                    char::from_u32(0x10000 + ((code - 0xD800) << 10) + (l - 0xDC00))
                                        .unwrap_or('\u{fffd}'),
                                ),
                                None => {
                                    chars = save;
                                    out.push('\u{fffd}');
                                }
                            }
                        } else {
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        }
                    }
                    other => {
                        return Err(self.err("S0103", format!("Unsupported escape sequence: \\{other}"), at));
                    }
                }
            } else {
                out.push(c);
            }
        }
        Err(self.err("S0101", "String literal must be terminated by a matching quote", at))
    }

    fn regex(&mut self, at: usize) -> Result<Token, SyntaxError> {
        let body_start = self.pos + 1;
        let bytes = self.src.as_bytes();
        let mut i = body_start;
        let mut depth = 0i32;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 1,
                b'[' => depth += 1,
                b']' if depth > 0 => depth -= 1,
                b'/' if depth == 0 => {
                    let pattern = self.src[body_start..i].to_owned();
                    if pattern.is_empty() {
                        return Err(self.err("S0301", "Empty regular expressions are not allowed", at));
                    }
                    let mut j = i + 1;
                    while j < bytes.len() && (bytes[j] == b'i' || bytes[j] == b'm') {
                        j += 1;
                    }
                    let flags = self.src[i + 1..j].to_owned();
                    self.pos = j;
                    return Ok(Token { kind: Tok::Regex(pattern, flags), at });
                }
                _ => {}
            }
            i += 1;
        }
        Err(self.err("S0302", "No terminating / in regular expression", at))
    }
}

fn is_name_end(c: char) -> bool {
    c.is_whitespace() || "[]{}()|,.;:?+-*/%=<>^&!~@#$\"'`".contains(c)
}
