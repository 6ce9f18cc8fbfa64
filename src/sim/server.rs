//! The HTTP server (hyper, HTTP/1.1) and the in-process handle. hyper directly rather than an
//! axum router: one dispatcher routes everything, and a dropped-connection fault needs the service
//! to fail the connection, which a router's infallible service cannot do.

use super::config::{FaultConfig, SimConfig};
use super::control::{self, ControlError, CustomerAction, Drift};
use super::core::{CallRecord, Sim};
use super::delivery::{DeliveryList, Emitted};
use super::state::{SimState, StateFileError};
use super::wire::Req;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Request bodies larger than this are refused. The largest the APIs take is an Order
/// Management image: 2 MB, base64-encoded in JSON (about 2.7 MB).
const MAX_BODY: usize = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("could not listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    StateFile(#[from] StateFileError),
}

/// A running simulator. Dropping it stops the server too; `shutdown` also waits for that.
pub struct SimHandle {
    sim: Arc<Sim>,
    base_url: String,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Start the simulator on `addr` (use `127.0.0.1:0` for a free port).
pub async fn start(config: SimConfig, addr: SocketAddr) -> Result<SimHandle, SimError> {
    let (state, saved) = match &config.state_file {
        Some(path) => (
            SimState::load(path)?.unwrap_or_default(),
            super::state::load_saved(path)?,
        ),
        None => (SimState::default(), Default::default()),
    };
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| SimError::Bind { addr, source })?;
    let base_url = format!("http://{addr}");
    let sim = Arc::new(Sim::new(config, state, base_url.clone()));
    sim.restore(saved);
    let sim_for_server = sim.clone();
    let (stop, stopped) = watch::channel(false);
    let deliveries = tokio::spawn(super::delivery::run(sim.clone(), stopped.clone()));
    let task = tokio::spawn(async move {
        serve(listener, sim_for_server, stopped).await;
        let _ = deliveries.await;
    });
    Ok(SimHandle {
        sim,
        base_url,
        addr,
        stop,
        task: Some(task),
    })
}

async fn serve(listener: TcpListener, sim: Arc<Sim>, mut stopped: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let sim = sim.clone();
                conns.spawn(async move {
                    let svc = service_fn(move |req| answer(sim.clone(), req));
                    if let Err(e) = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await
                    {
                        tracing::debug!("simulator connection ended: {e}");
                    }
                });
            }
        }
    }
    // Hung (timeout-fault) connections would otherwise outlive the server.
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

async fn answer(
    sim: Arc<Sim>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return Ok(plain(413, format!("request body refused: {e}")));
        }
    };
    let req = Req {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers,
        body,
    };
    let reply = sim.handle(req).await;
    if let Some(hang) = reply.hang {
        tokio::time::sleep(hang).await;
    }
    if reply.drop_connection {
        return Err(std::io::Error::other(
            "connection dropped by an injected fault",
        ));
    }
    let mut builder = Response::builder().status(reply.status);
    if let Some(ct) = &reply.content_type {
        builder = builder.header("Content-Type", ct);
    }
    for (k, v) in &reply.headers {
        builder = builder.header(k, v);
    }
    Ok(builder
        .body(Full::new(Bytes::from(reply.body)))
        .unwrap_or_else(|e| plain(500, format!("could not build the response: {e}"))))
}

fn plain(status: u16, msg: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(msg)));
    *r.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    r
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every Vipps API call so far, in arrival order.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.sim.lock().calls.clone()
    }

    pub fn clear_calls(&self) {
        self.sim.lock().calls.clear();
    }

    /// A snapshot, after expiring what the simulated clock says is gone.
    pub fn state(&self) -> SimState {
        let mut inner = self.sim.lock();
        inner.sweep();
        inner.persist();
        inner.state.clone()
    }

    /// Change the state directly (seed, drift); persisted like any other change.
    pub fn update<R>(&self, f: impl FnOnce(&mut SimState) -> R) -> R {
        let mut inner = self.sim.lock();
        let r = f(&mut inner.state);
        inner.dirty = true;
        inner.persist();
        r
    }

    pub fn seed(&self, extra: SimState) {
        let mut inner = self.sim.lock();
        control::seed(&mut inner, extra);
        inner.persist();
    }

    pub fn drift(&self, d: &Drift) -> Result<(), ControlError> {
        let mut inner = self.sim.lock();
        let r = control::drift(&mut inner, d);
        inner.persist();
        r
    }

    /// The customer accepts a pending agreement (as on the consent page).
    pub fn accept_agreement(&self, id: &str) -> Result<(), ControlError> {
        self.customer(id, CustomerAction::Accept { max_amount: None })
    }

    /// The customer accepts a pending VARIABLE agreement and chooses this maximum amount (minor
    /// units) per interval.
    pub fn accept_agreement_with_max(&self, id: &str, max_amount: i64) -> Result<(), ControlError> {
        self.customer(
            id,
            CustomerAction::Accept {
                max_amount: Some(max_amount),
            },
        )
    }

    /// The customer rejects a pending agreement or stops an active one.
    pub fn stop_agreement(&self, id: &str) -> Result<(), ControlError> {
        self.customer(id, CustomerAction::Stop)
    }

    /// From now on charging this agreement's customer fails with `reason` (a `failureReason`
    /// value, e.g. `user_action_required`); `None`: the card works again.
    pub fn set_card_fails(
        &self,
        agreement_id: &str,
        reason: Option<&str>,
    ) -> Result<(), ControlError> {
        let mut inner = self.sim.lock();
        let r = super::charges::set_card_fails(&mut inner, agreement_id, reason);
        inner.persist();
        r
    }

    fn customer(&self, id: &str, action: CustomerAction) -> Result<(), ControlError> {
        let mut inner = self.sim.lock();
        let r = control::customer(&mut inner, id, action);
        inner.persist();
        r
    }

    /// Every webhook delivery so far (and the forward target), oldest first.
    pub fn deliveries(&self) -> DeliveryList {
        self.sim.lock().deliveries.list()
    }

    /// Send deliveries to `url` (a local http or https URL), or hold them (`None`).
    pub fn set_forward(&self, url: Option<&str>) -> Result<(), ControlError> {
        let url = url
            .map(super::delivery::check_forward)
            .transpose()
            .map_err(ControlError::Invalid)?;
        let mut inner = self.sim.lock();
        inner.deliveries.forward = url;
        inner.wake.notify_one();
        Ok(())
    }

    /// A customer scans callback QR `merchant_qr_id` of `msn`: a `user.checked-in.v1` to every
    /// registration of it. Answers the customer token and the event.
    pub fn check_in(
        &self,
        msn: &str,
        merchant_qr_id: &str,
    ) -> Result<(String, Emitted), ControlError> {
        self.sim
            .lock()
            .check_in(msn, merchant_qr_id)
            .ok_or_else(|| ControlError::NotFound {
                msn: msn.to_string(),
                kind: super::control::ObjectKind::CallbackQr,
                id: merchant_qr_id.to_string(),
            })
    }

    /// Whether `token` is a customer token of `msn` from a check-in that is still valid (15
    /// minutes on the simulated clock).
    pub fn customer_token_valid(&self, msn: &str, token: &str) -> bool {
        self.sim.lock().customer_token_valid(msn, token)
    }

    /// Moves the simulated clock forward. A jump beyond the calendar (thousands of millennia)
    /// is ignored with a warning; use [`SimHandle::try_advance_clock`] to see the refusal.
    pub fn advance_clock(&self, by: Duration) {
        if let Err(e) = self.try_advance_clock(by) {
            tracing::warn!("{e}");
        }
    }

    pub fn try_advance_clock(&self, by: Duration) -> Result<(), ControlError> {
        let mut inner = self.sim.lock();
        let r = control::advance_clock(&mut inner, by);
        inner.persist();
        r
    }

    /// The simulated time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.sim.lock().now()
    }

    pub fn set_faults(&self, f: FaultConfig) {
        self.sim.lock().set_faults(f);
    }

    /// Empty state and call log, clock back to real time.
    pub fn reset(&self) {
        let mut inner = self.sim.lock();
        control::reset(&mut inner);
        inner.persist();
    }

    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
