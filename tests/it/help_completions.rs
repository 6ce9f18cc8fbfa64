//! `vippsctl completions SHELL` and `vippsctl man`, run as a user would: the bash script really
//! completes in bash, every shell's script knows the subcommands and flags, and the man pages
//! render.

use std::process::Command;

fn vippsctl(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vippsctl"))
        .args(args)
        .env_remove("VIPPSCTL_ENV")
        .env_remove("VIPPSCTL_BASE_URL")
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_shell_gets_a_script_that_knows_the_commands_and_flags() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let (code, script, stderr) = vippsctl(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {stderr}");
        for word in [
            "plan",
            "apply",
            "validate",
            "export",
            "--detailed-exitcode",
            "--sandbox",
        ] {
            let word = if shell == "fish" {
                word.trim_start_matches("--")
            } else {
                word
            };
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let (code, _, stderr) = vippsctl(&["completions", "tcsh"]);
    // A usage error exits 1, never 2 (which `plan --detailed-exitcode` uses for "changes").
    assert_eq!(code, 1);
    assert!(
        stderr.contains("possible values: bash, zsh, fish, powershell"),
        "{stderr}"
    );
}

/// Run bash's completion function for the words typed so far and return what it offers.
fn bash_complete(script: &str, typed: &[&str]) -> Vec<String> {
    let words = typed
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let program = format!(
        "{script}\nCOMP_WORDS=({words}); COMP_CWORD={}; COMP_LINE=\"${{COMP_WORDS[*]}}\"; \
         COMP_POINT=${{#COMP_LINE}}; _vippsctl vippsctl \"${{COMP_WORDS[COMP_CWORD]}}\" \
         \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        typed.len() - 1
    );
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-c", &program])
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_bash_script_completes_subcommands_and_flags_in_bash() {
    if Command::new("bash").arg("--version").output().is_err() {
        eprintln!("skipping: bash not found");
        return;
    }
    let (_, script, _) = vippsctl(&["completions", "bash"]);
    let offered = bash_complete(&script, &["vippsctl", "pl"]);
    assert_eq!(offered, vec!["plan"], "{offered:?}");
    let offered = bash_complete(&script, &["vippsctl", "qr", "export", "--fo"]);
    assert_eq!(offered, vec!["--format"], "{offered:?}");
    let offered = bash_complete(&script, &["vippsctl", "qr", "export", "--format", ""]);
    assert_eq!(offered, vec!["svg", "png"], "{offered:?}");
}

#[test]
fn the_man_page_covers_the_commands_and_renders() {
    let (code, page, stderr) = vippsctl(&["man"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        page.starts_with(".ie") || page.contains(".TH vippsctl 1"),
        "{page:.300}"
    );
    for word in ["plan", "apply", "qr", "completions", "VIPPS_CLIENT_ID"] {
        assert!(page.contains(word), "the man page mentions {word}");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("man1");
    let (code, _, stderr) = vippsctl(&["man", "--out", out.to_str().expect("utf-8 path")]);
    assert_eq!(code, 0, "{stderr}");
    for page in [
        "vippsctl.1",
        "vippsctl-plan.1",
        "vippsctl-qr-export.1",
        "vippsctl-sim-serve.1",
    ] {
        let text = std::fs::read_to_string(out.join(page))
            .unwrap_or_else(|e| panic!("{page} was written: {e}"));
        assert!(text.contains(".TH"), "{page} is a man page");
    }
    let export = std::fs::read_to_string(out.join("vippsctl-qr-export.1")).expect("page");
    assert!(
        export.contains("\\-\\-size") || export.contains("--size"),
        "{export:.500}"
    );
    // groff (when present) turns it into text without complaint.
    if let Ok(o) = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww"])
        .arg(out.join("vippsctl-qr-export.1"))
        .output()
    {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("export"), "{text:.500}");
    }
}
