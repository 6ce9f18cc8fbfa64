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

/// Every page `vippsctl man --out` writes, by file name, with its roff text.
fn man_pages() -> (tempfile::TempDir, Vec<(String, String)>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("man1");
    let (code, _, stderr) = vippsctl(&["man", "--out", out.to_str().expect("utf-8 path")]);
    assert_eq!(code, 0, "{stderr}");
    let mut pages: Vec<(String, String)> = std::fs::read_dir(&out)
        .expect("man1/")
        .map(|e| {
            let p = e.expect("entry").path();
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("page"))
        })
        .collect();
    pages.sort();
    (dir, pages)
}

/// Roff text without font changes and dash escapes, for searching.
fn roff_plain(text: &str) -> String {
    text.replace("\\fB", "")
        .replace("\\fI", "")
        .replace("\\fR", "")
        .replace("\\-", "-")
}

/// The `.TH` arguments of a page, quotes removed.
fn title_args(page: &str) -> Vec<String> {
    let th = page
        .lines()
        .find(|l| l.starts_with(".TH "))
        .expect("a .TH line");
    let mut args = Vec::new();
    let mut rest = th[4..].trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"').expect("closing quote");
            args.push(r[..end].to_string());
            rest = r[end + 1..].trim_start();
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            args.push(rest[..end].to_string());
            rest = rest[end..].trim_start();
        }
    }
    args
}

/// A page as a terminal shows it (`man` / groff), 80 columns, or None without groff.
fn rendered(path: &std::path::Path) -> Option<String> {
    let out = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-rLL=80n", "-P-c", "-P-b", "-P-u"])
        .arg(path)
        .output()
        .ok()?;
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && warnings.trim().is_empty(),
        "groff warns about {}:\n{warnings}",
        path.display()
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn every_man_page_has_the_sections_a_man_page_needs() {
    let (dir, pages) = man_pages();
    let version = env!("CARGO_PKG_VERSION");
    let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
    for (name, page) in &pages {
        // .TH title section date source manual: the date slot holds no version.
        let th = title_args(page);
        assert_eq!(th.len(), 5, "{name}: {th:?}");
        assert!(
            th[2].is_empty() || th[2].chars().all(|c| c.is_ascii_digit() || c == '-'),
            "{name}: the date slot is {:?}",
            th[2]
        );
        assert_eq!(th[3], format!("vippsctl {version}"), "{name}: {th:?}");
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH DESCRIPTION",
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH \"SEE ALSO\"",
        ] {
            assert!(page.contains(section), "{name} lacks {section}");
        }
        assert!(page.contains("VIPPS_CLIENT_SECRET"), "{name}: ENVIRONMENT");
        // Every page it refers to exists.
        let plain = roff_plain(page);
        for (i, _) in plain.match_indices("(1)") {
            let start = plain[..i]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .map_or(0, |s| s + 1);
            let referred = &plain[start..i];
            if referred.is_empty() {
                continue;
            }
            assert!(
                names.contains(&format!("{referred}.1").as_str()),
                "{name} refers to {referred}(1), which is not written: {names:?}"
            );
        }
    }
    assert!(!names.contains(&"vippsctl-help.1"), "{names:?}");
    let plan = &pages
        .iter()
        .find(|(n, _)| n == "vippsctl-plan.1")
        .expect("vippsctl-plan.1")
        .1;
    let synopsis = plan
        .split(".SH SYNOPSIS")
        .nth(1)
        .and_then(|s| s.split(".SH").next())
        .map(roff_plain)
        .expect("a synopsis");
    for part in ["[--out FILE]", "[--replace ADDRESS]...", "PATH..."] {
        assert!(
            synopsis.contains(part),
            "plan's synopsis lacks {part}: {synopsis}"
        );
    }
    // As a reader sees it: examples keep their lines whole.
    if let Some(text) = rendered(&dir.path().join("man1/vippsctl-plan.1")) {
        assert!(text.contains("EXAMPLES"), "{text}");
        let line = text
            .lines()
            .find(|l| l.contains("vippsctl plan setup/ --sandbox"))
            .unwrap_or_else(|| panic!("the first example, whole: {text}"));
        assert!(line.contains("# against the simulator"), "{line}");
        assert!(
            text.contains("'123456.webhooks[https://example.com/hook]'"),
            "a long example is not cut mid-word:\n{text}"
        );
        for (name, _) in &pages {
            rendered(&dir.path().join("man1").join(name));
        }
    } else if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("groff not found (apt-get install -y groff-base)");
    }
}

#[test]
fn the_man_page_environment_matches_cli_md() {
    let (_, pages) = man_pages();
    let main = &pages
        .iter()
        .find(|(n, _)| n == "vippsctl.1")
        .expect("vippsctl.1")
        .1;
    let env = main
        .split(".SH ENVIRONMENT")
        .nth(1)
        .and_then(|s| s.split(".SH").next())
        .expect("ENVIRONMENT");
    let cli = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md"),
    )
    .expect("docs/cli.md");
    let table = cli
        .split("## Environment variables")
        .nth(1)
        .expect("cli.md has the section");
    let vars = |text: &str| -> std::collections::BTreeSet<String> {
        text.split(|c: char| !(c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()))
            .filter(|w| w.len() > 3 && w.contains('_') || ["TERM"].contains(w))
            .map(str::to_string)
            .collect()
    };
    let (in_man, in_docs) = (
        vars(&roff_plain(env)),
        vars(table.split("\n## ").next().unwrap_or("")),
    );
    assert_eq!(
        in_man, in_docs,
        "the man page and docs/cli.md list the same variables"
    );
}
