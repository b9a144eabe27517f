//! What happens to a template when the settings load: parse it with minijinja, refuse what would
//! render differently from Jinja2 (or fail at delivery for a reason knowable now), and rewrite
//! the operators minijinja computes differently into calls of our own functions.
//!
//! The rewrite works on the source text, at the offsets minijinja's parser records:
//! `a ~ b` becomes `__manage_concat(a, b)` (likewise `+`, `%`, `/`, `//`, `**`), `(a, b)` becomes
//! `__manage_tuple(a, b)`. Line numbers stay the same.

use std::collections::HashSet;

use minijinja::machinery::ast::{self, BinOpKind, CallArg, CallType, Expr, Stmt};
use minijinja::machinery::{parse, WhitespaceConfig};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::ValueKind;

use super::filters::{FILTERS, GENERATORS, ITERATING, REFUSED};
use super::methods::{DICT_METHODS, METHODS, MUTATING};
use super::predicates::TESTS;
use super::{ADD, CONCAT, DIV, FLOORDIV, MOD, POW, RESERVED_PREFIX, TUPLE};

/// Checks a template and returns the source minijinja renders, or why it is refused: each
/// reason names the construct and says what to write instead.
pub fn prepare(name: &str, source: &str) -> Result<String, String> {
    prepare_with(name, source, true)
}

/// [`prepare`]; `fold`: also evaluate the expressions made only of literals ([`super::fold`]).
pub(super) fn prepare_with(name: &str, source: &str, fold: bool) -> Result<String, String> {
    if source.contains(RESERVED_PREFIX) {
        return Err(format!(
            "names starting with {RESERVED_PREFIX} are reserved; rename them"
        ));
    }
    let tree = parse(source, name, SyntaxConfig, WhitespaceConfig::default())
        .map_err(|e| format!("invalid Jinja2 template: {e}"))?;
    let mut walker = Walker {
        source,
        edits: Vec::new(),
        refusals: Vec::new(),
        defined: HashSet::new(),
        in_chain: false,
    };
    walker.collect_names(&tree);
    walker.stmt(&tree, 0);
    walker.refusals.extend(super::scope::check(&tree, source));
    if fold {
        walker.refusals.extend(super::fold::check(&tree, source));
    }
    if !walker.refusals.is_empty() {
        let mut seen = HashSet::new();
        walker.refusals.retain(|r| seen.insert(r.clone()));
        return Err(walker.refusals.join("; "));
    }
    Ok(walker.rewritten())
}

/// How an expression's value is used, for the messages about generators.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    /// Printed, or turned into text.
    Print,
    /// Tested for truth.
    Truth,
    /// Kept in a variable.
    Assign,
    /// Indexed, sliced, or asked for an attribute or method.
    Index,
    /// Given to a filter or test that does not iterate it.
    Filter(&'static str),
    /// An operand of an operator.
    Operand,
}

/// Values Jinja2 makes that print or behave differently from a list.
enum Lazy {
    /// A filter whose result is a generator.
    Generator(&'static str),
    /// `range(…)`, which prints as `range(0, 3)`.
    Range,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum EditKind {
    Close,
    Replace,
    Open,
}

struct Edit {
    at: usize,
    kind: EditKind,
    /// Opening edits of outer nodes go first, closing edits of inner nodes go first.
    order: isize,
    end: usize,
    text: String,
}

struct Walker<'s> {
    source: &'s str,
    edits: Vec<Edit>,
    refusals: Vec<String>,
    defined: HashSet<&'s str>,
    /// Set while walking into the base of `a.b`, `a[b]`, `a[b:c]` or `a(b)`.
    in_chain: bool,
}

/// Where an expression starts and ends in the source, over all its parts.
pub(super) fn extent(expr: &Expr) -> (usize, usize) {
    let span = expr.span();
    let (mut start, mut end) = (span.start_offset as usize, span.end_offset as usize);
    let mut widen = |e: &Expr| {
        let (s, t) = extent(e);
        start = start.min(s);
        end = end.max(t);
    };
    match expr {
        Expr::Var(_) | Expr::Const(_) => {}
        Expr::Slice(s) => {
            widen(&s.expr);
            for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                widen(part);
            }
        }
        Expr::UnaryOp(u) => widen(&u.expr),
        Expr::BinOp(b) => {
            widen(&b.left);
            widen(&b.right);
        }
        Expr::Compare(c) => {
            widen(&c.expr);
            for op in &c.ops {
                widen(&op.expr);
            }
        }
        Expr::IfExpr(i) => {
            widen(&i.test_expr);
            widen(&i.true_expr);
            if let Some(f) = &i.false_expr {
                widen(f);
            }
        }
        Expr::Filter(f) => {
            if let Some(input) = &f.expr {
                widen(input);
            }
            for arg in &f.args {
                widen(arg_expr(arg));
            }
        }
        Expr::Test(t) => {
            widen(&t.expr);
            for arg in &t.args {
                widen(arg_expr(arg));
            }
        }
        Expr::GetAttr(g) => widen(&g.expr),
        Expr::GetItem(g) => {
            widen(&g.expr);
            widen(&g.subscript_expr);
        }
        Expr::Call(c) => {
            widen(&c.expr);
            for arg in &c.args {
                widen(arg_expr(arg));
            }
        }
        Expr::List(l) => {
            for item in &l.items {
                widen(item);
            }
        }
        Expr::Map(m) => {
            for item in m.keys.iter().chain(&m.values) {
                widen(item);
            }
        }
    }
    (start, end)
}

pub(super) fn arg_expr<'a, 'b>(arg: &'b CallArg<'a>) -> &'b Expr<'a> {
    match arg {
        CallArg::Pos(e) | CallArg::Kwarg(_, e) | CallArg::PosSplat(e) | CallArg::KwargSplat(e) => e,
    }
}

/// The Jinja2 value an expression makes, where it is not a plain list.
fn lazy(expr: &Expr) -> Option<Lazy> {
    match expr {
        Expr::Filter(f) => {
            if let Some(name) = GENERATORS.iter().find(|g| **g == f.name) {
                Some(Lazy::Generator(name))
            } else if matches!(f.name, "d" | "default") {
                f.expr.as_ref().and_then(lazy)
            } else {
                None
            }
        }
        Expr::Call(c) => match c.identify_call() {
            CallType::Function("range") => Some(Lazy::Range),
            _ => None,
        },
        Expr::IfExpr(i) => lazy(&i.true_expr).or_else(|| i.false_expr.as_ref().and_then(lazy)),
        _ => None,
    }
}

impl<'s> Walker<'s> {
    fn text(&self, expr: &Expr) -> String {
        let (start, end) = extent(expr);
        let text = self.source.get(start..end).unwrap_or("").trim();
        if text.chars().count() > 60 {
            let cut: String = text.chars().take(57).collect();
            format!("{cut}…")
        } else {
            text.to_string()
        }
    }

    fn refuse(&mut self, message: String) {
        self.refusals.push(message);
    }

    /// Names the template defines itself: variables, loop targets, macros and their arguments.
    fn collect_names(&mut self, stmt: &Stmt<'s>) {
        fn targets<'s>(expr: &Expr<'s>, names: &mut HashSet<&'s str>) {
            match expr {
                Expr::Var(v) => {
                    names.insert(v.id);
                }
                Expr::List(l) => l.items.iter().for_each(|i| targets(i, names)),
                _ => {}
            }
        }
        let body = |walker: &mut Self, stmts: &[Stmt<'s>]| {
            for s in stmts {
                walker.collect_names(s);
            }
        };
        match stmt {
            Stmt::Template(t) => body(self, &t.children),
            Stmt::ForLoop(f) => {
                targets(&f.target, &mut self.defined);
                body(self, &f.body);
                body(self, &f.else_body);
            }
            Stmt::IfCond(i) => {
                body(self, &i.true_body);
                body(self, &i.false_body);
            }
            Stmt::WithBlock(w) => {
                for (target, _) in &w.assignments {
                    targets(target, &mut self.defined);
                }
                body(self, &w.body);
            }
            Stmt::Set(s) => targets(&s.target, &mut self.defined),
            Stmt::SetBlock(s) => {
                targets(&s.target, &mut self.defined);
                body(self, &s.body);
            }
            Stmt::AutoEscape(a) => body(self, &a.body),
            Stmt::FilterBlock(f) => body(self, &f.body),
            Stmt::Block(b) => body(self, &b.body),
            Stmt::Macro(m) => {
                self.defined.insert(m.name);
                m.args.iter().for_each(|a| targets(a, &mut self.defined));
                body(self, &m.body);
            }
            Stmt::CallBlock(c) => {
                c.macro_decl
                    .args
                    .iter()
                    .for_each(|a| targets(a, &mut self.defined));
                body(self, &c.macro_decl.body);
            }
            _ => {}
        }
    }

    fn stmts(&mut self, stmts: &[Stmt<'s>], depth: isize) {
        for stmt in stmts {
            self.stmt(stmt, depth);
        }
    }

    fn stmt(&mut self, stmt: &Stmt<'s>, depth: isize) {
        match stmt {
            Stmt::Template(t) => self.stmts(&t.children, depth),
            Stmt::EmitExpr(e) => self.used(&e.expr, Use::Print, depth),
            Stmt::EmitRaw(_) => {}
            Stmt::ForLoop(f) => {
                self.expr(&f.iter, depth);
                if let Some(filter) = &f.filter_expr {
                    self.used(filter, Use::Truth, depth);
                }
                self.stmts(&f.body, depth);
                self.stmts(&f.else_body, depth);
            }
            Stmt::IfCond(i) => {
                self.used(&i.expr, Use::Truth, depth);
                self.stmts(&i.true_body, depth);
                self.stmts(&i.false_body, depth);
            }
            Stmt::WithBlock(w) => {
                for (_, value) in &w.assignments {
                    self.used(value, Use::Assign, depth);
                }
                self.stmts(&w.body, depth);
            }
            Stmt::Set(s) => {
                self.set_target(&s.target, depth);
                self.used(&s.expr, Use::Assign, depth);
            }
            Stmt::SetBlock(s) => {
                self.set_target(&s.target, depth);
                if let Some(filter) = &s.filter {
                    self.expr(filter, depth);
                }
                self.stmts(&s.body, depth);
            }
            Stmt::AutoEscape(_) => self.refuse(
                "{% autoescape %} is not supported: webhook templates are not HTML; apply |e where text needs escaping".into(),
            ),
            Stmt::FilterBlock(f) => {
                self.expr(&f.filter, depth);
                self.stmts(&f.body, depth);
            }
            Stmt::Block(b) => self.stmts(&b.body, depth),
            Stmt::Import(_) | Stmt::FromImport(_) | Stmt::Extends(_) | Stmt::Include(_) => {
                self.refuse(
                    "{% include %}, {% import %} and {% extends %} need a template loader, which NetBox's environment does not have; write the template out in full".into(),
                )
            }
            Stmt::Macro(m) => {
                for default in &m.defaults {
                    self.used(default, Use::Assign, depth);
                }
                self.stmts(&m.body, depth);
            }
            Stmt::CallBlock(c) => {
                self.call(&c.call, depth);
                for default in &c.macro_decl.defaults {
                    self.used(default, Use::Assign, depth);
                }
                self.stmts(&c.macro_decl.body, depth);
            }
            Stmt::Do(_) => self.refuse(
                "{% do %} needs Jinja2's do extension, which NetBox does not load; use {% set _ = … %}".into(),
            ),
        }
    }

    /// `{% set ns.attr = … %}` targets: only the namespace part is an expression.
    fn set_target(&mut self, target: &Expr<'s>, depth: isize) {
        if let Expr::GetAttr(g) = target {
            self.expr(&g.expr, depth);
        }
    }

    /// An expression whose value is used as `how`: refuses generators and `range` there.
    fn used(&mut self, expr: &Expr<'s>, how: Use, depth: isize) {
        if let Some(kind) = lazy(expr) {
            self.lazy_used(expr, kind, how);
        }
        self.expr(expr, depth);
    }

    fn lazy_used(&mut self, expr: &Expr<'s>, kind: Lazy, how: Use) {
        let text = self.text(expr);
        let filter = match kind {
            Lazy::Range => {
                if matches!(how, Use::Print | Use::Filter(_)) {
                    self.refuse(format!(
                        "{text} prints as Python's range object (\"range(0, 3)\") in Jinja2, not as a list; add |list, or |join(', ')"
                    ));
                }
                return;
            }
            Lazy::Generator(filter) => filter,
        };
        let consequence = match how {
            Use::Print => "which prints as \"<generator object …>\"",
            Use::Truth => "which is always true",
            Use::Assign => "which can be read only once",
            Use::Index => "which cannot be indexed or asked for attributes",
            Use::Filter("length" | "count") => "which has no length",
            Use::Filter(_) => "which this filter does not read as a list",
            Use::Operand => "which is not a list to compute with",
        };
        if filter == "reverse" {
            let consequence = if how == Use::Print {
                "which prints as \"<list_reverseiterator object …>\""
            } else {
                consequence
            };
            self.refuse(format!(
                "{text}: |reverse gives an iterator in Jinja2 unless its input is text, {consequence}, and what the input is shows only at delivery; for text write x[::-1], for a list add |list"
            ));
            return;
        }
        self.refuse(format!(
            "{text}: |{filter} gives a generator in Jinja2, {consequence}; add |list"
        ));
    }

    fn args(&mut self, args: &[CallArg<'s>], depth: isize) {
        for arg in args {
            self.expr(arg_expr(arg), depth);
        }
    }

    fn call(&mut self, call: &ast::Call<'s>, depth: isize) {
        match call.identify_call() {
            CallType::Function(name) => {
                if !matches!(
                    name,
                    "range" | "dict" | "namespace" | "caller" | "loop" | "super"
                ) && !self.defined.contains(name)
                {
                    let why = match name {
                        "lipsum" | "cycler" | "joiner" => {
                            format!("Jinja2's {name}() is not offered; write the text yourself (loop.cycle(…) alternates values)")
                        }
                        _ => format!(
                            "{name}() calls something that is not a function here (Jinja2 fails with \"'{name}' is undefined\"); the functions are range, dict and namespace, and macros the template defines"
                        ),
                    };
                    self.refuse(why);
                }
            }
            CallType::Method(receiver, name) => {
                if !METHODS.contains(&name) {
                    let text = self.text(&call.expr);
                    let why = if matches!(name, "format" | "format_map") {
                        format!("{text}(…): Python's str.{name} is not supported; write \"{{{{ a }}}}-{{{{ b }}}}\", or \"%s-%s\" % (a, b), or the format filter")
                    } else if MUTATING.contains(&name) {
                        format!("{text}(…) changes a list or dict in place, which templates here cannot do; build a new value instead (x + [y], {{% set %}}, or a filter)")
                    } else {
                        format!("{text}(…): there is no Python method {name}() on str, list or dict here; see the methods listed in the README")
                    };
                    self.refuse(why);
                }
                self.chain_base(receiver, Use::Index, depth + 1);
            }
            CallType::Block(_) => {}
            CallType::Object(callee) => self.chain_base(callee, Use::Operand, depth + 1),
        }
        self.args(&call.args, depth + 1);
    }

    /// Rewrites `left OP right` into `func(left, right)`.
    fn rewrite_binop(&mut self, expr: &Expr<'s>, op: &BinOpKind, b: &ast::BinOp<'s>, depth: isize) {
        let (func, token) = match op {
            BinOpKind::Concat => (CONCAT, "~"),
            BinOpKind::Add => (ADD, "+"),
            BinOpKind::Rem => (MOD, "%"),
            BinOpKind::Div => (DIV, "/"),
            BinOpKind::FloorDiv => (FLOORDIV, "//"),
            BinOpKind::Pow => (POW, "**"),
            _ => return,
        };
        let (start, end) = extent(expr);
        let (_, left_end) = extent(&b.left);
        let (right_start, _) = extent(&b.right);
        let Some(op_at) = self
            .source
            .get(left_end..right_start)
            .and_then(|gap| gap.find(token))
            .map(|at| left_end + at)
        else {
            self.refuse(format!(
                "{}: could not place the operator {token} (please report this template)",
                self.text(expr)
            ));
            return;
        };
        self.edits.push(Edit {
            at: start,
            kind: EditKind::Open,
            order: depth,
            end: start,
            text: format!("{func}("),
        });
        self.edits.push(Edit {
            at: op_at,
            kind: EditKind::Replace,
            order: 0,
            end: op_at + token.len(),
            text: ",".into(),
        });
        self.edits.push(Edit {
            at: end,
            kind: EditKind::Close,
            order: -depth,
            end,
            text: ")".into(),
        });
    }

    /// minijinja reads `-a.b` as `(-a).b`, Jinja2 as `-(a.b)`: the chain gets parentheses.
    fn negated_chain(&mut self, expr: &Expr<'s>, depth: isize) {
        let mut base = expr;
        loop {
            base = match base {
                Expr::GetAttr(g) => &g.expr,
                Expr::GetItem(g) => &g.expr,
                Expr::Slice(s) => &s.expr,
                Expr::Call(c) => &c.expr,
                _ => break,
            };
        }
        if std::ptr::eq(base, expr) {
            return;
        }
        if let Expr::UnaryOp(u) = base {
            if matches!(u.op, ast::UnaryOpKind::Neg) {
                let (start, _) = extent(&u.expr);
                let (_, end) = extent(expr);
                self.edits.push(Edit {
                    at: start,
                    kind: EditKind::Open,
                    order: depth,
                    end: start,
                    text: "(".into(),
                });
                self.edits.push(Edit {
                    at: end,
                    kind: EditKind::Close,
                    order: -depth,
                    end,
                    text: ")".into(),
                });
            }
        }
    }

    /// Walks into the base of a postfix expression (`base.attr`, `base[i]`, `base(…)`).
    fn chain_base(&mut self, base: &Expr<'s>, how: Use, depth: isize) {
        self.in_chain = true;
        self.used(base, how, depth);
        self.in_chain = false;
    }

    fn expr(&mut self, expr: &Expr<'s>, depth: isize) {
        let inner = depth + 1;
        if !std::mem::replace(&mut self.in_chain, false) {
            self.negated_chain(expr, depth);
        }
        match expr {
            Expr::Var(_) | Expr::Const(_) => {}
            Expr::Slice(s) => {
                self.chain_base(&s.expr, Use::Index, inner);
                for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.used(part, Use::Operand, inner);
                }
            }
            Expr::UnaryOp(u) => {
                let how = match u.op {
                    ast::UnaryOpKind::Not => Use::Truth,
                    ast::UnaryOpKind::Neg => Use::Operand,
                };
                self.used(&u.expr, how, inner);
            }
            Expr::BinOp(b) => self.binop_expr(expr, b, depth),
            Expr::Compare(c) => {
                self.used(&c.expr, Use::Operand, inner);
                for op in &c.ops {
                    if matches!(op.op, ast::CompareOpKind::In | ast::CompareOpKind::NotIn) {
                        self.expr(&op.expr, inner);
                    } else {
                        self.used(&op.expr, Use::Operand, inner);
                    }
                }
            }
            Expr::IfExpr(i) => {
                self.used(&i.test_expr, Use::Truth, inner);
                self.expr(&i.true_expr, inner);
                if let Some(f) = &i.false_expr {
                    self.expr(f, inner);
                }
            }
            Expr::Filter(f) => self.filter_expr(f, inner),
            Expr::Test(t) => self.test_expr(expr, t, inner),
            Expr::GetAttr(g) => {
                if DICT_METHODS.contains(&g.name) {
                    let base = self.text(&g.expr);
                    self.refuse(format!(
                        "{base}.{name} is Python's dict method {name}() in Jinja2, not the key '{name}'; write {base}['{name}'] for the key, or {base}.{name}() to call it",
                        name = g.name
                    ));
                }
                self.chain_base(&g.expr, Use::Index, inner);
            }
            Expr::GetItem(g) => {
                self.chain_base(&g.expr, Use::Index, inner);
                self.used(&g.subscript_expr, Use::Operand, inner);
            }
            Expr::Call(c) => self.call(c, depth),
            Expr::List(l) => {
                self.tuple(expr, l);
                for item in &l.items {
                    self.used(item, Use::Operand, inner);
                }
            }
            Expr::Map(m) => {
                for item in m.keys.iter().chain(&m.values) {
                    self.used(item, Use::Operand, inner);
                }
            }
        }
    }

    /// `a op b`: how each side is used depends on the operator (`and`/`or` test truth, `~`
    /// prints, `in` only iterates its right side), and the operators minijinja computes
    /// differently from Python are rewritten afterwards.
    fn binop_expr(&mut self, expr: &Expr<'s>, b: &ast::BinOp<'s>, depth: isize) {
        let inner = depth + 1;
        let (left, right) = match b.op {
            BinOpKind::ScAnd | BinOpKind::ScOr => (Use::Truth, Use::Truth),
            BinOpKind::Concat => (Use::Print, Use::Print),
            _ => (Use::Operand, Use::Operand),
        };
        self.used(&b.left, left, inner);
        if matches!(b.op, BinOpKind::In) {
            self.expr(&b.right, inner);
        } else {
            self.used(&b.right, right, inner);
        }
        self.rewrite_binop(expr, &b.op, b, depth);
    }

    /// `x|name(args)`: an unknown or refused filter is named, and a lazy input (a generator, a
    /// range) is refused unless the filter just iterates it, where it is as good as a list.
    fn filter_expr(&mut self, f: &ast::Filter<'s>, inner: isize) {
        self.filter_name(f.name);
        if let Some(input) = &f.expr {
            let name = FILTERS
                .iter()
                .find(|n| **n == f.name)
                .copied()
                .unwrap_or("?");
            let lazy_input = lazy(input);
            match lazy_input {
                Some(Lazy::Generator(_)) if ITERATING.contains(&f.name) => {}
                Some(Lazy::Range)
                    if ITERATING.contains(&f.name)
                        || matches!(f.name, "length" | "count" | "last") => {}
                Some(kind) => self.lazy_used(input, kind, Use::Filter(name)),
                None => {}
            }
            self.expr(input, inner);
        }
        self.args(&f.args, inner);
    }

    /// `x is name(args)`: an unknown test is named with what to write instead, and `sameas`
    /// is only allowed against the singletons whose identity Python and minijinja agree on.
    fn test_expr(&mut self, expr: &Expr<'s>, t: &ast::Test<'s>, inner: isize) {
        if !TESTS.contains(&t.name) {
            self.refuse(format!(
                "is {}: there is no test named '{}' in Jinja2 (NetBox would fail with \"No test named '{}'\"){}",
                t.name,
                t.name,
                t.name,
                match t.name {
                    "startingwith" => "; write x.startswith('…')",
                    "endingwith" => "; write x.endswith('…')",
                    "int" => "; write is integer",
                    "safe" => "; write is escaped",
                    _ => "",
                }
            ));
        }
        if t.name == "sameas" {
            let singleton = t.args.first().is_some_and(|a| match arg_expr(a) {
                Expr::Const(c) => {
                    matches!(c.value.kind(), ValueKind::None | ValueKind::Bool)
                }
                _ => false,
            });
            if !singleton {
                self.refuse(format!(
                    "{}: sameas compares Python object identity, which only none, true and false have here; write == instead",
                    self.text(expr)
                ));
            }
        }
        if let Some(kind) = lazy(&t.expr) {
            if !matches!(t.name, "defined" | "undefined" | "none" | "iterable") {
                self.lazy_used(&t.expr, kind, Use::Truth);
            }
        }
        self.expr(&t.expr, inner);
        self.args(&t.args, inner);
    }

    fn filter_name(&mut self, name: &str) {
        if FILTERS.contains(&name) {
            return;
        }
        let why = if let Some((_, advice)) = REFUSED.iter().find(|(n, _)| *n == name) {
            format!("the {name} filter is not offered: {advice}")
        } else {
            let advice = match name {
                "split" => "; write x.split(',')",
                "lines" => "; write x.splitlines()",
                "bool" => "; write x is true, or (x == 'true')",
                "chain" => "; join lists with +",
                "zip" => "; loop over one list and index the other with loop.index0",
                "dict_items" => "; write |items or |dictsort",
                _ => "",
            };
            format!(
                "there is no filter named '{name}' in Jinja2 (NetBox would fail with \"No filter named '{name}'\"){advice}"
            )
        };
        self.refuse(why);
    }

    /// `(a, b)` and `{% set x = a, b %}` make tuples in Jinja2; minijinja parses them as lists.
    fn tuple(&mut self, expr: &Expr<'s>, list: &ast::List<'s>) {
        let span_start = expr.span().start_offset as usize;
        let (start, end) = extent(expr);
        if start < span_start {
            // `a, b` without brackets: the list's own span starts at its second item.
            self.edits.push(Edit {
                at: start,
                kind: EditKind::Open,
                order: isize::MAX,
                end: start,
                text: format!("{TUPLE}("),
            });
            self.edits.push(Edit {
                at: end,
                kind: EditKind::Close,
                order: isize::MIN,
                end,
                text: ")".into(),
            });
        } else if self.source[span_start..].starts_with('(') {
            let _ = list;
            self.edits.push(Edit {
                at: span_start,
                kind: EditKind::Open,
                order: isize::MAX,
                end: span_start,
                text: TUPLE.into(),
            });
        }
    }

    fn rewritten(mut self) -> String {
        self.edits
            .sort_by(|a, b| (a.at, &a.kind, a.order).cmp(&(b.at, &b.kind, b.order)));
        let mut out = String::with_capacity(self.source.len() + self.edits.len() * 16);
        let mut at = 0;
        for edit in &self.edits {
            out.push_str(&self.source[at..edit.at.max(at)]);
            out.push_str(&edit.text);
            at = at.max(edit.end);
        }
        out.push_str(&self.source[at..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_and_tuples_become_calls() {
        let cases = [
            ("{{ a ~ b }}", "{{ __manage_concat(a , b) }}"),
            (
                "{{ a ~ b ~ c }}",
                "{{ __manage_concat(__manage_concat(a , b) , c) }}",
            ),
            (
                "{{ (a ~ b) ~ c }}",
                "{{ __manage_concat((__manage_concat(a , b)) , c) }}",
            ),
            (
                "{{ '%s-%d' % (n, i) }}",
                "{{ __manage_mod('%s-%d' , __manage_tuple(n, i)) }}",
            ),
            (
                "{{ a % b ~ c }}",
                "{{ __manage_concat(__manage_mod(a , b) , c) }}",
            ),
            ("{{ x|upper ~ -y }}", "{{ __manage_concat(x|upper , -y) }}"),
            (
                "{{ 7 // 2 ** 3 / 1 }}",
                "{{ __manage_div(__manage_floordiv(7 , __manage_pow(2 , 3)) , 1) }}",
            ),
            ("{% set t = 1, 2 %}", "{% set t = __manage_tuple(1, 2) %}"),
            (
                "{{ -a.b[0] }}{{ -a|abs }}{{ -x.count(1) }}",
                "{{ -(a.b[0]) }}{{ -a|abs }}{{ -(x.count(1)) }}",
            ),
            (
                "{{ (1,) }}{{ () }}{{ [1, 2] }}",
                "{{ __manage_tuple(1,) }}{{ __manage_tuple() }}{{ [1, 2] }}",
            ),
        ];
        // The names the cases use, bound so that they are not refused as undefined.
        let names = "{% for a, b, c, n, i, x, y in [] %}{% endfor %}";
        for (source, expected) in cases {
            let prepared = prepare("t", &format!("{names}{source}")).unwrap();
            assert_eq!(prepared.strip_prefix(names).unwrap(), expected, "{source}");
        }
    }

    #[test]
    fn refusals_name_the_construct() {
        let refused = |source: &str| prepare("t", source).unwrap_err();
        assert!(refused("{{ x|split(',') }}").contains("no filter named 'split'"));
        assert!(refused("{{ data.items }}").contains("data.items is Python's dict method"));
        assert!(refused("{{ data.tags|map(attribute='slug') }}").contains("prints as"));
        assert!(refused("{% if data.tags|selectattr('x') %}{% endif %}").contains("always true"));
        assert!(refused("{{ '{}'.format(x) }}").contains("str.format"));
        assert!(refused("{{ foo() }}").contains("foo() calls something"));
        assert!(refused("{% include 'x' %}").contains("loader"));
        assert!(prepare("t", "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(1) }}").is_ok());
    }
}
