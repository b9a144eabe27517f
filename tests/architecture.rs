//! The crate's layering, checked on its source: a module may name only its own layer and the
//! layers below it, so each layer can be understood, tested and replaced without the ones above.
//!
//! The checker parses the library's files (`src/**/*.rs`, and `commands/*.rs`, which `src/lib.rs`
//! mounts as `crate::commands`) with `syn`, resolves every `crate::`, `super::`, `self::` and
//! child-module path to the module it lands in, and applies the tables below. It works on
//! `(path, source)` pairs, so the self-tests at the bottom can run it on small made-up trees.
//!
//! Blind spots, on purpose: a path that starts with a local name (the `use` that brought the name
//! in was checked itself) and attributes (derives and tool attributes are not dependencies).
//! Macro arguments and `macro_rules!` bodies are not syntax trees, so they are scanned as tokens:
//! a path there counts too, and `$crate::` counts against the module defining the macro.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::{fs, path::Path};

use proc_macro2::{Spacing, Span, TokenStream, TokenTree};
use syn::visit::{self, Visit};
use syn::{Attribute, Item, ItemMod, ItemUse, Macro, UseTree, Visibility};
use Names::{Crate, Ident, Module};

// ---------------------------------------------------------------------------------------------
// The rules: edit these tables, not the code.

/// The layers, lowest first. Every top-level module must be in one, so that a new module gets
/// its place by a decision rather than by whatever it happened to import first.
#[rustfmt::skip]
const LAYERS: &[(&str, &[&str])] = &[
    ("foundations", &["error", "output", "signals", "redact", "redis_url", "redis_conn", "http", "destinations", "python", "size", "trace", "metrics", "notify", "serve"]),
    ("rq", &["rq"]),
    ("webhooks", &["webhooks"]),
    ("pipeline", &["pipeline", "receiver"]),
    ("framework", &["config", "globals", "context", "cli", "registry", "logging"]),
    ("tasks", &["tasks", "gateway"]),
    ("commands", &["commands"]),
];

/// A forbidden name: a top-level module, an identifier anywhere in a path, or an external crate.
enum Names {
    Module(&'static str),
    Ident(&'static str),
    Crate(&'static str),
}

/// Rules finer than the layers, each with the reason a reader of the failure needs. The first
/// rule matching a name gives the message; `"*"` means every module except the crate root.
/// Naming one's own top-level module is always allowed.
#[rustfmt::skip]
const FORBIDDEN: &[(&str, &[Names], &str)] = &[
    ("rq", &[Ident("CommandError"), Module("error")], "rq has its own error types"),
    ("rq", &[Module("config"), Module("context"), Module("cli")], "rq must not know the framework"),
    ("rq", &[Module("tasks")], "rq must not know the tasks built on it"),
    ("rq", &[Module("webhooks")], "rq must not know the jobs it runs"),
    ("webhooks", &[Crate("redis"), Crate("reqwest"), Crate("tokio"), Crate("axum"), Crate("hyper"),
        Module("redis_conn"), Module("http"), Module("destinations")],
        "webhooks must stay pure: no Redis, no network"),
    ("*", &[Module("commands")], "commands are leaves: only the crate root mounts them"),
];

/// The message for naming a layer above, when no finer rule says more.
const UPWARD: &str = "a module may name only its own layer and lower ones";

/// Crates every file may name without a `[dependencies]` entry.
const SYSROOT: &[&str] = &["std", "core", "alloc"];

// ---------------------------------------------------------------------------------------------
// The real check.

#[test]
fn modules_name_only_their_own_layer_and_below() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "commands"] {
        rust_files(root, Path::new(dir), &mut files);
    }
    let manifest: toml::Table = toml::from_str(&read(&root.join("Cargo.toml"))).unwrap();
    let deps = manifest["dependencies"].as_table().expect("[dependencies]");
    let sysroot = SYSROOT.iter().map(|s| s.to_string());
    let externals = deps.keys().map(|k| k.replace('-', "_")).chain(sysroot);
    let found = check(&files, &externals.collect());
    assert!(
        found.is_empty(),
        "{} architecture violations:\n{}",
        found.len(),
        found.join("\n")
    );
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `.rs` file under `dir`, as (path relative to `root`, with `/`, source).
fn rust_files(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let entries = fs::read_dir(root.join(dir))
        .unwrap()
        .map(|e| e.unwrap().path());
    for path in entries.collect::<BTreeSet<_>>() {
        let rel = path.strip_prefix(root).unwrap();
        if path.is_dir() {
            rust_files(root, rel, out);
        } else if rel.extension().is_some_and(|e| e == "rs") {
            let parts: Vec<_> = rel.iter().map(|c| c.to_string_lossy()).collect();
            out.push((parts.join("/"), read(&path)));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The checker: (path, source) pairs in, violation lines out, sorted by file and line.

/// Where a path lands: a module of this crate (the root is `[]`) or an external crate.
#[derive(Clone, Debug, PartialEq)]
enum Target {
    Module(Vec<String>),
    Crate(String),
}

/// `file:line: message`, kept apart until the end so the output sorts by line number.
type Violation = (String, usize, String);

/// `(from, to)` edges between modules, with the places that make them.
type Edges = BTreeMap<(String, String), BTreeSet<(String, usize)>>;

/// What resolving a path needs to know about the whole crate.
#[derive(Default)]
struct Krate {
    modules: BTreeSet<Vec<String>>,
    /// Names the crate root makes visible (`pub use`, `#[macro_export]`), seen through to where
    /// they are defined, so that `crate::Settings` counts as naming `config`.
    aliases: BTreeMap<String, Target>,
    externals: BTreeSet<String>,
}

/// The library module a file holds; `None` for the binary (`src/main.rs`, `src/bin/`).
fn module_of(path: &str) -> Option<Vec<String>> {
    let (mut segs, rest): (Vec<String>, _) = match path.split_once('/')? {
        ("src", rest) if rest != "main.rs" && !rest.starts_with("bin/") => (vec![], rest),
        ("commands", rest) => (vec!["commands".into()], rest),
        _ => return None,
    };
    segs.extend(rest.strip_suffix(".rs")?.split('/').map(String::from));
    if segs.last().is_some_and(|s| s == "mod") || path == "src/lib.rs" {
        segs.pop();
    }
    Some(segs)
}

fn check(files: &[(String, String)], externals: &BTreeSet<String>) -> Vec<String> {
    let mut parsed = Vec::new();
    for (path, src) in files {
        if let Some(module) = module_of(path) {
            let ast = syn::parse_file(src).unwrap_or_else(|e| panic!("{path}: {e}"));
            parsed.push((path.as_str(), module, ast));
        }
    }
    let mut krate = Krate::default();
    krate.externals.clone_from(externals);
    krate
        .modules
        .extend(parsed.iter().map(|(_, m, _)| m.clone()));
    for (_, module, ast) in &parsed {
        walk_items(&ast.items, &mut module.clone(), &mut krate);
    }

    let mut found = Findings::default();
    let tops: BTreeSet<&String> = krate.modules.iter().filter_map(|m| m.first()).collect();
    for top in tops.into_iter().filter(|t| layer(t).is_none()) {
        let home = parsed.iter().find(|(_, m, _)| m[..] == [top.clone()]);
        let msg = format!("module {top} is not assigned to a layer in tests/architecture.rs");
        found
            .violations
            .push((home.map_or("src/lib.rs", |f| f.0).into(), 1, msg));
    }
    for (file, module, ast) in &parsed {
        let (krate, at, found) = (&krate, module.clone(), &mut found);
        Collector {
            krate,
            file,
            at,
            found,
        }
        .visit_file(ast);
    }
    let mut all = found.violations;
    all.extend(cycles(&found.tops, "top-level modules"));
    all.extend(cycles(&found.siblings, "sibling submodules"));
    all.sort();
    all.dedup();
    all.into_iter()
        .map(|(file, line, msg)| format!("{file}:{line}: {msg}"))
        .collect()
}

/// Records inline modules, and the crate root's aliases: `#[macro_export]` macros (named as
/// `crate::name!` but belonging to the module defining them) and the root's `pub use`s.
fn walk_items(items: &[Item], at: &mut Vec<String>, krate: &mut Krate) {
    for item in items {
        match item {
            Item::Mod(ItemMod {
                ident,
                content: Some((_, inner)),
                ..
            }) => {
                at.push(ident.to_string());
                krate.modules.insert(at.clone());
                walk_items(inner, at, krate);
                at.pop();
            }
            Item::Macro(m) if m.attrs.iter().any(|a| a.path().is_ident("macro_export")) => {
                let name = m.ident.as_ref().map(|i| i.to_string());
                krate
                    .aliases
                    .extend(name.map(|n| (n, Target::Module(at.clone()))));
            }
            Item::Use(u) if at.is_empty() && matches!(u.vis, Visibility::Public(_)) => {
                for (path, name, _) in use_paths(&u.tree, &mut Vec::new()) {
                    let target = krate.resolve(&[], &path, u.leading_colon.is_some(), true);
                    krate.aliases.extend(name.zip(target));
                }
            }
            _ => {}
        }
    }
}

fn layer(top: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, mods)| mods.contains(&top))
        .map(|i| i + 1)
}

fn describe(top: &str) -> String {
    layer(top).map_or(format!("crate::{top}"), |l| {
        format!("crate::{top} (layer {l})")
    })
}

/// The violation a path `written` in module `from` makes, if any. The crate root may name
/// anything, and so may a module missing from `LAYERS` (it is reported once, as unassigned).
fn judge(from: &[String], written: &[String], target: Option<&Target>) -> Option<String> {
    let from = from.first()?;
    let from_layer = layer(from)?;
    let to = match target {
        Some(Target::Module(m)) => m.first().map(String::as_str),
        _ => None,
    };
    if to == Some(from.as_str()) {
        return None;
    }
    let rules = FORBIDDEN.iter().filter(|(f, ..)| *f == "*" || f == from);
    for (names, why) in rules.flat_map(|(_, names, why)| names.iter().map(move |n| (n, why))) {
        let what = match *names {
            Ident(id) if written.iter().any(|s| s == id) => {
                format!("{id} (in {})", written.join("::"))
            }
            Module(m) if to == Some(m) => describe(m),
            Crate(c) if target == Some(&Target::Crate(c.into())) => format!("{c} (external crate)"),
            _ => continue,
        };
        return Some(format!("{from} (layer {from_layer}) names {what}: {why}"));
    }
    let (to, prefix) = (to?, format!("{from} (layer {from_layer}) names"));
    (layer(to)? > from_layer).then(|| format!("{prefix} {}: {UPWARD}", describe(to)))
}

impl Krate {
    /// What a path written in module `at` refers to; `None` when it starts with a local name.
    /// Outside `use`, a one-segment path is a local, function or type in scope: skipped too.
    fn resolve(
        &self,
        at: &[String],
        segs: &[String],
        colons: bool,
        in_use: bool,
    ) -> Option<Target> {
        let first = segs.first()?;
        if colons {
            return Some(Target::Crate(first.clone()));
        }
        if segs.len() < 2 && !in_use {
            return None;
        }
        let abs: Vec<String> = match first.as_str() {
            "crate" | "$crate" => segs[1..].to_vec(),
            "self" | "super" => {
                let skip = usize::from(first == "self");
                let ups = segs[skip..].iter().take_while(|s| *s == "super").count();
                let base = at.get(..at.len().checked_sub(ups)?)?;
                [base, &segs[skip + ups..]].concat()
            }
            _ if self.modules.contains(&[at, &segs[..1]].concat()) => [at, segs].concat(),
            _ if self.externals.contains(first) => return Some(Target::Crate(first.clone())),
            _ => return None,
        };
        let n = (0..=abs.len())
            .rev()
            .find(|&n| self.modules.contains(&abs[..n]))
            .unwrap_or(0);
        match abs.first().and_then(|a| self.aliases.get(a)) {
            Some(alias) if n == 0 => Some(alias.clone()),
            _ => Some(Target::Module(abs[..n].to_vec())),
        }
    }
}

/// Every path a `use` tree imports, with the name it binds (`None` for a glob) and its line.
fn use_paths(
    tree: &UseTree,
    prefix: &mut Vec<String>,
) -> Vec<(Vec<String>, Option<String>, usize)> {
    match tree {
        UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            let inner = use_paths(&p.tree, prefix);
            prefix.pop();
            inner
        }
        UseTree::Name(syn::UseName { ident }) | UseTree::Rename(syn::UseRename { ident, .. }) => {
            let mut path = prefix.clone();
            if ident != "self" {
                path.push(ident.to_string());
            }
            let name = match tree {
                UseTree::Rename(r) => Some(r.rename.to_string()),
                _ => path.last().cloned(),
            };
            vec![(path, name, line_of(ident.span()))]
        }
        UseTree::Glob(g) => vec![(prefix.clone(), None, line_of(g.star_token.span))],
        UseTree::Group(g) => g.items.iter().flat_map(|t| use_paths(t, prefix)).collect(),
    }
}

/// Needs proc-macro2's `span-locations`, without which every line is 0.
fn line_of(span: Span) -> usize {
    span.start().line
}

/// What the collectors gather over all files.
#[derive(Default)]
struct Findings {
    violations: Vec<Violation>,
    tops: Edges,
    siblings: Edges,
}

/// Judges every path one file writes, tracking the inline module it is in.
struct Collector<'a> {
    krate: &'a Krate,
    file: &'a str,
    at: Vec<String>,
    found: &'a mut Findings,
}

impl Collector<'_> {
    fn record(&mut self, written: Vec<String>, colons: bool, in_use: bool, line: usize) {
        let target = self.krate.resolve(&self.at, &written, colons, in_use);
        let place = (self.file.to_string(), line);
        if let Some(msg) = judge(&self.at, &written, target.as_ref()) {
            self.found.violations.push((place.0.clone(), line, msg));
        }
        let Some(Target::Module(to)) = target else {
            return;
        };
        let (graph, edge) = match (&self.at[..], &to[..]) {
            ([a, ..], [b, ..]) if a != b => (&mut self.found.tops, (a.clone(), b.clone())),
            ([a, x, ..], [b, y, ..]) if a == b && x != y => (
                &mut self.found.siblings,
                (format!("{a}::{x}"), format!("{b}::{y}")),
            ),
            _ => return,
        };
        graph.entry(edge).or_default().insert(place);
    }

    /// In macro tokens, the paths are the `a::b::c` runs of identifiers.
    fn scan(&mut self, tokens: TokenStream) {
        #[derive(PartialEq)]
        enum Tok {
            Word(String, usize),
            Colons,
            Break,
        }
        let mut toks = Vec::new();
        let mut iter = tokens.into_iter().peekable();
        while let Some(tt) = iter.next() {
            toks.push(match tt {
                TokenTree::Group(g) => {
                    self.scan(g.stream());
                    Tok::Break
                }
                TokenTree::Ident(i) => Tok::Word(i.to_string(), line_of(i.span())),
                TokenTree::Punct(p)
                    if p.as_char() == ':'
                        && p.spacing() == Spacing::Joint
                        && matches!(iter.peek(), Some(TokenTree::Punct(q)) if q.as_char() == ':') =>
                {
                    iter.next();
                    Tok::Colons
                }
                // `$crate` is a path start; any other `$name` is a metavariable.
                TokenTree::Punct(p) if p.as_char() == '$' => match iter.peek() {
                    Some(TokenTree::Ident(i)) => {
                        let word =
                            (i == "crate").then(|| Tok::Word("$crate".into(), line_of(i.span())));
                        iter.next();
                        word.unwrap_or(Tok::Break)
                    }
                    _ => Tok::Break,
                },
                _ => Tok::Break,
            });
        }
        for i in 0..toks.len() {
            let Tok::Word(word, line) = &toks[i] else {
                continue;
            };
            if i > 0 && toks[i - 1] == Tok::Colons {
                continue;
            }
            let mut segs = vec![word.clone()];
            let mut j = i + 1;
            while let (Some(Tok::Colons), Some(Tok::Word(seg, _))) = (toks.get(j), toks.get(j + 1))
            {
                segs.push(seg.clone());
                j += 2;
            }
            self.record(segs, false, false, *line);
        }
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item_mod(&mut self, m: &'ast ItemMod) {
        if m.content.is_some() {
            self.at.push(m.ident.to_string());
            visit::visit_item_mod(self, m);
            self.at.pop();
        }
    }

    fn visit_item_use(&mut self, u: &'ast ItemUse) {
        for (path, _, line) in use_paths(&u.tree, &mut Vec::new()) {
            self.record(path, u.leading_colon.is_some(), true, line);
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let written = p.segments.iter().map(|s| s.ident.to_string()).collect();
        let line = p.segments.first().map_or(0, |s| line_of(s.ident.span()));
        self.record(written, p.leading_colon.is_some(), false, line);
        visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast Macro) {
        self.visit_path(&m.path);
        self.scan(m.tokens.clone());
    }

    fn visit_attribute(&mut self, _: &'ast Attribute) {}

    /// `pub(super)` grants access to the parent; it does not use it.
    fn visit_visibility(&mut self, _: &'ast Visibility) {}
}

/// One violation per cycle, with enough cycles (each the shortest through one of its edges) that
/// every edge lying on a cycle shows up in one: the report names every import worth a look,
/// without listing each of the many cycles a tangle of modules contains.
fn cycles(edges: &Edges, kind: &str) -> Vec<Violation> {
    let mut covered = BTreeSet::new();
    let mut found = Vec::new();
    for (a, b) in edges.keys() {
        if covered.contains(&(a, b)) {
            continue;
        }
        let Some(back) = shortest_path(edges, b, a) else {
            continue;
        };
        let mut ring: Vec<&String> = back[..back.len() - 1].to_vec();
        ring.insert(0, a);
        let start = (0..ring.len()).min_by_key(|&i| ring[i]).unwrap();
        ring.rotate_left(start);
        let hops: Vec<_> = (0..ring.len())
            .map(|i| (ring[i], ring[(i + 1) % ring.len()]))
            .collect();
        covered.extend(hops.iter().copied());
        let at = |(x, y): (&String, &String)| &edges[&(x.clone(), y.clone())];
        let detail: Vec<_> = hops
            .iter()
            .map(|&h| format!("{} -> {}: {}", h.0, h.1, places(at(h))))
            .collect();
        let names: Vec<_> = ring.iter().chain(&ring[..1]).map(|s| s.as_str()).collect();
        let msg = format!(
            "cycle between {kind} {} ({})",
            names.join(" -> "),
            detail.join("; ")
        );
        let (file, line) = at(hops[0]).first().unwrap().clone();
        found.push((file, line, msg));
    }
    found
}

/// The nodes from `from` to `to`, both included, by the fewest edges.
fn shortest_path<'a>(edges: &'a Edges, from: &'a String, to: &String) -> Option<Vec<&'a String>> {
    let mut prev: BTreeMap<&String, &String> = BTreeMap::new();
    let mut queue = VecDeque::from([from]);
    while let Some(node) = queue.pop_front() {
        if node == to {
            let mut path: Vec<_> =
                std::iter::successors(Some(node), |n| prev.get(n).copied()).collect();
            path.reverse();
            return Some(path);
        }
        for (x, y) in edges.keys().filter(|(x, y)| x == node && y != from) {
            if !prev.contains_key(y) {
                prev.insert(y, x);
                queue.push_back(y);
            }
        }
    }
    None
}

/// `src/a.rs:3,9, src/b.rs:4`: the places, grouped by file.
fn places(set: &BTreeSet<(String, usize)>) -> String {
    let mut by_file: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (file, line) in set {
        by_file.entry(file).or_default().push(line.to_string());
    }
    let files: Vec<_> = by_file
        .iter()
        .map(|(f, lines)| format!("{f}:{}", lines.join(",")))
        .collect();
    files.join(", ")
}

// ---------------------------------------------------------------------------------------------
// Self-tests: each rule fires on a made-up tree, and the tree without the breakage passes.

/// A small tree that keeps every rule, in files each opened by a `//- path` line. The tests
/// below add or replace files to break it one way each.
const CLEAN: &str = r#"
//- src/lib.rs
pub mod error; pub mod rq; pub mod webhooks; pub mod config; pub mod context; pub mod tasks;
#[path = "../commands/mod.rs"]
pub mod commands;
pub use error::CommandError;
pub use {redis};
//- src/main.rs
fn main() { manage::tasks::run(); }
//- src/error.rs
pub struct CommandError;
//- src/rq/mod.rs
pub mod job;
pub mod queue;
pub fn f() -> std::io::Result<()> { Ok(()) }
#[macro_export]
macro_rules! job { () => { $crate::rq::job::Job }; }
//- src/rq/job.rs
pub struct Job;
//- src/rq/queue.rs
use super::job::Job;
pub fn push(_: Job) { let _ = redis::cmd("LPUSH"); }
//- src/webhooks/mod.rs
use crate::rq::{self, queue::push};
pub fn send() { push(crate::job!()); }
mod tests { use super::*; }
//- src/config.rs
use crate::error::CommandError;
pub fn load() -> Result<(), CommandError> { Ok(()) }
pub fn ctx() -> crate::context::Context { todo!() }
//- src/context.rs
pub struct Context;
//- src/tasks/mod.rs
pub mod web;
pub fn run() -> Result<(), crate::CommandError> { crate::config::load() }
//- src/tasks/web.rs
use super::run;
#[derive(crate::commands::Nope)] struct Page;
//- commands/mod.rs
mod check;
//- commands/check.rs
fn handle() { crate::tasks::run().ok(); super::super::rq::f().ok(); }
"#;

/// The violations in `CLEAN` with the files in `changes` (same format) added or replaced.
fn violations(changes: &str) -> Vec<String> {
    let mut files = BTreeMap::new();
    for chunk in format!("{CLEAN}\n{changes}").split("\n//- ").skip(1) {
        let (path, src) = chunk.split_once('\n').unwrap_or((chunk, ""));
        files.insert(path.to_string(), src.to_string());
    }
    let externals = ["std", "redis", "tokio"].map(String::from).into();
    check(&files.into_iter().collect::<Vec<_>>(), &externals)
}

#[test]
fn self_test_clean_tree_passes() {
    assert_eq!(violations(""), Vec::<String>::new());
}

#[test]
fn self_test_upward_use_through_a_group() {
    let tree = r#"
//- src/webhooks/mod.rs
use crate::{rq::job::Job,
    context::{self, Context}};
"#;
    assert_eq!(violations(tree), [
        "src/webhooks/mod.rs:2: webhooks (layer 3) names crate::context (layer 5): a module may name only its own layer and lower ones",
    ]);
}

#[test]
fn self_test_super_super_from_an_inline_module() {
    let tree = r#"
//- src/rq/mod.rs
mod inner {
    fn f() -> super::super::context::Context {}
}
"#;
    assert_eq!(violations(tree), [
        "src/rq/mod.rs:2: rq (layer 2) names crate::context (layer 5): rq must not know the framework",
    ]);
}

#[test]
fn self_test_expression_path() {
    let tree = r#"
//- src/webhooks/mod.rs
pub fn send() {
    let _ = crate::tasks::run();
}
"#;
    assert_eq!(violations(tree), [
        "src/webhooks/mod.rs:2: webhooks (layer 3) names crate::tasks (layer 6): a module may name only its own layer and lower ones",
    ]);
}

#[test]
fn self_test_command_error_in_rq_and_commands_from_the_library() {
    let tree = r#"
//- src/rq/job.rs
pub struct Job;
fn f(e: crate::CommandError) { format!("{e}", crate::error::X); }
//- src/webhooks/mod.rs
fn f() { crate::commands::check(); }
"#;
    assert_eq!(violations(tree), [
        "src/rq/job.rs:2: rq (layer 2) names CommandError (in crate::CommandError): rq has its own error types",
        "src/rq/job.rs:2: rq (layer 2) names crate::error (layer 1): rq has its own error types",
        "src/webhooks/mod.rs:1: webhooks (layer 3) names crate::commands (layer 7): commands are leaves: only the crate root mounts them",
    ]);
}

#[test]
fn self_test_network_crates_in_webhooks() {
    let tree = r#"
//- src/webhooks/mod.rs
use ::tokio::sync;
fn f() {
    vec![redis::Value::Nil];
}
"#;
    assert_eq!(violations(tree), [
        "src/webhooks/mod.rs:1: webhooks (layer 3) names tokio (external crate): webhooks must stay pure: no Redis, no network",
        "src/webhooks/mod.rs:3: webhooks (layer 3) names redis (external crate): webhooks must stay pure: no Redis, no network",
    ]);
}

#[test]
fn self_test_top_level_cycle() {
    let tree = r#"
//- src/context.rs
pub struct Context;
fn f() { crate::config::load(); }
"#;
    assert_eq!(violations(tree), [
        "src/config.rs:3: cycle between top-level modules config -> context -> config (config -> context: src/config.rs:3; context -> config: src/context.rs:2)",
    ]);
}

#[test]
fn self_test_sibling_cycle() {
    let tree = r#"
//- src/rq/job.rs
pub struct Job;
fn again() { self::super::queue::push(Job) }
"#;
    assert_eq!(violations(tree), [
        "src/rq/job.rs:2: cycle between sibling submodules rq::job -> rq::queue -> rq::job (rq::job -> rq::queue: src/rq/job.rs:2; rq::queue -> rq::job: src/rq/queue.rs:1)",
    ]);
}

#[test]
fn self_test_unassigned_module() {
    let tree = r#"
//- src/scheduler/mod.rs
fn f() { crate::tasks::run(); }
"#;
    assert_eq!(violations(tree), [
        "src/scheduler/mod.rs:1: module scheduler is not assigned to a layer in tests/architecture.rs",
    ]);
}
