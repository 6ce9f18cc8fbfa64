//! The getting-started guide, run as written: every ```sh block of docs/guide.md in order, from
//! where section 1 leaves a reader (in the `vippsctl` checkout), with the edits its prose asks for
//! done where it asks for them. Sections 2 and 3 run with no credentials and no API (the sandbox
//! must need neither); section 4 runs against a simulator standing in for the test environment.
//! Between and after the blocks, what the guide promises is checked: the secret lands in its file,
//! the edit plans as `~` and `-`, adopting the merchant does not apply those edits, the imported
//! file plans to no changes, and the QR sheet is written. The block convention is in
//! tests/it/help_doc_blocks.rs.

use crate::help_doc_blocks::{blocks, failed, runnable, start_of, Scenario};

const GUIDE: &str = "docs/guide.md";

/// The line of the heading `## {prefix}...` in the guide.
fn heading_line(prefix: &str) -> usize {
    let text = std::fs::read_to_string(crate::help_doc_blocks::root().join(GUIDE)).expect("guide");
    text.lines()
        .position(|l| l.starts_with(&format!("## {prefix}")))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("a section `## {prefix}...` in the guide"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_works_as_written() {
    let all: Vec<_> = blocks(GUIDE).into_iter().filter(runnable).collect();
    let (sandbox_from, real_from) = (heading_line("2."), heading_line("4."));
    assert!(
        all.iter()
            .filter(|b| b.line > sandbox_from && b.line < real_from)
            .count()
            >= 6,
        "the sandbox walk-through has its commands"
    );
    let mut scenario = Scenario::new(start_of(GUIDE)).await;
    let mut edited = false;
    let mut outputs = Vec::new();
    for b in &all {
        scenario.real_api = b.line > real_from;
        if b.before.contains("Now change something") {
            edit_as_the_guide_says(&mut scenario).await;
            edited = true;
        }
        let (code, output) = scenario.run(b).await;
        assert_eq!(code, Some(0), "{}", failed(b, code, &output));
        outputs.push((b.text.clone(), output));
    }
    assert!(edited, "the guide asks for an edit in section 2");
    let setup = scenario.path("merchant-setup");
    assert_eq!(scenario.cwd, setup, "the guide works in merchant-setup/");

    // The webhook's secret went to its sink, and is nowhere else.
    let env = std::fs::read_to_string(setup.join("setup/secrets/kaffe.env")).expect("secret file");
    let secret = env
        .lines()
        .find_map(|l| l.strip_prefix("VIPPS_CHECKIN_SECRET="))
        .unwrap_or_default()
        .trim()
        .to_string();
    assert!(!secret.is_empty(), "the webhook secret was stored: {env}");
    for (cmd, out) in &outputs {
        assert!(!out.contains(&secret), "`{cmd}` printed the secret");
    }
    // Section 3 adopts what section 2 applied, not the edits planned afterwards: bord 3 still
    // exists (a deleted redirect QR could never come back) and the imported file has it.
    let imported = std::fs::read_to_string(setup.join("imported.yaml")).expect("imported.yaml");
    for declared in [
        "msn: \"654321\"",
        "https://kaffe.example/vipps/check-in",
        "bord 3",
        "Kasse 2 i baren",
        "plan --replace",
    ] {
        assert!(imported.contains(declared), "{declared}:\n{imported}");
    }
    assert!(
        !imported.contains(&secret),
        "the secret is not in the imported file"
    );
    let (import_cmd, import_out) = outputs
        .iter()
        .find(|(c, _)| c.starts_with("vippsctl import"))
        .expect("the guide imports");
    let (plan_cmd, plan_out) = outputs
        .iter()
        .find(|(c, _)| c.starts_with("vippsctl plan imported.yaml"))
        .expect("the guide plans the imported file");
    assert!(plan_out.contains("No changes."), "{plan_out}");
    // import's hint is the command the guide runs next.
    assert!(
        import_out.contains(&format!("check it with: {}", plan_cmd.trim())),
        "`{import_cmd}` hints at `{plan_cmd}`:\n{import_out}"
    );
    // The sheet shows the codes of the (edited) file: bord 3 is no longer declared.
    let sheet = std::fs::read_to_string(setup.join("qr/index.html")).expect("qr/index.html");
    assert!(
        sheet.contains("data-qr-count=\"5\""),
        "five codes on the sheet"
    );
    assert!(setup.join("qr/654321-redirect-bord_1.svg").is_file());
}

/// Section 2: "edit the `locationDescription` of `till-2`, delete the `bord 3` QR from the file,
/// and plan again. You see a `~` for the till, and a `-` for the QR with a warning that printed
/// copies stop working."
async fn edit_as_the_guide_says(scenario: &mut Scenario) {
    let path = scenario.cwd.join("setup/cafe.yaml");
    let text = std::fs::read_to_string(&path).expect("setup/cafe.yaml");
    let bord3 = "      - id: bord 3\n        redirectUrl: https://kaffe.example/meny?bord=3\n";
    assert!(
        text.contains(bord3) && text.contains("Kasse 2 i baren"),
        "{text}"
    );
    let edited = text
        .replace(bord3, "")
        .replace("Kasse 2 i baren", "Kasse 2 ved vinduet");
    std::fs::write(&path, edited).expect("edit");
    let plan = crate::help_doc_blocks::Block {
        doc: GUIDE.into(),
        line: 0,
        lang: "sh".into(),
        text: "vippsctl plan setup/ --sandbox\n".into(),
        before: String::new(),
    };
    let (code, out) = scenario.run(&plan).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("~ 654321.callbackQrs[till-2]"), "{out}");
    assert!(out.contains("- 654321.redirectQrs[bord 3]"), "{out}");
    assert!(out.contains("stops working for good"), "{out}");
}
