//! Colour and progress as CI logs and terminals see them, through the real binary: no escape
//! codes on a stream that is not a terminal (log lines included), `NO_COLOR`, `CLICOLOR_FORCE` /
//! `FORCE_COLOR` and `TERM=dumb` honoured the same way on stdout and stderr, progress as plain
//! lines on a dumb terminal, and each apply result line shown once where stdout and stderr end up
//! in the same log.

use std::path::Path;
use std::process::{Command, Stdio};

const SETUP: &str = "version: 1
merchants:
  - msn: \"654321\"
    redirectQrs:
      - id: bord 1
        redirectUrl: https://kaffe.example/meny?bord=1
      - id: bord 2
        redirectUrl: https://kaffe.example/meny?bord=2
";

const ESC: &str = "\x1b[";

/// The binary in `dir` with a clean colour environment (no colour variable set, an ordinary
/// terminal type), plus `env`.
fn vippsctl(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vippsctl"));
    c.current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("FORCE_COLOR")
        .env_remove("VIPPSCTL_BASE_URL")
        .env_remove("VIPPSCTL_ENV")
        .env_remove("VIPPSCTL_LOG")
        .env("TERM", "xterm-256color");
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("setup.yaml"), SETUP).expect("write");
    dir
}

/// (stdout, stderr) of a plan with debug logs, both streams piped (as in CI).
fn plan_piped(dir: &Path, env: &[(&str, &str)]) -> (String, String) {
    let out = vippsctl(dir, env, &["plan", "setup.yaml", "--sandbox", "-vv"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn nothing_is_coloured_when_the_streams_are_not_terminals() {
    let dir = setup();
    let (stdout, stderr) = plan_piped(dir.path(), &[]);
    assert!(stderr.contains("DEBUG"), "debug lines on stderr: {stderr}");
    assert!(!stdout.contains(ESC), "escape codes on stdout:\n{stdout:?}");
    assert!(!stderr.contains(ESC), "escape codes on stderr:\n{stderr:?}");
}

#[test]
fn forcing_colour_colours_both_streams_and_no_color_wins() {
    let dir = setup();
    for force in [("CLICOLOR_FORCE", "1"), ("FORCE_COLOR", "1")] {
        let (stdout, stderr) = plan_piped(dir.path(), &[force]);
        assert!(stdout.contains(ESC), "{force:?}: stdout is coloured");
        assert!(stderr.contains(ESC), "{force:?}: stderr is coloured");
        // An explicit "no" beats a "force": NO_COLOR, and the --no-color flag.
        let (stdout, stderr) = plan_piped(dir.path(), &[force, ("NO_COLOR", "1")]);
        assert!(!stdout.contains(ESC) && !stderr.contains(ESC), "{force:?}");
    }
    // `FORCE_COLOR=0` and an empty value force nothing.
    for off in [("FORCE_COLOR", "0"), ("CLICOLOR_FORCE", "")] {
        let (stdout, stderr) = plan_piped(dir.path(), &[off]);
        assert!(!stdout.contains(ESC) && !stderr.contains(ESC), "{off:?}");
    }
}

/// Run in a pseudo-terminal (stdout and stderr both the terminal, as for a person), returning
/// everything the terminal showed.
fn in_terminal(mut cmd: Command) -> (Option<i32>, String) {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two new file descriptors into the given integers.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty");
    // SAFETY: both descriptors were just opened by openpty and are owned here alone.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    cmd.stdout(Stdio::from(slave.try_clone().expect("dup")))
        .stderr(Stdio::from(slave));
    let mut child = cmd.spawn().expect("spawn");
    // The child holds the only copies of the terminal's slave side now.
    drop(cmd);
    let mut reader = std::fs::File::from(master);
    let mut shown = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => shown.extend_from_slice(&buf[..n]),
            // Linux answers EIO once the last slave descriptor is closed.
            Err(_) => break,
        }
    }
    let code = child.wait().expect("wait").code();
    (code, String::from_utf8_lossy(&shown).replace("\r\n", "\n"))
}

/// Each QR's result line appears exactly once in `output`.
fn assert_each_done_once(output: &str) {
    for qr in ["bord 1", "bord 2"] {
        let line = format!("654321.redirectQrs[{qr}]");
        let done = output
            .lines()
            .filter(|l| l.contains("done") && l.contains(&line))
            .count();
        assert_eq!(done, 1, "one done line for {qr}:\n{output}");
    }
}

#[test]
fn a_dumb_terminal_gets_plain_progress_lines_and_no_colour() {
    let dir = setup();
    let cmd = vippsctl(
        dir.path(),
        &[("TERM", "dumb")],
        &["apply", "setup.yaml", "--sandbox", "--auto-approve"],
    );
    let (code, shown) = in_terminal(cmd);
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        !shown.contains(ESC),
        "escape codes on a dumb terminal:\n{shown:?}"
    );
    assert!(
        shown.contains("Applying 2 changes"),
        "progress is shown as lines:\n{shown}"
    );
    assert!(shown.contains("Apply complete: 2 done"), "{shown}");
    assert_each_done_once(&shown);
}

#[test]
fn each_done_line_reaches_a_shared_log_once() {
    let dir = setup();
    // CI: stdout and stderr go to the same log file.
    let log = dir.path().join("ci.log");
    let file = std::fs::File::create(&log).expect("log");
    let mut cmd = vippsctl(
        dir.path(),
        &[],
        &["apply", "setup.yaml", "--sandbox", "--auto-approve"],
    );
    cmd.stdout(Stdio::from(file.try_clone().expect("dup")))
        .stderr(Stdio::from(file));
    let status = cmd.status().expect("runs");
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(status.success(), "{text}");
    assert!(
        text.contains("Applying 2 changes"),
        "progress in the log:\n{text}"
    );
    assert_each_done_once(&text);
    // Separate destinations each get everything: the report on stdout, progress lines on stderr.
    let dir = setup();
    let out = vippsctl(
        dir.path(),
        &[],
        &["apply", "setup.yaml", "--sandbox", "--auto-approve"],
    )
    .output()
    .expect("runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stdout.contains("done") && stdout.contains("[bord 1]"),
        "{stdout}"
    );
    assert!(
        stderr.contains("done") && stderr.contains("[bord 1]"),
        "{stderr}"
    );
}
