//! Loading: paths -> files -> YAML trees -> structural checks -> typed config -> merge -> rules.

use super::diagnostic::{Diagnostic, Diagnostics, SourceCache};
use super::index::SourceIndex;
use super::model::{Config, Merchant, Origin};
use super::structure::Checker;
use super::tree::{self, Node};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A valid configuration and what it was read from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// The files read, sorted.
    pub files: Vec<PathBuf>,
    /// sha256 (hex) of the files' bytes, in path order; a saved plan records it.
    pub digest: String,
    /// Problems that do not make the config invalid (`--strict` makes them errors).
    pub warnings: Vec<Diagnostic>,
    /// The text of every file, for rendering diagnostics.
    pub sources: SourceCache,
    /// Value paths to places, for diagnostics that point at a field.
    pub index: SourceIndex,
}

impl Loaded {
    pub fn object_count(&self) -> usize {
        self.config
            .merchants
            .iter()
            .map(Merchant::object_count)
            .sum::<usize>()
            + self.config.partner.as_ref().map_or(0, |p| p.webhooks.len())
    }
}

/// Read, check and merge the config files at `paths` (files, or folders of `*.yaml`/`*.yml`).
/// `env` resolves `${NAME}`. Every problem found is returned, not only the first.
pub fn load(
    paths: &[PathBuf],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, Diagnostics> {
    let mut diags = Vec::new();
    let files = expand(paths, &mut diags);
    let mut inputs = Vec::new();
    for file in files {
        match std::fs::read(&file) {
            Ok(bytes) => inputs.push((file, bytes)),
            Err(e) => diags.push(
                Diagnostic::unlocated(format!("cannot read {}: {e}", file.display()))
                    .with_code("io"),
            ),
        }
    }
    load_inputs(inputs, diags, env)
}

/// `load` for texts already in memory (tests, benchmarks, editors), named by the paths that
/// diagnostics will show. Sorted by path like files of a folder.
pub fn load_sources(
    sources: &[(PathBuf, String)],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, Diagnostics> {
    let mut inputs: Vec<(PathBuf, Vec<u8>)> = sources
        .iter()
        .map(|(p, t)| (p.clone(), t.clone().into_bytes()))
        .collect();
    inputs.sort_by(|a, b| a.0.cmp(&b.0));
    load_inputs(inputs, Vec::new(), env)
}

fn load_inputs(
    inputs: Vec<(PathBuf, Vec<u8>)>,
    mut diags: Vec<Diagnostic>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, Diagnostics> {
    let mut sources = SourceCache::new();
    let mut index = SourceIndex::default();
    let mut hasher = Sha256::new();
    let schema = super::schema::json_schema();
    let mut checker = Checker::new(&schema);
    let mut parts: Vec<(PathBuf, Config)> = Vec::new();
    let files: Vec<PathBuf> = inputs.iter().map(|(p, _)| p.clone()).collect();
    for (file, bytes) in inputs {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
                diags.push(
                    Diagnostic::error(&Origin::new(&file, line, 1), "the file is not UTF-8 text")
                        .with_code("encoding"),
                );
                continue;
            }
        };
        let parsed = load_file(
            &file,
            &text,
            env,
            &mut checker,
            &mut index,
            &mut sources,
            &mut diags,
        );
        sources.insert(file.clone(), text);
        if let Some(config) = parsed {
            parts.push((file, config));
        }
    }
    let config = merge(parts, &mut diags);
    let partial = diags.iter().any(Diagnostic::is_error);
    let mut found = Vec::new();
    super::rules::check(&config, &index, &mut found);
    // With invalid objects left out, "no check-in webhook" may only mean the webhook was invalid.
    found.retain(|d| !(partial && d.code == "callback-without-webhook"));
    found.retain(|d| !repeats(d, &diags));
    diags.extend(found);
    diags.sort_by(|a, b| a.location.cmp(&b.location));
    if diags.iter().any(Diagnostic::is_error) {
        return Err(Diagnostics {
            items: diags,
            sources,
        });
    }
    Ok(Loaded {
        config,
        files,
        digest: hex::encode(hasher.finalize()),
        warnings: diags,
        sources,
        index,
    })
}

fn expand(paths: &[PathBuf], diags: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let entries = match std::fs::read_dir(p) {
                Ok(e) => e,
                Err(e) => {
                    diags.push(
                        Diagnostic::unlocated(format!("cannot read folder {}: {e}", p.display()))
                            .with_code("io"),
                    );
                    continue;
                }
            };
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|f| {
                    f.is_file()
                        && matches!(f.extension().and_then(|x| x.to_str()), Some("yaml" | "yml"))
                })
                .collect();
            if found.is_empty() {
                diags.push(
                    Diagnostic::unlocated(format!(
                        "{} holds no *.yaml or *.yml files",
                        p.display()
                    ))
                    .with_code("no-files"),
                );
            }
            files.append(&mut found);
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            diags.push(
                Diagnostic::unlocated(format!("{}: no such file or folder", p.display()))
                    .with_code("io"),
            );
        }
    }
    files.sort();
    files.dedup();
    files
}

fn load_file(
    file: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    checker: &mut Checker,
    index: &mut SourceIndex,
    sources: &mut SourceCache,
    diags: &mut Vec<Diagnostic>,
) -> Option<Config> {
    let at = |line, column| Origin::new(file, line, column);
    if looks_like_dotenv(text) {
        sources.hide_file(file);
        diags.push(not_a_config(file, "`KEY=value` lines, like a dotenv file"));
        return None;
    }
    let mut root = match tree::parse(text) {
        Ok(Some(n)) => n,
        Ok(None) => {
            diags.push(
                Diagnostic::error(&at(1, 1), "the file is empty")
                    .with_hint("a config file starts with `version: 1`")
                    .with_code("empty-file"),
            );
            return None;
        }
        Err(e) => {
            let mut d = Diagnostic::error(&at(e.line, e.column), e.message).with_code(e.code);
            d.hint = e.hint;
            diags.push(d);
            return None;
        }
    };
    if !matches!(root.value, tree::Value::Map(_)) {
        // Not a config at all; whatever it holds (a secret, say) is not quoted.
        sources.hide_file(file);
        diags.push(not_a_config(file, root.type_name()));
        return None;
    }
    let mut unset = Vec::new();
    tree::interpolate(&mut root, env, &mut unset);
    super::sensitive::collect(&root, sources.redactions());
    let before = diags.len();
    let mut unknown = Vec::new();
    for u in unset {
        let d = if u.unterminated {
            Diagnostic::error(&at(u.line, u.column), "`${` without a closing `}`")
                .with_hint("write `$${` for a literal `${`")
                .with_code("interpolation")
        } else {
            Diagnostic::error(
                &at(u.line, u.column),
                format!("environment variable `{}` is not set", u.name),
            )
            .with_hint(format!(
                "set {} before running vippsctl, or write `$${{` for a literal `${{`",
                u.name
            ))
            .with_code("unset-variable")
        };
        unknown.push((u.line, u.column));
        diags.push(d);
    }
    let mut issues = Vec::new();
    checker.check(&root, &mut issues);
    // A value with an unset variable is unknown: what it expanded to says nothing more.
    issues.retain(|i| !unknown.contains(&(i.line, i.column)));
    for i in issues {
        diags.push(Diagnostic {
            severity: i.severity,
            location: Some(at(i.line, i.column)),
            message: i.message,
            hint: i.hint,
            code: i.code,
        });
    }
    if diags[before..].iter().any(Diagnostic::is_error) {
        // Keep the objects that are usable, so the cross-object rules still report their
        // problems in the same run instead of after the first round of fixes.
        root = valid_part(&root, checker)?;
    }
    let mut config: Config = match serde_json::from_value(root.to_json()) {
        Ok(c) => c,
        Err(e) => {
            // The structural checks mirror the serde shapes; this is a gap in them, not user error alone.
            diags.push(
                Diagnostic::error(&at(root.line, root.column), format!("invalid config: {e}"))
                    .with_code("invalid"),
            );
            return None;
        }
    };
    index.add_file(file, &root);
    fill_origins(file, &root, &mut config, index);
    Some(config)
}

/// A file of a config folder that is not a configuration (`holds`: what it holds instead).
fn not_a_config(file: &Path, holds: &str) -> Diagnostic {
    Diagnostic::error(
        &Origin::new(file, 1, 1),
        format!("this is not a vippsctl configuration: it holds {holds}, not a mapping of fields"),
    )
    .with_hint(
        "every *.yaml and *.yml file of a config folder is read as configuration; a secret sink file belongs elsewhere or under another name (e.g. secrets.env); its content is not shown",
    )
    .with_code("not-a-config")
}

/// Whether every line with content is a `KEY=value` assignment or a comment: a dotenv file
/// (a secret sink), which YAML would read as one string and quote back in the error.
fn looks_like_dotenv(text: &str) -> bool {
    let mut assignments = 0;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        match line.split_once('=') {
            Some((k, _)) if super::diagnostic::is_env_name(k) => assignments += 1,
            _ => return false,
        }
    }
    assignments > 0
}

/// Whether a rule's diagnostic repeats what an earlier check said at the same place: a value
/// with an unset variable gets nothing more (it is unknown), and a problem the structural checks
/// already named (an http URL is both off the schema's pattern and not https) is named once.
fn repeats(d: &Diagnostic, earlier: &[Diagnostic]) -> bool {
    earlier.iter().any(|e| {
        e.location == d.location
            && (matches!(e.code, "unset-variable" | "interpolation") || e.code == d.code)
    })
}

/// The part of a file that deserialises: merchants with the fields that are usable, with only
/// the objects that are usable. "Usable" means serde can read it, after the obvious type fixes
/// (`Checker::repair`): a value that breaks only a pattern or a limit stays, so the rules still
/// check the object. `None` when nothing usable is left.
fn valid_part(root: &Node, checker: &mut Checker) -> Option<Node> {
    use tree::Value;
    const LISTS: [(&str, &str); 5] = [
        ("webhooks", "Webhook"),
        ("redirectQrs", "RedirectQr"),
        ("callbackQrs", "CallbackQr"),
        ("agreements", "Agreement"),
        ("agreementPolicies", "AgreementPolicy"),
    ];
    let no_merchants = Vec::new();
    let merchants = match root.get("merchants").map(|n| &n.value) {
        Some(Value::Seq(m)) => m,
        _ if root.get("partner").is_some() => &no_merchants,
        _ => return None,
    };
    let mut kept = Vec::new();
    for m in merchants {
        let Value::Map(entries) = &m.value else {
            continue;
        };
        let own: Vec<(Node, Node)> = entries
            .iter()
            .filter(|(k, _)| !LISTS.iter().any(|(l, _)| k.as_str() == Some(l)))
            .cloned()
            .collect();
        let own = Node {
            value: Value::Map(own),
            ..m.clone_shallow()
        };
        let Some(Node {
            value: Value::Map(mut fields),
            ..
        }) = salvage(checker, &own, "Merchant")
        else {
            continue;
        };
        for (list, def) in LISTS {
            let Some(Value::Seq(items)) = m.get(list).map(|n| &n.value) else {
                continue;
            };
            let good: Vec<Node> = items
                .iter()
                .filter_map(|i| salvage(checker, i, def))
                .collect();
            let key = Node {
                value: Value::Str(list.to_string()),
                ..m.clone_shallow()
            };
            fields.push((
                key,
                Node {
                    value: Value::Seq(good),
                    ..m.clone_shallow()
                },
            ));
        }
        kept.push(Node {
            value: Value::Map(fields),
            ..m.clone_shallow()
        });
    }
    let scalar = |v: Value| Node {
        value: v,
        ..root.clone_shallow()
    };
    let mut top = vec![(scalar(Value::Str("version".into())), scalar(Value::Int(1)))];
    if let Some(env) = root.get("environment") {
        let mut issues = Vec::new();
        checker.check_definition(env, "Environment", &mut issues);
        if issues.is_empty() && !matches!(env.value, Value::Null) {
            top.push((scalar(Value::Str("environment".into())), env.clone()));
        }
    }
    top.push((
        scalar(Value::Str("merchants".into())),
        Node {
            value: Value::Seq(kept),
            ..root.clone_shallow()
        },
    ));
    if let Some(
        p @ Node {
            value: Value::Map(entries),
            ..
        },
    ) = root.get("partner")
    {
        // The partner's usable part too, so its rules run in the same pass.
        let own: Vec<(Node, Node)> = entries
            .iter()
            .filter(|(k, _)| k.as_str() != Some("webhooks"))
            .cloned()
            .collect();
        let own = Node {
            value: Value::Map(own),
            ..p.clone_shallow()
        };
        if let Some(Node {
            value: Value::Map(mut fields),
            ..
        }) = salvage(checker, &own, "Partner")
        {
            if let Some(Value::Seq(items)) = p.get("webhooks").map(|n| &n.value) {
                let good: Vec<Node> = items
                    .iter()
                    .filter_map(|i| salvage(checker, i, "Webhook"))
                    .collect();
                fields.push((
                    Node {
                        value: Value::Str("webhooks".into()),
                        ..p.clone_shallow()
                    },
                    Node {
                        value: Value::Seq(good),
                        ..p.clone_shallow()
                    },
                ));
            }
            top.push((
                scalar(Value::Str("partner".into())),
                Node {
                    value: Value::Map(fields),
                    ..p.clone_shallow()
                },
            ));
        }
    }
    Some(scalar(Value::Map(top)))
}

/// An object as far as it is usable: itself (type errors repaired) when serde reads it as
/// definition `def`, else its required fields plus each other field that keeps it readable;
/// `None` when even that is not.
fn salvage(checker: &mut Checker, node: &Node, def: &str) -> Option<Node> {
    use tree::Value;
    let node = checker.repair(node, def);
    if usable(def, &node) {
        return Some(node);
    }
    let Value::Map(entries) = &node.value else {
        return None;
    };
    let required = checker.required(def);
    let base: Vec<(Node, Node)> = entries
        .iter()
        .filter(|(k, _)| k.as_str().is_some_and(|k| required.iter().any(|r| r == k)))
        .cloned()
        .collect();
    let mut kept = base.clone();
    for entry in entries.iter().filter(|e| !base.contains(e)) {
        let mut trial = base.clone();
        trial.push(entry.clone());
        if usable(
            def,
            &Node {
                value: Value::Map(trial),
                ..node.clone_shallow()
            },
        ) {
            kept.push(entry.clone());
        }
    }
    let candidate = Node {
        value: Value::Map(kept),
        ..node.clone_shallow()
    };
    usable(def, &candidate).then_some(candidate)
}

/// Whether serde reads `node` as the named definition: what the typed config, and so the
/// cross-object rules, need of an object.
fn usable(def: &str, node: &Node) -> bool {
    use super::model::{Agreement, AgreementPolicy, CallbackQr, Partner, RedirectQr, Webhook};
    fn reads<T: serde::de::DeserializeOwned>(node: &Node) -> bool {
        serde_json::from_value::<T>(node.to_json()).is_ok()
    }
    match def {
        "Merchant" => reads::<Merchant>(node),
        "Partner" => reads::<Partner>(node),
        "Webhook" => reads::<Webhook>(node),
        "RedirectQr" => reads::<RedirectQr>(node),
        "CallbackQr" => reads::<CallbackQr>(node),
        "Agreement" => reads::<Agreement>(node),
        "AgreementPolicy" => reads::<AgreementPolicy>(node),
        _ => false,
    }
}

fn fill_origins(file: &Path, root: &Node, config: &mut Config, index: &mut SourceIndex) {
    fn items(n: Option<&Node>) -> &[Node] {
        match n.map(|n| &n.value) {
            Some(tree::Value::Seq(items)) => items,
            _ => &[],
        }
    }
    /// Give each object of one list (`key` under the merchant node) its position and index path.
    fn place<T>(
        file: &Path,
        index: &mut SourceIndex,
        merchant: (usize, &Node),
        key: &str,
        objects: &mut [T],
        origin: fn(&mut T) -> &mut Origin,
    ) {
        let (i, node) = merchant;
        for (j, (o, n)) in objects
            .iter_mut()
            .zip(items(node.get(key)).iter())
            .enumerate()
        {
            let o = origin(o);
            *o = Origin::new(file, n.line, n.column);
            index.add_object(o, format!("merchants[{i}].{key}[{j}]"));
        }
    }
    if let (Some(p), Some(node)) = (config.partner.as_mut(), root.get("partner")) {
        p.origin = Origin::new(file, node.line, node.column);
        index.add_object(&p.origin, "partner".to_string());
        for (j, (w, n)) in p
            .webhooks
            .iter_mut()
            .zip(items(node.get("webhooks")).iter())
            .enumerate()
        {
            w.origin = Origin::new(file, n.line, n.column);
            index.add_object(&w.origin, format!("partner.webhooks[{j}]"));
        }
    }
    let merchants = items(root.get("merchants"));
    for (i, (m, node)) in config
        .merchants
        .iter_mut()
        .zip(merchants.iter())
        .enumerate()
    {
        m.origin = Origin::new(file, node.line, node.column);
        index.add_object(&m.origin, format!("merchants[{i}]"));
        let at = (i, node);
        place(file, index, at, "webhooks", &mut m.webhooks, |w| {
            &mut w.origin
        });
        place(file, index, at, "redirectQrs", &mut m.redirect_qrs, |q| {
            &mut q.origin
        });
        place(file, index, at, "callbackQrs", &mut m.callback_qrs, |q| {
            &mut q.origin
        });
        place(file, index, at, "agreements", &mut m.agreements, |a| {
            &mut a.origin
        });
        place(
            file,
            index,
            at,
            "agreementPolicies",
            &mut m.agreement_policies,
            |a| &mut a.origin,
        );
    }
}

/// One config from many files: merchants with the same MSN are one merchant.
fn merge(parts: Vec<(PathBuf, Config)>, diags: &mut Vec<Diagnostic>) -> Config {
    let mut out = Config {
        version: 1,
        environment: None,
        merchants: Vec::new(),
        partner: None,
    };
    let mut env_from: Option<PathBuf> = None;
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (file, config) in parts {
        if let Some(e) = config.environment {
            match (out.environment, &env_from) {
                (Some(prev), Some(prev_file)) if prev != e => diags.push(
                    Diagnostic::error(
                        &Origin::new(&file, 1, 1),
                        format!(
                            "`environment: {e}` differs from `environment: {prev}` in {}",
                            prev_file.display()
                        ),
                    )
                    .with_hint(
                        "one run talks to one environment; split the configs or make them agree",
                    )
                    .with_code("environment-conflict"),
                ),
                _ => {
                    out.environment = Some(e);
                    env_from = Some(file.clone());
                }
            }
        }
        for m in config.merchants {
            // By MSN: a partner's folder holds thousands of merchants.
            match index.get(&m.msn) {
                None => {
                    index.insert(m.msn.clone(), out.merchants.len());
                    out.merchants.push(m);
                }
                Some(&i) => merge_merchant(&mut out.merchants[i], m, diags),
            }
        }
        match (&mut out.partner, config.partner) {
            (_, None) => {}
            (None, Some(p)) => out.partner = Some(p),
            (Some(into), Some(p)) => merge_partner(into, p, diags),
        }
    }
    out
}

/// The partner level may be split across files like a merchant: webhooks are joined, the
/// credentials set in one place (or identically).
fn merge_partner(
    into: &mut super::model::Partner,
    p: super::model::Partner,
    diags: &mut Vec<Diagnostic>,
) {
    match (&into.credentials, &p.credentials) {
        (Some(a), Some(b)) if a != b => diags.push(
            Diagnostic::error(&p.origin, "`partner` sets `credentials` again, differently")
                .with_hint(format!(
                    "they are already set for the partner at {}; set them in one place",
                    into.origin
                ))
                .with_code("merchant-conflict"),
        ),
        (None, Some(_)) => into.credentials = p.credentials.clone(),
        _ => {}
    }
    for k in p.prune {
        if !into.prune.contains(&k) {
            into.prune.push(k);
        }
    }
    into.webhooks.extend(p.webhooks);
}

fn merge_merchant(into: &mut Merchant, m: Merchant, diags: &mut Vec<Diagnostic>) {
    let conflict = |what: &str, diags: &mut Vec<Diagnostic>, first: &Origin| {
        diags.push(
            Diagnostic::error(
                &m.origin,
                format!("merchant {} sets `{what}` again, differently", m.msn),
            )
            .with_hint(format!(
                "it is already set for this merchant at {first}; set it in one place"
            ))
            .with_code("merchant-conflict"),
        );
    };
    match (&into.name, &m.name) {
        (Some(a), Some(b)) if a != b => conflict("name", diags, &into.origin),
        (None, Some(_)) => into.name = m.name.clone(),
        _ => {}
    }
    match (&into.credentials, &m.credentials) {
        (Some(a), Some(b)) if a != b => conflict("credentials", diags, &into.origin),
        (None, Some(_)) => into.credentials = m.credentials.clone(),
        _ => {}
    }
    for k in m.prune {
        if !into.prune.contains(&k) {
            into.prune.push(k);
        }
    }
    into.webhooks.extend(m.webhooks);
    into.redirect_qrs.extend(m.redirect_qrs);
    into.callback_qrs.extend(m.callback_qrs);
    into.agreements.extend(m.agreements);
    into.agreement_policies.extend(m.agreement_policies);
}
