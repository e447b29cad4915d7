//! The JSONata parser: a Pratt parser over [`Lexer`] tokens, giving the raw [`Ast`]. Binding
//! powers follow the JSONata reference implementation.

use super::lex::{Lexer, SyntaxError, Tok, Token};

#[derive(Clone, Debug, PartialEq)]
pub enum Ast {
    Num(f64),
    Str(String),
    Bool(bool),
    Null,
    Regex(String, String),
    /// A field name.
    Name(String),
    /// `$name`; `""` is `$` (the context), `"$"` is `$$` (the root).
    Var(String),
    Wildcard,
    Descendants,
    Parent,
    Neg(Box<Ast>),
    Binary(&'static str, Box<Ast>, Box<Ast>),
    /// `a[pred]`, or `a[]` (keep array) when the predicate is `None`.
    Predicate(Box<Ast>, Option<Box<Ast>>),
    /// `a{k: v, …}` (group) — and `{k: v}` alone, with `None`.
    Object(Option<Box<Ast>>, Vec<(Ast, Ast)>),
    Array(Vec<Ast>),
    Range(Box<Ast>, Box<Ast>),
    Block(Vec<Ast>),
    Cond(Box<Ast>, Box<Ast>, Option<Box<Ast>>),
    Bind(String, Box<Ast>),
    Lambda {
        params: Vec<String>,
        body: Box<Ast>,
    },
    Call {
        func: Box<Ast>,
        args: Vec<Ast>,
    },
    /// `?` as an argument: partial application.
    Placeholder,
    /// `a ~> f`
    Chain(Box<Ast>, Box<Ast>),
    /// `a^(<b, >c)`: terms with `true` for descending.
    Sort(Box<Ast>, Vec<(Ast, bool)>),
    /// `a@$v`
    Focus(Box<Ast>, String),
    /// `a#$i`
    Index(Box<Ast>, String),
    /// `| pattern | update [, delete] |`
    Transform(Box<Ast>, Box<Ast>, Option<Box<Ast>>),
}

/// Parses a whole expression.
pub fn parse(src: &str) -> Result<Ast, SyntaxError> {
    let mut p = Parser { lex: Lexer::new(src), tok: Token { kind: Tok::End, at: 0 }, depth: 0 };
    p.advance(true)?;
    let ast = p.expr(0)?;
    if p.tok.kind != Tok::End {
        return Err(p.err("S0201", format!("Syntax error: {}", p.describe())));
    }
    Ok(ast)
}

struct Parser<'t> {
    lex: Lexer<'t>,
    tok: Token,
    depth: u32,
}

/// Nesting beyond this is a syntax error rather than a stack overflow.
const MAX_DEPTH: u32 = crate::common::JSONATA_PARSE_DEPTH;

fn lbp(t: &Tok) -> u32 {
    match t {
        Tok::Op(op) => match *op {
            "." => 75,
            "[" | "(" | "@" | "#" | "^(" => 80,
            "{" => 70,
            "?" => 20,
            "+" | "-" | "&" => 50,
            "*" | "/" | "%" | "**" => 60,
            "=" | "<" | ">" | "!=" | "<=" | ">=" | "~>" | "in" => 40,
            "and" => 30,
            "or" => 25,
            ":=" => 10,
            _ => 0,
        },
        _ => 0,
    }
}

impl Parser<'_> {
    fn err(&self, code: &'static str, message: String) -> SyntaxError {
        SyntaxError { code, message, at: self.tok.at }
    }

    fn describe(&self) -> String {
        match &self.tok.kind {
            Tok::End => "unexpected end of expression".into(),
            Tok::Op(o) => format!("unexpected token \"{o}\""),
            Tok::Name(n, _) => format!("unexpected token \"{n}\""),
            Tok::Var(v) => format!("unexpected token \"${v}\""),
            Tok::Num(n) => format!("unexpected number {n}"),
            Tok::Str(s) => format!("unexpected string \"{s}\""),
            Tok::Regex(r, _) => format!("unexpected regex /{r}/"),
        }
    }

    /// Reads the next token; `operand` is true where an operand is expected next.
    fn advance(&mut self, operand: bool) -> Result<(), SyntaxError> {
        self.tok = self.lex.next(operand)?;
        Ok(())
    }

    fn expect(&mut self, op: &'static str, operand_next: bool) -> Result<(), SyntaxError> {
        if self.tok.kind == Tok::End {
            return Err(self.err("S0203", format!("Expected \"{op}\" before end of expression")));
        }
        if self.tok.kind != Tok::Op(op) {
            return Err(self.err("S0202", format!("Expected \"{op}\", got {}", self.describe())));
        }
        self.advance(operand_next)
    }

    /// An expression inside a bracketed construct that `closer` ends: at the end of the text,
    /// JSONata reports the missing closer (S0203), not the missing operand.
    fn expr_in(&mut self, closer: &'static str) -> Result<Ast, SyntaxError> {
        if self.tok.kind == Tok::End {
            return Err(self.err("S0203", format!("Expected \"{closer}\" before end of expression")));
        }
        self.expr(0)
    }

    fn is(&self, op: &str) -> bool {
        matches!(self.tok.kind, Tok::Op(o) if o == op)
    }

    fn expr(&mut self, rbp: u32) -> Result<Ast, SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("S0213", "The expression is nested too deeply".into()));
        }
        let mut left = self.nud()?;
        while rbp < lbp(&self.tok.kind) {
            left = self.led(left)?;
        }
        self.depth -= 1;
        Ok(left)
    }

    fn nud(&mut self) -> Result<Ast, SyntaxError> {
        let tok = std::mem::replace(&mut self.tok.kind, Tok::End);
        match tok {
            Tok::Num(n) => {
                self.advance(false)?;
                Ok(Ast::Num(n))
            }
            Tok::Str(s) => {
                self.advance(false)?;
                Ok(Ast::Str(s))
            }
            Tok::Regex(r, f) => {
                self.advance(false)?;
                Ok(Ast::Regex(r, f))
            }
            Tok::Var(v) => {
                self.advance(false)?;
                Ok(Ast::Var(v))
            }
            Tok::Name(n, quoted) => {
                self.advance(false)?;
                if !quoted {
                    match n.as_str() {
                        "true" => return Ok(Ast::Bool(true)),
                        "false" => return Ok(Ast::Bool(false)),
                        "null" => return Ok(Ast::Null),
                        "function" | "λ" => return self.lambda(),
                        _ => {}
                    }
                }
                Ok(Ast::Name(n))
            }
            Tok::Op(op) => match op {
                "-" => {
                    self.advance(true)?;
                    Ok(Ast::Neg(Box::new(self.expr(70)?)))
                }
                "*" => {
                    self.advance(false)?;
                    Ok(Ast::Wildcard)
                }
                "**" => {
                    self.advance(false)?;
                    Ok(Ast::Descendants)
                }
                "%" => {
                    self.advance(false)?;
                    Ok(Ast::Parent)
                }
                // `and`, `or` and `in` where an operand is expected are field names.
                "and" | "or" | "in" => {
                    self.advance(false)?;
                    Ok(Ast::Name(op.to_owned()))
                }
                "(" => {
                    self.advance(true)?;
                    let mut items = Vec::new();
                    while !self.is(")") {
                        items.push(self.expr_in(")")?);
                        if !self.is(";") {
                            break;
                        }
                        self.advance(true)?;
                    }
                    self.expect(")", false)?;
                    Ok(Ast::Block(items))
                }
                "[" => {
                    self.advance(true)?;
                    let mut items = Vec::new();
                    while !self.is("]") {
                        let item = self.expr_in("]")?;
                        if self.is("..") {
                            self.advance(true)?;
                            let end = self.expr(0)?;
                            items.push(Ast::Range(Box::new(item), Box::new(end)));
                        } else {
                            items.push(item);
                        }
                        if !self.is(",") {
                            break;
                        }
                        self.advance(true)?;
                    }
                    self.expect("]", false)?;
                    Ok(Ast::Array(items))
                }
                "{" => {
                    let pairs = self.object_body()?;
                    Ok(Ast::Object(None, pairs))
                }
                "|" => {
                    self.advance(true)?;
                    let pattern = self.expr(0)?;
                    self.expect("|", true)?;
                    let update = self.expr(0)?;
                    let delete = if self.is(",") {
                        self.advance(true)?;
                        Some(Box::new(self.expr(0)?))
                    } else {
                        None
                    };
                    self.expect("|", false)?;
                    Ok(Ast::Transform(Box::new(pattern), Box::new(update), delete))
                }
                other => {
                    self.tok.kind = Tok::Op(other);
                    Err(self.err("S0211", format!("The symbol \"{other}\" cannot be used as a unary operator")))
                }
            },
            Tok::End => Err(self.err("S0207", "Unexpected end of expression".into())),
        }
    }

    /// `{ k: v, … }` after the `{`.
    fn object_body(&mut self) -> Result<Vec<(Ast, Ast)>, SyntaxError> {
        self.advance(true)?;
        let mut pairs = Vec::new();
        while !self.is("}") {
            let k = self.expr_in("}")?;
            self.expect(":", true)?;
            let v = self.expr(0)?;
            pairs.push((k, v));
            if !self.is(",") {
                break;
            }
            self.advance(true)?;
        }
        self.expect("}", false)?;
        Ok(pairs)
    }

    fn lambda(&mut self) -> Result<Ast, SyntaxError> {
        self.expect("(", true)?;
        let mut params = Vec::new();
        while !self.is(")") {
            match &self.tok.kind {
                Tok::Var(v) => params.push(v.clone()),
                _ => {
                    return Err(self.err(
                        "S0208",
                        format!("Parameter of a function definition must be a variable name, got {}", self.describe()),
                    ))
                }
            }
            self.advance(false)?;
            if !self.is(",") {
                break;
            }
            self.advance(true)?;
        }
        self.expect(")", false)?;
        // An optional signature `<…>` is accepted and not enforced.
        if self.is("<") {
            let mut depth = 0;
            loop {
                match &self.tok.kind {
                    Tok::Op("<") => depth += 1,
                    Tok::Op(">") => {
                        depth -= 1;
                        if depth == 0 {
                            self.advance(false)?;
                            break;
                        }
                    }
                    Tok::End => return Err(self.err("S0401", "Unterminated function signature".into())),
                    _ => {}
                }
                self.advance(false)?;
            }
        }
        if !self.is("{") {
            return Err(self.err("S0202", format!("Expected \"{{\", got {}", self.describe())));
        }
        self.advance(true)?;
        let body = if self.is("}") { Ast::Block(Vec::new()) } else { self.expr_in("}")? };
        self.expect("}", false)?;
        Ok(Ast::Lambda { params, body: Box::new(body) })
    }

    fn led(&mut self, left: Ast) -> Result<Ast, SyntaxError> {
        let Tok::Op(op) = self.tok.kind else {
            return Err(self.err("S0201", format!("Syntax error: {}", self.describe())));
        };
        let bp = lbp(&self.tok.kind);
        match op {
            "(" => {
                self.advance(true)?;
                let mut args = Vec::new();
                while !self.is(")") {
                    // A lone `?` argument is a placeholder (partial application).
                    if self.is("?") {
                        let save = (self.lex.pos, self.tok.clone());
                        self.advance(false)?;
                        if self.is(",") || self.is(")") {
                            args.push(Ast::Placeholder);
                            if !self.is(",") {
                                break;
                            }
                            self.advance(true)?;
                            continue;
                        }
                        self.lex.pos = save.0;
                        self.tok = save.1;
                    }
                    args.push(self.expr_in(")")?);
                    if !self.is(",") {
                        break;
                    }
                    self.advance(true)?;
                }
                self.expect(")", false)?;
                Ok(Ast::Call { func: Box::new(left), args })
            }
            "[" => {
                self.advance(true)?;
                if self.is("]") {
                    self.advance(false)?;
                    return Ok(Ast::Predicate(Box::new(left), None));
                }
                let pred = self.expr_in("]")?;
                self.expect("]", false)?;
                Ok(Ast::Predicate(Box::new(left), Some(Box::new(pred))))
            }
            "{" => {
                let pairs = self.object_body()?;
                Ok(Ast::Object(Some(Box::new(left)), pairs))
            }
            "^(" => {
                self.advance(true)?;
                let mut terms = Vec::new();
                loop {
                    let mut desc = false;
                    if self.is("<") {
                        self.advance(true)?;
                    } else if self.is(">") {
                        desc = true;
                        self.advance(true)?;
                    }
                    terms.push((self.expr_in(")")?, desc));
                    if !self.is(",") {
                        break;
                    }
                    self.advance(true)?;
                }
                self.expect(")", false)?;
                Ok(Ast::Sort(Box::new(left), terms))
            }
            "@" | "#" => {
                self.advance(true)?;
                let Tok::Var(v) = &self.tok.kind else {
                    return Err(self.err("S0214", format!("The right side of {op} must be a variable name")));
                };
                let v = v.clone();
                self.advance(false)?;
                Ok(if op == "@" { Ast::Focus(Box::new(left), v) } else { Ast::Index(Box::new(left), v) })
            }
            "?" => {
                self.advance(true)?;
                let then = self.expr(0)?;
                let otherwise = if self.is(":") {
                    self.advance(true)?;
                    Some(Box::new(self.expr(0)?))
                } else {
                    None
                };
                Ok(Ast::Cond(Box::new(left), Box::new(then), otherwise))
            }
            ":=" => {
                let Ast::Var(name) = left else {
                    return Err(self.err("S0212", "The left side of := must be a variable name (start with $)".into()));
                };
                self.advance(true)?;
                let value = self.expr(bp - 1)?;
                Ok(Ast::Bind(name, Box::new(value)))
            }
            "~>" => {
                self.advance(true)?;
                let right = self.expr(bp)?;
                Ok(Ast::Chain(Box::new(left), Box::new(right)))
            }
            _ => {
                self.advance(true)?;
                let right = self.expr(bp)?;
                Ok(Ast::Binary(op, Box::new(left), Box::new(right)))
            }
        }
    }
}
