//! Located diagnostics and their rendering: `file:line:column: error: message`, the source line,
//! a caret, and a hint. The reconciler reports plan-time problems through the same type.
//!
//! Rendering is the one place diagnostics become text (`render` and `render_json`), so it is where
//! secrets and personal data are masked, in every part: message, hint and source line. The loader
//! records which values are sensitive (`SourceCache::redactions`) and which files must not be
//! quoted at all (`SourceCache::hide_file`).

use super::model::Origin;
use crate::mask::Redactions;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem, at a place in a config file when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub location: Option<Origin>,
    pub message: String,
    pub hint: Option<String>,
    /// A stable name for the kind of problem (for JSON output and tests).
    pub code: &'static str,
}

impl Diagnostic {
    pub fn error(origin: &Origin, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            location: Some(origin.clone()),
            message: message.into(),
            hint: None,
            code: "error",
        }
    }

    pub fn warning(origin: &Origin, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(origin, message)
        }
    }

    /// A problem with no place in a file (e.g. a path that does not exist).
    pub fn unlocated(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            location: None,
            message: message.into(),
            hint: None,
            code: "error",
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// What `load` returns when the config is not valid: every problem found, warnings included.
#[derive(Debug, Clone, Default, thiserror::Error)]
#[error("{} in the configuration", summary(.items))]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
    /// The text of each file read, so rendering does not read the disk again.
    pub sources: SourceCache,
}

fn summary(items: &[Diagnostic]) -> String {
    let errors = items.iter().filter(|d| d.is_error()).count();
    let warnings = items.len() - errors;
    match (errors, warnings) {
        (1, 0) => "1 error".into(),
        (e, 0) => format!("{e} errors"),
        (e, w) => format!("{e} error(s) and {w} warning(s)"),
    }
}

impl Diagnostics {
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn render(&self, color: bool) -> String {
        render(&self.items, &self.sources, color)
    }
}

/// The source text of config files, by path. A file not in the cache is read from disk when a
/// diagnostic points into it (the reconciler's plan-time diagnostics need no cache of their own).
#[derive(Debug, Clone, Default)]
pub struct SourceCache {
    files: HashMap<PathBuf, String>,
    /// Files that are not configuration (a dotenv sink named `*.yaml`): never quoted.
    hidden: Vec<PathBuf>,
    /// Secrets and phone numbers found in the files, masked in everything rendered (boxed: a
    /// failed load returns the cache, and results stay small).
    redactions: Box<Redactions>,
}

impl SourceCache {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, path: impl Into<PathBuf>, text: impl Into<String>) {
        self.files.insert(path.into(), text.into());
    }

    /// Never show a line of `path` (its content may be a secret).
    pub fn hide_file(&mut self, path: impl Into<PathBuf>) {
        self.hidden.push(path.into());
    }

    /// The values masked wherever a diagnostic would show them.
    pub fn redactions(&mut self) -> &mut Redactions {
        &mut self.redactions
    }

    /// Line `n` (1-based) of `path`, with secrets and personal data masked.
    pub fn line(&self, path: &Path, n: usize) -> Option<String> {
        if self.hidden.iter().any(|h| h == path) {
            return None;
        }
        let pick = |text: &str| {
            text.lines()
                .nth(n.checked_sub(1)?)
                .map(|l| self.redactions.apply(&mask_personal_data(l)))
        };
        match self.files.get(path) {
            Some(text) => pick(text),
            None => std::fs::read_to_string(path).ok().and_then(|t| pick(&t)),
        }
    }

    /// A message or hint as it may be shown: known secrets and phone numbers masked.
    pub fn mask(&self, text: &str) -> String {
        self.redactions.apply(text)
    }
}

/// Keys whose value, written on the same line, is masked by position (whatever its length):
/// the search-and-replace of [`Redactions`] leaves values too short to search for.
const PHONE_KEYS: [&str; 1] = ["phoneNumber"];
/// A credential field names an environment variable; anything else in it is a pasted secret.
const CREDENTIAL_KEYS: [&str; 3] = ["clientId", "clientSecret", "subscriptionKey"];

/// Hide personal data and secrets on a source line before it is shown: a `phoneNumber` is
/// masked by the one rule (`crate::mask`); a credential field that holds a value instead of a
/// variable name, and a `secret` written as a value instead of a sink, are hidden whole.
pub fn mask_personal_data(line: &str) -> String {
    let mut out = line.to_string();
    for key in PHONE_KEYS {
        if let Some((a, b)) = value_span(&out, key) {
            let masked = crate::mask::phone(&out[a..b]);
            out.replace_range(a..b, &masked);
        }
    }
    for key in CREDENTIAL_KEYS {
        if let Some((a, b)) = value_span(&out, key) {
            if !is_env_name(&out[a..b]) && !out[a..].starts_with("${") {
                let masked = crate::mask::secret(&out[a..b]);
                out.replace_range(a..b, &masked);
            }
        }
    }
    if let Some((a, b)) = value_span(&out, "secret") {
        let value = &out[a..b];
        // `secret: { file: ... }` and `secret: [` open a sink, `${NAME}` names a variable; any
        // other value is the secret itself.
        if !value.starts_with(['{', '[']) && !value.starts_with("${") {
            let masked = crate::mask::secret(value);
            out.replace_range(a..b, &masked);
        }
    }
    out
}

/// Whether `value` is a portable environment variable name (what credential fields hold).
pub(crate) fn is_env_name(value: &str) -> bool {
    value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The byte range of the value after `key:` on a line (without quotes).
fn value_span(line: &str, key: &str) -> Option<(usize, usize)> {
    let at = line.match_indices(key).map(|(i, _)| i).find(|&i| {
        line[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })? + key.len();
    let rest = &line[at..];
    let colon = rest.find(':')?;
    if !rest[..colon].trim().is_empty() {
        return None;
    }
    let after = &rest[colon + 1..];
    let skipped = after.len() - after.trim_start().len();
    let mut start = at + colon + 1 + skipped;
    let quote = line[start..]
        .chars()
        .next()
        .filter(|c| *c == '"' || *c == '\'');
    let end = match quote {
        Some(q) => {
            start += 1;
            line[start..].find(q).map_or(line.len(), |i| start + i)
        }
        None => {
            let tail = &line[start..];
            let stop = [tail.find(','), tail.find('}'), tail.find(" #")]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(tail.len());
            start + tail[..stop].trim_end().len()
        }
    };
    (end > start).then_some((start, end))
}

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const CYAN: &str = "\x1b[1;36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Render diagnostics as text, each with its source line and a caret; errors before warnings
/// would lose the file order, so they stay in the order found.
pub fn render(diags: &[Diagnostic], sources: &SourceCache, color: bool) -> String {
    let paint = |code: &str, text: &str| {
        if color {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    for d in diags {
        let sev = paint(if d.is_error() { RED } else { YELLOW }, d.severity.as_str());
        let message = sources.mask(&d.message);
        match &d.location {
            Some(o) => {
                let _ = writeln!(out, "{}: {sev}: {message}", paint(BOLD, &o.to_string()));
                if let Some(src) = sources.line(&o.file, o.line) {
                    let gutter = o.line.to_string();
                    let pad = " ".repeat(gutter.len());
                    let _ = writeln!(out, "{pad} |");
                    let _ = writeln!(out, "{gutter} | {src}");
                    let (col, width) = caret_span(&src, o.column);
                    let marker = format!("^{}", "~".repeat(width.saturating_sub(1)));
                    let _ = writeln!(
                        out,
                        "{pad} | {}{}",
                        " ".repeat(col),
                        paint(if d.is_error() { RED } else { YELLOW }, &marker)
                    );
                }
            }
            None => {
                let _ = writeln!(out, "{sev}: {message}");
            }
        }
        if let Some(h) = &d.hint {
            let _ = writeln!(out, "{}: {}", paint(CYAN, "hint"), sources.mask(h));
        }
    }
    out
}

/// Where the caret goes (in display columns) and how far it reaches: the token at `column`.
fn caret_span(line: &str, column: usize) -> (usize, usize) {
    let chars: Vec<char> = line.chars().collect();
    let start = column.saturating_sub(1).min(chars.len());
    let indent = start;
    let mut end = start;
    let quote = chars
        .get(start)
        .copied()
        .filter(|c| *c == '"' || *c == '\'');
    if let Some(q) = quote {
        end += 1;
        while end < chars.len() && chars[end] != q {
            end += 1;
        }
        end = (end + 1).min(chars.len());
    } else if start > 0
        && !chars[..start].iter().any(|c| matches!(c, '[' | '{'))
        && chars[start - 1] == ' '
        && chars[..start].contains(&':')
    {
        // A block scalar value runs to the end of the line (or a comment).
        end = chars.len();
        if let Some(hash) =
            (start..chars.len()).find(|&i| chars[i] == '#' && i > 0 && chars[i - 1] == ' ')
        {
            end = hash;
        }
        while end > start + 1 && chars[end - 1] == ' ' {
            end -= 1;
        }
    } else {
        while end < chars.len()
            && !chars[end].is_whitespace()
            && !matches!(chars[end], ',' | ']' | '}')
        {
            end += 1;
        }
        if end > start + 1 && chars[end - 1] == ':' {
            end -= 1;
        }
    }
    (indent, (end - start).max(1))
}

/// The JSON form of `validate --format json`, masked like the text form.
pub fn render_json(diags: &[Diagnostic], sources: &SourceCache) -> String {
    let list: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            serde_json::json!({
                "severity": d.severity,
                "code": d.code,
                "file": d.location.as_ref().map(|o| o.file.display().to_string()),
                "line": d.location.as_ref().map(|o| o.line),
                "column": d.location.as_ref().map(|o| o.column),
                "message": sources.mask(&d.message),
                "hint": d.hint.as_deref().map(|h| sources.mask(h)),
            })
        })
        .collect();
    serde_json::to_string_pretty(&list).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_line_caret_and_hint() {
        let mut cache = SourceCache::new();
        cache.insert("c.yaml", "version: 1\nmerchants:\n  - msn: 12ab\n");
        let d =
            Diagnostic::error(&Origin::new("c.yaml", 3, 10), "bad MSN").with_hint("digits only");
        let text = render(&[d], &cache, false);
        assert_eq!(
            text,
            "c.yaml:3:10: error: bad MSN\n  |\n3 |   - msn: 12ab\n  |          ^~~~\nhint: digits only\n"
        );
    }

    #[test]
    fn colour_only_when_asked() {
        let mut cache = SourceCache::new();
        cache.insert("c.yaml", "version: 2\n");
        let d = [Diagnostic::warning(&Origin::new("c.yaml", 1, 10), "w").with_hint("h")];
        assert!(!render(&d, &cache, false).contains('\x1b'));
        let coloured = render(&d, &cache, true);
        assert!(
            coloured.contains("\x1b[1;33mwarning\x1b[0m"),
            "{coloured:?}"
        );
    }

    #[test]
    fn phone_numbers_are_masked_on_source_lines() {
        assert_eq!(
            mask_personal_data("    phoneNumber: 4791234567"),
            "    phoneNumber: ********67"
        );
        assert_eq!(
            mask_personal_data("  - { phoneNumber: \"4791234567\", x: 1 }"),
            "  - { phoneNumber: \"********67\", x: 1 }"
        );
        assert_eq!(
            mask_personal_data("  clientSecret: \"ab-c!\""),
            "  clientSecret: \"*****\""
        );
        assert_eq!(
            mask_personal_data("  clientSecret: SHOP_SECRET"),
            "  clientSecret: SHOP_SECRET"
        );
        assert_eq!(
            mask_personal_data("        secret: whsec_abc"),
            "        secret: *********"
        );
        assert_eq!(
            mask_personal_data("        secret: { file: s.env, key: K }"),
            "        secret: { file: s.env, key: K }"
        );
        assert_eq!(mask_personal_data("  mysecret: abc"), "  mysecret: abc");
        assert_eq!(
            mask_personal_data("        secret: ${PASTED}"),
            "        secret: ${PASTED}"
        );
    }
}
