//! Sending a payment to a bank channel: per channel a bulkhead (a cap on calls in flight,
//! so one slow bank cannot hold every connection) and a breaker, both `tower` layers from
//! `taishan-guard`; channels tried by weight; and the rule that keeps money from moving
//! twice: a payment moves to another channel only after a definite refusal, never after a
//! call whose outcome is unknown.

use std::sync::Arc;

use opentelemetry::Context;
use rand::Rng;
use taishan_core::Clock;
use taishan_guard::layer::{rejection, BoxError, BreakerLayer, ConcurrencyLimitLayer};
use taishan_guard::{BreakerConfig, CircuitBreaker, ConcurrencyLimit, Guards};
use tower::{service_fn, ServiceExt};

use super::model::Payment;
use crate::bank::{Acceptance, TransferRequest};
use crate::telemetry::{CallError, TracedClient};

/// One channel as the payment service sees it.
#[derive(Debug)]
pub(crate) struct RoutedChannel {
    pub(crate) name: String,
    weight: u32,
    breaker: Arc<CircuitBreaker>,
    bulkhead: Arc<ConcurrencyLimit>,
}

/// Calls to one channel in flight at once; beyond, payments try another channel.
const CALLS_PER_CHANNEL: usize = 64;

/// How a submission ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Submission {
    /// The channel has it.
    Accepted(String),
    /// Sent to the channel, but no answer: it may have it. Never reroute.
    Unknown { channel: String, reason: String },
    /// The channel answered that it will never do this transfer.
    Rejected { channel: String, reason: String },
    /// No channel took it, and none has it.
    NoChannel(String),
}

/// The channels and their breakers.
#[derive(Debug)]
pub(crate) struct ChannelRouter {
    channels: Vec<RoutedChannel>,
    banks_url: String,
    callback_base: String,
}

fn counts_against_channel(result: &Result<Acceptance, CallError>) -> bool {
    // A 4xx is the bank refusing this transfer, not the channel failing.
    matches!(result, Err(e) if !e.status().is_some_and(|s| s.is_client_error()))
}

impl ChannelRouter {
    /// A breaker named after each channel in `guards`.
    pub(crate) fn new(
        channels: &[(String, u32)],
        guards: &Guards,
        breaker: &BreakerConfig,
        banks_url: String,
        callback_base: String,
    ) -> Self {
        Self {
            channels: channels
                .iter()
                .map(|(name, weight)| RoutedChannel {
                    name: name.clone(),
                    weight: (*weight).max(1),
                    breaker: guards.breaker(name, breaker.clone()),
                    bulkhead: guards
                        .concurrency_limit(&format!("{name}-bulkhead"), CALLS_PER_CHANNEL),
                })
                .collect(),
            banks_url,
            callback_base,
        }
    }

    /// Whether `name` is a configured channel.
    pub(crate) fn knows(&self, name: &str) -> bool {
        self.channels.iter().any(|c| c.name == name)
    }

    /// The channel names.
    pub(crate) fn names(&self) -> Vec<String> {
        self.channels.iter().map(|c| c.name.clone()).collect()
    }

    /// The banks' base URL.
    pub(crate) fn banks_url(&self) -> &str {
        &self.banks_url
    }

    /// Channels in the order to try them: a weighted random order, so traffic spreads by
    /// weight and a refused channel's share moves to the others.
    fn order(&self) -> Vec<&RoutedChannel> {
        let mut rng = rand::rng();
        let mut keyed: Vec<(f64, &RoutedChannel)> = self
            .channels
            .iter()
            .map(|c| (rng.random::<f64>().powf(1.0 / f64::from(c.weight)), c))
            .collect();
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
        keyed.into_iter().map(|(_, c)| c).collect()
    }

    /// Submits `payment` to the first channel that takes it (or only to `only`), calling
    /// `attempted` for each channel tried.
    pub(crate) async fn submit(
        &self,
        client: &TracedClient,
        clock: &Arc<dyn Clock>,
        cx: &Context,
        payment: &Payment,
        only: Option<&str>,
        mut attempted: impl FnMut(&str),
    ) -> Submission {
        let request = TransferRequest {
            reference: payment.id.clone(),
            kind: payment.request.purpose.transfer_kind(),
            account: payment.request.account.clone(),
            amount: payment.request.amount,
            callback_url: String::new(),
        };
        let mut refusals = Vec::new();
        for channel in self.order() {
            if only.is_some_and(|o| o != channel.name) {
                continue;
            }
            attempted(&channel.name);
            let url = format!("{}/channels/{}/transfers", self.banks_url, channel.name);
            let mut req = request.clone();
            req.callback_url = format!("{}/callbacks/{}", self.callback_base, channel.name);
            let call = service_fn(
                |(cx, peer, url, req): (Context, String, String, TransferRequest)| {
                    let client = client.clone();
                    async move {
                        client
                            .post::<_, Acceptance>(&cx, &peer, "POST /transfers", &url, &req)
                            .await
                    }
                },
            );
            let guarded = tower::ServiceBuilder::new()
                .layer(ConcurrencyLimitLayer::new(channel.bulkhead.clone()))
                .layer(BreakerLayer::new(
                    channel.breaker.clone(),
                    clock.clone(),
                    counts_against_channel,
                ))
                .service(call);
            match guarded
                .oneshot((cx.clone(), channel.name.clone(), url, req))
                .await
            {
                Ok(_) => return Submission::Accepted(channel.name.clone()),
                Err(e) => match classify(&e) {
                    Refusal::NotSent(reason) => {
                        refusals.push(format!("{}: {reason}", channel.name))
                    }
                    Refusal::Rejected(reason) => {
                        return Submission::Rejected {
                            channel: channel.name.clone(),
                            reason,
                        }
                    }
                    Refusal::Unknown(reason) => {
                        return Submission::Unknown {
                            channel: channel.name.clone(),
                            reason,
                        }
                    }
                },
            }
        }
        Submission::NoChannel(if refusals.is_empty() {
            "no channel configured".into()
        } else {
            refusals.join("; ")
        })
    }
}

enum Refusal {
    /// The channel certainly does not have the transfer: try another.
    NotSent(String),
    /// The channel refuses this transfer for good.
    Rejected(String),
    /// The channel may have it.
    Unknown(String),
}

fn classify(e: &BoxError) -> Refusal {
    if let Some(r) = rejection(e) {
        return Refusal::NotSent(r.to_string());
    }
    match e.downcast_ref::<CallError>() {
        Some(CallError::Unreachable { reason, .. }) => Refusal::NotSent(reason.clone()),
        // The bank answers 503 before it records anything.
        Some(err @ CallError::Status { status, .. }) if status.as_u16() == 503 => {
            Refusal::NotSent(err.to_string())
        }
        Some(err @ CallError::Status { status, .. }) if status.is_client_error() => {
            Refusal::Rejected(err.to_string())
        }
        Some(other) => Refusal::Unknown(other.to_string()),
        None => Refusal::Unknown(e.to_string()),
    }
}
