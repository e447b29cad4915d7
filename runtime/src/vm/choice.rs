//! Choice rule evaluation. A type mismatch is `false`, never an error; a missing Variable is a
//! States.Runtime error except for IsPresent, as on AWS.

use super::{Fault, Vm};
use crate::bytecode::{ChoiceSpec, ChoiceTest, Compare, Cond, Kind, Order, PathId, TestOperand};
use crate::value::Value;
use std::cmp::Ordering;

/// One evaluation of a Choice's rules: the effective input and state, the variable read last
/// and its value (comparisons of one variable share its path), and the failure that stopped it.
struct Eval<'a, 's> {
    input: Value<'a>,
    sc: &'s super::StateCtx<'a>,
    variable: Option<PathId>,
    value: Option<Value<'a>>,
    fault: Option<Fault<'a>>,
}

impl<'a> Vm<'a> {
    /// Evaluates Choice `c`'s rules against the effective input, in order: the index of the
    /// first that holds, or the number of rules when none does.
    pub(super) fn choose(
        &mut self,
        c: &'a ChoiceSpec,
        input: Value<'a>,
        sc: &super::StateCtx<'a>,
    ) -> Result<usize, Fault<'a>> {
        let mut e = Eval { input, sc, variable: None, value: None, fault: None };
        for (k, rule) in c.rules.iter().enumerate() {
            match self.holds(rule, &mut e) {
                Some(true) => return Ok(k),
                Some(false) => {}
                None => {
                    return Err(e
                        .fault
                        .unwrap_or_else(|| self.runtime(sc, "internal error: a failed Choice rule".into())))
                }
            }
        }
        Ok(c.rules.len())
    }

    /// One condition, or `None` when it failed (the failure is in `e`). And and Or stop at the
    /// first operand that decides them, so a later operand's missing variable is no error
    /// then, as on AWS.
    fn holds(&mut self, c: &'a Cond, e: &mut Eval<'a, '_>) -> Option<bool> {
        match c {
            Cond::Test(t) => self.test(&self.program.tests[t.index()], e),
            Cond::Not(x) => self.holds(x, e).map(|b| !b),
            Cond::And(xs) => {
                for x in xs.iter() {
                    if !self.holds(x, e)? {
                        return Some(false);
                    }
                }
                Some(true)
            }
            Cond::Or(xs) => {
                for x in xs.iter() {
                    if self.holds(x, e)? {
                        return Some(true);
                    }
                }
                Some(false)
            }
        }
    }

    /// One comparison. The variable is read again only when the comparison before read
    /// another: consecutive comparisons of one variable see one reading of it (its value does
    /// not change within the state).
    fn test(&mut self, t: &'a ChoiceTest, e: &mut Eval<'a, '_>) -> Option<bool> {
        let program = self.program;
        let variable = &program.paths[t.variable.index()];
        if e.variable != Some(t.variable) {
            e.value = self.eval_path(variable, e.input, e.sc);
            e.variable = Some(t.variable);
        }
        if t.op == Compare::Is(Kind::Present) {
            let want = matches!(t.operand, TestOperand::Const(c) if program.consts[c.index()] == crate::value::Const::Bool(true));
            return Some(e.value.is_some() == want);
        }
        let Some(value) = e.value else {
            e.fault = Some(self.invalid_path(e.sc, variable));
            return None;
        };
        let rhs: Value<'a> = match t.operand {
            TestOperand::Const(c) => program.consts[c.index()].materialize(self.arena),
            TestOperand::Timestamp(n) => {
                return Some(match t.op {
                    Compare::Timestamp(o) => compare_timestamp(o, value, n),
                    _ => false,
                })
            }
            TestOperand::Path(p) => {
                let p = &program.paths[p.index()];
                match self.eval_path(p, e.input, e.sc) {
                    Some(v) => v,
                    None => {
                        e.fault = Some(self.invalid_path(e.sc, p));
                        return None;
                    }
                }
            }
        };
        Some(compare(t.op, value, rhs))
    }

    #[cold]
    fn invalid_path(&self, sc: &super::StateCtx<'a>, p: &crate::path::Path) -> Fault<'a> {
        self.runtime(
            sc,
            format!("Invalid path '{}': The choice state's condition path references an invalid value.", p.text),
        )
    }
}

fn compare_timestamp(o: Order, value: Value<'_>, rhs: i128) -> bool {
    let Some(lhs) = value.as_str().and_then(super::timestamp::parse) else {
        return false;
    };
    o.holds(lhs.cmp(&rhs))
}

/// Java's `String.compareTo`: UTF-16 code unit order.
fn utf16_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

pub(crate) fn compare(op: Compare, value: Value<'_>, rhs: Value<'_>) -> bool {
    match op {
        // Equal texts have equal UTF-8 bytes: no UTF-16 order needed.
        Compare::String(Order::Equals) => matches!((value, rhs), (Value::Str(a), Value::Str(b)) if a == b),
        Compare::String(o) => match (value, rhs) {
            (Value::Str(a), Value::Str(b)) => o.holds(utf16_cmp(a, b)),
            _ => false,
        },
        Compare::Matches => match (value, rhs) {
            (Value::Str(a), Value::Str(p)) => string_matches(a, p),
            _ => false,
        },
        Compare::Numeric(o) => match (value, rhs) {
            (Value::Int(a), Value::Int(b)) => o.holds(a.cmp(&b)),
            (a, b) if a.is_number() && b.is_number() => {
                match a.as_f64().unwrap_or(f64::NAN).partial_cmp(&b.as_f64().unwrap_or(f64::NAN)) {
                    Some(ord) => o.holds(ord),
                    None => false,
                }
            }
            _ => false,
        },
        Compare::Boolean => matches!((value, rhs), (Value::Bool(a), Value::Bool(b)) if a == b),
        Compare::Timestamp(o) => {
            match (value.as_str().and_then(super::timestamp::parse), rhs.as_str().and_then(super::timestamp::parse)) {
                (Some(a), Some(b)) => o.holds(a.cmp(&b)),
                _ => false,
            }
        }
        Compare::Is(kind) => {
            let is = match kind {
                Kind::Null => matches!(value, Value::Null),
                Kind::Numeric => value.is_number(),
                Kind::String => matches!(value, Value::Str(_)),
                Kind::Boolean => matches!(value, Value::Bool(_)),
                Kind::Timestamp => value.as_str().and_then(super::timestamp::parse).is_some(),
                // `test` answers IsPresent before reading the value; a value given is present.
                Kind::Present => true,
            };
            matches!(rhs, Value::Bool(b) if b == is)
        }
    }
}

/// `StringMatches`: `*` is any run of characters; `\*` a literal star and `\\` a backslash.
///
/// In time linear in the text and the pattern, whatever they hold (a pattern written to make a
/// backtracking matcher take quadratic time over a 256 KiB input costs no more than any other):
/// the literal runs between stars are found left to right, each at its first place after the
/// one before (the leftmost place never loses a match), the first run fixed at the start and the
/// last at the end. The runs are UTF-8 (a backslash dropped from UTF-8 leaves UTF-8), so a run
/// is only ever found where a character starts.
pub(crate) fn string_matches(s: &str, pattern: &str) -> bool {
    let mut runs = Runs { p: pattern.as_bytes(), at: 0, unescaped: Vec::new() };
    let t = s.as_bytes();
    let (first, starred) = runs.next_run().unwrap_or_default();
    if !starred {
        return first == t; // no star: the whole text
    }
    if !t.starts_with(first) {
        return false;
    }
    let mut at = first.len();
    while let Some((run, starred)) = runs.next_run() {
        if !starred {
            // The last run: at the end, after what the others took.
            return t.len() - at >= run.len() && t.ends_with(run);
        }
        match memchr::memmem::find(&t[at..], run) {
            Some(i) => at += i + run.len(),
            None => return false,
        }
    }
    true
}

/// The literal runs of a `StringMatches` pattern, between its unescaped stars.
struct Runs<'p> {
    p: &'p [u8],
    at: usize,
    /// A run with escapes, without them.
    unescaped: Vec<u8>,
}

impl Runs<'_> {
    /// The run from here to the next unescaped star or the end, and whether a star ends it;
    /// `None` past the end.
    fn next_run(&mut self) -> Option<(&[u8], bool)> {
        let p = self.p;
        if self.at > p.len() {
            return None;
        }
        let from = self.at;
        let mut escaped = false;
        let mut i = from;
        while i < p.len() && p[i] != b'*' {
            if p[i] == b'\\' && i + 1 < p.len() {
                escaped = true;
                i += 1; // the escaped byte is part of the run, even a star
            }
            i += 1;
        }
        // Past the star, or one past the end when there is none.
        self.at = i + 1;
        let starred = i < p.len();
        if !escaped {
            return Some((&p[from..i], starred));
        }
        self.unescaped.clear();
        let mut j = from;
        while j < i {
            if p[j] == b'\\' && j + 1 < p.len() {
                j += 1;
            }
            self.unescaped.push(p[j]);
            j += 1;
        }
        Some((&self.unescaped, starred))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The matcher `string_matches` replaced (quadratic in the worst case), as the reference the
    /// linear one must agree with.
    fn backtracking_matches(s: &str, pattern: &str) -> bool {
        let (t, p) = (s.as_bytes(), pattern.as_bytes());
        // The token at `pi`: Some(byte) for a literal (and its width in the pattern), None for a star.
        let token = |pi: usize| -> (Option<u8>, usize) {
            match p[pi] {
                b'\\' if pi + 1 < p.len() => (Some(p[pi + 1]), 2),
                b'*' => (None, 1),
                b => (Some(b), 1),
            }
        };
        let (mut ti, mut pi) = (0usize, 0usize);
        // After the last star seen: where the pattern resumes and where the text retry starts.
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            if pi < p.len() {
                match token(pi) {
                    (Some(b), w) if b == t[ti] => {
                        ti += 1;
                        pi += w;
                        continue;
                    }
                    (None, w) => {
                        pi += w;
                        star = Some((pi, ti));
                        continue;
                    }
                    _ => {}
                }
            }
            match star {
                Some((resume, from)) => {
                    pi = resume;
                    ti = from + 1;
                    star = Some((resume, from + 1));
                }
                None => return false,
            }
        }
        while pi < p.len() && token(pi).0.is_none() {
            pi += 1;
        }
        pi == p.len()
    }

    #[test]
    fn string_matches_wildcards_and_escapes() {
        assert!(string_matches("log-2024.txt", "log-*.txt"));
        assert!(string_matches("anything", "*"));
        assert!(!string_matches("log.txt", "log-*.txt"));
        assert!(string_matches("a*b", "a\\*b"));
        assert!(!string_matches("axb", "a\\*b"));
        assert!(string_matches("a\\b", "a\\\\b"));
        assert!(string_matches("", "*"));
        assert!(string_matches("héllo wörld", "h*w*d"));
        assert!(!string_matches("héllo", "h*x"));
        assert!(string_matches("aaa", "*a"));
        assert!(!string_matches("ab", "a"));
        assert!(string_matches("a.b.c", "*.*.*"));
    }

    proptest::proptest! {
        // Starring out any substrings of a text (and escaping its stars and backslashes) gives a
        // pattern that matches it; changing one literal character makes it not match.
        #[test]
        fn starred_text_matches(text in "[a-c*\\\\é]{0,12}", cuts in proptest::collection::vec(proptest::prelude::any::<bool>(), 0..12)) {
            let chars: Vec<char> = text.chars().collect();
            let mut pattern = String::new();
            for (i, c) in chars.iter().enumerate() {
                if cuts.get(i).copied().unwrap_or(false) {
                    if !pattern.ends_with('*') || pattern.ends_with("\\*") {
                        pattern.push('*');
                    }
                } else {
                    if *c == '*' || *c == '\\' {
                        pattern.push('\\');
                    }
                    pattern.push(*c);
                }
            }
            proptest::prop_assert!(string_matches(&text, &pattern), "{text:?} ~ {pattern:?}");
            let literal: String = chars.iter().flat_map(|c| if *c == '*' || *c == '\\' { vec!['\\', *c] } else { vec![*c] }).collect();
            let other = format!("{literal}x");
            proptest::prop_assert!(!string_matches(&text, &other), "{text:?} !~ {other:?}");
        }
    }

    proptest::proptest! {
        // The linear matcher answers as the backtracking one did, on texts and patterns drawn
        // from few characters (so that they often nearly match), escapes included.
        #[test]
        fn linear_matching_agrees_with_backtracking(text in "[ab*\\\\é]{0,10}", pattern in "[ab*\\\\é]{0,8}") {
            proptest::prop_assert_eq!(string_matches(&text, &pattern), backtracking_matches(&text, &pattern), "{:?} ~ {:?}", text, pattern);
        }
    }

    #[test]
    fn string_matches_takes_linear_time_on_a_backtracking_bomb() {
        // 256 KiB of 'a' against '*' and 128 Ki 'a' then 'b': about 3.4e10 byte comparisons
        // for the backtracking matcher, one pass here.
        let text = "a".repeat(256 * 1024);
        let pattern = format!("*{}b", "a".repeat(128 * 1024));
        assert!(!string_matches(&text, &pattern));
        assert!(string_matches(&text, &format!("*{}", "a".repeat(128 * 1024))));
        // A long run in the middle (found by searching, not fixed at an end).
        assert!(!string_matches(&text, &format!("*{}b*", "a".repeat(128 * 1024))));
        assert!(string_matches(&text, &format!("*{}*", "a".repeat(128 * 1024))));
        assert!(!string_matches(&text, &"*a".repeat(256 * 1024 + 1)));
    }

    #[test]
    fn type_mismatch_is_false() {
        assert!(!compare(Compare::String(Order::Equals), Value::Int(1), Value::Str("1")));
        assert!(!compare(Compare::Numeric(Order::Equals), Value::Str("1"), Value::Int(1)));
        assert!(compare(Compare::Numeric(Order::Equals), Value::Float(1.0), Value::Int(1)));
        assert!(compare(Compare::Is(Kind::Numeric), Value::Int(1), Value::Bool(true)));
        assert!(compare(Compare::Is(Kind::Timestamp), Value::Str("2020-01-01T00:00:00Z"), Value::Bool(true)));
    }
}
