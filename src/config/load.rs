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
            .sum()
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
        let parsed = load_file(&file, &text, env, &mut checker, &mut index, &mut diags);
        sources.insert(file.clone(), text);
        if let Some(config) = parsed {
            parts.push((file, config));
        }
    }
    let config = merge(parts, &mut diags);
    if !diags.iter().any(Diagnostic::is_error) {
        super::rules::check(&config, &index, &mut diags);
    }
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
    diags: &mut Vec<Diagnostic>,
) -> Option<Config> {
    let at = |line, column| Origin::new(file, line, column);
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
    let mut unset = Vec::new();
    tree::interpolate(&mut root, env, &mut unset);
    let before = diags.len();
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
        diags.push(d);
    }
    let mut issues = Vec::new();
    checker.check(&root, &mut issues);
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
        return None;
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

fn fill_origins(file: &Path, root: &Node, config: &mut Config, index: &mut SourceIndex) {
    fn items(n: Option<&Node>) -> &[Node] {
        match n.map(|n| &n.value) {
            Some(tree::Value::Seq(items)) => items,
            _ => &[],
        }
    }
    let merchants = items(root.get("merchants"));
    for (i, (m, node)) in config
        .merchants
        .iter_mut()
        .zip(merchants.iter())
        .enumerate()
    {
        let mut set = |origin: &mut Origin, n: &Node, path: String| {
            *origin = Origin::new(file, n.line, n.column);
            index.add_object(origin, path);
        };
        set(&mut m.origin, node, format!("merchants[{i}]"));
        for (j, (w, n)) in m
            .webhooks
            .iter_mut()
            .zip(items(node.get("webhooks")).iter())
            .enumerate()
        {
            set(&mut w.origin, n, format!("merchants[{i}].webhooks[{j}]"));
        }
        for (j, (q, n)) in m
            .redirect_qrs
            .iter_mut()
            .zip(items(node.get("redirectQrs")).iter())
            .enumerate()
        {
            set(&mut q.origin, n, format!("merchants[{i}].redirectQrs[{j}]"));
        }
        for (j, (q, n)) in m
            .callback_qrs
            .iter_mut()
            .zip(items(node.get("callbackQrs")).iter())
            .enumerate()
        {
            set(&mut q.origin, n, format!("merchants[{i}].callbackQrs[{j}]"));
        }
        for (j, (a, n)) in m
            .agreements
            .iter_mut()
            .zip(items(node.get("agreements")).iter())
            .enumerate()
        {
            set(&mut a.origin, n, format!("merchants[{i}].agreements[{j}]"));
        }
    }
}

/// One config from many files: merchants with the same MSN are one merchant.
fn merge(parts: Vec<(PathBuf, Config)>, diags: &mut Vec<Diagnostic>) -> Config {
    let mut out = Config {
        version: 1,
        environment: None,
        merchants: Vec::new(),
    };
    let mut env_from: Option<PathBuf> = None;
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
            match out.merchants.iter_mut().find(|x| x.msn == m.msn) {
                None => out.merchants.push(m),
                Some(existing) => merge_merchant(existing, m, diags),
            }
        }
    }
    out
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
}
