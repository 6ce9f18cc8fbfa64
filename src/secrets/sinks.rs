//! Secret sinks: where a webhook's one-time secret goes the moment it is received. The value is
//! written only here; it never reaches a log, a plan or an error.
//!
//! File sinks are written with [`crate::fsutil::write_atomic`]: a sink that is a symbolic link is
//! written through to its target, and a temporary file a killed write left next to a sink is
//! removed by the next apply ([`remove_leftover_temp_files`]). A command sink is judged by its
//! exit status, not by its pipes closing (a helper it starts in the background may keep them).

use crate::config::model::SecretSink;
use crate::domain::Secret;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("could not write the secret to {path}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not run the secret command `{program}`")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the secret command `{program}` failed ({status}){stderr}")]
    Command {
        program: String,
        status: String,
        stderr: String,
    },
    #[error("the secret command `{program}` did not finish within {0:?}", TIMEOUT)]
    Timeout { program: String },
    #[error("the secret sink declares an empty command")]
    EmptyCommand,
}

const TIMEOUT: Duration = Duration::from_secs(60);
/// After the command exited, how long to keep reading what it wrote to stderr: a child it left
/// running may hold the pipe open for good.
const STDERR_AFTER_EXIT: Duration = Duration::from_millis(200);
/// The most of a failing command's stderr kept.
const STDERR_MAX: usize = 64 << 10;

/// A resolved sink: file paths made absolute against the declaring file's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    File { path: PathBuf, key: String },
    Command { argv: Vec<String> },
}

impl Sink {
    pub fn resolve(sink: &SecretSink, declared_in: &Path) -> Sink {
        let base = declared_in.parent().unwrap_or(Path::new("."));
        match sink {
            SecretSink::File { file, key } => Sink::File {
                path: if file.is_absolute() {
                    file.clone()
                } else {
                    base.join(file)
                },
                key: key.clone(),
            },
            SecretSink::Command { command } => Sink::Command {
                argv: command.clone(),
            },
        }
    }
}

/// Context handed to a command sink in its environment (never the secret: that goes on stdin).
#[derive(Debug, Clone)]
pub struct SecretContext {
    pub msn: String,
    pub url: String,
    pub webhook_id: String,
}

/// One lock for all file sinks in this process: two secrets for the same file must not race.
static FILE_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub async fn deliver(sink: &Sink, secret: &Secret, ctx: &SecretContext) -> Result<(), SinkError> {
    match sink {
        Sink::File { path, key } => {
            let _guard = FILE_LOCK.lock().await;
            write_dotenv_with_id(path, key, secret, Some(&ctx.webhook_id)).map_err(|source| {
                SinkError::File {
                    path: path.clone(),
                    source,
                }
            })
        }
        Sink::Command { argv } => run_command(argv, secret, ctx).await,
    }
}

/// Replace (or add) `KEY=value` in a dotenv file, keeping the other lines; atomic (temp file in
/// the same folder, fsync, rename, fsync) and readable by the owner only.
pub fn write_dotenv(path: &Path, key: &str, secret: &Secret) -> std::io::Result<()> {
    write_dotenv_with_id(path, key, secret, None)
}

/// The comment line that records which registration a key's secret belongs to. A run killed
/// between registering and writing leaves a registration whose secret nobody has; this line
/// lets the next run tell it from one whose secret is stored (see [`unverified_webhooks`]).
fn id_marker(key: &str, webhook_id: &str) -> String {
    format!("{ID_MARKER}{key}={webhook_id}")
}

const ID_MARKER: &str = "#vippsctl-webhook-id:";

/// What a file sink holds for `key`: `None` if the file or key is absent; otherwise the webhook
/// id recorded with it, if any (files written before ids were recorded have none).
pub fn stored_webhook_id(path: &Path, key: &str) -> Option<Option<String>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut present = false;
    let mut id = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(ID_MARKER) {
            if let Some((k, v)) = rest.split_once('=') {
                if k == key {
                    id = Some(v.trim().to_string());
                }
            }
            continue;
        }
        if line_key(line) == key {
            present = true;
        }
    }
    present.then_some(id)
}

fn line_key(line: &str) -> &str {
    line.trim_start()
        .trim_start_matches("export ")
        .split('=')
        .next()
        .unwrap_or("")
        .trim()
}

/// Declared webhooks with a file sink whose live registration's secret is not in that sink: the
/// key is missing, or it records another registration. Such a registration is useless (nobody
/// can verify its calls), so the plan replaces it. Where several registrations match, the one
/// whose secret is stored is moved first so the plan keeps it and treats the rest as duplicates.
/// Command sinks cannot be checked and are trusted.
pub fn unverified_webhooks(
    config: &crate::config::model::Config,
    live: &mut [crate::resources::LiveMerchant],
) -> Vec<crate::resources::Address> {
    use crate::resources::webhook;
    let mut lost = Vec::new();
    // By MSN once: a fleet of thousands of merchants must not search the list per merchant.
    let by_msn: std::collections::HashMap<String, usize> = live
        .iter()
        .enumerate()
        .map(|(i, l)| (l.msn.clone(), i))
        .collect();
    for m in &config.merchants {
        let Some(lm) = by_msn.get(&m.msn).map(|&i| &mut live[i]) else {
            continue;
        };
        let Some(hooks) = lm.webhooks.as_mut() else {
            continue;
        };
        for d in &m.webhooks {
            let Some(sink @ crate::config::model::SecretSink::File { .. }) = &d.secret else {
                continue;
            };
            let Sink::File { path, key } = Sink::resolve(sink, &d.origin.file) else {
                continue;
            };
            let want = webhook::desired_key(d);
            let matching: Vec<usize> = (0..hooks.len())
                .filter(|&i| webhook::live_key(&hooks[i]) == want)
                .collect();
            if matching.is_empty() {
                continue;
            }
            // No file at all is most likely another machine or a fresh CI checkout, where the
            // secrets were never meant to be: trusted. Apply creates the file before it
            // registers, so an interrupted first run still leaves a file to check against.
            if !path.exists() {
                continue;
            }
            let stored = match stored_webhook_id(&path, &key) {
                None => None,
                Some(None) => continue,
                Some(Some(id)) => matching.iter().copied().find(|&i| hooks[i].id == id),
            };
            match stored {
                Some(i) => {
                    let h = hooks.remove(i);
                    hooks.insert(0, h);
                }
                None => lost.push(crate::plan::diff::webhook_address(m, &d.url, &d.events)),
            }
        }
    }
    lost
}

/// Create the sink file (empty, owner-only) if it does not exist yet, before the registration
/// whose secret it will hold; see [`unverified_webhooks`].
pub fn ensure_file(sink: &Sink) -> std::io::Result<()> {
    let Sink::File { path, .. } = sink else {
        return Ok(());
    };
    let path = &crate::fsutil::resolve_links(path)?;
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map(|_| ())
}

/// Replace (or add) `KEY=value`, recording `webhook_id` with it when given.
pub fn write_dotenv_with_id(
    path: &Path,
    key: &str,
    secret: &Secret,
    webhook_id: Option<&str>,
) -> std::io::Result<()> {
    let existing = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let mut lines: Vec<String> = Vec::new();
    let mut replaced = false;
    let entry = format!("{key}={}", quote(secret.expose()));
    let marker = webhook_id.map(|id| id_marker(key, id));
    let marker_prefix = format!("{ID_MARKER}{key}=");
    for line in existing.lines() {
        if line.starts_with(&marker_prefix) {
            continue; // rewritten next to the entry, or dropped with a secret of unknown origin
        }
        if line_key(line) == key {
            if !replaced {
                lines.extend(marker.clone());
                lines.push(entry.clone());
                replaced = true;
            }
        } else {
            lines.push(line.to_string());
        }
    }
    if !replaced {
        lines.extend(marker);
        lines.push(entry);
    }
    let mut text = lines.join("\n");
    text.push('\n');
    crate::fsutil::write_atomic(path, text.as_bytes(), crate::fsutil::SECRET)
}

/// The folders the file sinks of `config` (and `--secrets-out`) are written in, links resolved.
fn sink_folders(config: &crate::config::model::Config, secrets_out: Option<&Path>) -> Vec<PathBuf> {
    let units = config.units();
    let declared =
        units
            .iter()
            .flat_map(|m| m.webhooks.iter())
            .filter_map(
                |w| match Sink::resolve(w.secret.as_ref()?, &w.origin.file) {
                    Sink::File { path, .. } => Some(path),
                    Sink::Command { .. } => None,
                },
            );
    let mut dirs: Vec<PathBuf> = declared
        .chain(secrets_out.map(Path::to_path_buf))
        .map(|p| crate::fsutil::resolve_links(&p).unwrap_or(p))
        .map(|p| match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// Remove the temporary files that writes killed before their rename left next to the file
/// sinks (each holds a whole copy of its sink, secrets included). A temporary file whose writer
/// is still running is left alone. Returns the files removed; a folder that cannot be read is
/// logged and skipped (writing the sink there will fail with the reason).
pub fn remove_leftover_temp_files(
    config: &crate::config::model::Config,
    secrets_out: Option<&Path>,
) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    for dir in sink_folders(config, secrets_out) {
        match crate::fsutil::remove_stale_temp_files(&dir, crate::fsutil::SECRET_TEMP_PREFIX) {
            Ok(r) => removed.extend(r),
            Err(e) => tracing::warn!(
                "could not look for leftover temporary secret files in {}: {e}",
                dir.display()
            ),
        }
    }
    removed
}

fn quote(v: &str) -> String {
    if v.chars()
        .all(|c| c.is_ascii_alphanumeric() || "+/=_-.".contains(c))
    {
        v.to_string()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

async fn run_command(
    argv: &[String],
    secret: &Secret,
    ctx: &SecretContext,
) -> Result<(), SinkError> {
    use tokio::io::AsyncWriteExt;
    let program = argv.first().ok_or(SinkError::EmptyCommand)?.clone();
    let mut child = tokio::process::Command::new(&program)
        .args(&argv[1..])
        .env("VIPPSCTL_MSN", &ctx.msn)
        .env("VIPPSCTL_WEBHOOK_URL", &ctx.url)
        .env("VIPPSCTL_WEBHOOK_ID", &ctx.webhook_id)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| SinkError::Spawn {
            program: program.clone(),
            source,
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that exits without reading stdin is judged by its exit status below.
        let _ = stdin.write_all(secret.expose().as_bytes()).await;
        drop(stdin);
    }
    let mut pipe = child.stderr.take();
    let mut captured = Vec::new();
    // Wait for the command's exit, reading its stderr meanwhile; not for the pipe to close.
    let exited = tokio::time::timeout(TIMEOUT, async {
        loop {
            tokio::select! {
                status = child.wait() => return status,
                more = read_some(&mut pipe) => keep(&mut captured, &mut pipe, more),
            }
        }
    })
    .await;
    let status = match exited {
        Ok(Ok(status)) => status,
        Ok(Err(source)) => return Err(SinkError::Spawn { program, source }),
        Err(_) => {
            let _ = child.kill().await;
            return Err(SinkError::Timeout { program });
        }
    };
    if status.success() {
        return Ok(());
    }
    if pipe.is_some() {
        let _ = tokio::time::timeout(STDERR_AFTER_EXIT, async {
            while pipe.is_some() {
                let more = read_some(&mut pipe).await;
                keep(&mut captured, &mut pipe, more);
            }
        })
        .await;
    }
    // The command may echo its input: scrub the secret from whatever it printed.
    let stderr = String::from_utf8_lossy(&captured)
        .replace(secret.expose(), "***")
        .trim()
        .chars()
        .take(500)
        .collect::<String>();
    Err(SinkError::Command {
        program,
        status: status.to_string(),
        stderr: if stderr.is_empty() {
            String::new()
        } else {
            format!(": {stderr}")
        },
    })
}

/// The next bytes from a child's stderr; `None` at its end. Never resolves without a pipe.
async fn read_some(pipe: &mut Option<tokio::process::ChildStderr>) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let Some(p) = pipe else {
        return std::future::pending().await;
    };
    let mut chunk = vec![0u8; 4096];
    match p.read(&mut chunk).await {
        Ok(0) | Err(_) => None,
        Ok(n) => {
            chunk.truncate(n);
            Some(chunk)
        }
    }
}

fn keep(
    captured: &mut Vec<u8>,
    pipe: &mut Option<tokio::process::ChildStderr>,
    more: Option<Vec<u8>>,
) {
    match more {
        Some(bytes) if captured.len() < STDERR_MAX => captured.extend(bytes),
        Some(_) => {}
        None => *pipe = None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_replaces_one_key_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.env");
        std::fs::write(&path, "# comment\nOTHER=1\nKEY=old\n").unwrap();
        write_dotenv(&path, "KEY", &Secret::new("n3w+/=")).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "# comment\nOTHER=1\nKEY=n3w+/=\n"
        );
        write_dotenv(&path, "ADDED", &Secret::new("a b")).unwrap();
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .ends_with("ADDED=\"a b\"\n"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn the_webhook_id_is_recorded_with_its_secret_and_replaced_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.env");
        assert_eq!(stored_webhook_id(&path, "KEY"), None);
        std::fs::write(&path, "OTHER=1\nKEY=legacy\n").unwrap();
        assert_eq!(stored_webhook_id(&path, "KEY"), Some(None));
        write_dotenv_with_id(&path, "KEY", &Secret::new("a"), Some("id-1")).unwrap();
        write_dotenv_with_id(&path, "KEY", &Secret::new("b"), Some("id-2")).unwrap();
        assert_eq!(stored_webhook_id(&path, "KEY"), Some(Some("id-2".into())));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "OTHER=1\n#vippsctl-webhook-id:KEY=id-2\nKEY=b\n"
        );
        assert_eq!(stored_webhook_id(&path, "OTHER"), Some(None));
    }

    #[test]
    fn registrations_whose_secret_the_sink_lacks_are_found() {
        use crate::domain::model::LiveWebhook;
        let dir = tempfile::tempdir().unwrap();
        let cfg_path = dir.path().join("c.yaml");
        let yaml = "version: 1\nmerchants:\n  - msn: \"123456\"\n    webhooks:\n      - url: https://a.example/h\n        events: [x.v1]\n        secret: { file: s.env, key: K }\n";
        let loaded =
            crate::config::load_sources(&[(cfg_path.clone(), yaml.to_string())], &|_| None)
                .unwrap();
        let hook = |id: &str| LiveWebhook {
            id: id.into(),
            url: "https://a.example/h".into(),
            events: vec!["x.v1".into()],
        };
        let live = |ids: &[&str]| {
            vec![crate::resources::LiveMerchant {
                msn: "123456".into(),
                webhooks: Some(ids.iter().map(|i| hook(i)).collect()),
                redirect_qrs: None,
                callback_qrs: None,
                agreements: None,
            }]
        };
        let sink = dir.path().join("s.env");
        // No file: another machine; trusted.
        assert!(unverified_webhooks(&loaded.config, &mut live(&["w1"])).is_empty());
        // The file exists but lacks the key: an interrupted run.
        std::fs::write(&sink, "OTHER=1\n").unwrap();
        assert_eq!(
            unverified_webhooks(&loaded.config, &mut live(&["w1"])).len(),
            1
        );
        // The key records another registration.
        write_dotenv_with_id(&sink, "K", &Secret::new("s"), Some("w0")).unwrap();
        assert_eq!(
            unverified_webhooks(&loaded.config, &mut live(&["w1"])).len(),
            1
        );
        // Of two duplicates, the recorded one is kept first and nothing is replaced.
        let mut two = live(&["w1", "w0"]);
        assert!(unverified_webhooks(&loaded.config, &mut two).is_empty());
        assert_eq!(two[0].webhooks.as_ref().unwrap()[0].id, "w0");
        // A key written before ids were recorded is trusted.
        std::fs::write(&sink, "K=legacy\n").unwrap();
        assert!(unverified_webhooks(&loaded.config, &mut live(&["w1"])).is_empty());
    }

    #[tokio::test]
    async fn command_sink_gets_the_secret_on_stdin_and_failures_are_scrubbed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("got");
        let ctx = SecretContext {
            msn: "123456".into(),
            url: "https://x.example/h".into(),
            webhook_id: "id-1".into(),
        };
        let sink = Sink::Command {
            argv: vec![
                "sh".into(),
                "-c".into(),
                format!(
                    "cat > {}; echo \"$VIPPSCTL_MSN\" >> {}",
                    out.display(),
                    out.display()
                ),
            ],
        };
        deliver(&sink, &Secret::new("s3cr3t"), &ctx).await.unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "s3cr3t123456\n");

        let failing = Sink::Command {
            argv: vec!["sh".into(), "-c".into(), "cat >&2; exit 3".into()],
        };
        let err = deliver(&failing, &Secret::new("s3cr3t"), &ctx)
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("exit status: 3"), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
    }
}
