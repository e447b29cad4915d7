//! The JSONPath parser. Every path of a definition goes through here once, at compile time.

use super::{is_definite_step, CmpOp, Filter, Operand, Path, ReferencePath, Root, Segment};
use crate::value::Const;

/// A path that does not parse, with the byte offset of the problem.
#[derive(Clone, Debug, PartialEq)]
pub struct PathError {
    pub message: String,
    pub offset: usize,
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at offset {}", self.message, self.offset)
    }
}

/// Parses a JSONPath starting with `$` or `$$`.
pub fn parse_path(text: &str) -> Result<Path, PathError> {
    let mut p = Parser { s: text.as_bytes(), i: 0, text };
    let mut variable = None;
    let root = if text.starts_with("$$") {
        p.i = 2;
        Root::Context
    } else if text.len() > 1 && text.starts_with('$') && !text[1..].starts_with(['.', '[']) {
        // `$name…`: a workflow variable; its slot is bound by the definition parser.
        let end = text[1..].find(['.', '[']).map_or(text.len(), |i| i + 1);
        let name = &text[1..end];
        if !name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') || name.contains(char::is_whitespace) {
            return Err(p.err("a variable name must start with a letter or '_'"));
        }
        p.i = end;
        variable = Some(name.into());
        Root::Variable(u32::MAX)
    } else if text.starts_with('$') {
        p.i = 1;
        Root::Input
    } else {
        return Err(p.err("a path must start with '$'"));
    };
    let segments = p.segments(false)?;
    if p.i < p.s.len() {
        return Err(p.err("unexpected character"));
    }
    let definite = segments.iter().all(is_definite_step);
    // The walk is planned by the compiler of an optimised program (`Path::plan`).
    let (context_field, wildcard, names) = (None, None, None);
    Ok(Path { definite, root, variable, segments: segments.into(), text: text.into(), context_field, wildcard, names })
}

/// Parses a reference path: `$` followed by names and indices only (ResultPath).
pub fn parse_reference_path(text: &str) -> Result<ReferencePath, PathError> {
    let path = parse_path(text)?;
    if path.root != Root::Input {
        return Err(PathError {
            message: "a reference path must start with '$' (not '$$' or a variable)".into(),
            offset: 0,
        });
    }
    if !path.is_definite() {
        return Err(PathError { message: "a reference path must select a single node".into(), offset: 0 });
    }
    Ok(ReferencePath { segments: path.segments, text: path.text })
}

struct Parser<'t> {
    s: &'t [u8],
    i: usize,
    text: &'t str,
}

impl Parser<'_> {
    fn err(&self, message: &str) -> PathError {
        PathError { message: message.to_owned(), offset: self.i }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// Segments until the end, or (inside a filter) until a character that cannot continue a path.
    fn segments(&mut self, in_filter: bool) -> Result<Vec<Segment>, PathError> {
        let mut out = Vec::new();
        loop {
            match self.peek() {
                Some(b'.') => {
                    self.i += 1;
                    if self.eat(b'.') {
                        if self.eat(b'*') {
                            out.push(Segment::Descendant(None));
                        } else if self.peek() == Some(b'[') {
                            out.push(Segment::Descendant(None));
                            // `..['a']` and `..[0]` apply the bracket to every descendant.
                        } else {
                            let name = self.name(in_filter)?;
                            out.push(Segment::Descendant(Some(name.into())));
                        }
                    } else if self.eat(b'*') {
                        out.push(Segment::Wildcard);
                    } else {
                        let name = self.name(in_filter)?;
                        out.push(Segment::Child(name.into()));
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    out.push(self.bracket()?);
                }
                _ => return Ok(out),
            }
        }
    }

    fn name(&mut self, in_filter: bool) -> Result<&str, PathError> {
        let start = self.i;
        while let Some(b) = self.peek() {
            let stop = b == b'.' || b == b'[' || (in_filter && (b" \t)=!<>&|,".contains(&b)));
            if stop {
                break;
            }
            self.i += 1;
        }
        if self.i == start {
            return Err(self.err("expected a property name"));
        }
        Ok(&self.text[start..self.i])
    }

    fn bracket(&mut self) -> Result<Segment, PathError> {
        self.ws();
        let seg = match self.peek() {
            Some(b'*') => {
                self.i += 1;
                Segment::Wildcard
            }
            Some(b'?') => {
                self.i += 1;
                self.ws();
                if !self.eat(b'(') {
                    return Err(self.err("expected '(' after '?'"));
                }
                let f = self.filter_or()?;
                self.ws();
                if !self.eat(b')') {
                    return Err(self.err("expected ')' to close the filter"));
                }
                Segment::Filter(Box::new(f))
            }
            Some(b'\'' | b'"') => {
                let mut names = vec![self.quoted()?];
                self.ws();
                while self.eat(b',') {
                    self.ws();
                    names.push(self.quoted()?);
                    self.ws();
                }
                if names.len() == 1 {
                    Segment::Child(names.pop().unwrap_or_default().into())
                } else {
                    Segment::Names(names.into_iter().map(Into::into).collect())
                }
            }
            Some(b'-' | b'0'..=b'9' | b':') => self.index_or_slice()?,
            _ => return Err(self.err("expected an index, a quoted name, '*' or a filter")),
        };
        self.ws();
        if !self.eat(b']') {
            return Err(self.err("expected ']'"));
        }
        Ok(seg)
    }

    fn int(&mut self) -> Result<Option<i64>, PathError> {
        self.ws();
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        if self.i == start {
            return Ok(None);
        }
        self.text[start..self.i].parse().map(Some).map_err(|_| self.err("invalid integer"))
    }

    fn index_or_slice(&mut self) -> Result<Segment, PathError> {
        let first = self.int()?;
        self.ws();
        if self.eat(b':') {
            let end = self.int()?;
            self.ws();
            let step = if self.eat(b':') { self.int()? } else { None };
            return Ok(Segment::Slice(first, end, step));
        }
        let first = first.ok_or_else(|| self.err("expected an index"))?;
        let mut all = vec![first];
        while self.eat(b',') {
            all.push(self.int()?.ok_or_else(|| self.err("expected an index"))?);
            self.ws();
        }
        Ok(if all.len() == 1 { Segment::Index(first) } else { Segment::Indices(all.into()) })
    }

    fn quoted(&mut self) -> Result<String, PathError> {
        // Only called where a quote may start, but a union (`['a', …]`) may go on with anything.
        let q = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(self.err("expected a quoted name")),
        };
        self.i += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.i..];
            let Some(c) = rest.chars().next() else {
                return Err(self.err("unterminated string"));
            };
            self.i += c.len_utf8();
            if c as u32 == q as u32 {
                return Ok(out);
            }
            // Only the delimiting quote is an escape (`\'`); any other backslash is literal, so
            // `$['a\"b']` names the key `a\"b`, as in Jayway.
            if c == '\\' && self.text[self.i..].starts_with(q as char) {
                self.i += 1;
                out.push(q as char);
            } else {
                out.push(c);
            }
        }
    }

    fn filter_or(&mut self) -> Result<Filter, PathError> {
        let mut left = self.filter_and()?;
        loop {
            self.ws();
            if self.s[self.i..].starts_with(b"||") {
                self.i += 2;
                let right = self.filter_and()?;
                left = Filter::Or(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn filter_and(&mut self) -> Result<Filter, PathError> {
        let mut left = self.filter_unary()?;
        loop {
            self.ws();
            if self.s[self.i..].starts_with(b"&&") {
                self.i += 2;
                let right = self.filter_unary()?;
                left = Filter::And(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn filter_unary(&mut self) -> Result<Filter, PathError> {
        self.ws();
        if self.peek() == Some(b'!') && self.s.get(self.i + 1) != Some(&b'=') {
            self.i += 1;
            return Ok(Filter::Not(Box::new(self.filter_unary()?)));
        }
        if self.eat(b'(') {
            let f = self.filter_or()?;
            self.ws();
            if !self.eat(b')') {
                return Err(self.err("expected ')'"));
            }
            return Ok(f);
        }
        let left = self.operand()?;
        self.ws();
        let op = if self.s[self.i..].starts_with(b"==") {
            Some((CmpOp::Eq, 2))
        } else if self.s[self.i..].starts_with(b"!=") {
            Some((CmpOp::Ne, 2))
        } else if self.s[self.i..].starts_with(b"<=") {
            Some((CmpOp::Le, 2))
        } else if self.s[self.i..].starts_with(b">=") {
            Some((CmpOp::Ge, 2))
        } else if self.s[self.i..].starts_with(b"<") {
            Some((CmpOp::Lt, 1))
        } else if self.s[self.i..].starts_with(b">") {
            Some((CmpOp::Gt, 1))
        } else {
            None
        };
        match op {
            Some((op, n)) => {
                self.i += n;
                let right = self.operand()?;
                Ok(Filter::Compare(left, op, right))
            }
            None => Ok(Filter::Exists(left)),
        }
    }

    fn operand(&mut self) -> Result<Operand, PathError> {
        self.ws();
        match self.peek() {
            Some(b'@') => {
                self.i += 1;
                Ok(Operand::Current(self.segments(true)?.into()))
            }
            Some(b'$') => {
                self.i += 1;
                Ok(Operand::Root(self.segments(true)?.into()))
            }
            Some(b'\'' | b'"') => Ok(Operand::Literal(Const::Str(self.quoted()?.into()))),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                self.i += 1;
                while matches!(self.peek(), Some(b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')) {
                    self.i += 1;
                }
                let t = &self.text[start..self.i];
                if let Ok(i) = t.parse::<i64>() {
                    Ok(Operand::Literal(Const::Int(i)))
                } else {
                    t.parse::<f64>().map(|f| Operand::Literal(Const::Float(f))).map_err(|_| self.err("invalid number"))
                }
            }
            _ => {
                for (word, c) in [("true", Const::Bool(true)), ("false", Const::Bool(false)), ("null", Const::Null)] {
                    if self.s[self.i..].starts_with(word.as_bytes()) {
                        self.i += word.len();
                        return Ok(Operand::Literal(c));
                    }
                }
                Err(self.err("expected '@', '$' or a literal in the filter"))
            }
        }
    }
}
