//! `bank_callbacks`: a bank channel's result callbacks lost, late or duplicated (shares 0
//! to 1, a delay). Scope it with `service: banks` and the channel.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::{params, Fault, FaultKind};
use crate::ChannelProfile;

/// Later than this and a drill is not testing late callbacks any more.
const MAX_LATE: Duration = Duration::from_secs(300);

/// `bank_callbacks` in the registry.
pub(super) const KIND: FaultKind = FaultKind {
    name: "bank_callbacks",
    what: "a bank channel's result callbacks lost, late or duplicated (shares 0 to 1, delay)",
    build,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallbackParams {
    #[serde(default)]
    lost: f64,
    #[serde(default)]
    duplicated: f64,
    #[serde(default, with = "humantime_serde")]
    late: Option<Duration>,
}

#[derive(Debug)]
struct Callbacks(CallbackParams);

impl Fault for Callbacks {
    fn bank_channel(&self, p: &mut ChannelProfile) {
        p.callback_loss_rate = p.callback_loss_rate.max(self.0.lost);
        p.callback_duplicate_rate = p.callback_duplicate_rate.max(self.0.duplicated);
        if let Some(late) = self.0.late {
            p.callback_delay = late;
        }
    }
}

fn build(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    let p: CallbackParams = params(v)?;
    for (name, share) in [("lost", p.lost), ("duplicated", p.duplicated)] {
        if !(0.0..=1.0).contains(&share) {
            return Err(format!("{name} is a share, 0 to 1; got {share}"));
        }
    }
    if p.lost == 0.0 && p.duplicated == 0.0 && p.late.is_none() {
        return Err("needs lost, duplicated or late".into());
    }
    if p.late.is_some_and(|d| d > MAX_LATE) {
        return Err("late must be at most 5m".into());
    }
    Ok(Arc::new(Callbacks(p)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::channel_under;

    #[test]
    fn lost_and_late_callbacks_change_only_the_callbacks() {
        let base = channel_under(None);
        let lost = channel_under(Some((
            build,
            serde_json::json!({"lost": 1.0, "late": "20s"}),
        )));
        assert_eq!(
            (
                lost.callback_loss_rate,
                lost.callback_delay,
                lost.callback_duplicate_rate
            ),
            (1.0, Duration::from_secs(20), base.callback_duplicate_rate)
        );
        let e = build(&serde_json::json!({"lost": 2.0})).unwrap_err();
        assert!(e.contains("lost is a share"), "{e}");
    }
}
