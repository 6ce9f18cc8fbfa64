//! `specs diff` on the real published history: every consecutive pair of kept versions, then
//! `latest.yaml`, for the four APIs vippsctl uses. The classification is snapshot-tested, and the
//! changes SOURCES.md and API-FACTS.md name are asserted explicitly.

use std::path::{Path, PathBuf};
use vippsctl::specs::diff::{ApiDiff, Change, DiffReport, Severity};
use vippsctl::specs::ops::Api;
use vippsctl::specs::surface::load_surface;

fn shared() -> Option<PathBuf> {
    let dir = std::env::var_os("VIPPSCTL_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    if dir.join("upstream-openapi").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "shared/ not found at {}, skipping (set VIPPSCTL_SHARED_DIR)",
            dir.display()
        );
        None
    }
}

/// history/* in date order, then latest.yaml.
fn versions(shared: &Path, api: Api) -> Vec<PathBuf> {
    let base = shared.join("upstream-openapi").join(api.file_stem());
    let mut files: Vec<PathBuf> = std::fs::read_dir(base.join("history"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "yaml"));
    files.sort();
    files.push(base.join("latest.yaml"));
    files
}

fn name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn pair(shared: &Path, api: Api, old: &str, new: &str) -> ApiDiff {
    let base = shared.join("upstream-openapi").join(api.file_stem());
    let path = |f: &str| {
        if f == "latest.yaml" {
            base.join(f)
        } else {
            base.join("history").join(f)
        }
    };
    let (o, n) = (path(old), path(new));
    ApiDiff::compare(api, old, load_surface(&o, api), new, load_surface(&n, api))
}

fn find(d: &ApiDiff, pred: impl Fn(&Change) -> bool) -> Vec<&Change> {
    d.changes.iter().filter(|c| pred(c)).collect()
}

#[test]
fn classification_of_consecutive_versions_is_stable() {
    let Some(shared) = shared() else { return };
    for api in Api::ALL {
        let files = versions(&shared, api);
        assert!(files.len() >= 2, "{api:?}: expected history files");
        let mut report = DiffReport::default();
        for w in files.windows(2) {
            report.apis.push(ApiDiff::compare(
                api,
                &name(&w[0]),
                load_surface(&w[0], api),
                &name(&w[1]),
                load_surface(&w[1], api),
            ));
        }
        // Error messages name files; keep the snapshot independent of where shared/ is.
        let text = report
            .render_text()
            .replace(&shared.display().to_string(), "<shared>");
        insta::assert_snapshot!(format!("history_{}", api.file_stem()), text);
    }
}

#[test]
fn recurring_v2_operations_removed_and_flexible_pricing_added() {
    let Some(shared) = shared() else { return };
    let d = pair(
        &shared,
        Api::Recurring,
        "2023-12-07_3f6ac6b.yaml",
        "latest.yaml",
    );
    assert!(d.error.is_none(), "{:?}", d.error);
    let v2_removed = find(&d, |c| {
        c.operation.contains("/recurring/v2/") && c.message.starts_with("operation removed")
    });
    assert!(v2_removed.len() >= 10, "v2 removals: {v2_removed:#?}");
    assert!(v2_removed.iter().all(|c| c.severity == Severity::Info));
    // We never call v2, so none of our own operations went away.
    assert!(find(&d, |c| c.message == "operation we use removed").is_empty());

    let flexible_request = find(&d, |c| {
        c.operation == "draft_agreement"
            && c.location == "request"
            && c.path.as_deref() == Some("DraftAgreementV3.pricing")
            && c.message.contains("variant added")
            && c.message.contains("FlexiblePricingRequestV3")
    });
    assert_eq!(flexible_request.len(), 1, "{:#?}", d.changes);
    assert_eq!(flexible_request[0].severity, Severity::Info);
    // A response that may now carry a pricing shape we never decoded needs a look.
    let flexible_response = find(&d, |c| {
        c.operation == "fetch_agreement"
            && c.location == "response 200"
            && c.message.contains("FlexiblePricingResponseV3")
    });
    assert_eq!(flexible_response.len(), 1);
    assert_eq!(flexible_response[0].severity, Severity::Warning);
    // The async batch charge endpoint is new but unused.
    assert!(!find(&d, |c| c.operation
        == "POST /recurring/v3/agreements/charges"
        && c.severity == Severity::Info)
    .is_empty());
    // Paging parameters arrived on the list call.
    assert!(!find(&d, |c| c.operation == "list_agreements"
        && c.path.as_deref() == Some("pageSize")
        && c.message.starts_with("optional parameter added"))
    .is_empty());
}

#[test]
fn recurring_v3_agreement_endpoints_appear_under_the_recurring_prefix() {
    let Some(shared) = shared() else { return };
    // 2022-03-10 added v3 as `/v3/agreements` on the bare host (no `/recurring`), a URL no client
    // can call; the calls vippsctl makes appear with 2022-07-14's `/recurring/v3/...` paths.
    let d = pair(
        &shared,
        Api::Recurring,
        "2022-03-10_989c36e.yaml",
        "2022-07-14_99018af.yaml",
    );
    let appeared = find(&d, |c| c.message == "operation we use is now in the spec");
    let names: Vec<&str> = appeared.iter().map(|c| c.operation.as_str()).collect();
    for op in [
        "list_agreements",
        "draft_agreement",
        "fetch_agreement",
        "update_agreement",
        "accept_agreement",
    ] {
        assert!(names.contains(&op), "{op} not reported as new: {names:?}");
    }
}

#[test]
fn access_token_numbers_retyped_to_strings_is_breaking() {
    let Some(shared) = shared() else { return };
    let d = pair(
        &shared,
        Api::AccessToken,
        "2023-06-15_04951cb.yaml",
        "2023-10-11_779ea42.yaml",
    );
    for field in ["expires_in", "ext_expires_in", "expires_on", "not_before"] {
        let hits = find(&d, |c| {
            c.operation == "fetch_access_token"
                && c.location == "response 200"
                && c.path
                    .as_deref()
                    .is_some_and(|p| p.ends_with(&format!(".{field}")))
                && c.message == "type integer -> string"
        });
        assert_eq!(hits.len(), 1, "{field}: {:#?}", d.changes);
        assert_eq!(hits[0].severity, Severity::Breaking);
    }
}

#[test]
fn access_token_merchant_serial_number_required_then_optional() {
    let Some(shared) = shared() else { return };
    let added = pair(
        &shared,
        Api::AccessToken,
        "2023-01-31_dfe373d.yaml",
        "2023-04-18_5152c68.yaml",
    );
    let msn = find(&added, |c| {
        c.path.as_deref() == Some("Merchant-Serial-Number")
    });
    assert_eq!(msn.len(), 1, "{:#?}", added.changes);
    assert_eq!(msn[0].severity, Severity::Breaking);
    assert!(msn[0].message.starts_with("required parameter added"));

    let relaxed = pair(
        &shared,
        Api::AccessToken,
        "2023-04-18_5152c68.yaml",
        "2023-06-15_04951cb.yaml",
    );
    let msn = find(&relaxed, |c| {
        c.path.as_deref() == Some("Merchant-Serial-Number")
    });
    assert_eq!(msn.len(), 1, "{:#?}", relaxed.changes);
    assert_eq!(msn[0].message, "became optional");
    assert_eq!(msn[0].severity, Severity::Info);
}

#[test]
fn access_token_swagger_2_is_named_not_crashed_on() {
    let Some(shared) = shared() else { return };
    let d = pair(
        &shared,
        Api::AccessToken,
        "2019-01-20_49314a9.yaml",
        "2023-01-31_dfe373d.yaml",
    );
    let err = d.error.unwrap_or_default();
    assert!(err.contains("Swagger 2.0"), "{err}");
    assert!(err.contains("2019-01-20_49314a9.yaml"), "{err}");
}

#[test]
fn qr_customer_exchange_added_is_info_only() {
    let Some(shared) = shared() else { return };
    let d = pair(&shared, Api::Qr, "2024-02-20_4932c2d.yaml", "latest.yaml");
    assert_eq!(d.changes.len(), 1, "{:#?}", d.changes);
    let c = &d.changes[0];
    assert_eq!(c.operation, "POST /qr/v1/exchange/customer");
    assert_eq!(c.severity, Severity::Info);
    assert!(c.message.contains("not used by vippsctl"));
}

#[test]
fn qr_redirect_id_constraints_and_location_description_limit_are_breaking() {
    let Some(shared) = shared() else { return };
    // 2022-08-17: the id gets a pattern and 1..128 characters, and ttl appears.
    let d = pair(
        &shared,
        Api::Qr,
        "2022-02-01_e1af029.yaml",
        "2022-08-17_e704981.yaml",
    );
    let created = find(&d, |c| c.operation == "create_redirect_qr");
    // Before this version the path was /v1/merchantRedirect, so the operations first appear here.
    assert!(!created.is_empty(), "{:#?}", d.changes);
    assert!(created
        .iter()
        .any(|c| c.message == "operation we use is now in the spec"));

    let d = pair(
        &shared,
        Api::Qr,
        "2023-12-08_f8bca5d.yaml",
        "2024-02-20_4932c2d.yaml",
    );
    let loc = find(&d, |c| {
        c.operation == "put_callback_qr"
            && c.path
                .as_deref()
                .is_some_and(|p| p.ends_with("locationDescription"))
            && c.message.starts_with("maxLength tightened")
    });
    assert_eq!(loc.len(), 1, "{:#?}", d.changes);
    assert_eq!(loc[0].severity, Severity::Breaking);
    assert!(!find(&d, |c| c.operation == "POST /qr/v1/exchange").is_empty());
}

#[test]
fn qr_callback_image_knobs_move_from_headers_to_query() {
    let Some(shared) = shared() else { return };
    let d = pair(
        &shared,
        Api::Qr,
        "2023-05-30_11763ac.yaml",
        "2023-12-08_f8bca5d.yaml",
    );
    let q = find(&d, |c| {
        c.operation == "get_callback_qr"
            && c.location == "query param"
            && c.path.as_deref() == Some("QrImageFormat")
    });
    assert_eq!(q.len(), 1, "{:#?}", d.changes);
    assert_eq!(q[0].severity, Severity::Warning);
}

#[test]
fn webhooks_events_required_and_server_base_move() {
    let Some(shared) = shared() else { return };
    // The first versions put /v1/webhooks on the bare host: our /webhooks/v1/webhooks calls
    // appear only when the server base moves (the upstream "BREAKING" commit).
    let d = pair(
        &shared,
        Api::Webhooks,
        "2023-05-24_d55ae0d.yaml",
        "2023-06-02_e771ff6.yaml",
    );
    let appeared = find(&d, |c| c.message == "operation we use is now in the spec");
    assert_eq!(appeared.len(), 3, "{:#?}", d.changes);

    let d = pair(
        &shared,
        Api::Webhooks,
        "2023-06-02_e771ff6.yaml",
        "2023-07-19_91b4931.yaml",
    );
    let msn = find(&d, |c| {
        c.operation == "register_webhook" && c.path.as_deref() == Some("Merchant-Serial-Number")
    });
    assert!(
        msn.iter().any(|c| c.severity == Severity::Breaking),
        "{:#?}",
        d.changes
    );
    let d = pair(
        &shared,
        Api::Webhooks,
        "2023-07-19_91b4931.yaml",
        "2023-09-14_ae0e00e.yaml",
    );
    let msn = find(&d, |c| {
        c.operation == "register_webhook"
            && c.path.as_deref() == Some("Merchant-Serial-Number")
            && c.message == "became optional"
    });
    assert_eq!(msn.len(), 1, "{:#?}", d.changes);
}

#[test]
fn further_known_changes_from_sources() {
    let Some(shared) = shared() else { return };
    // QR 2022-12-15: a `Size` header (100..2000 px) on every operation.
    let d = pair(
        &shared,
        Api::Qr,
        "2022-08-17_e704981.yaml",
        "2022-12-15_9236079.yaml",
    );
    let size = find(&d, |c| {
        c.operation == "create_redirect_qr"
            && c.path.as_deref() == Some("Size")
            && c.message == "optional parameter added: integer range=100..2000"
    });
    assert_eq!(size.len(), 1, "{:#?}", d.changes);
    assert_eq!(size[0].severity, Severity::Warning);

    // QR 2023-05-30: the `/qr` base moves into the servers, fixing the callback paths.
    let d = pair(
        &shared,
        Api::Qr,
        "2023-03-22_c58127e.yaml",
        "2023-05-30_11763ac.yaml",
    );
    let appeared: Vec<&str> = find(&d, |c| c.message == "operation we use is now in the spec")
        .iter()
        .map(|c| c.operation.as_str())
        .collect();
    assert_eq!(
        appeared,
        [
            "delete_callback_qr",
            "get_callback_qr",
            "list_callback_qrs",
            "put_callback_qr"
        ]
    );

    // Access token 2023-11-08: the miami token endpoint arrives (not used); latest drops
    // `format: byte` on the token we read.
    let d = pair(
        &shared,
        Api::AccessToken,
        "2023-10-11_779ea42.yaml",
        "2023-11-08_d42e299.yaml",
    );
    assert!(!find(&d, |c| c.operation == "POST /miami/v1/token"
        && c.severity == Severity::Info)
    .is_empty());
    let d = pair(
        &shared,
        Api::AccessToken,
        "2023-11-08_d42e299.yaml",
        "latest.yaml",
    );
    let byte = find(&d, |c| {
        c.path.as_deref() == Some("AuthorizationTokenResponse.access_token")
            && c.message == "format byte -> none"
    });
    assert_eq!(byte.len(), 1, "{:#?}", d.changes);
    assert_eq!(byte[0].severity, Severity::Breaking);

    // Recurring 2023-10-06: PATCH can change `interval` (a new optional request field).
    let d = pair(
        &shared,
        Api::Recurring,
        "2022-12-07_8494fa1.yaml",
        "2023-10-06_59d96ad.yaml",
    );
    let interval = find(&d, |c| {
        c.operation == "update_agreement"
            && c.path.as_deref() == Some("PatchAgreementV3.interval")
            && c.message.starts_with("optional request field added")
    });
    assert_eq!(interval.len(), 1, "{:#?}", d.changes);
    assert_eq!(interval[0].severity, Severity::Warning);

    // Webhooks latest (published copy) only dropped keys the surface does not hold.
    let d = pair(
        &shared,
        Api::Webhooks,
        "2023-09-14_ae0e00e.yaml",
        "latest.yaml",
    );
    assert!(d.changes.is_empty(), "{:#?}", d.changes);
}
