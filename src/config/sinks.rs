//! Checks of webhook secret sinks across the whole configuration: two webhooks whose secrets go
//! to the same file and key would overwrite each other (the second write wins, and every later
//! apply finds the first registration's secret missing and rotates it again).

use super::diagnostic::Diagnostic;
use super::index::SourceIndex;
use super::model::{Config, Origin, SecretSink};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

pub fn check(config: &Config, index: &SourceIndex, out: &mut Vec<Diagnostic>) {
    // (file, key) -> where the first webhook that writes it declared its sink.
    let mut seen: BTreeMap<(PathBuf, &str), (Origin, &str)> = BTreeMap::new();
    let mut commands: BTreeMap<&[String], Origin> = BTreeMap::new();
    let units = config.units();
    for m in units.iter() {
        for w in &m.webhooks {
            let at = index.field(&w.origin, "secret");
            match &w.secret {
                Some(SecretSink::File { file, key }) => {
                    let path = sink_path(&w.origin.file, file);
                    match seen.get(&(path.clone(), key.as_str())) {
                        Some((first, first_msn)) => out.push(
                            Diagnostic::error(
                                &at,
                                format!(
                                    "this webhook's secret goes to key `{key}` of {}, like the secret of the webhook of {} at {first}",
                                    file.display(),
                                    if *first_msn == super::model::PARTNER {
                                        "the partner level".to_string()
                                    } else {
                                        format!("merchant {first_msn}")
                                    }
                                ),
                            )
                            .with_hint("each registration has its own secret and the second write would replace the first; give each webhook its own key")
                            .with_code("secret-sink-conflict"),
                        ),
                        None => {
                            seen.insert((path, key.as_str()), (at, m.msn.as_str()));
                        }
                    }
                }
                Some(SecretSink::Command { command }) => match commands.get(command.as_slice()) {
                    Some(first) => out.push(
                        Diagnostic::warning(
                            &at,
                            format!("this webhook's secret goes to the same command as the secret of the webhook at {first}"),
                        )
                        .with_hint("unless the command tells them apart by VIPPSCTL_WEBHOOK_URL or VIPPSCTL_WEBHOOK_ID, the second secret replaces the first; give each webhook its own command")
                        .with_code("secret-sink-shared-command"),
                    ),
                    None => {
                        commands.insert(command.as_slice(), at);
                    }
                },
                None => {}
            }
        }
    }
}

/// The sink file as apply writes it (relative to the declaring file's folder), with `.` and
/// `..` resolved in the text so `./s.env` and `s.env` are one file.
fn sink_path(declared_in: &Path, file: &Path) -> PathBuf {
    let joined = declared_in.parent().unwrap_or(Path::new("")).join(file);
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
