//! Where a fault applies: a service, a route, a bank channel, a share of the traffic.

use serde::{Deserialize, Serialize};

/// What a request is, as the fault layer sees it.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// The service receiving it (`payment`).
    pub service: &'a str,
    /// Its method and path (`POST`, `/payments`).
    pub method: &'a str,
    /// Its path.
    pub path: &'a str,
    /// The bank channel it is about, when there is one.
    pub channel: Option<&'a str>,
}

/// Which requests a fault touches. Empty fields match everything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// The service (`payment`); empty: every service.
    #[serde(default)]
    pub service: String,
    /// A path prefix (`/payments`); empty: every route.
    #[serde(default)]
    pub route: String,
    /// A bank channel (`bank-a`); empty: every channel, and requests without one.
    #[serde(default)]
    pub channel: String,
    /// The share of the matching requests touched, in percent (100 by default).
    #[serde(default = "all")]
    pub percent: f64,
}

fn all() -> f64 {
    100.0
}

impl Default for Scope {
    /// Every request of every service.
    fn default() -> Self {
        Self {
            service: String::new(),
            route: String::new(),
            channel: String::new(),
            percent: all(),
        }
    }
}

impl Scope {
    /// Every request of `service`.
    pub fn service(service: &str) -> Self {
        Self {
            service: service.into(),
            ..Self::default()
        }
    }

    /// Whether `req` is in scope (before the share of traffic is drawn).
    pub fn matches(&self, req: &RequestInfo<'_>) -> bool {
        (self.service.is_empty() || self.service == req.service)
            && (self.route.is_empty() || req.path.starts_with(&self.route))
            && (self.channel.is_empty() || req.channel == Some(self.channel.as_str()))
    }

    /// What is wrong with it, if anything.
    pub fn problem(&self) -> Option<String> {
        (!(self.percent > 0.0 && self.percent <= 100.0)).then(|| {
            format!(
                "percent must be above 0 and at most 100, got {}",
                self.percent
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(service: &'a str, path: &'a str, channel: Option<&'a str>) -> RequestInfo<'a> {
        RequestInfo {
            service,
            method: "POST",
            path,
            channel,
        }
    }

    #[test]
    fn empty_fields_match_everything_and_set_ones_narrow() {
        let any = Scope::default();
        assert!(any.matches(&req("loan", "/drawdowns", None)));
        let payments = Scope {
            route: "/payments".into(),
            channel: "bank-a".into(),
            ..Scope::service("payment")
        };
        assert!(payments.matches(&req("payment", "/payments/p-1", Some("bank-a"))));
        assert!(!payments.matches(&req("payment", "/payments", Some("bank-b"))));
        assert!(!payments.matches(&req("payment", "/payments", None)));
        assert!(!payments.matches(&req("payment", "/callbacks/bank-a", Some("bank-a"))));
        assert!(!payments.matches(&req("ledger", "/payments", Some("bank-a"))));
    }

    #[test]
    fn a_share_outside_0_to_100_is_a_problem() {
        assert!(Scope::default().problem().is_none());
        for bad in [0.0, -1.0, 101.0, f64::NAN] {
            let s = Scope {
                percent: bad,
                ..Scope::default()
            };
            assert!(s.problem().is_some(), "{bad}");
        }
    }
}
