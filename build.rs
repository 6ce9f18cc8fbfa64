//! Generates one progenitor client per API from `openapi/<api>.yaml` (or `$VIPPSCTL_OPENAPI_DIR`),
//! after the spec passes in `src/specs/normalize.rs`. Output: `OUT_DIR/<module>.rs` and
//! `OUT_DIR/<module>.passes.txt` (what the passes changed).

#[path = "src/specs/normalize.rs"]
#[allow(dead_code)]
mod normalize;
#[path = "src/specs/ops.rs"]
#[allow(dead_code)]
mod ops;

use std::panic;
use std::path::{Path, PathBuf};

use progenitor::{GenerationSettings, Generator, InterfaceStyle, TagStyle};

fn main() {
    if let Err(message) = run() {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/specs/normalize.rs");
    println!("cargo:rerun-if-changed=src/specs/ops.rs");
    println!("cargo:rerun-if-env-changed=VIPPSCTL_OPENAPI_DIR");
    println!("cargo::rustc-check-cfg=cfg(vippsctl_recurring_paging)");

    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let spec_dir = match std::env::var_os("VIPPSCTL_OPENAPI_DIR") {
        Some(dir) => manifest.join(dir),
        None => manifest.join("openapi"),
    };
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?);

    let mut versions = Vec::new();
    for api in ops::Api::ALL {
        let file = spec_dir.join(format!("{}.yaml", api.file_stem()));
        println!("cargo:rerun-if-changed={}", file.display());
        let (version, doc) = generate(api, &file, &out_dir)?;
        versions.push(format!("{} {version}", api.file_stem()));
        if api == ops::Api::Recurring
            && normalize::has_parameter(&doc, "list_agreements", "pageNumber")
            && normalize::has_parameter(&doc, "list_agreements", "pageSize")
        {
            println!("cargo:rustc-cfg=vippsctl_recurring_paging");
        }
    }
    println!(
        "cargo:rustc-env=VIPPSCTL_SPEC_VERSIONS={}",
        versions.join(", ")
    );
    Ok(())
}

fn generate(
    api: ops::Api,
    file: &Path,
    out_dir: &Path,
) -> Result<(String, openapiv3::OpenAPI), String> {
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    let wanted: Vec<normalize::Wanted> = ops::operations(api)
        .map(|o| normalize::Wanted {
            method: o.method,
            path: o.path,
            name: o.name,
        })
        .collect();
    let mut normalized = normalize::normalize(&shown, &text, &wanted).map_err(|e| match e {
        // Already names the spec.
        normalize::NormalizeError::MissingOperation { .. } => e.to_string(),
        _ => format!("{shown}: {e}"),
    })?;

    let mut settings = GenerationSettings::default();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_inner_type(quote_path("crate::api::transport::Transport")?);

    // Success bodies the adapters read are decoded straight into their own types.
    let bodies = normalize::wire_bodies(api);
    let wire_notes = normalize::wire_responses(&mut normalized.doc, &bodies)
        .map_err(|e| format!("{shown}: {e}"))?;
    normalized.notes.extend(wire_notes);
    for body in &bodies {
        settings.with_replacement(&body.component, &body.rust_type, std::iter::empty());
    }

    // progenitor and typify report most unsupported constructs by panicking; turn that into a
    // build error that names the spec instead of a backtrace.
    let previous_hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let result = panic::catch_unwind(|| {
        let mut generator = Generator::new(&settings);
        generator.generate_tokens(&normalized.doc)
    });
    panic::set_hook(previous_hook);
    let tokens = match result {
        Ok(Ok(tokens)) => tokens,
        Ok(Err(e)) => return Err(format!("{shown}: {e}")),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the generator panicked".to_string());
            return Err(format!("{shown}: {message}"));
        }
    };
    let ast =
        syn::parse2(tokens).map_err(|e| format!("{shown}: generated code does not parse: {e}"))?;
    let code = prettyplease::unparse(&ast);

    let module = api.module();
    std::fs::write(out_dir.join(format!("{module}.rs")), code)
        .map_err(|e| format!("{module}.rs: {e}"))?;
    let mut notes = format!("# {shown}\n");
    for n in &normalized.notes {
        notes.push_str(n);
        notes.push('\n');
    }
    std::fs::write(out_dir.join(format!("{module}.passes.txt")), notes)
        .map_err(|e| format!("{module}.passes.txt: {e}"))?;
    Ok((normalized.doc.info.version.clone(), normalized.doc))
}

fn quote_path(path: &str) -> Result<proc_macro2::TokenStream, String> {
    path.parse::<proc_macro2::TokenStream>()
        .map_err(|e| format!("bad inner type {path}: {e}"))
}
