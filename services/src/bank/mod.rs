//! Simulated bank channels: the outside world payments go through.
//!
//! Each channel accepts transfers (pay-outs and collections) keyed by the payer's
//! reference, so a resubmission never moves money twice; settles them after a while, some
//! failed; reports each result by an asynchronous callback that can be late, duplicated or
//! lost; answers status queries; and keeps a statement of the money it moved. Its
//! latency and failure settings can be changed while it runs (drills, tests). A bank is not
//! instrumented: Taishan sees it only through the client spans of its callers.

mod api;
mod store;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use taishan_chaos::ChannelProfile;
use taishan_chaos::FaultSet;
use taishan_core::Clock;
use tokio_util::sync::CancellationToken;

pub use api::router;
pub use store::{StatementLine, Transfer};

use crate::db::Database;
use crate::error::ServiceError;
use crate::money::Money;

/// Which way money moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    /// From us to a customer (a disbursement, a refund).
    Payout,
    /// From a customer to us (a repayment).
    Collection,
}

impl TransferKind {
    /// The name in storage and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Payout => "payout",
            Self::Collection => "collection",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "payout" => Some(Self::Payout),
            "collection" => Some(Self::Collection),
            _ => None,
        }
    }
}

/// Where a transfer is at the bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BankStatus {
    /// Accepted, not settled yet.
    Pending,
    /// Money moved.
    Succeeded,
    /// Refused after acceptance; no money moved.
    Failed,
}

impl BankStatus {
    /// The name in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            _ => Self::Pending,
        }
    }
}

/// A transfer as the payer submits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The payer's reference; one transfer per reference per channel.
    pub reference: String,
    /// Which way.
    pub kind: TransferKind,
    /// The customer's account at the bank.
    pub account: String,
    /// How much, minor units, positive.
    pub amount: Money,
    /// Where the result is posted.
    pub callback_url: String,
}

/// The result callback a channel sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankCallback {
    /// The channel.
    pub channel: String,
    /// The payer's reference.
    pub reference: String,
    /// Final status.
    pub status: BankStatus,
    /// Amount moved (or that would have moved).
    pub amount: Money,
}

/// How long a transfer that "times out" keeps its caller waiting.
const HANG: Duration = Duration::from_secs(30);

struct Channel {
    profile: RwLock<ChannelProfile>,
}

/// All simulated channels, sharing one database (the banks' side of the world).
pub struct BankChannels {
    channels: HashMap<String, Channel>,
    db: Database,
    clock: Arc<dyn Clock>,
    rng: Mutex<SmallRng>,
    http: reqwest::Client,
    cancel: CancellationToken,
    /// The drills' faults, consulted for each transfer's behaviour.
    faults: std::sync::OnceLock<FaultSet>,
}

impl std::fmt::Debug for BankChannels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BankChannels")
            .field("channels", &self.channels.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// What `submit` answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    /// True: the bank has the transfer and will settle it.
    pub accepted: bool,
    /// The reference was already known; nothing new happened.
    pub duplicate: bool,
    /// Its status now.
    pub status: BankStatus,
}

impl BankChannels {
    /// Opens the banks' database in `dir/banks.db` and resumes settling what was pending.
    pub fn open(
        dir: &Path,
        profiles: &[ChannelProfile],
        clock: Arc<dyn Clock>,
        seed: Option<u64>,
        cancel: CancellationToken,
    ) -> Result<Arc<Self>, ServiceError> {
        let db = Database::open(&dir.join("banks.db"), "banks-db", store::SCHEMA)?;
        let channels = profiles
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    Channel {
                        profile: RwLock::new(p.clone()),
                    },
                )
            })
            .collect();
        let rng = match seed {
            Some(s) => SmallRng::seed_from_u64(s),
            None => SmallRng::from_os_rng(),
        };
        let banks = Arc::new(Self {
            channels,
            db,
            clock,
            rng: Mutex::new(rng),
            http: reqwest::Client::new(),
            cancel,
            faults: std::sync::OnceLock::new(),
        });
        let pending = banks.db.read(store::pending)?;
        for t in pending {
            banks
                .clone()
                .settle_later(t.channel.clone(), t.reference.clone());
        }
        Ok(banks)
    }

    /// The channel names.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<_> = self.channels.keys().cloned().collect();
        names.sort();
        names
    }

    fn channel(&self, name: &str) -> Result<&Channel, ServiceError> {
        self.channels
            .get(name)
            .ok_or_else(|| ServiceError::NotFound(format!("no bank channel {name:?}")))
    }

    /// The channel's current behaviour.
    pub fn profile(&self, name: &str) -> Result<ChannelProfile, ServiceError> {
        Ok(self.channel(name)?.profile.read().clone())
    }

    /// Lets drills' faults change how the channels behave (outages, slowness, callbacks);
    /// the first set given is kept.
    pub fn consult(&self, faults: FaultSet) {
        let _ = self.faults.set(faults);
    }

    /// How the channel behaves for the next transfer: its profile, as the faults armed now
    /// change it.
    fn behaviour(&self, name: &str) -> Result<ChannelProfile, ServiceError> {
        let profile = self.profile(name)?;
        Ok(match self.faults.get() {
            Some(faults) => faults.bank_channel(&profile),
            None => profile,
        })
    }

    /// Replaces the channel's behaviour (its name cannot change).
    pub fn set_profile(&self, name: &str, profile: ChannelProfile) -> Result<(), ServiceError> {
        if profile.name != name {
            return Err(ServiceError::BadRequest(format!(
                "name: a channel cannot be renamed ({name:?} → {:?})",
                profile.name
            )));
        }
        let mut errors = Vec::new();
        profile.validate("faults", &mut errors);
        if !errors.is_empty() {
            return Err(ServiceError::BadRequest(
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.path, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ));
        }
        *self.channel(name)?.profile.write() = profile;
        tracing::info!(channel = name, "bank channel behaviour changed");
        Ok(())
    }

    fn chance(&self, share: f64) -> bool {
        share > 0.0 && self.rng.lock().random_bool(share.min(1.0))
    }

    /// A duration around `typical`: mostly 0.5–1.5×, one in fifty up to 5×.
    fn around(&self, typical: Duration) -> Duration {
        let mut rng = self.rng.lock();
        let factor = if rng.random_bool(0.02) {
            rng.random_range(1.5..5.0)
        } else {
            rng.random_range(0.5..1.5)
        };
        typical.mul_f64(factor)
    }

    /// Takes a transfer: refused (503) before acceptance with the channel's error rate,
    /// otherwise recorded, answered after the channel's latency (or far too late, with its
    /// timeout rate), and settled later.
    pub async fn submit(
        self: &Arc<Self>,
        channel: &str,
        req: TransferRequest,
    ) -> Result<Acceptance, ServiceError> {
        let profile = self.behaviour(channel)?;
        if req.reference.is_empty() || req.reference.len() > 200 {
            return Err(ServiceError::BadRequest(
                "reference: must be 1–200 characters".into(),
            ));
        }
        if !req.amount.is_positive() {
            return Err(ServiceError::BadRequest(format!(
                "amount: must be positive, got {}",
                req.amount
            )));
        }
        if self.chance(profile.error_rate) {
            return Err(ServiceError::Unavailable {
                reason: format!("{channel} is not accepting transfers right now"),
                retry_after: Duration::from_secs(1),
            });
        }
        let now = self.clock.now_ms();
        let (ch, r) = (channel.to_string(), req.clone());
        let (known, fresh) = self
            .db
            .write(move |c| store::accept(c, &ch, &r, now))
            .await?;
        if known.amount != req.amount || known.kind != req.kind {
            return Err(ServiceError::Conflict(format!(
                "reference {:?} was already submitted with a different amount or kind",
                req.reference
            )));
        }
        if fresh {
            self.clone()
                .settle_later(channel.to_string(), req.reference.clone());
        }
        let wait = if self.chance(profile.timeout_rate) {
            HANG
        } else {
            self.around(profile.latency)
        };
        tokio::time::sleep(wait).await;
        Ok(Acceptance {
            accepted: true,
            duplicate: !fresh,
            status: known.status,
        })
    }

    /// The transfer with `reference` on `channel`.
    pub fn transfer(&self, channel: &str, reference: &str) -> Result<Transfer, ServiceError> {
        self.channel(channel)?;
        self.db
            .read(|c| store::find(c, channel, reference))?
            .ok_or_else(|| {
                ServiceError::NotFound(format!("{channel} has no transfer {reference:?}"))
            })
    }

    /// The statement lines of `channel` settled in `[from_ms, to_ms)`.
    pub fn statement(
        &self,
        channel: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<StatementLine>, ServiceError> {
        self.channel(channel)?;
        self.db
            .read(|c| store::statement(c, channel, from_ms, to_ms))
    }

    /// Corrupts the statement on purpose (drills, tests): duplicates the line of
    /// `reference`, or changes its amount.
    pub async fn tamper(
        &self,
        channel: &str,
        reference: &str,
        change: &StatementTamper,
    ) -> Result<(), ServiceError> {
        self.channel(channel)?;
        let changed = self
            .db
            .write({
                let (channel, reference, change) =
                    (channel.to_string(), reference.to_string(), change.clone());
                move |c| store::tamper(c, &channel, &reference, &change)
            })
            .await?;
        if changed {
            Ok(())
        } else {
            Err(ServiceError::NotFound(format!(
                "{channel}'s statement has no line for {reference:?}"
            )))
        }
    }

    fn settle_later(self: Arc<Self>, channel: String, reference: String) {
        tokio::spawn(async move {
            let Ok(profile) = self.behaviour(&channel) else {
                return;
            };
            let wait = self.around(profile.settle_after);
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            let status = if self.chance(profile.failure_rate) {
                BankStatus::Failed
            } else {
                BankStatus::Succeeded
            };
            let now = self.clock.now_ms();
            let (ch, r) = (channel.clone(), reference.clone());
            let settled = self
                .db
                .write(move |c| store::settle(c, &ch, &r, status, now))
                .await;
            let transfer = match settled {
                Ok(Some(t)) => t,
                Ok(None) => return,
                Err(e) => {
                    tracing::error!(channel, reference, error = %e, "bank could not settle a transfer");
                    return;
                }
            };
            self.send_callbacks(&profile, transfer).await;
        });
    }

    async fn send_callbacks(&self, profile: &ChannelProfile, t: Transfer) {
        if self.chance(profile.callback_loss_rate) {
            tracing::debug!(channel = %t.channel, reference = %t.reference, "bank lost a callback (simulated)");
            return;
        }
        let times = if self.chance(profile.callback_duplicate_rate) {
            2
        } else {
            1
        };
        if !profile.callback_delay.is_zero() {
            let delay = self.around(profile.callback_delay);
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
        }
        let body = BankCallback {
            channel: t.channel.clone(),
            reference: t.reference.clone(),
            status: t.status,
            amount: t.amount,
        };
        for _ in 0..times {
            let sent = self
                .http
                .post(&t.callback_url)
                .json(&body)
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            if let Err(e) = sent {
                tracing::debug!(channel = %t.channel, reference = %t.reference, error = %e, "bank callback not delivered");
            }
        }
    }
}

/// A deliberate change to a statement line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum StatementTamper {
    /// The line appears twice.
    Duplicate,
    /// The line shows another amount.
    Alter {
        /// The amount shown instead.
        amount: Money,
    },
}
