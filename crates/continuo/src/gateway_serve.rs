//! `serve`'s part of the failover gateways: start every `[[gateway]]`, log their
//! events (tracing, with the gateway and service as fields), and give the web routes a
//! [`GatewayControl`] over them.

use continuo_core::{Catalog, Lang, Text, tr};
use continuo_engine::alerts::AlertHandle;
use continuo_gateway::{ControlError, EventKind, EventSink, GatewayEvent, Gateways};
use continuo_web::gateway::{ControlFailure, GatewayControl};
use std::sync::{Arc, PoisonError, RwLock};

/// The running gateways, as the web routes and reloads see them.
pub struct Control {
    gateways: RwLock<Gateways>,
    sink: EventSink,
}

impl Control {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Gateways> {
        self.gateways.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn handle(&self, id: &str) -> Result<continuo_gateway::GatewayHandle, ControlError> {
        self.read().handle(id)
    }

    /// An event per running gateway: `gateway shop-gw for shop on 127.0.0.1:8443`.
    pub fn log_running(&self, lang: Lang) {
        for handle in self.read().handles() {
            let status = handle.status();
            let (id, listen, service) = (&status.id, &status.listen, &status.service);
            let text = tr!(
                "gateway {id} for {service} on {listen}",
                "gateway {id} voor {service} op {listen}"
            );
            tracing::info!(gateway = %id, %service, %listen, "{}", text.get(lang));
        }
    }

    /// Applies a reloaded catalog (unchanged gateways keep running with their state)
    /// and logs what started, restarted, stopped or could not start.
    pub async fn reload(&self, catalog: &Catalog, lang: Lang) {
        // Taken out for the reload (it awaits); status shows no gateways meanwhile.
        let mut gateways = std::mem::replace(
            &mut *self
                .gateways
                .write()
                .unwrap_or_else(PoisonError::into_inner),
            Gateways::empty(),
        );
        let (report, errors) = gateways.reload(catalog, Some(self.sink.clone())).await;
        *self
            .gateways
            .write()
            .unwrap_or_else(PoisonError::into_inner) = gateways;
        for error in &errors {
            tracing::error!("{}", error.text().get(lang));
        }
        let list = |ids: &[String]| ids.join(", ");
        if !report.started.is_empty() {
            let ids = list(&report.started);
            let text = tr!("gateways started: {ids}", "gateways gestart: {ids}");
            tracing::info!(gateways = %ids, "{}", text.get(lang));
        }
        if !report.restarted.is_empty() {
            let ids = list(&report.restarted);
            let text = tr!(
                "gateways restarted with their new settings: {ids}",
                "gateways herstart met hun nieuwe instellingen: {ids}"
            );
            tracing::info!(gateways = %ids, "{}", text.get(lang));
        }
        if !report.stopped.is_empty() {
            let ids = list(&report.stopped);
            let text = tr!("gateways stopped: {ids}", "gateways gestopt: {ids}");
            tracing::info!(gateways = %ids, "{}", text.get(lang));
        }
    }
}

impl GatewayControl for Control {
    fn status(&self) -> serde_json::Value {
        let list: Vec<_> = self.read().handles().iter().map(|h| h.status()).collect();
        serde_json::to_value(list).unwrap_or_default()
    }

    fn set_drained(
        &self,
        gateway: &str,
        endpoint: &str,
        drained: bool,
    ) -> Result<(), ControlFailure> {
        let handle = self.handle(gateway).map_err(failure)?;
        let result = if drained {
            handle.drain(endpoint)
        } else {
            handle.undrain(endpoint)
        };
        result.map_err(failure)
    }

    fn fail_back(&self, gateway: &str) -> Result<(), ControlFailure> {
        self.handle(gateway)
            .map_err(failure)?
            .fail_back()
            .map_err(failure)
    }

    fn register_metrics(&self, registry: &mut continuo_engine::metrics::Registry) {
        self.read().register_metrics(registry);
    }
}

fn failure(e: ControlError) -> ControlFailure {
    match e {
        ControlError::NoHealthyPrimary(_) => ControlFailure::Refused(e.to_string()),
        _ => ControlFailure::NotFound(e.to_string()),
    }
}

/// Starts the catalog's gateways (perhaps none; a reload may add some) and a task that
/// logs their events and writes them on the service's timeline and its open incidents.
pub async fn start(
    catalog: &Catalog,
    lang: Lang,
    alerts: Option<AlertHandle>,
    admission: Arc<continuo_net::listen::Admission>,
) -> anyhow::Result<Arc<Control>> {
    let (sink, mut events) = tokio::sync::broadcast::channel::<GatewayEvent>(1024);
    let gateways = Gateways::start_with(catalog, Some(sink.clone()), admission)
        .await
        .map_err(|e| anyhow::anyhow!(e.text().get(lang).to_string()))?;
    tokio::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                // Fell behind a burst: say so and go on with what comes next.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "gateway events skipped (too many at once)");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            };
            let text = describe_text(&event);
            log_event(&event, text.get(lang));
            if let Some(alerts) = &alerts {
                if let EventKind::TaskRestarted { task, message } = &event.kind {
                    let task = format!("gateway.{}.{}", event.gateway, task.replace(' ', "."));
                    alerts.task_panicked(&task, message).await;
                }
                alerts
                    .service_event(&event.service, event.at_ms, text, failover_of(&event))
                    .await;
            }
        }
    });
    Ok(Arc::new(Control {
        gateways: RwLock::new(gateways),
        sink,
    }))
}

/// What a finished failover measured, as evidence of the service's redundancy: the
/// backup tier answered, after this long, at this cost.
fn failover_of(event: &GatewayEvent) -> Option<continuo_core::evidence::records::Failover> {
    let EventKind::FailoverFinished {
        reason,
        duration_ms,
        failed_requests,
        retried_requests,
        first_backup_success_ms,
        ..
    } = &event.kind
    else {
        return None;
    };
    Some(continuo_core::evidence::records::Failover {
        gateway: event.gateway.clone(),
        service: event.service.clone(),
        at_ms: *first_backup_success_ms,
        duration_ms: *duration_ms,
        failed_requests: *failed_requests,
        retried_requests: *retried_requests,
        planned: *reason == continuo_gateway::events::FailoverReason::Drain,
    })
}

/// Logs a gateway event: a warning when traffic or an endpoint is in trouble, else
/// information; the gateway, service and kind of event are fields.
fn log_event(event: &GatewayEvent, text: &str) {
    let kind = serde_json::to_value(&event.kind)
        .ok()
        .and_then(|v| v.get("event")?.as_str().map(str::to_string))
        .unwrap_or_default();
    let trouble = match &event.kind {
        EventKind::FailoverStarted { .. } | EventKind::EndpointDown { .. } => true,
        EventKind::Action { ok, dry_run, .. } => !ok && !dry_run,
        EventKind::TaskRestarted { .. } => true,
        _ => false,
    };
    let (gateway, service) = (&event.gateway, &event.service);
    if trouble {
        tracing::warn!(gateway = %gateway, service = %service, event = %kind, "{text}");
    } else {
        tracing::info!(gateway = %gateway, service = %service, event = %kind, "{text}");
    }
}

/// One line per event, in English and Dutch.
pub fn describe_text(event: &GatewayEvent) -> Text {
    let gw = &event.gateway;
    match &event.kind {
        EventKind::FailoverStarted { reason, .. } => {
            let why = match reason {
                continuo_gateway::FailoverReason::Failure => tr!("failure", "storing"),
                continuo_gateway::FailoverReason::Drain => tr!("drain", "leegmaken"),
            };
            tr!(
                "gateway {gw}: failover to the backup tier started ({})",
                "gateway {gw}: overschakeling naar de back-uplaag begonnen ({})",
                why.en;
                why.nl
            )
        }
        EventKind::FailoverFinished {
            duration_ms,
            failed_requests,
            retried_requests,
            ..
        } => tr!(
            "gateway {gw}: failover finished in {duration_ms} ms, {failed_requests} requests failed, {retried_requests} retried",
            "gateway {gw}: overschakeling klaar in {duration_ms} ms, {failed_requests} verzoeken mislukt, {retried_requests} opnieuw geprobeerd"
        ),
        EventKind::Failback {
            automatic,
            healthy_for_ms,
        } => {
            if *automatic {
                tr!(
                    "gateway {gw}: traffic back on the primary tier (healthy for {healthy_for_ms} ms)",
                    "gateway {gw}: verkeer terug op de primaire laag (gezond sinds {healthy_for_ms} ms)"
                )
            } else {
                tr!(
                    "gateway {gw}: traffic back on the primary tier (by hand)",
                    "gateway {gw}: verkeer terug op de primaire laag (handmatig)"
                )
            }
        }
        EventKind::EndpointDown { endpoint, reason } => tr!(
            "gateway {gw}: endpoint {endpoint} taken out: {reason}",
            "gateway {gw}: endpoint {endpoint} uit roulatie: {reason}"
        ),
        EventKind::EndpointUp { endpoint } => tr!(
            "gateway {gw}: endpoint {endpoint} healthy again",
            "gateway {gw}: endpoint {endpoint} weer gezond"
        ),
        EventKind::Drained { endpoint } => tr!(
            "gateway {gw}: endpoint {endpoint} drained",
            "gateway {gw}: endpoint {endpoint} leeggemaakt"
        ),
        EventKind::Undrained { endpoint } => tr!(
            "gateway {gw}: endpoint {endpoint} back in rotation",
            "gateway {gw}: endpoint {endpoint} weer in roulatie"
        ),
        EventKind::TaskRestarted { task, message } => tr!(
            "gateway {gw}: its task `{task}` failed and was restarted: {message}",
            "gateway {gw}: de taak `{task}` liep vast en is opnieuw gestart: {message}"
        ),
        EventKind::Action {
            action,
            ok,
            dry_run,
            message,
            ..
        } => match (dry_run, ok) {
            (true, _) => tr!(
                "gateway {gw}: would run {action} (dry run)",
                "gateway {gw}: zou {action} uitvoeren (proefdraaien)"
            ),
            (false, true) => tr!(
                "gateway {gw}: action {action} succeeded: {message}",
                "gateway {gw}: actie {action} geslaagd: {message}"
            ),
            (false, false) => tr!(
                "gateway {gw}: action {action} failed: {message}",
                "gateway {gw}: actie {action} mislukt: {message}"
            ),
        },
    }
}
