//! `vippsctl sim serve`: run the Vipps simulator in the foreground until Ctrl-C; `sim deliveries`,
//! `sim scan`, `sim trigger` and `sim pay` talk to a running one through its control API
//! (`/_sim/`).

use super::{Failure, GlobalArgs, Outcome};
use crate::sim::{
    self, Country, DeliveryList, DeliveryStatus, FaultConfig, FaultKind, Leniency, SimConfig,
    SimCredentials,
};
use serde_json::{json, Value};
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
    Serve(Box<ServeArgs>),
    /// List the webhook deliveries of a running simulator: event, registration, attempts and
    /// answers.
    Deliveries(DeliveriesArgs),
    /// A customer scans a callback QR: the running simulator sends `user.checked-in.v1`.
    Scan(ScanArgs),
    /// Send one synthetic event to the registrations of a sales unit, like `stripe trigger`.
    Trigger(TriggerArgs),
    /// Make the customer's card fail for an agreement's charges (or work again with --off).
    ChargeFails(ChargeFailsArgs),
    /// The customer approves (or rejects) an ePayment payment in the app, as `--reject` says.
    Pay(PayArgs),
}

#[derive(Debug, clap::Args)]
pub struct ChargeFailsArgs {
    /// The agreement whose charges fail.
    pub agreement_id: String,
    /// The failureReason the charges get.
    #[arg(long, default_value = "user_action_required", value_parser = clap::builder::PossibleValuesParser::new(sim::CHARGE_FAILURE_REASONS))]
    pub reason: String,
    /// The card works again.
    #[arg(long)]
    pub off: bool,
}

#[derive(Debug, clap::Args)]
pub struct PayArgs {
    /// The payment's reference.
    pub reference: String,
    /// The sales unit that created it.
    #[arg(long, value_name = "MSN")]
    pub msn: String,
    /// Reject the payment instead (it becomes ABORTED).
    #[arg(long)]
    pub reject: bool,
    /// Express checkout: the shipping option the customer picks (default: the default one).
    #[arg(long, value_name = "ID")]
    pub shipping_option: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct DeliveriesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
    /// Only deliveries of this sales unit.
    #[arg(long, value_name = "MSN")]
    pub msn: Option<String>,
    /// Only deliveries of this event (e.g. recurring.agreement-activated.v1).
    #[arg(long, value_name = "EVENT")]
    pub event: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// The sales unit the QR belongs to.
    pub msn: String,
    /// The callback QR's merchantQrId.
    pub merchant_qr_id: String,
}

#[derive(Debug, clap::Args)]
pub struct TriggerArgs {
    /// The event to send.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(sim::TRIGGERABLE))]
    pub event: String,
    /// The sales unit whose registrations get it.
    #[arg(long, value_name = "MSN")]
    pub msn: String,
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
    /// Leniency (kinder than Vipps): accept a local `http://` URL as an Express payment's
    /// dynamic shipping callback (Vipps requires HTTPS).
    #[arg(long)]
    pub lenient_http_callbacks: bool,
    /// Send every webhook delivery to this local http or https URL instead of the registered
    /// one, signed for it (without it, deliveries wait unsent: `PUT /_sim/forward` sets one later).
    #[arg(long, value_name = "URL", value_parser = parse_forward)]
    pub forward_to: Option<url::Url>,
    /// Send every call to a merchant's callback (an Express payment's dynamic shipping
    /// callback) to this local http or https URL instead of the payment's `callbackUrl`, so a
    /// payment can name the https URL it names in production.
    #[arg(long, value_name = "URL", value_parser = parse_forward)]
    pub callbacks_to: Option<url::Url>,
}

fn parse_forward(s: &str) -> Result<url::Url, String> {
    sim::check_forward(s)
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

pub async fn run(args: SimArgs, global: &GlobalArgs) -> Result<Outcome, Failure> {
    match args.command {
        SimCommand::Serve(a) => serve(*a).await,
        SimCommand::Deliveries(a) => deliveries(a, &Control::new(global, "deliveries")?).await,
        SimCommand::Scan(a) => scan(a, &Control::new(global, "scan")?).await,
        SimCommand::Trigger(a) => trigger(a, &Control::new(global, "trigger")?).await,
        SimCommand::ChargeFails(a) => charge_fails(a, &Control::new(global, "charge-fails")?).await,
        SimCommand::Pay(a) => pay(a, &Control::new(global, "pay")?).await,
    }
}

/// The control API of a running simulator (the `--base-url` that `sim serve` printed).
struct Control {
    base: String,
    http: reqwest::Client,
}

impl Control {
    fn new(global: &GlobalArgs, command: &str) -> Result<Control, Failure> {
        let Some(base) = global.base_url.as_deref() else {
            return Err(Failure::new(format!(
                "`vippsctl sim {command}` talks to a running simulator, and no --base-url names one"
            ))
            .hint(format!(
                "start one with `vippsctl sim serve`, then: vippsctl sim {command} ... --base-url <the base_url it printed>"
            )));
        };
        let http = reqwest::Client::builder()
            .timeout(global.timeout)
            .build()
            .map_err(|e| Failure::new("could not set up an HTTP client").caused_by(e))?;
        Ok(Control {
            base: base.trim_end_matches('/').to_string(),
            http,
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Failure> {
        let url = format!("{}/_sim/{path}", self.base);
        let mut req = self.http.request(method.clone(), &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let not_sim = || {
            format!(
                "is {} a running `vippsctl sim serve`? its base_url is printed at start",
                self.base
            )
        };
        let resp = req.send().await.map_err(|e| {
            Failure::new(format!("could not reach the simulator at {}", self.base))
                .caused_by(crate::error_chain::causes(&e).join(": "))
                .hint(not_sim())
        })?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| {
            Failure::new(format!(
                "the simulator at {} did not answer in full",
                self.base
            ))
            .caused_by(e)
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|_| {
            Failure::new(format!(
                "{method} {url} answered {status} without a simulator answer"
            ))
            .hint(not_sim())
        })?;
        if !status.is_success() {
            let msg = value
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("refused");
            return Err(Failure::new(format!("the simulator refused: {msg}")));
        }
        Ok(value)
    }
}

async fn deliveries(a: DeliveriesArgs, control: &Control) -> Result<Outcome, Failure> {
    let value = control
        .call(reqwest::Method::GET, "deliveries", None)
        .await?;
    let mut list: DeliveryList = serde_json::from_value(value).map_err(|e| {
        Failure::new("the simulator's deliveries are not in the shape this vippsctl knows")
            .caused_by(e)
    })?;
    list.deliveries.retain(|d| {
        a.msn.as_ref().is_none_or(|m| *m == d.msn) && a.event.as_ref().is_none_or(|e| *e == d.event)
    });
    match a.format {
        ListFormat::Json => {
            let text = serde_json::to_string_pretty(&list)
                .map_err(|e| Failure::new("could not write the deliveries as JSON").caused_by(e))?;
            println!("{text}");
        }
        ListFormat::Text => print!("{}", render_deliveries(&list)),
    }
    let waiting = list
        .deliveries
        .iter()
        .any(|d| d.status == DeliveryStatus::Pending);
    if list.forward_to.is_none() && waiting {
        eprintln!(
            "note: no forward target is set, so deliveries wait unsent; start the simulator with --forward-to URL, or PUT {{\"url\": ...}} to {}/_sim/forward",
            control.base
        );
    }
    Ok(Outcome::Ok)
}

fn status_name(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Pending => "pending",
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::GaveUp => "gave_up",
        DeliveryStatus::Cancelled => "cancelled",
    }
}

/// One line per delivery, oldest first: when, what, where, how it went.
pub fn render_deliveries(list: &DeliveryList) -> String {
    let mut rows = vec![[
        "CREATED".to_string(),
        "EVENT".to_string(),
        "MSN".to_string(),
        "WEBHOOK".to_string(),
        "STATUS".to_string(),
        "ATTEMPTS".to_string(),
        "LAST ANSWER".to_string(),
    ]];
    for d in &list.deliveries {
        let last = match d.attempts.last() {
            Some(at) => match (at.status, &at.error) {
                (Some(s), None) => s.to_string(),
                (_, Some(e)) => e.clone(),
                (None, None) => "-".into(),
            },
            None if d.status == DeliveryStatus::Pending && list.forward_to.is_none() => {
                "- (no forward target)".into()
            }
            None => "-".into(),
        };
        let last = match (&d.note, d.status) {
            (Some(n), DeliveryStatus::GaveUp | DeliveryStatus::Cancelled) => {
                format!("{last} ({n})")
            }
            _ => last,
        };
        rows.push([
            d.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            d.event.clone(),
            d.msn.clone(),
            d.webhook_id.to_string(),
            status_name(d.status).to_string(),
            d.attempts.len().to_string(),
            last,
        ]);
    }
    let mut widths = [0usize; 7];
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    if let Some(f) = &list.forward_to {
        out.push_str(&format!("forward_to: {f}\n"));
    }
    for r in &rows {
        let mut line = String::new();
        for (i, (c, w)) in r.iter().zip(widths).enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

async fn scan(a: ScanArgs, control: &Control) -> Result<Outcome, Failure> {
    let v = control
        .call(
            reqwest::Method::POST,
            "scan",
            Some(json!({"msn": a.msn, "merchantQrId": a.merchant_qr_id})),
        )
        .await?;
    print_emitted(&v, &a.msn, sim::CHECKED_IN);
    println!(
        "customer_token: {} (valid {} minutes)",
        v["customerToken"].as_str().unwrap_or_default(),
        v["validMinutes"]
    );
    Ok(Outcome::Ok)
}

async fn trigger(a: TriggerArgs, control: &Control) -> Result<Outcome, Failure> {
    let v = control
        .call(
            reqwest::Method::POST,
            "trigger",
            Some(json!({"event": a.event, "msn": a.msn})),
        )
        .await?;
    print_emitted(&v, &a.msn, &a.event);
    let payload = serde_json::to_string_pretty(&v["payload"]).unwrap_or_default();
    println!("payload: {payload}");
    Ok(Outcome::Ok)
}

async fn charge_fails(a: ChargeFailsArgs, control: &Control) -> Result<Outcome, Failure> {
    control
        .call(
            reqwest::Method::POST,
            "charges/fail",
            Some(json!({"agreementId": a.agreement_id, "reason": a.reason, "fails": !a.off})),
        )
        .await?;
    if a.off {
        println!("agreement {}: charges succeed again", a.agreement_id);
    } else {
        println!(
            "agreement {}: charges fail with {} (retried for their retryDays, then FAILED)",
            a.agreement_id, a.reason
        );
    }
    Ok(Outcome::Ok)
}

async fn pay(a: PayArgs, control: &Control) -> Result<Outcome, Failure> {
    let action = if a.reject { "reject" } else { "approve" };
    let mut body = json!({});
    if let Some(id) = &a.shipping_option {
        body["shippingOptionId"] = json!(id);
    }
    let path = format!(
        "payments/{}/{}/{action}",
        sim::percent_encode(&a.msn),
        sim::percent_encode(&a.reference)
    );
    let v = control
        .call(reqwest::Method::POST, &path, Some(body))
        .await?;
    println!("reference: {}", a.reference);
    println!("state: {}", v["state"].as_str().unwrap_or_default());
    let authorized = &v["aggregate"]["authorizedAmount"];
    if let (Some(value), Some(currency)) = (
        authorized["value"].as_i64(),
        authorized["currency"].as_str(),
    ) {
        println!("authorized: {value} {currency}");
    }
    if let Some(option) = v["shippingDetails"]["shippingOptionId"].as_str() {
        println!(
            "shipping: {option} ({} {})",
            v["shippingDetails"]["shippingCost"],
            authorized["currency"].as_str().unwrap_or_default()
        );
    }
    Ok(Outcome::Ok)
}

fn print_emitted(v: &Value, msn: &str, event: &str) {
    let n = v["deliveries"].as_u64().unwrap_or(0);
    println!("event_id: {}", v["eventId"].as_str().unwrap_or_default());
    println!("deliveries: {n}");
    if n == 0 {
        eprintln!("warning: no webhook of sales unit {msn} is registered for {event}, so nothing is delivered");
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
    config.forward_to = a.forward_to.clone();
    config.callbacks_to = a.callbacks_to.clone();
    config.lenient = Leniency {
        any_msn: a.lenient_any_msn,
        list_all_statuses: a.lenient_list_all_statuses,
        qr_reads_without_accept: a.lenient_qr_accept,
        http_callbacks: a.lenient_http_callbacks,
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
    if let Some(f) = &a.forward_to {
        println!("forward_to: {f} (every webhook delivery goes here)");
    }
    if let Some(f) = &a.callbacks_to {
        println!("callbacks_to: {f} (every call to a merchant's callback goes here)");
    }
    println!(
        "control: {}/_sim/ (state, seed, drift, clock, faults, calls, deliveries, forward, scan, trigger, payments, charges/fail, reset)",
        handle.base_url()
    );
    tracing::info!("simulator running; Ctrl-C stops it");
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| Failure::new("could not wait for Ctrl-C").caused_by(e))?;
    handle.shutdown().await;
    Ok(Outcome::Ok)
}
