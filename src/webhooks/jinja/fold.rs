//! Expressions built only from literals, evaluated when the settings load: if one fails with
//! our renderer, it fails at every delivery, so the template is refused naming it
//! (`range(1000000)|length`, `[1, 'a']|sort`, `0 ** -1`, `'%s'|format(1, x=2)`). Division and
//! `%` by a literal zero are refused too, whatever the left side is.

use minijinja::machinery::ast::{BinOpKind, CallArg, CallType, Expr, Stmt};
use minijinja::value::ValueKind;

use super::check::{arg_expr, prepare_with};
use super::filters::FILTERS;
use super::methods::METHODS;
use super::predicates::TESTS;
use super::scope::{bound, children, parts, snippet};

/// Evaluates the template's constant expressions; returns the refusals.
pub(super) fn check<'s>(tree: &Stmt<'s>, source: &'s str) -> Vec<String> {
    let mut folder = Folder {
        source,
        bound: bound(tree, source),
        env: super::environment(),
        refusals: Vec::new(),
    };
    folder.stmt(tree);
    folder.refusals
}

struct Folder<'s> {
    source: &'s str,
    bound: Vec<&'s str>,
    env: minijinja::Environment<'static>,
    refusals: Vec<String>,
}

impl<'s> Folder<'s> {
    fn stmt(&mut self, stmt: &Stmt<'s>) {
        let (exprs, bodies, _) = parts(stmt);
        for expr in exprs {
            self.expr(expr);
        }
        if let Stmt::CallBlock(c) = stmt {
            for arg in &c.call.args {
                self.expr(arg_expr(arg));
            }
        }
        for body in bodies {
            for s in body {
                self.stmt(s);
            }
        }
    }

    fn expr(&mut self, expr: &Expr<'s>) {
        if self.constant(expr) {
            if computes(expr) {
                self.evaluate(expr);
            }
            return;
        }
        if let Expr::BinOp(b) = expr {
            if let Some(why) = self.by_zero(expr, &b.op, &b.left, &b.right) {
                self.refusals.push(why);
            }
        }
        for child in children(expr) {
            self.expr(child);
        }
    }

    /// Whether an expression is made only of literals, and of operators, filters, tests,
    /// methods and functions offered, applied to them.
    fn constant(&self, expr: &Expr<'s>) -> bool {
        let args = |args: &[CallArg<'s>]| {
            args.iter().all(|a| match a {
                CallArg::Pos(e) | CallArg::Kwarg(_, e) => self.constant(e),
                CallArg::PosSplat(_) | CallArg::KwargSplat(_) => false,
            })
        };
        match expr {
            Expr::Const(_) => true,
            Expr::Var(_) => false,
            Expr::Filter(f) => {
                FILTERS.contains(&f.name)
                    && f.expr.as_ref().is_some_and(|e| self.constant(e))
                    && args(&f.args)
            }
            Expr::Test(t) => TESTS.contains(&t.name) && self.constant(&t.expr) && args(&t.args),
            Expr::Call(c) => {
                let callee = match c.identify_call() {
                    CallType::Function(name) => {
                        matches!(name, "range" | "dict") && !self.bound.contains(&name)
                    }
                    CallType::Method(receiver, name) => {
                        METHODS.contains(&name)
                            && !matches!(name, "cycle" | "changed")
                            && self.constant(receiver)
                    }
                    _ => false,
                };
                callee && args(&c.args)
            }
            _ => children(expr).into_iter().all(|e| self.constant(e)),
        }
    }

    /// Renders a constant expression with our own environment; refuses it if that fails.
    fn evaluate(&mut self, expr: &Expr<'s>) {
        let text = snippet(self.source, expr);
        let (start, end) = super::check::extent(expr);
        let Some(full) = self.source.get(start..end) else {
            return;
        };
        let probe = format!("{{% if ({full}) is defined %}}{{% endif %}}");
        // What does not pass the checks on its own has been judged in its place already.
        let Ok(prepared) = prepare_with("constant", &probe, false) else {
            return;
        };
        let Ok(template) = self.env.template_from_str(&prepared) else {
            return;
        };
        if let Err(e) = template.render(()) {
            let detail = e
                .detail()
                .map(str::to_string)
                .unwrap_or_else(|| e.kind().to_string());
            self.refusals.push(format!(
                "{text} always fails at delivery ({detail}); it is made only of literals, so write the value it should give instead"
            ));
        }
    }

    /// `x / 0`, `x // 0`, `x % 0`: fails whatever `x` is (for `%`, unless `x` is text).
    fn by_zero(
        &self,
        expr: &Expr<'s>,
        op: &BinOpKind,
        left: &Expr<'s>,
        right: &Expr<'s>,
    ) -> Option<String> {
        let Expr::Const(c) = right else {
            return None;
        };
        let zero =
            matches!(c.value.kind(), ValueKind::Number | ValueKind::Bool) && !c.value.is_true();
        if !zero {
            return None;
        }
        let text = snippet(self.source, expr);
        let left = snippet(self.source, left);
        match op {
            BinOpKind::Div | BinOpKind::FloorDiv => Some(format!(
                "{text} divides by zero, which fails at delivery whatever {left} is (ZeroDivisionError); divide by another number"
            )),
            BinOpKind::Rem => Some(format!(
                "{text}: % by zero fails at delivery for a number (ZeroDivisionError); to %-format text with a 0, write {left} % (0,)"
            )),
            _ => None,
        }
    }
}

/// Whether an expression computes anything (is more than literals, lists and dicts of them).
fn computes(expr: &Expr) -> bool {
    match expr {
        Expr::Const(_) => false,
        Expr::List(_) | Expr::Map(_) => children(expr).into_iter().any(computes),
        _ => true,
    }
}
