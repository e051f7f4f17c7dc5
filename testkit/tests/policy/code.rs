//! The AWS calls of the code, read from the sources with `syn`.
//!
//! Every function of the crates a role runs is indexed (module, `impl` type, trait, name) with
//! the calls it makes: functions of its crate (resolved through the file's `use` items), methods
//! (through the receiver's type when the code names it: `self`, a parameter, a `let` bound to
//! `Type::new(..)`; otherwise every method of that name), field calls on the Lambdas' port bundle
//! (`ports.catalog.transition(..)`), and AWS SDK operations: a method call without arguments on a
//! client (`self.client.query()`) whose name is an operation of a service the file imports.
//!
//! The roles' code is then found from the deployment's own entry points:
//! - each Lambda binary of the package whose binaries are the Terraform functions: the library
//!   functions its `main` calls, the port methods they reach, and the adapters the cold-start
//!   wiring builds for each port (with the environment variable naming the table or state
//!   machine);
//! - the worker binary's package and its workspace dependencies: every adapter the worker builds
//!   (`Type::new(..)` of a type whose methods call the SDK), gated by the engine choice it is
//!   built under (`TranscriberChoice::Aws` ← `TRANSCRIBER=aws`), with the port methods the
//!   activities call.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::visit::{self, Visit};
use syn::{Expr, ExprMethodCall, ImplItem, Item, Pat, UseTree};

use super::sdk::Package;

/// The package of the worker image's binary (README, "The worker image").
pub const WORKER_PACKAGE: &str = "activity-worker";

/// A function of a crate.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FnId {
    /// The crate's library name.
    pub krate: String,
    /// Module path inside the crate (`completion`, `model::bedrock`; empty at the root).
    pub module: String,
    /// The `impl` type, for methods and associated functions.
    pub owner: Option<String>,
    /// The trait of a trait `impl`.
    pub trait_: Option<String>,
    /// The function's name.
    pub name: String,
}

impl fmt::Display for FnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.owner, &self.trait_) {
            (Some(owner), Some(tr)) => write!(f, "<{owner} as {tr}>::{}", self.name),
            (Some(owner), None) => write!(f, "{owner}::{}", self.name),
            _ if self.module.is_empty() => write!(f, "{}::{}", self.krate, self.name),
            _ => write!(f, "{}::{}", self.module, self.name),
        }
    }
}

/// The receiver of a method call, as far as the code names its type.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Receiver {
    /// `self`.
    SelfValue,
    /// A value of a named type (a parameter or a `let` bound to `Type::new(..)`).
    Typed(String),
    /// `x.field` where `x` has the named type.
    Field { owner: String, field: String },
    /// Anything else.
    Unknown,
}

#[derive(Clone, Debug)]
enum Call {
    /// A path call, resolved to `[crate, module.., (Type,) fn]` when the path allows it.
    Path(Vec<String>),
    /// A method call.
    Method { receiver: Receiver, name: String },
}

/// The index argument of a Query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexArg {
    /// A constant (`CHUNK_USER_INDEX`): its value.
    Const(String),
    /// A value the caller passes (`query.index`): resolved from the struct literals with an
    /// `index` field along the call path.
    FromCaller,
}

/// One AWS SDK operation call.
#[derive(Clone, Debug)]
pub struct SdkCall {
    /// The SDK crate's service (`dynamodb`).
    pub service: String,
    /// The operation (`update_item`).
    pub operation: String,
    /// `index_name(..)` of the request, if any.
    pub index: Option<IndexArg>,
    /// The source file, for the report.
    pub at: String,
}

#[derive(Clone, Debug)]
struct FnInfo {
    id: FnId,
    calls: Vec<Call>,
    sdk: Vec<SdkCall>,
    /// Constants assigned to a field named `index` in struct literals of the body.
    index_fields: Vec<String>,
    /// `Type::new(..)` calls, with the path of the innermost enclosing match arm's pattern.
    constructions: Vec<Construction>,
    /// `let name = ...env::CONST...` bindings: name → environment variable.
    env_bindings: BTreeMap<String, String>,
    /// Calls that look like SDK operations on something that is not a client.
    suspicious: Vec<String>,
    /// Method names called on receivers other than `self`.
    method_names: BTreeSet<String>,
}

/// A `Type::new(..)` call.
#[derive(Clone, Debug)]
pub struct Construction {
    /// The type.
    pub ty: String,
    /// Plain identifiers passed as arguments.
    pub args: Vec<String>,
    /// `[Enum, Variant]` of the innermost enclosing match arm's pattern, if any.
    pub arm: Option<(String, String)>,
    /// The struct literal field it is assigned to (`objects` of `Ports { objects: .. }`), and the
    /// literal's type.
    pub field: Option<(String, String)>,
}

/// A string-literal match on an environment variable: `match var(env::X) { "aws" => Enum::V .. }`.
#[derive(Clone, Debug)]
struct EnvChoice {
    env: String,
    /// `(Enum, Variant)` → the literals selecting it.
    variants: BTreeMap<(String, String), Vec<String>>,
}

/// Every parsed crate.
#[derive(Debug, Default)]
pub struct Code {
    fns: BTreeMap<FnId, FnInfo>,
    /// `&str` constants by name and by `module::name`.
    consts: BTreeMap<String, String>,
    choices: Vec<EnvChoice>,
    /// Struct types by crate.
    crates: BTreeSet<String>,
}

impl Code {
    /// Parses the library sources (not `src/bin`, not `#[cfg(test)]` items) of `packages`.
    pub fn parse(packages: &[&Package]) -> Self {
        let mut code = Self::default();
        for package in packages {
            code.crates.insert(package.lib.clone());
            let src = package.dir.join("src");
            for file in rust_files(&src) {
                if file.starts_with(src.join("bin")) {
                    continue;
                }
                let module = module_of(&src, &file);
                code.parse_file(&package.lib, &module, &file);
            }
        }
        code
    }

    fn parse_file(&mut self, krate: &str, module: &[String], file: &Path) {
        let text = std::fs::read_to_string(file).expect("read a source file");
        let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let services = sdk_services(&text);
        let mut imports = BTreeMap::new();
        collect_imports(&ast.items, krate, module, &mut imports);
        self.items(krate, module, file, &services, &imports, &ast.items);
        let mut choices = ChoiceVisitor::default();
        for item in &ast.items {
            if !is_cfg_test(item_attrs(item)) {
                choices.visit_item(item);
            }
        }
        self.choices.extend(choices.found);
    }

    fn items(
        &mut self,
        krate: &str,
        module: &[String],
        file: &Path,
        services: &BTreeSet<String>,
        imports: &BTreeMap<String, Vec<String>>,
        items: &[Item],
    ) {
        let context = FileContext {
            krate,
            module,
            file,
            services,
            imports,
        };
        for item in items {
            if is_cfg_test(item_attrs(item)) {
                continue;
            }
            match item {
                Item::Fn(f) => {
                    let id = FnId {
                        krate: krate.to_owned(),
                        module: module.join("::"),
                        owner: None,
                        trait_: None,
                        name: f.sig.ident.to_string(),
                    };
                    let info = context.function(id, None, &f.sig, &f.block);
                    self.fns.insert(info.id.clone(), info);
                }
                Item::Impl(imp) => {
                    let Some(owner) = type_name(&imp.self_ty) else {
                        continue;
                    };
                    let trait_ = imp
                        .trait_
                        .as_ref()
                        .and_then(|(_, path, _)| path.segments.last())
                        .map(|s| s.ident.to_string());
                    for item in &imp.items {
                        if let ImplItem::Fn(f) = item {
                            if is_cfg_test(&f.attrs) {
                                continue;
                            }
                            let id = FnId {
                                krate: krate.to_owned(),
                                module: module.join("::"),
                                owner: Some(owner.clone()),
                                trait_: trait_.clone(),
                                name: f.sig.ident.to_string(),
                            };
                            let info = context.function(id, Some(&owner), &f.sig, &f.block);
                            self.fns.insert(info.id.clone(), info);
                        }
                    }
                }
                Item::Const(c) => {
                    if let Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(value),
                        ..
                    }) = c.expr.as_ref()
                    {
                        // By every suffix of its path: `CHUNK_TABLE`, `env::CHUNK_TABLE`, ...
                        let mut qualified = module.to_vec();
                        qualified.push(c.ident.to_string());
                        for start in 0..qualified.len() {
                            self.consts
                                .entry(qualified[start..].join("::"))
                                .or_insert_with(|| value.value());
                        }
                    }
                }
                Item::Mod(m) => {
                    if let Some((_, items)) = &m.content {
                        let mut inner = module.to_vec();
                        inner.push(m.ident.to_string());
                        let mut imports = imports.clone();
                        collect_imports(items, krate, &inner, &mut imports);
                        self.items(krate, &inner, file, services, &imports, items);
                    }
                }
                _ => {}
            }
        }
    }

    /// The value of constant `name` (`CATALOG_SWEEP_INDEX`, `env::CHUNK_TABLE`).
    pub fn constant(&self, name: &str) -> Option<&str> {
        self.consts.get(name).map(String::as_str)
    }

    fn functions_named<'a>(
        &'a self,
        krate: &'a str,
        owner: Option<&'a str>,
        name: &'a str,
    ) -> impl Iterator<Item = &'a FnId> + 'a {
        self.fns
            .keys()
            .filter(move |id| id.krate == krate && id.name == name && id.owner.as_deref() == owner)
    }

    /// The functions a call may reach.
    fn resolve(&self, from: &FnId, call: &Call) -> Vec<FnId> {
        match call {
            Call::Path(path) => {
                let Some((krate, rest)) = path.split_first() else {
                    return Vec::new();
                };
                if !self.crates.contains(krate) || rest.is_empty() {
                    return Vec::new();
                }
                let name = &rest[rest.len() - 1];
                let parent = &rest[..rest.len() - 1];
                if let Some(ty) = parent.last().filter(|s| starts_upper(s)) {
                    return self
                        .functions_named(krate, Some(ty), name)
                        .cloned()
                        .collect();
                }
                let module = parent.join("::");
                let exact: Vec<FnId> = self
                    .functions_named(krate, None, name)
                    .filter(|id| id.module == module)
                    .cloned()
                    .collect();
                if !exact.is_empty() {
                    return exact;
                }
                // A re-export (`pub use object_store::s3_client`): the free function of that name.
                self.functions_named(krate, None, name).cloned().collect()
            }
            Call::Method { receiver, name } => {
                let owner = match receiver {
                    Receiver::SelfValue => from.owner.clone(),
                    Receiver::Typed(ty) => Some(ty.clone()),
                    Receiver::Field { .. } | Receiver::Unknown => None,
                };
                let candidates = self
                    .fns
                    .keys()
                    .filter(|id| id.krate == from.krate && id.name == *name && id.owner.is_some());
                match owner {
                    Some(owner) => {
                        let typed: Vec<FnId> = candidates
                            .filter(|id| id.owner.as_deref() == Some(owner.as_str()))
                            .cloned()
                            .collect();
                        typed
                    }
                    // Unknown receiver type: every inherent method of that name (trait methods
                    // are called on typed values or trait objects, not matched by name).
                    None if matches!(receiver, Receiver::Unknown) => candidates
                        .filter(|id| id.trait_.is_none())
                        .cloned()
                        .collect(),
                    None => Vec::new(),
                }
            }
        }
    }

    /// Every SDK call reachable from `entry`, each with the call path and the index constants of
    /// the struct literals along it.
    pub fn reachable_sdk_calls(&self, entry: &FnId) -> Vec<Reached> {
        let mut out = Vec::new();
        let mut path = vec![entry.clone()];
        let mut seen = BTreeSet::new();
        self.walk(entry, &mut path, &mut seen, &mut out);
        out
    }

    fn walk(
        &self,
        at: &FnId,
        path: &mut Vec<FnId>,
        seen: &mut BTreeSet<FnId>,
        out: &mut Vec<Reached>,
    ) {
        if !seen.insert(at.clone()) {
            return;
        }
        let Some(info) = self.fns.get(at) else {
            return;
        };
        for call in &info.sdk {
            let index = match &call.index {
                None => None,
                Some(IndexArg::Const(name)) => Some(vec![name.clone()]),
                Some(IndexArg::FromCaller) => path
                    .iter()
                    .rev()
                    .filter_map(|f| self.fns.get(f))
                    .map(|f| f.index_fields.clone())
                    .find(|fields| !fields.is_empty()),
            };
            out.push(Reached {
                call: call.clone(),
                path: path.iter().map(ToString::to_string).collect(),
                index_consts: index,
            });
        }
        for call in &info.calls {
            for next in self.resolve(at, call) {
                path.push(next.clone());
                self.walk(&next, path, seen, out);
                path.pop();
            }
        }
    }

    /// Every `(field, method)` call on a value of type `bundle` reachable from `entries`, with
    /// the path that reaches it.
    pub fn reachable_field_calls(
        &self,
        entries: &[FnId],
        bundle: &str,
    ) -> BTreeMap<(String, String), Vec<String>> {
        let mut out = BTreeMap::new();
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(FnId, Vec<String>)> = entries
            .iter()
            .map(|e| (e.clone(), vec![e.to_string()]))
            .collect();
        while let Some((at, path)) = stack.pop() {
            if !seen.insert(at.clone()) {
                continue;
            }
            let Some(info) = self.fns.get(&at) else {
                continue;
            };
            for call in &info.calls {
                if let Call::Method {
                    receiver: Receiver::Field { owner, field },
                    name,
                } = call
                    && owner == bundle
                {
                    out.entry((field.clone(), name.clone()))
                        .or_insert_with(|| path.clone());
                }
                for next in self.resolve(&at, call) {
                    let mut longer = path.clone();
                    longer.push(next.to_string());
                    stack.push((next, longer));
                }
            }
        }
        out
    }

    /// The functions of `krate` a path call of a binary resolves to.
    pub fn entries_of_binary(&self, krate: &str, bin: &Path) -> Vec<FnId> {
        let text = std::fs::read_to_string(bin).expect("read the binary's source");
        let ast = syn::parse_file(&text).expect("parse the binary's source");
        let mut imports = BTreeMap::new();
        collect_imports(&ast.items, "bin", &[], &mut imports);
        let context = FileContext {
            krate: "bin",
            module: &[],
            file: bin,
            services: &BTreeSet::new(),
            imports: &imports,
        };
        let mut entries = BTreeSet::new();
        for item in &ast.items {
            if let Item::Fn(f) = item {
                let id = FnId {
                    krate: "bin".into(),
                    module: String::new(),
                    owner: None,
                    trait_: None,
                    name: f.sig.ident.to_string(),
                };
                let info = context.function(id.clone(), None, &f.sig, &f.block);
                for call in &info.calls {
                    if let Call::Path(path) = call
                        && path.first().map(String::as_str) == Some(krate)
                    {
                        entries.extend(self.resolve(&id, call));
                    }
                }
            }
        }
        entries.into_iter().collect()
    }

    /// Every `Type::new(..)` of the crate `krate`.
    pub fn constructions(&self, krate: &str) -> Vec<(FnId, Construction)> {
        self.fns
            .values()
            .filter(|f| f.id.krate == krate)
            .flat_map(|f| f.constructions.iter().map(|c| (f.id.clone(), c.clone())))
            .collect()
    }

    /// The environment variable a `let` of function `at` reads into `binding`.
    pub fn env_binding(&self, at: &FnId, binding: &str) -> Option<String> {
        self.fns.get(at)?.env_bindings.get(binding).cloned()
    }

    /// Whether some method of `ty` reaches an SDK call: `ty` is an AWS adapter.
    pub fn calls_sdk(&self, ty: &str) -> bool {
        self.fns
            .keys()
            .filter(|id| id.owner.as_deref() == Some(ty))
            .any(|id| !self.reachable_sdk_calls(id).is_empty())
    }

    /// The trait `impl` methods of `ty`.
    pub fn trait_methods(&self, ty: &str) -> Vec<FnId> {
        self.fns
            .keys()
            .filter(|id| id.owner.as_deref() == Some(ty) && id.trait_.is_some())
            .cloned()
            .collect()
    }

    /// Method names called on receivers other than `self` by functions that are not methods of
    /// `ty`.
    pub fn methods_called_outside(&self, ty: &str) -> BTreeSet<String> {
        self.fns
            .values()
            .filter(|f| f.id.owner.as_deref() != Some(ty))
            .flat_map(|f| f.method_names.iter().cloned())
            .collect()
    }

    /// The environment variable and literal values that select `(Enum, Variant)`.
    pub fn choice_of(&self, variant: &(String, String)) -> Option<(String, Vec<String>)> {
        self.choices.iter().find_map(|c| {
            c.variants
                .get(variant)
                .map(|literals| (c.env.clone(), literals.clone()))
        })
    }

    /// Calls that look like SDK operations on something that is not a client.
    pub fn suspicious(&self) -> Vec<String> {
        self.fns
            .values()
            .flat_map(|f| f.suspicious.iter().cloned())
            .collect()
    }
}

/// An SDK call reached from an entry point.
#[derive(Clone, Debug)]
pub struct Reached {
    /// The call.
    pub call: SdkCall,
    /// The functions from the entry to the caller.
    pub path: Vec<String>,
    /// For a Query of an index: the index constants.
    pub index_consts: Option<Vec<String>>,
}

fn starts_upper(s: &str) -> bool {
    s.chars().next().is_some_and(char::is_uppercase)
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// `src/model/bedrock.rs` → `[model, bedrock]`; `lib.rs`, `main.rs`, `mod.rs` name their folder.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("a file under src");
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("lib" | "main" | "mod")
    ) {
        parts.pop();
    }
    parts
}

/// The SDK services a file names (`aws_sdk_dynamodb::...`).
fn sdk_services(text: &str) -> BTreeSet<String> {
    text.match_indices("aws_sdk_")
        .map(|(at, _)| {
            text[at + "aws_sdk_".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect()
        })
        .collect()
}

fn item_attrs(item: &Item) -> &[syn::Attribute] {
    match item {
        Item::Fn(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Const(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

fn type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => {
            let last = p.path.segments.last()?;
            // `Arc<T>`, `Box<T>`, `Option<T>`: the type inside.
            if matches!(last.ident.to_string().as_str(), "Arc" | "Box" | "Option")
                && let syn::PathArguments::AngleBracketed(args) = &last.arguments
                && let Some(syn::GenericArgument::Type(inner)) = args.args.first()
            {
                return type_name(inner);
            }
            Some(last.ident.to_string())
        }
        syn::Type::Reference(r) => type_name(&r.elem),
        syn::Type::Paren(p) => type_name(&p.elem),
        _ => None,
    }
}

/// `use` items: alias → absolute path (`crate` replaced by the crate's name).
fn collect_imports(
    items: &[Item],
    krate: &str,
    module: &[String],
    out: &mut BTreeMap<String, Vec<String>>,
) {
    fn walk(
        tree: &UseTree,
        prefix: &[String],
        krate: &str,
        module: &[String],
        out: &mut BTreeMap<String, Vec<String>>,
    ) {
        match tree {
            UseTree::Path(p) => {
                let mut next = prefix.to_vec();
                next.push(p.ident.to_string());
                walk(&p.tree, &next, krate, module, out);
            }
            UseTree::Name(n) => {
                let name = n.ident.to_string();
                if name == "self" {
                    if let Some(last) = prefix.last() {
                        out.insert(last.clone(), absolute(prefix, krate, module));
                    }
                } else {
                    let mut full = prefix.to_vec();
                    full.push(name.clone());
                    out.insert(name, absolute(&full, krate, module));
                }
            }
            UseTree::Rename(r) => {
                let mut full = prefix.to_vec();
                full.push(r.ident.to_string());
                out.insert(r.rename.to_string(), absolute(&full, krate, module));
            }
            UseTree::Group(g) => {
                for tree in &g.items {
                    walk(tree, prefix, krate, module, out);
                }
            }
            UseTree::Glob(_) => {}
        }
    }
    for item in items {
        if let Item::Use(u) = item
            && !is_cfg_test(&u.attrs)
        {
            walk(&u.tree, &[], krate, module, out);
        }
    }
}

/// `crate::a::b` → `[krate, a, b]`; `super::x` and `self::x` relative to `module`.
fn absolute(path: &[String], krate: &str, module: &[String]) -> Vec<String> {
    let mut out = vec![krate.to_owned()];
    match path.first().map(String::as_str) {
        Some("crate") => out.extend(path[1..].iter().cloned()),
        Some("self") => {
            out.extend(module.iter().cloned());
            out.extend(path[1..].iter().cloned());
        }
        Some("super") => {
            let mut parent = module.to_vec();
            let mut rest = path;
            while rest.first().map(String::as_str) == Some("super") {
                parent.pop();
                rest = &rest[1..];
            }
            out.extend(parent);
            out.extend(rest.iter().cloned());
        }
        _ => return path.to_vec(),
    }
    out
}

struct FileContext<'a> {
    krate: &'a str,
    module: &'a [String],
    file: &'a Path,
    services: &'a BTreeSet<String>,
    imports: &'a BTreeMap<String, Vec<String>>,
}

impl FileContext<'_> {
    fn function(
        &self,
        id: FnId,
        owner: Option<&str>,
        sig: &syn::Signature,
        block: &syn::Block,
    ) -> FnInfo {
        let mut locals = BTreeMap::new();
        for input in &sig.inputs {
            if let syn::FnArg::Typed(arg) = input
                && let Pat::Ident(name) = arg.pat.as_ref()
                && let Some(ty) = type_name(&arg.ty)
            {
                locals.insert(name.ident.to_string(), ty);
            }
        }
        let mut visitor = BodyVisitor {
            context: self,
            owner,
            locals,
            info: FnInfo {
                id,
                calls: Vec::new(),
                sdk: Vec::new(),
                index_fields: Vec::new(),
                constructions: Vec::new(),
                env_bindings: BTreeMap::new(),
                suspicious: Vec::new(),
                method_names: BTreeSet::new(),
            },
            arms: Vec::new(),
            struct_fields: Vec::new(),
        };
        visitor.visit_block(block);
        visitor.info
    }

    /// A path as written in this file → absolute `[crate, ..]` (or as written, for other crates).
    fn resolve_path(&self, segments: &[String], owner: Option<&str>) -> Vec<String> {
        let Some(first) = segments.first() else {
            return Vec::new();
        };
        match first.as_str() {
            "crate" | "self" | "super" => absolute(segments, self.krate, self.module),
            "Self" => {
                let mut out = vec![self.krate.to_owned()];
                out.extend(self.module.iter().cloned());
                out.push(owner.unwrap_or("Self").to_owned());
                out.extend(segments[1..].iter().cloned());
                out
            }
            _ => {
                if let Some(imported) = self.imports.get(first) {
                    let mut out = imported.clone();
                    out.extend(segments[1..].iter().cloned());
                    return out;
                }
                if segments.len() == 1 || starts_upper(first) {
                    let mut out = vec![self.krate.to_owned()];
                    out.extend(self.module.iter().cloned());
                    out.extend(segments.iter().cloned());
                    return out;
                }
                // `other_crate::..`, or a child module of this one.
                segments.to_vec()
            }
        }
    }
}

struct BodyVisitor<'a, 'c> {
    context: &'a FileContext<'c>,
    owner: Option<&'a str>,
    /// Local names with a known type.
    locals: BTreeMap<String, String>,
    info: FnInfo,
    /// Enclosing match arms' `[Enum, Variant]`.
    arms: Vec<Option<(String, String)>>,
    /// Enclosing struct literal fields: (struct type, field).
    struct_fields: Vec<(String, String)>,
}

fn path_segments(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

impl BodyVisitor<'_, '_> {
    fn receiver(&self, expr: &Expr) -> Receiver {
        match expr {
            Expr::Path(p) if p.path.is_ident("self") => Receiver::SelfValue,
            Expr::Path(p) => p
                .path
                .get_ident()
                .and_then(|i| self.locals.get(&i.to_string()))
                .map_or(Receiver::Unknown, |ty| Receiver::Typed(ty.clone())),
            Expr::Field(f) => match (&*f.base, &f.member) {
                (Expr::Path(p), syn::Member::Named(field)) => p
                    .path
                    .get_ident()
                    .and_then(|i| self.locals.get(&i.to_string()))
                    .map_or(Receiver::Unknown, |ty| Receiver::Field {
                        owner: ty.clone(),
                        field: field.to_string(),
                    }),
                _ => Receiver::Unknown,
            },
            Expr::Reference(r) => self.receiver(&r.expr),
            Expr::Paren(p) => self.receiver(&p.expr),
            _ => Receiver::Unknown,
        }
    }

    /// Whether `expr` names an SDK client (`self.client`, `client`, `self.inner.client`).
    fn is_client(expr: &Expr) -> bool {
        match expr {
            Expr::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|i| i.to_string().contains("client")),
            Expr::Field(f) => {
                matches!(&f.member, syn::Member::Named(n) if n.to_string().contains("client"))
            }
            Expr::Reference(r) => Self::is_client(&r.expr),
            Expr::Paren(p) => Self::is_client(&p.expr),
            _ => false,
        }
    }

    fn sdk_service(
        &self,
        name: &str,
        operations: &BTreeMap<String, BTreeSet<String>>,
    ) -> Option<String> {
        self.context
            .services
            .iter()
            .find(|s| operations.get(*s).is_some_and(|ops| ops.contains(name)))
            .cloned()
    }

    /// A method-call chain `base.a(..).b(..).c(..)`: the SDK operation in it (a call without
    /// arguments on a client, with the builder calls that follow it), the other method calls,
    /// and then everything nested.
    fn chain(&mut self, top: &ExprMethodCall) {
        let mut calls: Vec<&ExprMethodCall> = vec![top];
        let mut base = &*top.receiver;
        while let Expr::MethodCall(inner) = base {
            calls.push(inner);
            base = &inner.receiver;
        }
        calls.reverse();
        let operations = operations();
        for (position, call) in calls.iter().enumerate() {
            let name = call.method.to_string();
            let service = call
                .args
                .is_empty()
                .then(|| self.sdk_service(&name, operations))
                .flatten();
            match service {
                Some(service) if position == 0 && Self::is_client(base) => {
                    let index = calls[1..]
                        .iter()
                        .find(|c| c.method == "index_name")
                        .and_then(|c| c.args.first())
                        .map(|arg| match arg {
                            Expr::Path(p) => IndexArg::Const(
                                p.path
                                    .segments
                                    .last()
                                    .map(|s| s.ident.to_string())
                                    .unwrap_or_default(),
                            ),
                            _ => IndexArg::FromCaller,
                        });
                    self.info.sdk.push(SdkCall {
                        service,
                        operation: name,
                        index,
                        at: self.context.file.display().to_string(),
                    });
                }
                Some(service) => self.info.suspicious.push(format!(
                    "{}: .{name}() looks like an aws-sdk-{service} operation on something that is not a client",
                    self.context.file.display()
                )),
                None => {
                    let receiver = if position == 0 {
                        self.receiver(base)
                    } else {
                        Receiver::Unknown
                    };
                    if receiver != Receiver::SelfValue {
                        self.info.method_names.insert(name.clone());
                    }
                    self.info.calls.push(Call::Method { receiver, name });
                }
            }
        }
        self.visit_expr(base);
        for call in calls {
            for arg in &call.args {
                self.visit_expr(arg);
            }
        }
    }
}

/// The SDK operations, read once per test process.
fn operations() -> &'static BTreeMap<String, BTreeSet<String>> {
    &super::metadata().operations
}

impl<'ast> Visit<'ast> for BodyVisitor<'_, '_> {
    fn visit_expr_method_call(&mut self, node: &'ast ExprMethodCall) {
        self.chain(node);
    }

    fn visit_expr_call(&mut self, node: &'ast syn::ExprCall) {
        if let Expr::Path(p) = node.func.as_ref() {
            let segments = path_segments(&p.path);
            let resolved = self.context.resolve_path(&segments, self.owner);
            if segments.len() >= 2
                && segments.last().map(String::as_str) == Some("new")
                && let Some(ty) = segments.get(segments.len() - 2).filter(|s| starts_upper(s))
            {
                let args = node
                    .args
                    .iter()
                    .filter_map(|a| match a {
                        Expr::Path(p) => p.path.get_ident().map(ToString::to_string),
                        _ => None,
                    })
                    .collect();
                self.info.constructions.push(Construction {
                    ty: ty.clone(),
                    args,
                    arm: self.arms.iter().rev().find_map(Clone::clone),
                    field: self.struct_fields.last().cloned(),
                });
            }
            self.info.calls.push(Call::Path(resolved));
        }
        visit::visit_expr_call(self, node);
    }

    fn visit_local(&mut self, node: &'ast syn::Local) {
        if let (Pat::Ident(name), Some(init)) = (&node.pat, &node.init) {
            let name = name.ident.to_string();
            // `let x = Type::new(..)` / `let x = crate::m::Type::new(..)`: x is a Type.
            if let Expr::Call(call) = init.expr.as_ref()
                && let Expr::Path(p) = call.func.as_ref()
            {
                let segments = path_segments(&p.path);
                if let Some(ty) = segments
                    .len()
                    .checked_sub(2)
                    .and_then(|i| segments.get(i))
                    .filter(|s| starts_upper(s))
                {
                    self.locals.insert(name.clone(), ty.clone());
                }
            }
            // `let x = required(env::NAME)?`: x holds environment variable NAME.
            let mut env = EnvPaths::default();
            env.visit_expr(&init.expr);
            if let Some(constant) = env.found.first() {
                self.info.env_bindings.insert(name, constant.clone());
            }
        }
        visit::visit_local(self, node);
    }

    fn visit_expr_struct(&mut self, node: &'ast syn::ExprStruct) {
        let ty = node
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        for field in &node.fields {
            if let syn::Member::Named(name) = &field.member {
                if name == "index"
                    && let Expr::Path(p) = &field.expr
                    && let Some(last) = p.path.segments.last()
                {
                    self.info.index_fields.push(last.ident.to_string());
                }
                self.struct_fields.push((ty.clone(), name.to_string()));
                self.visit_expr(&field.expr);
                self.struct_fields.pop();
            } else {
                self.visit_expr(&field.expr);
            }
        }
        if let Some(rest) = &node.rest {
            self.visit_expr(rest);
        }
    }

    fn visit_arm(&mut self, node: &'ast syn::Arm) {
        let variant = match &node.pat {
            Pat::Struct(s) => Some(&s.path),
            Pat::TupleStruct(s) => Some(&s.path),
            Pat::Path(p) => Some(&p.path),
            _ => None,
        }
        .and_then(|path| {
            let segments = path_segments(path);
            let n = segments.len();
            (n >= 2).then(|| (segments[n - 2].clone(), segments[n - 1].clone()))
        });
        self.arms.push(variant);
        visit::visit_arm(self, node);
        self.arms.pop();
    }

    fn visit_item(&mut self, _: &'ast Item) {
        // Items nested in a body (helper fns, consts) are not part of this function.
    }

    fn visit_macro(&mut self, node: &'ast syn::Macro) {
        self.visit_tokens(node.tokens.clone());
    }
}

impl BodyVisitor<'_, '_> {
    /// The calls inside a macro (`tokio::select!`, `join!`, `format!`, tracing's `info!`): its
    /// tokens split at `,` `;` `=>` and a lone `=`, each piece visited when it parses as an
    /// expression (after a leading `if`, `%` or `?`), else the groups inside it.
    fn visit_tokens(&mut self, tokens: TokenStream) {
        let mut pieces: Vec<Vec<TokenTree>> = vec![Vec::new()];
        let mut iter = tokens.into_iter().peekable();
        let mut previous: Option<char> = None;
        while let Some(token) = iter.next() {
            if let TokenTree::Punct(p) = &token {
                let c = p.as_char();
                let arrow = c == '='
                    && p.spacing() == Spacing::Joint
                    && matches!(iter.peek(), Some(TokenTree::Punct(n)) if n.as_char() == '>');
                let lone_equals = c == '='
                    && p.spacing() == Spacing::Alone
                    && !matches!(
                        previous,
                        Some('=' | '!' | '<' | '>' | '+' | '-' | '*' | '/' | '%' | '^' | '&' | '|')
                    );
                if arrow {
                    iter.next();
                }
                if c == ',' || c == ';' || arrow || lone_equals {
                    pieces.push(Vec::new());
                    previous = None;
                    continue;
                }
                previous = Some(c);
            } else {
                previous = None;
            }
            pieces.last_mut().expect("a piece").push(token);
        }
        for piece in pieces.into_iter().filter(|p| !p.is_empty()) {
            let skip = match piece.first() {
                Some(TokenTree::Ident(i)) if i == "if" => 1,
                Some(TokenTree::Punct(p)) if matches!(p.as_char(), '%' | '?') => 1,
                _ => 0,
            };
            let stream: TokenStream = piece[skip..].iter().cloned().collect();
            if let Ok(expr) = syn::parse2::<Expr>(stream) {
                self.visit_expr(&expr);
            } else {
                for token in &piece {
                    if let TokenTree::Group(group) = token {
                        self.visit_tokens(group.stream());
                    }
                }
            }
        }
    }
}

/// The `env::NAME` paths of an expression, as `env::NAME`.
#[derive(Default)]
struct EnvPaths {
    found: Vec<String>,
}

impl<'ast> Visit<'ast> for EnvPaths {
    fn visit_expr_path(&mut self, node: &'ast syn::ExprPath) {
        let segments = path_segments(&node.path);
        if let [.., module, constant] = segments.as_slice()
            && module == "env"
            && constant.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        {
            self.found.push(format!("env::{constant}"));
        }
    }
}

/// `match ..env::X.. { "literal" => Enum::Variant.., .. }`.
#[derive(Default)]
struct ChoiceVisitor {
    found: Vec<EnvChoice>,
}

impl<'ast> Visit<'ast> for ChoiceVisitor {
    fn visit_expr_match(&mut self, node: &'ast syn::ExprMatch) {
        let mut env = EnvPaths::default();
        env.visit_expr(&node.expr);
        if let Some(variable) = env.found.first() {
            let mut variants: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
            for arm in &node.arms {
                let Pat::Lit(syn::PatLit {
                    lit: syn::Lit::Str(literal),
                    ..
                }) = &arm.pat
                else {
                    continue;
                };
                let mut paths = VariantPaths::default();
                paths.visit_expr(&arm.body);
                for variant in paths.found {
                    variants.entry(variant).or_default().push(literal.value());
                }
            }
            if !variants.is_empty() {
                self.found.push(EnvChoice {
                    env: variable.clone(),
                    variants,
                });
            }
        }
        visit::visit_expr_match(self, node);
    }
}

/// `Enum::Variant` paths and struct literals of an expression.
#[derive(Default)]
struct VariantPaths {
    found: BTreeSet<(String, String)>,
}

impl VariantPaths {
    fn add(&mut self, path: &syn::Path) {
        let segments = path_segments(path);
        if let [.., ty, variant] = segments.as_slice()
            && starts_upper(ty)
            && starts_upper(variant)
        {
            self.found.insert((ty.clone(), variant.clone()));
        }
    }
}

impl<'ast> Visit<'ast> for VariantPaths {
    fn visit_expr_path(&mut self, node: &'ast syn::ExprPath) {
        self.add(&node.path);
    }

    fn visit_expr_struct(&mut self, node: &'ast syn::ExprStruct) {
        self.add(&node.path);
        visit::visit_expr_struct(self, node);
    }
}
