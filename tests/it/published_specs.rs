//! The spec passes on the published specs in `../shared/upstream-openapi` (read at run time,
//! never copied): every version `.ci/published-specs.sh` builds keeps all operations vippsctl
//! uses, and a version that lacks one is refused with a message naming it. (Generation and
//! compilation of those versions is the script's job.)

use std::path::{Path, PathBuf};

use vippsctl::specs::normalize::{self, NormalizeError, Wanted};
use vippsctl::specs::ops::{self, Api};

fn shared() -> Option<PathBuf> {
    let dir = match std::env::var_os("VIPPSCTL_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    let upstream = dir.join("upstream-openapi");
    if upstream.is_dir() {
        Some(upstream)
    } else {
        eprintln!("shared/ not found ({}), skipping", upstream.display());
        None
    }
}

fn wanted(api: Api) -> Vec<Wanted<'static>> {
    ops::operations(api)
        .map(|o| Wanted {
            method: o.method,
            path: o.path,
            name: o.name,
        })
        .collect()
}

fn run(upstream: &Path, api: Api, file: &str) -> Result<normalize::Normalized, NormalizeError> {
    let path = upstream.join(api.file_stem()).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    normalize::normalize(file, &text, &wanted(api))
}

/// The versions `.ci/published-specs.sh` builds.
const BUILT: &[(Api, &str)] = &[
    (Api::AccessToken, "latest.yaml"),
    (Api::AccessToken, "history/2023-11-08_d42e299.yaml"),
    (Api::AccessToken, "history/2023-10-11_779ea42.yaml"),
    (Api::Webhooks, "latest.yaml"),
    (Api::Webhooks, "history/2023-09-14_ae0e00e.yaml"),
    (Api::Webhooks, "history/2023-07-19_91b4931.yaml"),
    (Api::Qr, "latest.yaml"),
    (Api::Qr, "history/2024-02-20_4932c2d.yaml"),
    (Api::Qr, "history/2023-12-08_f8bca5d.yaml"),
    (Api::Recurring, "latest.yaml"),
    (Api::Recurring, "history/2023-12-07_3f6ac6b.yaml"),
    (Api::Recurring, "history/2023-10-06_59d96ad.yaml"),
];

#[test]
fn built_versions_keep_every_operation_under_its_stable_name() {
    let Some(upstream) = shared() else { return };
    for (api, file) in BUILT {
        let n = run(&upstream, *api, file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut ids: Vec<String> = n
            .doc
            .operations()
            .filter_map(|(_, _, op)| op.operation_id.clone())
            .collect();
        ids.sort();
        let mut expected: Vec<String> = ops::operations(*api).map(|o| o.name.to_string()).collect();
        expected.sort();
        assert_eq!(ids, expected, "{} {file}", api.file_stem());
        // No header the HTTP layer injects survives.
        let text = serde_json::to_string(&n.doc.paths)
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(!text.contains("\"ocp-apim-subscription-key\""), "{file}");
    }
}

#[test]
fn only_the_latest_recurring_spec_has_paging() {
    let Some(upstream) = shared() else { return };
    let latest = run(&upstream, Api::Recurring, "latest.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert!(normalize::has_parameter(
        &latest.doc,
        "list_agreements",
        "pageNumber"
    ));
    let old = run(&upstream, Api::Recurring, "history/2023-12-07_3f6ac6b.yaml")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!normalize::has_parameter(
        &old.doc,
        "list_agreements",
        "pageNumber"
    ));
    assert!(normalize::has_parameter(
        &old.doc,
        "list_agreements",
        "status"
    ));
}

#[test]
fn a_version_without_a_needed_operation_is_refused_by_name() {
    let Some(upstream) = shared() else { return };
    // Before 2022-02 the QR API had no merchant-redirect QRs.
    let err = run(&upstream, Api::Qr, "history/2021-11-29_6c83ac2.yaml")
        .err()
        .map(|e| e.to_string());
    let err = err.unwrap_or_default();
    assert!(
        err.contains("2021-11-29_6c83ac2.yaml") && err.contains("/qr/v1/merchant-redirect"),
        "{err}"
    );
    // Before 2023-06 the webhooks server had no /webhooks base, so the paths do not match.
    let err = run(&upstream, Api::Webhooks, "history/2023-05-24_d55ae0d.yaml")
        .err()
        .map(|e| e.to_string());
    assert!(err.unwrap_or_default().contains("list_webhooks"));
}
