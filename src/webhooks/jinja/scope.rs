//! The names a template uses, checked when the settings load: a name must be in the context, be
//! one of the functions offered, or be bound by the template itself; calls of the template's
//! macros and of Python's methods must have a number of arguments that can work.
//!
//! Bindings are counted over the whole template, whatever their place: a name bound anywhere
//! (`set`, `for`, `with`, a macro or its parameters) is never refused, so a template is refused
//! here only where Jinja2 too renders the name as undefined.

use std::collections::HashMap;

use minijinja::machinery::ast::{self, CallArg, CallType, Expr, Stmt};

use super::check::{arg_expr, extent};

/// What a webhook template may see: `WebhookContext`'s keys. `request`, `snapshots` and
/// `context` are there only when the event has them, as in NetBox, so a template tests them
/// with `is defined`; naming them is never refused.
pub(super) const CONTEXT: &[&str] = &[
    "event",
    "timestamp",
    "object_type",
    "username",
    "request_id",
    "data",
    "request",
    "snapshots",
    "context",
];

/// Names Jinja2 makes inside loops, macros and blocks; never refused.
const SPECIAL: &[&str] = &["loop", "caller", "super"];

/// How a name is bound by the template.
enum Binding<'s> {
    /// A macro, with its parameters' names.
    Macro(Vec<&'s str>),
    /// Anything else: a variable, a loop target, a macro parameter.
    Other,
}

/// The source text of an expression, shortened for a message.
pub(super) fn snippet(source: &str, expr: &Expr) -> String {
    let (start, end) = extent(expr);
    let text = source.get(start..end).unwrap_or("").trim();
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}…")
    } else {
        text.to_string()
    }
}

/// The expressions directly inside `expr`, in source order.
pub(super) fn children<'a, 's>(expr: &'a Expr<'s>) -> Vec<&'a Expr<'s>> {
    let mut out: Vec<&'a Expr<'s>> = Vec::new();
    match expr {
        Expr::Var(_) | Expr::Const(_) => {}
        Expr::Slice(s) => {
            out.push(&s.expr);
            out.extend([&s.start, &s.stop, &s.step].into_iter().flatten());
        }
        Expr::UnaryOp(u) => out.push(&u.expr),
        Expr::BinOp(b) => out.extend([&b.left, &b.right]),
        Expr::Compare(c) => {
            out.push(&c.expr);
            out.extend(c.ops.iter().map(|op| &op.expr));
        }
        Expr::IfExpr(i) => {
            out.extend([&i.test_expr, &i.true_expr]);
            out.extend(i.false_expr.as_ref());
        }
        Expr::Filter(f) => {
            out.extend(f.expr.as_ref());
            out.extend(f.args.iter().map(arg_expr));
        }
        Expr::Test(t) => {
            out.push(&t.expr);
            out.extend(t.args.iter().map(arg_expr));
        }
        Expr::GetAttr(g) => out.push(&g.expr),
        Expr::GetItem(g) => out.extend([&g.expr, &g.subscript_expr]),
        Expr::Call(c) => {
            out.push(&c.expr);
            out.extend(c.args.iter().map(arg_expr));
        }
        Expr::List(l) => out.extend(l.items.iter()),
        Expr::Map(m) => {
            for (k, v) in m.keys.iter().zip(&m.values) {
                out.extend([k, v]);
            }
        }
    }
    out
}

/// The expressions a statement evaluates (not its bodies), and its bodies, and whether the
/// bodies are a macro's.
pub(super) fn parts<'a, 's>(stmt: &'a Stmt<'s>) -> (Vec<&'a Expr<'s>>, Vec<&'a [Stmt<'s>]>, bool) {
    match stmt {
        Stmt::Template(t) => (vec![], vec![&t.children], false),
        Stmt::EmitExpr(e) => (vec![&e.expr], vec![], false),
        Stmt::ForLoop(f) => {
            let mut exprs = vec![&f.iter];
            exprs.extend(f.filter_expr.as_ref());
            (exprs, vec![&f.body, &f.else_body], false)
        }
        Stmt::IfCond(i) => (vec![&i.expr], vec![&i.true_body, &i.false_body], false),
        Stmt::WithBlock(w) => (
            w.assignments.iter().map(|(_, v)| v).collect(),
            vec![&w.body],
            false,
        ),
        Stmt::Set(s) => {
            let mut exprs = vec![&s.expr];
            if let Expr::GetAttr(g) = &s.target {
                exprs.push(&g.expr);
            }
            (exprs, vec![], false)
        }
        Stmt::SetBlock(s) => {
            let mut exprs: Vec<&Expr> = s.filter.iter().collect();
            if let Expr::GetAttr(g) = &s.target {
                exprs.push(&g.expr);
            }
            (exprs, vec![&s.body], false)
        }
        Stmt::FilterBlock(f) => (vec![&f.filter], vec![&f.body], false),
        Stmt::Block(b) => (vec![], vec![&b.body], false),
        Stmt::AutoEscape(a) => (vec![], vec![&a.body], false),
        Stmt::Macro(m) => (m.defaults.iter().collect(), vec![&m.body], true),
        Stmt::CallBlock(c) => (
            c.macro_decl.defaults.iter().collect(),
            vec![&c.macro_decl.body],
            true,
        ),
        _ => (vec![], vec![], false),
    }
}

/// Checks the names, macro calls and method calls of a template; returns the refusals.
pub(super) fn check<'s>(tree: &Stmt<'s>, source: &'s str) -> Vec<String> {
    let mut names = Names {
        source,
        bindings: HashMap::new(),
        refusals: Vec::new(),
    };
    names.collect(tree);
    names.stmt(tree, 0);
    names.refusals
}

struct Names<'s> {
    source: &'s str,
    bindings: HashMap<&'s str, Vec<Binding<'s>>>,
    refusals: Vec<String>,
}

fn targets<'s>(expr: &Expr<'s>, out: &mut Vec<&'s str>) {
    match expr {
        Expr::Var(v) => out.push(v.id),
        Expr::List(l) => l.items.iter().for_each(|i| targets(i, out)),
        _ => {}
    }
}

impl<'s> Names<'s> {
    fn bind(&mut self, name: &'s str, binding: Binding<'s>) {
        self.bindings.entry(name).or_default().push(binding);
    }

    fn bind_targets(&mut self, expr: &Expr<'s>) {
        let mut names = Vec::new();
        targets(expr, &mut names);
        for name in names {
            self.bind(name, Binding::Other);
        }
    }

    /// Every name the template binds, anywhere.
    fn collect(&mut self, stmt: &Stmt<'s>) {
        match stmt {
            Stmt::ForLoop(f) => self.bind_targets(&f.target),
            Stmt::WithBlock(w) => {
                for (target, _) in &w.assignments {
                    self.bind_targets(target);
                }
            }
            Stmt::Set(s) => self.bind_targets(&s.target),
            Stmt::SetBlock(s) => self.bind_targets(&s.target),
            Stmt::Macro(m) => {
                let mut params = Vec::new();
                m.args.iter().for_each(|a| targets(a, &mut params));
                for param in &params {
                    self.bind(param, Binding::Other);
                }
                self.bind(m.name, Binding::Macro(params));
            }
            Stmt::CallBlock(c) => {
                for arg in &c.macro_decl.args {
                    self.bind_targets(arg);
                }
            }
            Stmt::Import(i) => self.bind_targets(&i.name),
            Stmt::FromImport(f) => {
                for (name, alias) in &f.names {
                    self.bind_targets(alias.as_ref().unwrap_or(name));
                }
            }
            _ => {}
        }
        let (_, bodies, _) = parts(stmt);
        for body in bodies {
            for s in body {
                self.collect(s);
            }
        }
    }

    fn stmt(&mut self, stmt: &Stmt<'s>, macro_depth: usize) {
        let (exprs, bodies, is_macro) = parts(stmt);
        // Printed, tested for truth or looped over, an undefined name is empty text, false or
        // an empty loop, in Jinja2 as here.
        let tolerant = matches!(stmt, Stmt::EmitExpr(_) | Stmt::IfCond(_) | Stmt::ForLoop(_));
        for expr in exprs {
            self.expr(expr, macro_depth, tolerant);
        }
        if let Stmt::CallBlock(c) = stmt {
            self.call(&c.call, macro_depth);
        }
        let depth = macro_depth + usize::from(is_macro);
        for body in bodies {
            for s in body {
                self.stmt(s, depth);
            }
        }
    }

    /// `tolerant`: the expression is used where Jinja2's `Undefined` and ours behave the same
    /// (printed, joined with `~`, tested for truth, compared with `==`, `is defined`,
    /// `|default`, `|length`), so an undefined name there is not refused.
    fn expr(&mut self, expr: &Expr<'s>, macro_depth: usize, tolerant: bool) {
        if let Expr::Var(v) = expr {
            self.name(v.id, macro_depth, tolerant);
            return;
        }
        if let Expr::Call(c) = expr {
            self.call(c, macro_depth);
            return;
        }
        for (at, child) in children(expr).into_iter().enumerate() {
            let tolerant = tolerant_child(expr, at == 0, tolerant);
            self.expr(child, macro_depth, tolerant);
        }
    }

    fn call(&mut self, call: &ast::Call<'s>, macro_depth: usize) {
        match call.identify_call() {
            // Unknown functions are refused by check.rs; the callee is not a value here.
            CallType::Function(name) => self.macro_call(name, call),
            CallType::Method(_, name) => {
                if let Some(why) = method_arity(self.source, call, name) {
                    self.refusals.push(why);
                }
                self.expr(&call.expr, macro_depth, false);
            }
            _ => self.expr(&call.expr, macro_depth, false),
        }
        for arg in &call.args {
            self.expr(arg_expr(arg), macro_depth, false);
        }
    }

    fn name(&mut self, name: &'s str, macro_depth: usize, tolerant: bool) {
        if matches!(name, "varargs" | "kwargs") && macro_depth > 0 {
            self.refusals.push(format!(
                "{name} in a macro: Jinja2 collects extra arguments there, which is not supported here; name every parameter in the macro's signature (with a default, if it may be left out)"
            ));
            return;
        }
        if self.bindings.contains_key(name) || CONTEXT.contains(&name) || SPECIAL.contains(&name) {
            return;
        }
        let why = match name {
            "lipsum" | "cycler" | "joiner" => {
                let instead = match name {
                    "lipsum" => "write the text yourself",
                    "cycler" => "in a loop, loop.cycle(…) alternates values",
                    _ => "in a loop, write the separator with {% if not loop.first %}",
                };
                format!(
                    "{name} is Jinja2's global {name}, which is not offered here and prints differently; {instead}"
                )
            }
            "self" => "self is Jinja2's reference to the template's blocks, which is not offered here and prints differently; write the block's content where it is needed, or a macro".to_string(),
            "range" | "dict" | "namespace" => format!(
                "{name} without a call is Jinja2's Python function object, which prints differently here; call it: {name}(…)"
            ),
            _ if tolerant => return,
            _ => {
                let hint = if name == "model" {
                    "; NetBox's model is object_type here"
                } else {
                    ""
                };
                format!(
                    "'{name}' is not defined, and is used where an undefined name fails at delivery or may differ from Jinja2: a template sees {}, the functions range, dict and namespace, and the names it sets itself{hint}; check the spelling, or test it first ({name} is defined), or write {name}|default(…)",
                    CONTEXT.join(", ")
                )
            }
        };
        self.refusals.push(why);
    }

    /// A call of one of the template's macros with more arguments than it takes, or a keyword
    /// it does not have: Jinja2 fails with TypeError.
    fn macro_call(&mut self, name: &'s str, call: &ast::Call<'s>) {
        let Some([Binding::Macro(params)]) = self.bindings.get(name).map(Vec::as_slice) else {
            return;
        };
        if call
            .args
            .iter()
            .any(|a| matches!(a, CallArg::PosSplat(_) | CallArg::KwargSplat(_)))
        {
            return;
        }
        let positional = call
            .args
            .iter()
            .filter(|a| matches!(a, CallArg::Pos(_)))
            .count();
        let text = snippet(self.source, &call.expr);
        let mut why = None;
        if positional > params.len() {
            why = Some(format!(
                "{text}(…) passes {positional} arguments to the macro {name}, which takes {} (Jinja2 fails with \"macro '{name}' takes not more than {} argument(s)\"); pass fewer, or add parameters to the macro",
                params.len(),
                params.len()
            ));
        }
        for arg in &call.args {
            if let CallArg::Kwarg(key, _) = arg {
                if *key != "caller" && !params[positional.min(params.len())..].contains(key) {
                    why.get_or_insert_with(|| format!(
                        "{text}(…, {key}=…): the macro {name} has no parameter {key} left to set by name (Jinja2 fails with \"macro '{name}' takes no keyword argument '{key}'\"); use the macro's parameter names, each once"
                    ));
                }
            }
        }
        self.refusals.extend(why);
    }
}

/// Whether an undefined name as a child of `parent` renders as in Jinja2 (see `Names::expr`);
/// `first`: the child is the parent's first (the input of a filter or test, the left side).
fn tolerant_child(parent: &Expr, first: bool, tolerant: bool) -> bool {
    use ast::{BinOpKind, CompareOpKind, UnaryOpKind};
    match parent {
        Expr::BinOp(b) => matches!(
            b.op,
            BinOpKind::Concat | BinOpKind::ScAnd | BinOpKind::ScOr | BinOpKind::Eq | BinOpKind::Ne
        ),
        Expr::UnaryOp(u) => matches!(u.op, UnaryOpKind::Not),
        Expr::Compare(c) => c
            .ops
            .iter()
            .all(|op| matches!(op.op, CompareOpKind::Eq | CompareOpKind::Ne)),
        Expr::IfExpr(_) => first || tolerant,
        Expr::Filter(f) => {
            first && f.expr.is_some() && matches!(f.name, "default" | "d" | "length" | "count")
        }
        Expr::Test(t) => first && matches!(t.name, "defined" | "undefined" | "none" | "iterable"),
        _ => false,
    }
}

/// How many arguments Python's methods take, over every type that has the method.
const ARITY: &[(&str, usize, usize)] = &[
    ("capitalize", 0, 0),
    ("casefold", 0, 0),
    ("center", 1, 2),
    ("count", 1, 3),
    ("endswith", 1, 3),
    ("find", 1, 3),
    ("index", 1, 3),
    ("isalnum", 0, 0),
    ("isalpha", 0, 0),
    ("isascii", 0, 0),
    ("isdecimal", 0, 0),
    ("isdigit", 0, 0),
    ("islower", 0, 0),
    ("isnumeric", 0, 0),
    ("isspace", 0, 0),
    ("istitle", 0, 0),
    ("isupper", 0, 0),
    ("join", 1, 1),
    ("ljust", 1, 2),
    ("lower", 0, 0),
    ("lstrip", 0, 1),
    ("partition", 1, 1),
    ("removeprefix", 1, 1),
    ("removesuffix", 1, 1),
    ("replace", 2, 3),
    ("rfind", 1, 3),
    ("rindex", 1, 3),
    ("rjust", 1, 2),
    ("rpartition", 1, 1),
    ("rsplit", 0, 2),
    ("rstrip", 0, 1),
    ("split", 0, 2),
    ("splitlines", 0, 1),
    ("startswith", 1, 3),
    ("strip", 0, 1),
    ("swapcase", 0, 0),
    ("title", 0, 0),
    ("upper", 0, 0),
    ("zfill", 1, 1),
    ("copy", 0, 0),
    ("get", 1, 2),
    ("items", 0, 0),
    ("keys", 0, 0),
    ("values", 0, 0),
    ("is_integer", 0, 0),
    ("cycle", 1, usize::MAX),
];

/// A method call whose number of arguments no receiver accepts.
fn method_arity(source: &str, call: &ast::Call, name: &str) -> Option<String> {
    let &(_, min, max) = ARITY.iter().find(|(n, _, _)| *n == name)?;
    if call
        .args
        .iter()
        .any(|a| matches!(a, CallArg::PosSplat(_) | CallArg::KwargSplat(_)))
    {
        return None;
    }
    let given = call.args.len();
    if (min..=max).contains(&given) {
        return None;
    }
    let takes = match (min, max) {
        (0, 0) => "no arguments".to_string(),
        (1, 1) => "exactly 1 argument".to_string(),
        (min, usize::MAX) => format!("at least {min} argument(s)"),
        (min, max) if min == max => format!("exactly {min} arguments"),
        (min, max) if min + 1 == max => format!("{min} or {max} arguments"),
        (min, max) => format!("{min} to {max} arguments"),
    };
    Some(format!(
        "{}(…): {name}() takes {takes} in Python, not {given} (Jinja2 fails with TypeError); pass {takes}",
        snippet(source, &call.expr)
    ))
}

/// Every name the template binds, anywhere.
pub(super) fn bound<'s>(tree: &Stmt<'s>, source: &'s str) -> Vec<&'s str> {
    let mut names = Names {
        source,
        bindings: HashMap::new(),
        refusals: Vec::new(),
    };
    names.collect(tree);
    names.bindings.into_keys().collect()
}

#[cfg(test)]
mod tests {
    use super::super::check::prepare;

    #[test]
    fn names_bound_anywhere_are_not_refused() {
        for source in [
            "{% set ns = namespace(n=0) %}{% for t in data.tags %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n + 1 }}",
            "{% for k, v in data.items() %}{{ k ~ v }}{% endfor %}",
            "{% with a = 1 %}{{ a + 1 }}{% endwith %}",
            "{% macro m(x, y=1) %}{{ x + y }}{{ caller(x) }}{% endmacro %}{% call(z) m(1) %}{{ z + 1 }}{% endcall %}",
            "{% for t in data.tags recursive %}{{ loop.index + 1 }}{{ loop(t.children) }}{% endfor %}",
            "{% set x %}text{% endset %}{{ x|upper }}{% filter upper %}{{ x + 'a' }}{% endfilter %}",
            "{{ y + 1 }}{% if false %}{% set y = 2 %}{% endif %}",
            "{{ snapshots.prechange.name if snapshots else data.name }}{{ username|upper }}",
        ] {
            assert!(prepare("t", source).is_ok(), "{source}: {:?}", prepare("t", source));
        }
    }

    #[test]
    fn undefined_names_failing_uses_are_refused() {
        for (source, expected) in [
            ("{{ nothing.here }}", "'nothing' is not defined"),
            (
                "{% for t in data.tags %}{% set y = 1 %}{% endfor %}{{ z + 1 }}",
                "'z' is not defined",
            ),
            ("{{ 'a'.upper(1) }}", "upper() takes no arguments"),
            (
                "{{ x.center() }}{% set x = 'a' %}",
                "center() takes 1 or 2 arguments",
            ),
            (
                "{% macro m(a) %}{% endmacro %}{{ m(1, 2, 3) }}",
                "passes 3 arguments",
            ),
            (
                "{% macro m(a) %}{{ varargs }}{% endmacro %}",
                "varargs in a macro",
            ),
            ("{{ joiner }}", "joiner is Jinja2's global"),
        ] {
            let refused = prepare("t", source).unwrap_err();
            assert!(refused.contains(expected), "{source}: {refused}");
        }
    }
}
