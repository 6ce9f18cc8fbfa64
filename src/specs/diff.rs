//! `specs diff`: compare two surfaces and classify each change for a client like vippsctl.
//!
//! The rules (issue 6): **breaking** when something we send or read stops working as coded: an
//! operation or field we use removed, a type or format changed, a request field became required,
//! an enum value we may send removed, a limit tightened on what we send, a response field we read
//! became optional or nullable. **warning** for what needs a look but keeps working: a response
//! enum gained a value, a new optional request field, deprecation. **info** for the rest, notably
//! operations and fields we do not use.

use crate::error_chain::one_line as error_chain;
use crate::specs::ops::Api;
use crate::specs::surface::{
    field_attrs, load_surface, parse, Body, Field, OperationSurface, Param, SpecError, Surface,
};
use crate::specs::usage::ConfigUsage;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Breaking,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Breaking => "BREAKING",
        }
    }
}

/// One classified change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub severity: Severity,
    /// The stable operation name (`update_redirect_qr`), or `METHOD /path` for one we do not use.
    pub operation: String,
    /// `POST /qr/v1/merchant-redirect` for an operation we use.
    pub endpoint: Option<String>,
    /// `operation`, `request`, `response 200`, `header param`, ...
    pub location: String,
    /// `MerchantRedirectQrRequest.redirectUrl`, or the parameter name.
    pub path: Option<String>,
    pub message: String,
    /// With `--config`: how the user's config uses this operation.
    pub usage: Option<String>,
}

/// Which side of the wire a schema is on decides how a change to it is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// We send it: request bodies and parameters.
    Send,
    /// We read it: success response bodies.
    Read,
}

struct Ctx<'a> {
    operation: &'a str,
    endpoint: Option<String>,
    location: String,
    out: &'a mut Vec<Change>,
}

impl Ctx<'_> {
    fn push(&mut self, severity: Severity, path: Option<String>, message: String) {
        self.out.push(Change {
            severity,
            operation: self.operation.to_string(),
            endpoint: self.endpoint.clone(),
            location: self.location.clone(),
            path,
            message,
            usage: None,
        });
    }
}

/// All changes from `old` to `new`, most severe first, then by operation, location and path.
pub fn diff_surfaces(old: &Surface, new: &Surface) -> Vec<Change> {
    let mut out = Vec::new();
    let old_ops: BTreeMap<&str, &OperationSurface> =
        old.operations.iter().map(|o| (o.name, o)).collect();
    let new_ops: BTreeMap<&str, &OperationSurface> =
        new.operations.iter().map(|o| (o.name, o)).collect();
    let names: BTreeSet<&str> = old_ops.keys().chain(new_ops.keys()).copied().collect();
    for name in names {
        match (old_ops.get(name), new_ops.get(name)) {
            (Some(o), None) => out.push(op_change(
                Severity::Breaking,
                o,
                "operation we use removed".into(),
            )),
            (None, Some(n)) => out.push(op_change(
                Severity::Info,
                n,
                "operation we use is now in the spec".into(),
            )),
            (Some(o), Some(n)) => diff_operation(o, n, &mut out),
            (None, None) => {}
        }
    }
    let old_unused: BTreeSet<&String> = old.unused.iter().collect();
    let new_unused: BTreeSet<&String> = new.unused.iter().collect();
    for op in new_unused.difference(&old_unused) {
        out.push(unused_change(op, "operation added (not used by vippsctl)"));
    }
    for op in old_unused.difference(&new_unused) {
        out.push(unused_change(
            op,
            "operation removed (not used by vippsctl)",
        ));
    }
    sort_changes(&mut out);
    out
}

fn sort_changes(out: &mut [Change]) {
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.operation.cmp(&b.operation))
            .then_with(|| a.location.cmp(&b.location))
            .then_with(|| a.path.cmp(&b.path))
            .then_with(|| a.message.cmp(&b.message))
    });
}

fn unused_change(op: &str, message: &str) -> Change {
    Change {
        severity: Severity::Info,
        operation: op.to_string(),
        endpoint: None,
        location: "operation".into(),
        path: None,
        message: message.into(),
        usage: None,
    }
}

fn op_change(severity: Severity, op: &OperationSurface, message: String) -> Change {
    Change {
        severity,
        operation: op.name.to_string(),
        endpoint: Some(format!("{} {}", op.method, op.path)),
        location: "operation".into(),
        path: None,
        message,
        usage: None,
    }
}

fn diff_operation(o: &OperationSurface, n: &OperationSurface, out: &mut Vec<Change>) {
    let endpoint = Some(format!("{} {}", o.method, o.path));
    let mut ctx = Ctx {
        operation: o.name,
        endpoint: endpoint.clone(),
        location: "operation".into(),
        out,
    };
    if !o.deprecated && n.deprecated {
        ctx.push(Severity::Warning, None, "operation deprecated".into());
    }
    if o.deprecated && !n.deprecated {
        ctx.push(
            Severity::Info,
            None,
            "operation no longer deprecated".into(),
        );
    }
    if o.spec_path != n.spec_path {
        ctx.push(
            Severity::Info,
            None,
            format!(
                "path parameters renamed: {} -> {}",
                o.spec_path, n.spec_path
            ),
        );
    }
    if o.operation_id != n.operation_id {
        ctx.push(
            Severity::Info,
            None,
            format!(
                "operationId {} -> {} (vippsctl's stable name is unchanged)",
                o.operation_id.as_deref().unwrap_or("(none)"),
                n.operation_id.as_deref().unwrap_or("(none)")
            ),
        );
    }
    let errors = |s: &[String]| -> BTreeSet<String> {
        s.iter().filter(|c| !c.starts_with('2')).cloned().collect()
    };
    let (oe, ne) = (errors(&o.statuses), errors(&n.statuses));
    let added: Vec<&String> = ne.difference(&oe).collect();
    let removed: Vec<&String> = oe.difference(&ne).collect();
    if !added.is_empty() {
        ctx.push(
            Severity::Info,
            None,
            format!("error statuses added: {}", join(&added)),
        );
    }
    if !removed.is_empty() {
        ctx.push(
            Severity::Info,
            None,
            format!("error statuses removed: {}", join(&removed)),
        );
    }

    diff_params(&o.params, &n.params, &mut ctx);

    ctx.location = "request".into();
    match (&o.request, &n.request) {
        (Some(ob), Some(nb)) => diff_body(ob, nb, Side::Send, &mut ctx),
        (None, Some(nb)) => {
            let sev = if nb.required {
                Severity::Breaking
            } else {
                Severity::Warning
            };
            let req = if nb.required { "required" } else { "optional" };
            ctx.push(
                sev,
                Some(nb.root.clone()),
                format!("{req} request body added"),
            );
        }
        (Some(ob), None) => ctx.push(
            Severity::Breaking,
            Some(ob.root.clone()),
            "request body we send removed".into(),
        ),
        (None, None) => {}
    }

    let old_r: BTreeMap<&str, &Option<Body>> = o
        .responses
        .iter()
        .map(|r| (r.status.as_str(), &r.body))
        .collect();
    let new_r: BTreeMap<&str, &Option<Body>> = n
        .responses
        .iter()
        .map(|r| (r.status.as_str(), &r.body))
        .collect();
    let statuses: BTreeSet<&str> = old_r.keys().chain(new_r.keys()).copied().collect();
    for status in statuses {
        ctx.location = format!("response {status}");
        match (old_r.get(status), new_r.get(status)) {
            (Some(Some(ob)), Some(Some(nb))) => diff_body(ob, nb, Side::Read, &mut ctx),
            (Some(_), None) => ctx.push(
                Severity::Breaking,
                None,
                "success response we read removed".into(),
            ),
            (None, Some(_)) => ctx.push(Severity::Warning, None, "success response added".into()),
            (Some(None), Some(Some(nb))) => ctx.push(
                Severity::Info,
                Some(nb.root.clone()),
                "response body added".into(),
            ),
            (Some(Some(ob)), Some(None)) => ctx.push(
                Severity::Breaking,
                Some(ob.root.clone()),
                "response body we read removed".into(),
            ),
            _ => {}
        }
    }
}

fn join(items: &[&String]) -> String {
    items
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn diff_params(old: &[Param], new: &[Param], ctx: &mut Ctx<'_>) {
    let o: BTreeMap<String, &Param> = old.iter().map(|p| (p.key(), p)).collect();
    let n: BTreeMap<String, &Param> = new.iter().map(|p| (p.key(), p)).collect();
    let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
    for key in keys {
        match (o.get(key), n.get(key)) {
            (Some(op), Some(np)) => {
                ctx.location = format!("{} param", np.location);
                diff_field(&op.schema, &np.schema, Side::Send, &np.name, ctx);
            }
            (None, Some(np)) => {
                ctx.location = format!("{} param", np.location);
                let (sev, what) = if np.schema.required {
                    (Severity::Breaking, "required parameter added")
                } else {
                    (Severity::Warning, "optional parameter added")
                };
                ctx.push(
                    sev,
                    Some(np.name.clone()),
                    format!("{what}: {}", field_attrs(&np.schema)),
                );
            }
            (Some(op), None) => {
                ctx.location = format!("{} param", op.location);
                ctx.push(
                    Severity::Warning,
                    Some(op.name.clone()),
                    "parameter no longer documented".into(),
                );
            }
            (None, None) => {}
        }
    }
}

fn diff_body(old: &Body, new: &Body, side: Side, ctx: &mut Ctx<'_>) {
    if old.content_types != new.content_types {
        ctx.push(
            Severity::Warning,
            None,
            format!(
                "content types [{}] -> [{}]",
                old.content_types.join(", "),
                new.content_types.join(", ")
            ),
        );
    }
    if side == Side::Send && !old.required && new.required {
        ctx.push(
            Severity::Breaking,
            None,
            "request body became required".into(),
        );
    }
    let o: BTreeMap<&str, &Field> = old.fields.iter().map(|f| (f.path.as_str(), f)).collect();
    let n: BTreeMap<&str, &Field> = new.fields.iter().map(|f| (f.path.as_str(), f)).collect();
    let paths: BTreeSet<&str> = o.keys().chain(n.keys()).copied().collect();
    for path in paths {
        match (o.get(path), n.get(path)) {
            (Some(of), Some(nf)) => {
                diff_field(of, nf, side, &new.display(path), ctx);
            }
            (None, Some(nf)) => {
                // A whole new subtree is reported once, at its top; a new variant is reported
                // on its parent's variant list.
                if parent(path).is_some_and(|p| !o.contains_key(p) || path.ends_with('>')) {
                    continue;
                }
                let sev = match side {
                    Side::Send if nf.required => Severity::Breaking,
                    Side::Send => Severity::Warning,
                    Side::Read => Severity::Info,
                };
                let what = match (side, nf.required) {
                    (Side::Send, true) => "required request field added",
                    (Side::Send, false) => "optional request field added",
                    (Side::Read, _) => "response field added",
                };
                ctx.push(
                    sev,
                    Some(new.display(path)),
                    format!("{what}: {}", field_attrs(nf)),
                );
            }
            (Some(_), None) => {
                if parent(path).is_some_and(|p| !n.contains_key(p) || path.ends_with('>')) {
                    continue;
                }
                let what = match side {
                    Side::Send => "request field we send removed",
                    Side::Read => "response field we read removed",
                };
                ctx.push(Severity::Breaking, Some(old.display(path)), what.into());
            }
            (None, None) => {}
        }
    }
}

/// The path one level up: `a.b[]` -> `a.b`, `a.b` -> `a`, `a<V>` -> `a`, `a` -> ``.
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    if let Some(p) = path.strip_suffix("[]").or_else(|| path.strip_suffix("{}")) {
        return Some(p);
    }
    if path.ends_with('>') {
        if let Some(i) = path.rfind('<') {
            return Some(&path[..i]);
        }
    }
    let cut = path
        .char_indices()
        .filter(|(_, c)| matches!(c, '.' | ']' | '}' | '>'))
        .map(|(i, c)| if c == '.' { i } else { i + 1 })
        .next_back();
    Some(cut.map_or("", |i| &path[..i]))
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("none")
}

fn diff_field(o: &Field, n: &Field, side: Side, shown: &str, ctx: &mut Ctx<'_>) {
    let path = Some(if shown.is_empty() {
        "(body)".to_string()
    } else {
        shown.to_string()
    });
    let mut push = |sev: Severity, msg: String| ctx.push(sev, path.clone(), msg);
    if o.ty != n.ty {
        push(Severity::Breaking, format!("type {} -> {}", o.ty, n.ty));
    }
    if o.format != n.format {
        push(
            Severity::Breaking,
            format!("format {} -> {}", opt(&o.format), opt(&n.format)),
        );
    }
    if o.required != n.required {
        let sev = match (side, n.required) {
            (Side::Send, true) | (Side::Read, false) => Severity::Breaking,
            _ => Severity::Info,
        };
        let msg = if n.required {
            "became required"
        } else {
            "became optional"
        };
        push(sev, msg.into());
    }
    if o.nullable != n.nullable {
        let sev = match (side, n.nullable) {
            (Side::Read, true) => Severity::Breaking,
            (Side::Send, false) => Severity::Warning,
            _ => Severity::Info,
        };
        let msg = if n.nullable {
            "became nullable"
        } else {
            "no longer nullable"
        };
        push(sev, msg.into());
    }
    if !o.deprecated && n.deprecated {
        push(Severity::Warning, "deprecated".into());
    }
    if o.schema != n.schema {
        push(
            Severity::Info,
            format!("schema {} -> {}", opt(&o.schema), opt(&n.schema)),
        );
    }
    diff_set(
        &o.enum_values,
        &n.enum_values,
        side,
        "enum value",
        &mut push,
    );
    diff_set(&o.variants, &n.variants, side, "variant", &mut push);
    if o.pattern != n.pattern {
        let sev = match (side, &o.pattern, &n.pattern) {
            (Side::Read, _, _) | (_, Some(_), None) => Severity::Info,
            (Side::Send, None, Some(_)) => Severity::Breaking,
            (Side::Send, Some(_), Some(_)) => Severity::Warning,
            (Side::Send, None, None) => Severity::Info,
        };
        push(
            sev,
            format!("pattern {} -> {}", opt(&o.pattern), opt(&n.pattern)),
        );
    }
    let limits: [(&str, &Option<String>, &Option<String>, bool); 6] = [
        ("minLength", &o.min_length, &n.min_length, true),
        ("maxLength", &o.max_length, &n.max_length, false),
        ("minimum", &o.minimum, &n.minimum, true),
        ("maximum", &o.maximum, &n.maximum, false),
        ("minItems", &o.min_items, &n.min_items, true),
        ("maxItems", &o.max_items, &n.max_items, false),
    ];
    for (name, ov, nv, is_min) in limits {
        if ov == nv {
            continue;
        }
        let parse = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<f64>().ok());
        let tighter = match (parse(ov), parse(nv)) {
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (Some(a), Some(b)) => {
                if is_min {
                    b > a
                } else {
                    b < a
                }
            }
            (None, None) => false,
        };
        let sev = match (side, tighter) {
            (Side::Send, true) => Severity::Breaking,
            _ => Severity::Info,
        };
        let how = if tighter { "tightened" } else { "loosened" };
        push(sev, format!("{name} {how}: {} -> {}", opt(ov), opt(nv)));
    }
    for (name, ov, nv) in [
        ("exclusiveMinimum", o.exclusive_minimum, n.exclusive_minimum),
        ("exclusiveMaximum", o.exclusive_maximum, n.exclusive_maximum),
    ] {
        if ov != nv {
            let sev = if side == Side::Send && nv {
                Severity::Breaking
            } else {
                Severity::Info
            };
            push(sev, format!("{name} {ov} -> {nv}"));
        }
    }
}

fn diff_set(
    old: &[String],
    new: &[String],
    side: Side,
    what: &str,
    push: &mut impl FnMut(Severity, String),
) {
    if old == new {
        return;
    }
    let o: BTreeSet<&String> = old.iter().collect();
    let n: BTreeSet<&String> = new.iter().collect();
    let added: Vec<&String> = n.difference(&o).copied().collect();
    let removed: Vec<&String> = o.difference(&n).copied().collect();
    // An enum appearing where there was none restricts what we may send; disappearing frees it.
    if old.is_empty() && what == "enum value" {
        let sev = if side == Side::Send {
            Severity::Breaking
        } else {
            Severity::Info
        };
        push(sev, format!("now restricted to enum [{}]", join(&added)));
        return;
    }
    if new.is_empty() && what == "enum value" {
        push(Severity::Info, "enum restriction removed".into());
        return;
    }
    if !added.is_empty() {
        let sev = match side {
            Side::Read => Severity::Warning,
            Side::Send => Severity::Info,
        };
        push(sev, format!("{what} added: {}", join(&added)));
    }
    if !removed.is_empty() {
        let sev = match side {
            Side::Send => Severity::Breaking,
            Side::Read => Severity::Info,
        };
        push(sev, format!("{what} removed: {}", join(&removed)));
    }
}

/// The comparison of one API's two spec files.
#[derive(Debug, Clone, Serialize)]
pub struct ApiDiff {
    #[serde(serialize_with = "crate::specs::surface::serialize_api")]
    pub api: Api,
    pub old: String,
    pub new: String,
    pub old_version: Option<String>,
    pub new_version: Option<String>,
    pub changes: Vec<Change>,
    /// Why the two could not be compared (e.g. a Swagger 2.0 file).
    pub error: Option<String>,
}

impl ApiDiff {
    /// Compare two loaded (or failed) surfaces; a failure is kept as the diff's error.
    pub fn compare(
        api: Api,
        old_label: &str,
        old: Result<Surface, SpecError>,
        new_label: &str,
        new: Result<Surface, SpecError>,
    ) -> ApiDiff {
        let mut d = ApiDiff {
            api,
            old: old_label.into(),
            new: new_label.into(),
            old_version: None,
            new_version: None,
            changes: Vec::new(),
            error: None,
        };
        match (old, new) {
            (Ok(o), Ok(n)) => {
                d.old_version = Some(o.version.clone());
                d.new_version = Some(n.version.clone());
                d.changes = diff_surfaces(&o, &n);
            }
            (o, n) => {
                let mut errs = Vec::new();
                // Load errors already name their file.
                for r in [o, n] {
                    if let Err(e) = r {
                        errs.push(error_chain(&e));
                    }
                }
                d.error = Some(errs.join("; "));
            }
        }
        d
    }
}

/// A whole `specs diff` run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DiffReport {
    pub apis: Vec<ApiDiff>,
}

impl DiffReport {
    pub fn count(&self, severity: Severity) -> usize {
        self.changes().filter(|c| c.severity == severity).count()
    }

    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.apis.iter().flat_map(|a| a.changes.iter())
    }

    pub fn errors(&self) -> impl Iterator<Item = &ApiDiff> {
        self.apis.iter().filter(|a| a.error.is_some())
    }

    /// Note how the config uses each operation a change touches.
    pub fn annotate(&mut self, usage: &ConfigUsage) {
        for a in &mut self.apis {
            for c in &mut a.changes {
                if c.endpoint.is_some() {
                    c.usage = Some(usage.describe(&c.operation));
                }
            }
        }
    }

    pub fn summary(&self) -> String {
        format!(
            "Specs: {} breaking, {} warning, {} info.",
            self.count(Severity::Breaking),
            self.count(Severity::Warning),
            self.count(Severity::Info)
        )
    }

    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for a in &self.apis {
            let _ = writeln!(
                out,
                "{}: {} ({}) -> {} ({})",
                a.api.file_stem(),
                a.old,
                a.old_version.as_deref().unwrap_or("?"),
                a.new,
                a.new_version.as_deref().unwrap_or("?")
            );
            if let Some(e) = &a.error {
                let _ = writeln!(out, "  not compared: {e}");
            } else if a.changes.is_empty() {
                let _ = writeln!(out, "  no changes to the surface vippsctl uses");
            }
            for g in grouped(&a.changes) {
                let _ = writeln!(out, "  {}", group_line(&g));
                if let Some(u) = &g[0].usage {
                    let _ = writeln!(out, "      {u}");
                }
            }
        }
        let _ = writeln!(out, "{}", self.summary());
        out
    }

    pub fn render_markdown(&self) -> String {
        let mut out = String::new();
        for a in &self.apis {
            let _ = writeln!(
                out,
                "### {}: `{}` ({}) → `{}` ({})\n",
                a.api.file_stem(),
                a.old,
                a.old_version.as_deref().unwrap_or("?"),
                a.new,
                a.new_version.as_deref().unwrap_or("?")
            );
            if let Some(e) = &a.error {
                let _ = writeln!(out, "Not compared: {}\n", md(e));
                continue;
            }
            if a.changes.is_empty() {
                let _ = writeln!(out, "No changes to the surface vippsctl uses.\n");
                continue;
            }
            let _ = writeln!(
                out,
                "| severity | operation | where | field | change | config |"
            );
            let _ = writeln!(out, "|---|---|---|---|---|---|");
            for g in grouped(&a.changes) {
                let c = g[0];
                let op = match g.as_slice() {
                    [one] => match &one.endpoint {
                        Some(e) => format!("`{}` ({})", one.operation, e),
                        None => format!("`{}`", one.operation),
                    },
                    many => many
                        .iter()
                        .map(|c| format!("`{}`", c.operation))
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    c.severity.label(),
                    md(&op),
                    c.location,
                    c.path
                        .as_deref()
                        .map(|p| format!("`{}`", md(p)))
                        .unwrap_or_default(),
                    md(&c.message),
                    md(c.usage.as_deref().unwrap_or(""))
                );
            }
            out.push('\n');
        }
        let _ = writeln!(out, "**{}**", self.summary());
        out
    }

    pub fn render_json(&self) -> String {
        #[derive(Serialize)]
        struct Json<'a> {
            apis: &'a [ApiDiff],
            breaking: usize,
            warning: usize,
            info: usize,
        }
        let j = Json {
            apis: &self.apis,
            breaking: self.count(Severity::Breaking),
            warning: self.count(Severity::Warning),
            info: self.count(Severity::Info),
        };
        serde_json::to_string_pretty(&j).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The same change on several operations (a shared header, a schema used by list and get) is
/// shown once in the human-readable reports, naming every operation; JSON keeps one per operation.
pub fn grouped(changes: &[Change]) -> Vec<Vec<&Change>> {
    let mut groups: Vec<Vec<&Change>> = Vec::new();
    // Everything but the operation: severity, location, path, message, usage.
    type Key<'a> = (Severity, &'a str, Option<&'a str>, &'a str, Option<&'a str>);
    let mut index: BTreeMap<Key<'_>, usize> = BTreeMap::new();
    for c in changes {
        let key = (
            c.severity,
            c.location.as_str(),
            c.path.as_deref(),
            c.message.as_str(),
            c.usage.as_deref(),
        );
        match index.get(&key) {
            Some(&i) if c.endpoint.is_some() && groups[i][0].endpoint.is_some() => {
                groups[i].push(c)
            }
            _ => {
                index.insert(key, groups.len());
                groups.push(vec![c]);
            }
        }
    }
    groups
}

/// `update_redirect_qr (PUT /qr/v1/merchant-redirect/{id})`, or `list_webhooks, register_webhook`.
fn operations_label(group: &[&Change]) -> String {
    match group {
        [one] => match &one.endpoint {
            Some(e) => format!("{} ({e})", one.operation),
            None => one.operation.clone(),
        },
        many => many
            .iter()
            .map(|c| c.operation.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// `BREAKING update_redirect_qr (PUT /qr/v1/merchant-redirect/{id}) request MerchantRedirectQrRequest.redirectUrl: type string -> integer`
pub fn change_line(c: &Change) -> String {
    group_line(&[c])
}

fn group_line(group: &[&Change]) -> String {
    let Some(c) = group.first() else {
        return String::new();
    };
    let mut s = format!("{:<8} {}", c.severity.label(), operations_label(group));
    let _ = write!(s, " {}", c.location);
    if let Some(p) = &c.path {
        let _ = write!(s, " {p}");
    }
    let _ = write!(s, ": {}", c.message);
    s
}

/// Which API a spec file describes: its file name (`qr.yaml`), a parent folder named after the
/// API (`qr/latest.yaml`, `qr/history/x.yaml`), else the operations it contains.
pub fn api_for_file(path: &Path) -> Result<Api, SpecError> {
    let by_name = |s: &str| Api::ALL.into_iter().find(|a| a.file_stem() == s);
    if let Some(api) = path.file_stem().and_then(|s| s.to_str()).and_then(by_name) {
        return Ok(api);
    }
    for dir in path.ancestors().skip(1).take(2) {
        if let Some(api) = dir.file_name().and_then(|s| s.to_str()).and_then(by_name) {
            return Ok(api);
        }
    }
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let doc = parse(&text).map_err(|e| SpecError::InFile {
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    crate::specs::surface::detect_api(&doc).ok_or_else(|| SpecError::UnknownApi {
        path: path.to_path_buf(),
    })
}

/// The spec file for `api` in a directory: `<api>.yaml`, `<api>.yml`, `<api>.json` or
/// `<api>/latest.yaml` (the shared corpus layout).
pub fn find_in_dir(dir: &Path, api: Api) -> Option<PathBuf> {
    let stem = api.file_stem();
    [
        format!("{stem}.yaml"),
        format!("{stem}.yml"),
        format!("{stem}.json"),
        format!("{stem}/latest.yaml"),
    ]
    .into_iter()
    .map(|f| dir.join(f))
    .find(|p| p.is_file())
}

/// Compare two files, or two directories file by file. `api` overrides detection for files.
pub fn diff_paths(old: &Path, new: &Path, api: Option<Api>) -> Result<DiffReport, SpecError> {
    let mut report = DiffReport::default();
    let label = |p: &Path| p.display().to_string();
    match (old.is_dir(), new.is_dir()) {
        (false, false) => {
            let api = match api {
                Some(a) => a,
                None => api_for_file(new).or_else(|_| api_for_file(old))?,
            };
            report.apis.push(ApiDiff::compare(
                api,
                &label(old),
                load_surface(old, api),
                &label(new),
                load_surface(new, api),
            ));
        }
        (true, true) => {
            for a in Api::ALL {
                if api.is_some_and(|only| only != a) {
                    continue;
                }
                match (find_in_dir(old, a), find_in_dir(new, a)) {
                    (Some(o), Some(n)) => report.apis.push(ApiDiff::compare(
                        a,
                        &label(&o),
                        load_surface(&o, a),
                        &label(&n),
                        load_surface(&n, a),
                    )),
                    (None, None) => {}
                    (o, n) => {
                        let (present, side) = match (&o, &n) {
                            (Some(p), None) => (p, "NEW"),
                            (_, Some(p)) => (p, "OLD"),
                            _ => continue,
                        };
                        let d = ApiDiff {
                            api: a,
                            old: o.as_deref().map(label).unwrap_or_else(|| "(none)".into()),
                            new: n.as_deref().map(label).unwrap_or_else(|| "(none)".into()),
                            old_version: None,
                            new_version: None,
                            changes: Vec::new(),
                            error: Some(format!("{} has no {side} counterpart", present.display())),
                        };
                        report.apis.push(d);
                    }
                }
            }
        }
        _ => return Err(SpecError::MixedKinds),
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::specs::surface::Surface;

    /// A QR spec whose create body and response are given inline.
    fn surface(request: &str, response: &str, params: &str) -> Surface {
        let text = format!(
            r##"
openapi: 3.0.0
info: {{title: QR, version: "1"}}
paths:
  /qr/v1/merchant-redirect:
    post:
      parameters: {params}
      requestBody:
        content: {{application/json: {{schema: {request}}}}}
      responses:
        "200":
          description: OK
          content: {{application/json: {{schema: {response}}}}}
"##
        );
        Surface::from_document(Api::Qr, parse(&text).expect("parses"))
    }

    fn classify(old: (&str, &str, &str), new: (&str, &str, &str)) -> Vec<(Severity, String)> {
        let o = surface(old.0, old.1, old.2);
        let n = surface(new.0, new.1, new.2);
        diff_surfaces(&o, &n)
            .into_iter()
            .filter(|c| c.location != "operation" || c.endpoint.is_some())
            .map(|c| {
                (
                    c.severity,
                    format!(
                        "{} {}: {}",
                        c.location,
                        c.path.unwrap_or_default(),
                        c.message
                    ),
                )
            })
            .collect()
    }

    const OBJ: &str = "{type: object, properties: {id: {type: string}}}";

    #[test]
    fn request_side_rules() {
        use Severity::*;
        fn r(req: &str) -> (&str, &str, &str) {
            (req, OBJ, "[]")
        }
        let cases: Vec<(&str, &str, Severity, &str)> = vec![
            (OBJ, "{type: object, required: [id], properties: {id: {type: string}}}", Breaking, "became required"),
            (OBJ, "{type: object, properties: {id: {type: integer}}}", Breaking, "type string -> integer"),
            (OBJ, "{type: object, properties: {id: {type: string, format: uuid}}}", Breaking, "format none -> uuid"),
            (OBJ, "{type: object, properties: {id: {type: string, maxLength: 5}}}", Breaking, "maxLength tightened"),
            ("{type: object, properties: {id: {type: string, maxLength: 5}}}", OBJ, Info, "maxLength loosened"),
            (OBJ, "{type: object, properties: {id: {type: string, pattern: '^a$'}}}", Breaking, "pattern none"),
            ("{type: object, properties: {id: {type: string, enum: [A, B]}}}", "{type: object, properties: {id: {type: string, enum: [A]}}}", Breaking, "enum value removed: B"),
            ("{type: object, properties: {id: {type: string, enum: [A]}}}", "{type: object, properties: {id: {type: string, enum: [A, B]}}}", Info, "enum value added: B"),
            (OBJ, "{type: object, properties: {id: {type: string}, x: {type: string}}}", Warning, "optional request field added"),
            (OBJ, "{type: object, required: [x], properties: {id: {type: string}, x: {type: string}}}", Breaking, "required request field added"),
            (OBJ, "{type: object}", Breaking, "request field we send removed"),
            (OBJ, "{type: object, properties: {id: {type: string, deprecated: true}}}", Warning, "deprecated"),
        ];
        for (old, new, sev, msg) in cases {
            let got = classify(r(old), r(new));
            assert!(
                got.iter().any(|(s, m)| *s == sev && m.contains(msg)),
                "{old} -> {new}: want {sev:?} {msg}, got {got:#?}"
            );
        }
    }

    #[test]
    fn response_side_rules() {
        use Severity::*;
        fn r(resp: &str) -> (&str, &str, &str) {
            (OBJ, resp, "[]")
        }
        let req = "{type: object, required: [id], properties: {id: {type: string}}}";
        let cases: Vec<(&str, &str, Severity, &str)> = vec![
            (req, OBJ, Breaking, "became optional"),
            (OBJ, "{type: object, properties: {id: {type: string, nullable: true}}}", Breaking, "became nullable"),
            (OBJ, "{type: object}", Breaking, "response field we read removed"),
            (OBJ, "{type: object, properties: {id: {type: string}, x: {type: object, properties: {y: {type: string}}}}}", Info, "response field added"),
            ("{type: object, properties: {id: {type: string, enum: [A]}}}", "{type: object, properties: {id: {type: string, enum: [A, B]}}}", Warning, "enum value added: B"),
            (OBJ, "{type: object, properties: {id: {type: string, maxLength: 3}}}", Info, "maxLength tightened"),
        ];
        for (old, new, sev, msg) in cases {
            let got = classify(r(old), r(new));
            assert!(
                got.iter().any(|(s, m)| *s == sev && m.contains(msg)),
                "{old} -> {new}: want {sev:?} {msg}, got {got:#?}"
            );
        }
        // A new subtree is reported once, at its top.
        let got = classify(r(OBJ), r("{type: object, properties: {id: {type: string}, x: {type: object, properties: {y: {type: string}}}}}"));
        assert_eq!(got.len(), 1, "{got:#?}");
    }

    #[test]
    fn parameter_rules() {
        use Severity::*;
        let p =
            |params: &str| -> (String, String, String) { (OBJ.into(), OBJ.into(), params.into()) };
        let none = p("[]");
        let optional = p("[{name: X-Thing, in: header, schema: {type: string}}]");
        let required = p("[{name: x-thing, in: header, required: true, schema: {type: string}}]");
        fn as_ref(t: &(String, String, String)) -> (&str, &str, &str) {
            (t.0.as_str(), t.1.as_str(), t.2.as_str())
        }
        let got = classify(as_ref(&none), as_ref(&required));
        assert_eq!(
            got,
            vec![(
                Breaking,
                "header param x-thing: required parameter added: string required".to_string()
            )]
        );
        let got = classify(as_ref(&none), as_ref(&optional));
        assert_eq!(got[0].0, Warning);
        // Header names match case-insensitively.
        let got = classify(as_ref(&optional), as_ref(&required));
        assert_eq!(
            got,
            vec![(
                Breaking,
                "header param x-thing: became required".to_string()
            )]
        );
        let got = classify(as_ref(&optional), as_ref(&none));
        assert_eq!(got[0].0, Warning);
    }

    #[test]
    fn identical_surfaces_have_no_changes_and_removed_operations_break() {
        let s = surface(OBJ, OBJ, "[]");
        assert!(diff_surfaces(&s, &s).is_empty());
        let empty = Surface::from_document(
            Api::Qr,
            parse("openapi: 3.0.0\npaths: {}\n").expect("parses"),
        );
        let changes = diff_surfaces(&s, &empty);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].severity, Severity::Breaking);
        assert_eq!(changes[0].operation, "create_redirect_qr");
    }

    #[test]
    fn parent_paths() {
        assert_eq!(parent("a.b[]"), Some("a.b"));
        assert_eq!(parent("a.b"), Some("a"));
        assert_eq!(parent("a<V>"), Some("a"));
        assert_eq!(parent("a<V>.x"), Some("a<V>"));
        assert_eq!(parent("a[].x"), Some("a[]"));
        assert_eq!(parent("a"), Some(""));
        assert_eq!(parent(""), None);
    }

    #[test]
    fn renderers_agree_on_counts() {
        let o = surface(OBJ, OBJ, "[]");
        let n = surface(
            "{type: object, properties: {id: {type: integer}}}",
            OBJ,
            "[]",
        );
        let report = DiffReport {
            apis: vec![ApiDiff::compare(
                Api::Qr,
                "old.yaml",
                Ok(o),
                "new.yaml",
                Ok(n),
            )],
        };
        assert!(report.render_text().contains("BREAKING create_redirect_qr (POST /qr/v1/merchant-redirect) request body.id: type string -> integer"));
        assert!(report.render_markdown().contains("| BREAKING | `create_redirect_qr` (POST /qr/v1/merchant-redirect) | request | `body.id` | type string -> integer |"));
        let json: serde_json::Value = serde_json::from_str(&report.render_json()).expect("json");
        assert_eq!(json["breaking"], 1);
        assert_eq!(json["apis"][0]["changes"][0]["severity"], "breaking");
    }
}
