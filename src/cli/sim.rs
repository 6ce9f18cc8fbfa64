//! `vippsctl sim serve`: run the Vipps simulator in the foreground until Ctrl-C.

use super::{Failure, Outcome};
use crate::sim::{self, FaultConfig, SimConfig};
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
    /// Seed for faults and jitter: the same seed and requests give the same faults.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Keep the state in this JSON file (loaded at start, written after every change).
    #[arg(long = "state", value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Switch off the documented rate limits.
    #[arg(long)]
    pub no_rate_limits: bool,
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
    config.seed = a.seed;
    config.state_file = a.state.clone();
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
    // The credentials are the simulator's well-known sandbox values, not secrets.
    println!("base_url: {}", handle.base_url());
    println!("client_id: {}", sim::SANDBOX_CLIENT_ID);
    println!("client_secret: {}", sim::SANDBOX_CLIENT_SECRET);
    println!("subscription_key: {}", sim::SANDBOX_SUBSCRIPTION_KEY);
    println!(
        "merchant_serial_number: {} (any 4-10 digit MSN works)",
        sim::SANDBOX_MSN
    );
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
