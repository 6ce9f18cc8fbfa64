//! `vippsctl sim serve`: run the Vipps simulator in the foreground until Ctrl-C.

use super::{Failure, Outcome};
use crate::sim::{self, Country, FaultConfig, FaultKind, Leniency, SimConfig, SimCredentials};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    #[command(subcommand)]
    pub command: SimCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum SimCommand {
    /// Serve the simulated Vipps APIs on 127.0.0.1 until stopped (Ctrl-C).
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Added to every API answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Up to this many more milliseconds, drawn per request.
    #[arg(long, default_value_t = 0)]
    pub jitter_ms: u64,
    /// Share of API requests (0.0 to 1.0) that fail on purpose: 5xx, 429, dropped connections,
    /// timeouts, and failures after the change was made.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    pub fault_rate: f64,
    /// The faults to draw from (repeatable; default: all): status_500, status_502, status_503,
    /// status_429, drop, timeout, after_write_500, after_write_drop.
    #[arg(long = "fault", value_name = "KIND", value_parser = parse_fault)]
    pub faults: Vec<FaultKind>,
    /// Seed for faults and jitter: the same seed and requests give the same faults.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Keep the state in this JSON file (loaded at start, written after every change).
    #[arg(long = "state", value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Switch off the documented rate limits.
    #[arg(long)]
    pub no_rate_limits: bool,
    /// Create this sales unit and print its keys (repeatable; `MSN:DK` or `MSN:FI` for a Danish
    /// or Finnish one). Default: the sandbox sales unit 123456.
    #[arg(long = "msn", value_name = "MSN[:COUNTRY]", value_parser = parse_sales_unit)]
    pub msns: Vec<(String, Country)>,
    /// Print one set of partner keys acting for every --msn (each call must name its MSN)
    /// instead of each sales unit's own keys.
    #[arg(long)]
    pub partner_keys: bool,
    /// Lifetime of an access token in seconds: 3600 as in the Vipps test environment, 86400 as
    /// in production.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub token_ttl: u64,
    /// Leniency (kinder than Vipps): accept any 4-10 digit MSN with any keys.
    #[arg(long)]
    pub lenient_any_msn: bool,
    /// Leniency (kinder than Vipps): list agreements in every status when no `status` is asked
    /// for (Vipps lists only ACTIVE ones).
    #[arg(long)]
    pub lenient_list_all_statuses: bool,
    /// Leniency (kinder than Vipps): answer merchant-redirect QR reads without a supported
    /// `Accept` header (Vipps requires one).
    #[arg(long)]
    pub lenient_qr_accept: bool,
}

fn parse_fault(s: &str) -> Result<FaultKind, String> {
    FaultKind::parse(s).ok_or_else(|| {
        let names: Vec<&str> = FaultKind::ALL.iter().map(|k| k.name()).collect();
        format!("'{s}' is not a fault; use one of {}", names.join(", "))
    })
}

fn parse_sales_unit(s: &str) -> Result<(String, Country), String> {
    let (msn, country) = match s.split_once(':') {
        Some((m, c)) => (
            m,
            Country::parse(c).ok_or_else(|| format!("'{c}' is not a market; use NO, DK or FI"))?,
        ),
        None => (s, Country::Norway),
    };
    if !(4..=10).contains(&msn.len()) || !msn.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{msn}' is not an MSN: 4-10 digits"));
    }
    Ok((msn.to_string(), country))
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("'{s}' is not a rate between 0.0 and 1.0")),
    }
}

pub async fn run(args: SimArgs) -> Result<Outcome, Failure> {
    match args.command {
        SimCommand::Serve(a) => serve(a).await,
    }
}

async fn serve(a: ServeArgs) -> Result<Outcome, Failure> {
    let mut config = if a.no_rate_limits {
        SimConfig::test()
    } else {
        SimConfig::sandbox()
    };
    config.latency = Duration::from_millis(a.latency_ms);
    config.jitter = Duration::from_millis(a.jitter_ms);
    config.faults = FaultConfig::with_rate(a.fault_rate);
    if !a.faults.is_empty() {
        config.faults.mix = a.faults.clone();
    }
    config.seed = a.seed;
    config.state_file = a.state.clone();
    config.token_ttl = Duration::from_secs(a.token_ttl);
    config.lenient = Leniency {
        any_msn: a.lenient_any_msn,
        list_all_statuses: a.lenient_list_all_statuses,
        qr_reads_without_accept: a.lenient_qr_accept,
    };
    if !a.msns.is_empty() {
        let msns: Vec<String> = a.msns.iter().map(|(m, _)| m.clone()).collect();
        config = config.with_sales_units(msns.clone());
        if a.partner_keys {
            config.credentials = vec![SimCredentials::sandbox_partner(msns)];
        }
        for (m, c) in &a.msns {
            if *c != Country::Norway {
                config.countries.insert(m.clone(), *c);
            }
        }
    } else if a.partner_keys {
        return Err(Failure::new("--partner-keys needs at least one --msn")
            .hint("vippsctl sim serve --msn 654321 --msn 234567 --partner-keys"));
    }
    let credentials = config.credentials.clone();
    let countries = config.countries.clone();
    let lenient = config.lenient;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, a.port));
    let handle = sim::start(config, addr).await.map_err(|e| {
        let hint = match &e {
            sim::SimError::Bind { .. } => "pick another --port, or 0 for a free one",
            sim::SimError::StateFile(_) => {
                "fix or remove the --state file (it is rewritten after every change)"
            }
        };
        Failure::from_error(&e).hint(hint)
    })?;
    // The keys are the simulator's well-known sandbox values (or derived from the MSN), not
    // secrets: they open nothing but this simulator.
    println!("base_url: {}", handle.base_url());
    for c in &credentials {
        let msns: Vec<String> = c
            .msns
            .iter()
            .map(|m| match countries.get(m) {
                Some(country) => format!("{m} ({})", country.code()),
                None => m.clone(),
            })
            .collect();
        if c.partner {
            println!(
                "partner_keys_for: {} (every call must send Merchant-Serial-Number)",
                msns.join(", ")
            );
        } else {
            println!("merchant_serial_number: {}", msns.join(", "));
        }
        println!("client_id: {}", c.client_id);
        println!("client_secret: {}", c.client_secret.expose());
        println!("subscription_key: {}", c.subscription_key.expose());
        if let Some(k) = &c.secondary_subscription_key {
            println!("subscription_key_secondary: {}", k.expose());
        }
    }
    let open = lenient.switched_on();
    if !open.is_empty() {
        println!("lenient: {} (kinder than Vipps)", open.join(", "));
    }
    if let Some(p) = &a.state {
        println!("state_file: {}", p.display());
    }
    println!(
        "control: {}/_sim/ (state, seed, drift, clock, faults, calls, reset)",
        handle.base_url()
    );
    tracing::info!("simulator running; Ctrl-C stops it");
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| Failure::new("could not wait for Ctrl-C").caused_by(e))?;
    handle.shutdown().await;
    Ok(Outcome::Ok)
}
