//! Every command block in the user docs (README.md and docs/*.md) runs as written.
//!
//! The docs mark their code blocks by fence, and this test reads them by the same convention
//! (docs/guide.md says it to readers in section 1):
//!
//! - ```` ```sh ```` (or `bash`): commands to run as they are. Each document's `sh` blocks run in
//!   order, with `bash` (`set -eo pipefail`), in one fresh folder per document, each block where
//!   the previous one ended (a `cd` carries over). The folder is laid out like a user's machine:
//!   `vippsctl/` is a checkout (the examples, docs and specs), `merchant-setup/` a setup repository
//!   with the café example in `setup/`. The guide and docs/updating-specs.md start in the checkout,
//!   every other document in the setup repository. `vippsctl` is the binary under test, first on
//!   `PATH`; `HOME` is the folder itself. Commands that would talk to Vipps talk to an in-process
//!   simulator through `VIPPSCTL_BASE_URL`, with its credentials in the environment (the sandbox
//!   credentials: they open nothing else); `--sandbox` commands use the built-in sandbox as a user's
//!   would. A block that does not finish within two minutes fails the test.
//! - ```` ```console ````: a transcript or commands that cannot run here (a real account, a git
//!   URL, network, `cargo`, a server that never exits): commands follow a `$ ` (or `PS> `) prompt,
//!   anything else is what they print. Not run, but every `vippsctl` command in them must parse.
//! - any other fence (none, `text`, `yaml`, `json`): output, a synopsis or a file, not a command.
//!
//! docs/guide.md's blocks also run in tests/it/help_guide.rs, which checks what the guide promises
//! between them (and does the edits its prose asks for).

use crate::printing_common;

use printing_common::{copy_tree, sandbox_env, start_sim, words};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use vippsctl::sim::SimHandle;

/// One fenced block of a document.
#[derive(Debug, Clone)]
pub struct Block {
    pub doc: String,
    /// 1-based line of the opening fence.
    pub line: usize,
    pub lang: String,
    pub text: String,
    /// The prose between the previous block and this one.
    pub before: String,
}

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The documents with blocks: README.md and every docs/*.md, by path from the repository root.
pub fn documents() -> Vec<String> {
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| format!("docs/{}", p.file_name().expect("name").to_string_lossy()))
        .collect();
    docs.sort();
    docs.insert(0, "README.md".into());
    docs
}

/// The fenced blocks of `doc`, with the fence's indentation (list items) taken off their lines.
pub fn blocks(doc: &str) -> Vec<Block> {
    let text = std::fs::read_to_string(root().join(doc)).unwrap_or_else(|e| panic!("{doc}: {e}"));
    let mut out = Vec::new();
    let mut prose = String::new();
    let mut open: Option<(usize, usize, String, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match &mut open {
            None if trimmed.starts_with("```") => {
                let lang = trimmed.trim_start_matches('`').trim().to_string();
                open = Some((i + 1, indent, lang, String::new()));
            }
            None => {
                prose.push_str(line);
                prose.push('\n');
            }
            Some(_) if trimmed == "```" => {
                let (line, _, lang, body) = open.take().expect("open block");
                out.push(Block {
                    doc: doc.to_string(),
                    line,
                    lang,
                    text: body,
                    before: std::mem::take(&mut prose),
                });
            }
            Some((_, fence_indent, _, body)) => {
                let cut = line
                    .char_indices()
                    .take_while(|(j, c)| *j < *fence_indent && *c == ' ')
                    .count();
                body.push_str(&line[cut..]);
                body.push('\n');
            }
        }
    }
    assert!(open.is_none(), "{doc}: a code block is not closed");
    out
}

pub fn runnable(b: &Block) -> bool {
    matches!(b.lang.as_str(), "sh" | "bash")
}

/// Where a document's commands start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The vippsctl checkout (`vippsctl/`).
    Checkout,
    /// A setup repository (`merchant-setup/`, with `setup/cafe.yaml`).
    SetupRepo,
}

pub fn start_of(doc: &str) -> Start {
    match doc {
        "docs/guide.md" | "docs/updating-specs.md" => Start::Checkout,
        _ => Start::SetupRepo,
    }
}

/// A user's machine for one document: folders, the binary on PATH, a simulator standing in for
/// Vipps, and where the last block left off.
pub struct Scenario {
    pub dir: tempfile::TempDir,
    pub sim: SimHandle,
    bin: PathBuf,
    pub cwd: PathBuf,
    /// Point commands without `--sandbox` at the simulator, with credentials (off: no
    /// credentials and no API at all, as for a user who only has the sandbox).
    pub real_api: bool,
}

impl Scenario {
    pub async fn new(start: Start) -> Scenario {
        let dir = tempfile::tempdir().expect("tempdir");
        let checkout = dir.path().join("vippsctl");
        for part in ["examples", "docs", "openapi"] {
            copy_tree(&root().join(part), &checkout.join(part));
        }
        std::fs::copy(root().join("README.md"), checkout.join("README.md")).expect("README");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).expect("bin");
        #[cfg(unix)]
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_vippsctl"), bin.join("vippsctl"))
            .expect("vippsctl on PATH");
        let cwd = match start {
            Start::Checkout => checkout,
            Start::SetupRepo => {
                let repo = dir.path().join("merchant-setup");
                std::fs::create_dir_all(repo.join("setup")).expect("setup/");
                std::fs::copy(
                    root().join("examples/cafe.yaml"),
                    repo.join("setup/cafe.yaml"),
                )
                .expect("the café example");
                repo
            }
        };
        Scenario {
            sim: start_sim().await,
            dir,
            bin,
            cwd,
            real_api: true,
        }
    }

    /// Run a block where the previous one ended; returns the exit code and everything printed.
    pub async fn run(&mut self, block: &Block) -> (Option<i32>, String) {
        let state = self.dir.path().join(".cwd");
        let script = format!(
            "set -eo pipefail\ncd \"$1\"\n{}\npwd > \"$2\"\n",
            block.text
        );
        let mut cmd = sandbox_env(Command::new("bash"), &self.cwd);
        cmd.arg("-c")
            .arg(script)
            .arg("doc-block")
            .arg(&self.cwd)
            .arg(&state)
            .env("PATH", format!("{}:/usr/bin:/bin", self.bin.display()))
            .env("HOME", self.dir.path())
            .stdin(Stdio::null());
        if self.real_api {
            cmd.env("VIPPSCTL_BASE_URL", self.sim.base_url());
        } else {
            cmd.env_remove("VIPPS_CLIENT_ID")
                .env_remove("VIPPS_CLIENT_SECRET")
                .env_remove("VIPPS_SUBSCRIPTION_KEY");
        }
        let (code, output) = tokio::task::spawn_blocking(move || bounded(cmd))
            .await
            .expect("the block's task");
        if let Ok(cwd) = std::fs::read_to_string(&state) {
            self.cwd = PathBuf::from(cwd.trim());
        }
        let _ = std::fs::remove_file(&state);
        (code, output)
    }

    /// A path below the machine's folder.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
}

/// Run with stdout and stderr together, killed after two minutes with everything it started
/// (its own process group: a block's `sim serve &` must not outlive the test).
fn bounded(cmd: Command) -> (Option<i32>, String) {
    bounded_for(cmd, Duration::from_secs(120))
}

fn bounded_for(mut cmd: Command, limit: Duration) -> (Option<i32>, String) {
    use std::os::unix::process::CommandExt;
    let log = tempfile::NamedTempFile::new().expect("log file");
    let file = log.reopen().expect("reopen");
    cmd.stdout(Stdio::from(file.try_clone().expect("dup")))
        .stderr(Stdio::from(file))
        .process_group(0);
    let mut child = cmd.spawn().expect("bash runs");
    let group = libc::pid_t::try_from(child.id()).expect("a pid");
    let deadline = Instant::now() + limit;
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if Instant::now() > deadline {
            // SAFETY: kill(2) with a negative pid signals the process group the child leads.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = std::fs::read_to_string(log.path()).unwrap_or_default();
    (code, output)
}

/// What a failed block says in the test output.
pub fn failed(b: &Block, code: Option<i32>, output: &str) -> String {
    let why = match code {
        Some(c) => format!("exited {c}"),
        None => "did not finish within two minutes (a command that never exits belongs in a ```console block)".into(),
    };
    format!(
        "{}:{}: this ```{} block {why}:\n{}\n--- output ---\n{output}",
        b.doc, b.line, b.lang, b.text
    )
}

/// The commands of a console block: the lines after a `$ ` or `PS> ` prompt.
fn console_commands(b: &Block) -> Vec<String> {
    b.text
        .lines()
        .filter_map(|l| l.strip_prefix("$ ").or_else(|| l.strip_prefix("PS> ")))
        .map(str::to_string)
        .collect()
}

fn parses(cmd: &str) -> Result<(), String> {
    use clap::Parser;
    let argv = words(cmd);
    match vippsctl::cli::Cli::try_parse_from(&argv) {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_runnable_block_in_the_docs_runs_as_written() {
    let mut ran = 0;
    for doc in documents() {
        // The guide runs in tests/it/help_guide.rs, with the edits its prose asks for.
        if doc == "docs/guide.md" {
            continue;
        }
        let blocks: Vec<Block> = blocks(&doc).into_iter().filter(runnable).collect();
        if blocks.is_empty() {
            continue;
        }
        let mut scenario = Scenario::new(start_of(&doc)).await;
        for b in &blocks {
            let (code, output) = scenario.run(b).await;
            assert_eq!(code, Some(0), "{}", failed(b, code, &output));
            ran += 1;
        }
    }
    assert!(ran >= 4, "only {ran} runnable blocks outside the guide");
}

#[test]
fn every_vippsctl_command_in_the_docs_parses() {
    let mut checked = 0;
    for doc in documents() {
        for b in blocks(&doc) {
            let commands: Vec<String> = match b.lang.as_str() {
                "console" => console_commands(&b),
                "sh" | "bash" => b.text.lines().map(str::to_string).collect(),
                _ => continue,
            };
            for cmd in commands {
                let cmd = cmd.trim();
                if !cmd.starts_with("vippsctl ") {
                    continue;
                }
                checked += 1;
                if let Err(e) = parses(cmd) {
                    panic!("{}:{}: `{cmd}` does not parse:\n{e}", b.doc, b.line);
                }
            }
        }
    }
    assert!(checked >= 20, "only {checked} commands in the docs");
}

#[test]
fn the_docs_use_the_block_convention() {
    for doc in documents() {
        for b in blocks(&doc) {
            // A prompt inside a runnable block would be run as a command called `$`.
            if runnable(&b) {
                assert!(
                    !b.text.lines().any(|l| l.starts_with("$ ")),
                    "{}:{}: a `$ ` prompt in a ```sh block: make it ```console",
                    b.doc,
                    b.line
                );
            }
            // Shell commands shown without a fence language would be neither run nor checked.
            if b.lang.is_empty() || b.lang == "text" {
                assert!(
                    !b.text.lines().any(|l| l.starts_with("$ ")),
                    "{}:{}: a transcript belongs in a ```console block",
                    b.doc,
                    b.line
                );
            }
        }
    }
}

#[test]
fn a_block_that_times_out_is_killed_with_what_it_started() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("pid");
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg("sleep 300 & echo $! > \"$1\"; wait")
        .arg("doc-block")
        .arg(&pidfile);
    let (code, _) = bounded_for(cmd, Duration::from_secs(1));
    assert_eq!(code, None, "the block timed out");
    let pid: libc::pid_t = std::fs::read_to_string(&pidfile)
        .expect("the block wrote its child's pid")
        .trim()
        .parse()
        .expect("a pid");
    // The killed child may linger as a zombie of init for a moment: wait until it is gone.
    let gone = (0..100).any(|_| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let alive = !stat.is_empty() && !stat.contains(") Z ");
        if alive {
            std::thread::sleep(Duration::from_millis(50));
        }
        !alive
    });
    assert!(gone, "the block's background child {pid} outlived it");
}
