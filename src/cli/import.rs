//! `vippsctl import`: read what already exists for some merchants and write it as configuration.

use super::scope::MerchantArgs;
use super::session;
use super::{Failure, GlobalArgs, Outcome};
use crate::config::model::{Config, Merchant, Origin};
use crate::domain::model::AgreementStatus;
use crate::import::ImportOptions;
use crate::resources::Kind;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  vippsctl import --msn 123456 --out setup/imported.yaml\n  \
vippsctl import --msn 123456 --msn 234567 --kinds webhooks,redirectQrs\n  \
vippsctl import --msn 123456 --kinds agreements --created-after 2026-01-01\n  \
vippsctl import --all --shard 1/4 --out setup/shard-1.yaml"
)]
pub struct ImportArgs {
    #[command(flatten)]
    pub merchants: MerchantArgs,
    /// Import every sales unit the partner keys have access to, listed through the Management
    /// API (token from /miami/v1/token). With --shard, only that shard's. With --sandbox, the
    /// sandbox partner's sales units: the --msn given, else 123456, 234567 and 345678.
    #[arg(long)]
    pub all: bool,
    /// The kinds to import (comma-separated): webhooks, redirectQrs, callbackQrs, agreements.
    #[arg(long, value_delimiter = ',', value_name = "KINDS")]
    pub kinds: Vec<String>,
    /// Import agreements in these statuses only (comma-separated). Default: ACTIVE,PENDING.
    #[arg(long, value_delimiter = ',', value_name = "STATUSES")]
    pub agreement_status: Vec<String>,
    /// Import agreements created on or after this day only (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub created_after: Option<String>,
    /// Write the configuration to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Overwrite FILE if it exists.
    #[arg(long)]
    pub force: bool,
    /// Use the built-in simulator (state in .vippsctl/sandbox.json) instead of the Vipps APIs.
    #[arg(long)]
    pub sandbox: bool,
}

fn options(args: &ImportArgs) -> Result<ImportOptions, Failure> {
    let mut opts = ImportOptions::default();
    if !args.kinds.is_empty() {
        opts.kinds = args
            .kinds
            .iter()
            .map(|k| {
                Kind::parse(k.trim()).ok_or_else(|| {
                    Failure::new(format!("`{k}` is not a kind"))
                        .hint("kinds are webhooks, redirectQrs, callbackQrs and agreements")
                })
            })
            .collect::<Result<_, _>>()?;
    }
    if !args.agreement_status.is_empty() {
        opts.agreement_statuses = args
            .agreement_status
            .iter()
            .map(|s| {
                let s = s.trim().to_ascii_uppercase();
                [
                    AgreementStatus::Active,
                    AgreementStatus::Pending,
                    AgreementStatus::Stopped,
                    AgreementStatus::Expired,
                ]
                .into_iter()
                .find(|x| x.as_str() == s)
                .ok_or_else(|| {
                    Failure::new(format!("`{s}` is not an agreement status"))
                        .hint("statuses are ACTIVE, PENDING, STOPPED and EXPIRED")
                })
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(d) = &args.created_after {
        opts.created_after = Some(chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(
            |e| {
                Failure::new(format!("`{d}` is not a date"))
                    .caused_by(e)
                    .hint("write it as YYYY-MM-DD, e.g. 2026-01-31")
            },
        )?);
    }
    Ok(opts)
}

pub async fn run(args: ImportArgs, global: &GlobalArgs) -> Result<Outcome, Failure> {
    args.merchants.check_msns()?;
    if args.all && !args.sandbox && !args.merchants.msns.is_empty() {
        return Err(
            Failure::new("--all lists the sales units itself; it takes no --msn").hint(
                "leave out --msn (with --sandbox, --msn names the sandbox partner's sales units)",
            ),
        );
    }
    if !args.all && args.merchants.msns.is_empty() {
        return Err(Failure::new("import needs at least one --msn, or --all")
            .hint("vippsctl import --msn 123456 [--msn 234567 ...], or with partner keys vippsctl import --all"));
    }
    let mut opts = options(&args)?;
    if let (Some(out), false) = (&args.out, args.force) {
        if out.exists() {
            return Err(Failure::new(format!(
                "{} exists; import does not overwrite it",
                out.display()
            ))
            .hint("pass --force to overwrite it, or choose another --out"));
        }
    }
    let shard = args.merchants.shard()?;
    let asked: Vec<String> = if args.all {
        let units = discover(&args, global).await?;
        for u in &units {
            opts.names.insert(u.msn.clone(), u.name.clone());
        }
        let msns: Vec<String> = units.into_iter().map(|u| u.msn).collect();
        let kept = msns
            .iter()
            .filter(|m| shard.is_none_or(|s| s.contains(m)))
            .count();
        eprintln!(
            "The Management API lists {} sales {}{}",
            msns.len(),
            if msns.len() == 1 { "unit" } else { "units" },
            match &args.merchants.shard {
                Some(s) => format!("; shard {s} imports {kept} of them"),
                None => String::new(),
            }
        );
        msns
    } else {
        args.merchants.msns.clone()
    };
    let mut msns: Vec<String> = Vec::new();
    for m in &asked {
        if !msns.contains(m) && shard.is_none_or(|s| s.contains(m)) {
            msns.push(m.clone());
        }
    }
    // A configuration with bare merchants is all `connect` needs to make one client per MSN.
    let mut config = Config {
        version: 1,
        environment: None,
        merchants: msns.iter().map(|m| bare_merchant(m)).collect(),
        partner: None,
    };
    // `--all` runs with the partner keys: their own registrations (no MSN) are the partner
    // webhooks, read once, in shard 1 of n as plan does.
    if args.all && opts.kinds.contains(&Kind::Webhooks) && shard.is_none_or(|s| s.index == 1) {
        config.merchants.push(partner_unit());
    }
    let session =
        session::connect(global, &config, args.sandbox, shard.map_or(1, |s| s.count)).await?;
    opts.environment = Some(session.environment);
    let kinds = opts.kinds.clone();
    let lists = crate::import::agreement_lists(&opts);
    let live = crate::engine::observe_kinds(&config, &session.apis, |m| {
        if m.is_partner() {
            (vec![Kind::Webhooks], Default::default())
        } else {
            (kinds.clone(), lists.clone())
        }
    })
    .await
    .map_err(|e| session::failure(e, None, global))?;
    let yaml = crate::import::render(&live, &opts);
    match &args.out {
        Some(out) => {
            super::plan::write_file(out, &yaml)?;
            // The hint is a command to run as it is: against the sandbox when imported from it.
            eprintln!(
                "Wrote {} ({} {}); check it with: vippsctl plan {}{}",
                out.display(),
                live.len(),
                if live.len() == 1 {
                    "merchant"
                } else {
                    "merchants"
                },
                out.display(),
                if args.sandbox { " --sandbox" } else { "" }
            );
        }
        None => print!("{yaml}"),
    }
    Ok(Outcome::Ok)
}

/// The partner's sales units, through the Management API (or the sandbox partner's).
async fn discover(
    args: &ImportArgs,
    global: &GlobalArgs,
) -> Result<Vec<crate::domain::model::SalesUnit>, Failure> {
    session::discover(global, args.sandbox, &args.merchants.msns).await
}

/// The partner level with the partner keys `import --all` runs with (the default variables).
fn partner_unit() -> Merchant {
    use crate::api::credentials::{CLIENT_ID_VAR, CLIENT_SECRET_VAR, SUBSCRIPTION_KEY_VAR};
    Merchant {
        credentials: Some(crate::config::model::CredentialVars {
            client_id: CLIENT_ID_VAR.into(),
            client_secret: CLIENT_SECRET_VAR.into(),
            subscription_key: SUBSCRIPTION_KEY_VAR.into(),
        }),
        ..bare_merchant(crate::config::model::PARTNER)
    }
}

fn bare_merchant(msn: &str) -> Merchant {
    Merchant {
        msn: msn.to_string(),
        name: None,
        credentials: None,
        prune: Vec::new(),
        webhooks: Vec::new(),
        redirect_qrs: Vec::new(),
        callback_qrs: Vec::new(),
        agreements: Vec::new(),
        agreement_policies: Vec::new(),
        origin: Origin::default(),
    }
}
