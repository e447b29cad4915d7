//! Choice rule evaluation. A type mismatch is `false`, never an error; a missing Variable is a
//! States.Runtime error except for IsPresent, as on AWS.

use super::{Fault, Vm};
use crate::asl::ast::Comparison as C;
use crate::bytecode::{ChoiceTest, TestOperand};
use crate::value::Value;
use std::cmp::Ordering;

impl<'a> Vm<'a> {
    /// Evaluates one compiled comparison against the effective input.
    pub(super) fn test(
        &mut self,
        t: &'a ChoiceTest,
        input: Value<'a>,
        sc: &super::StateCtx<'a>,
    ) -> Result<bool, Fault<'a>> {
        let program = self.program;
        let variable = &program.paths[t.variable.index()];
        let value = self.eval_path(variable, input, sc);
        if t.op == C::IsPresent {
            let want = matches!(t.operand, TestOperand::Const(c) if program.consts[c.index()] == crate::value::Const::Bool(true));
            return Ok(value.is_some() == want);
        }
        let Some(value) = value else {
            return Err(self.invalid_path(sc, variable));
        };
        let rhs: Value<'a> = match t.operand {
            TestOperand::Const(c) => program.consts[c.index()].materialize(self.arena),
            TestOperand::Timestamp(n) => return Ok(compare_timestamp(t.op, value, n)),
            TestOperand::Path(p) => {
                let p = &program.paths[p.index()];
                match self.eval_path(p, input, sc) {
                    Some(v) => v,
                    None => return Err(self.invalid_path(sc, p)),
                }
            }
        };
        Ok(compare(t.op, value, rhs))
    }

    #[cold]
    fn invalid_path(&self, sc: &super::StateCtx<'a>, p: &crate::path::Path) -> Fault<'a> {
        self.runtime(
            sc,
            format!("Invalid path '{}': The choice state's condition path references an invalid value.", p.text),
        )
    }
}

fn compare_timestamp(op: C, value: Value<'_>, rhs: i128) -> bool {
    let Some(lhs) = value.as_str().and_then(super::timestamp::parse) else {
        return false;
    };
    ordered(op, lhs.cmp(&rhs))
}

fn ordered(op: C, o: Ordering) -> bool {
    use C::*;
    match op {
        StringEquals | NumericEquals | TimestampEquals => o == Ordering::Equal,
        StringLessThan | NumericLessThan | TimestampLessThan => o == Ordering::Less,
        StringGreaterThan | NumericGreaterThan | TimestampGreaterThan => o == Ordering::Greater,
        StringLessThanEquals | NumericLessThanEquals | TimestampLessThanEquals => o != Ordering::Greater,
        StringGreaterThanEquals | NumericGreaterThanEquals | TimestampGreaterThanEquals => o != Ordering::Less,
        _ => false,
    }
}

/// Java's `String.compareTo`: UTF-16 code unit order.
fn utf16_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

pub(crate) fn compare(op: C, value: Value<'_>, rhs: Value<'_>) -> bool {
    use C::*;
    match op {
        StringEquals | StringLessThan | StringGreaterThan | StringLessThanEquals | StringGreaterThanEquals => {
            match (value, rhs) {
                (Value::Str(a), Value::Str(b)) => ordered(op, utf16_cmp(a, b)),
                _ => false,
            }
        }
        StringMatches => match (value, rhs) {
            (Value::Str(a), Value::Str(p)) => string_matches(a, p),
            _ => false,
        },
        NumericEquals | NumericLessThan | NumericGreaterThan | NumericLessThanEquals | NumericGreaterThanEquals => {
            match (value, rhs) {
                (Value::Int(a), Value::Int(b)) => ordered(op, a.cmp(&b)),
                (a, b) if a.is_number() && b.is_number() => {
                    match a.as_f64().unwrap_or(f64::NAN).partial_cmp(&b.as_f64().unwrap_or(f64::NAN)) {
                        Some(o) => ordered(op, o),
                        None => false,
                    }
                }
                _ => false,
            }
        }
        BooleanEquals => matches!((value, rhs), (Value::Bool(a), Value::Bool(b)) if a == b),
        TimestampEquals
        | TimestampLessThan
        | TimestampGreaterThan
        | TimestampLessThanEquals
        | TimestampGreaterThanEquals => {
            match (value.as_str().and_then(super::timestamp::parse), rhs.as_str().and_then(super::timestamp::parse)) {
                (Some(a), Some(b)) => ordered(op, a.cmp(&b)),
                _ => false,
            }
        }
        IsNull | IsNumeric | IsString | IsBoolean | IsTimestamp => {
            let is = match op {
                IsNull => matches!(value, Value::Null),
                IsNumeric => value.is_number(),
                IsString => matches!(value, Value::Str(_)),
                IsBoolean => matches!(value, Value::Bool(_)),
                _ => value.as_str().and_then(super::timestamp::parse).is_some(),
            };
            matches!(rhs, Value::Bool(b) if b == is)
        }
        IsPresent => true,
    }
}

/// `StringMatches`: `*` is any run of characters; `\*` a literal star and `\\` a backslash.
pub(crate) fn string_matches(s: &str, pattern: &str) -> bool {
    // Tokenize the pattern into literal chars and stars.
    let mut toks: Vec<Option<char>> = Vec::with_capacity(pattern.len());
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some(e) => toks.push(Some(e)),
                None => toks.push(Some('\\')),
            },
            '*' => toks.push(None),
            c => toks.push(Some(c)),
        }
    }
    let text: Vec<char> = s.chars().collect();
    // Classic greedy wildcard match with backtracking to the last star.
    let (mut ti, mut pi) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < text.len() {
        if pi < toks.len() && toks[pi] == Some(text[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < toks.len() && toks[pi].is_none() {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < toks.len() && toks[pi].is_none() {
        pi += 1;
    }
    pi == toks.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_matches_wildcards_and_escapes() {
        assert!(string_matches("log-2024.txt", "log-*.txt"));
        assert!(string_matches("anything", "*"));
        assert!(!string_matches("log.txt", "log-*.txt"));
        assert!(string_matches("a*b", "a\\*b"));
        assert!(!string_matches("axb", "a\\*b"));
        assert!(string_matches("a\\b", "a\\\\b"));
        assert!(string_matches("", "*"));
    }

    #[test]
    fn type_mismatch_is_false() {
        assert!(!compare(C::StringEquals, Value::Int(1), Value::Str("1")));
        assert!(!compare(C::NumericEquals, Value::Str("1"), Value::Int(1)));
        assert!(compare(C::NumericEquals, Value::Float(1.0), Value::Int(1)));
        assert!(compare(C::IsNumeric, Value::Int(1), Value::Bool(true)));
        assert!(compare(C::IsTimestamp, Value::Str("2020-01-01T00:00:00Z"), Value::Bool(true)));
    }
}
