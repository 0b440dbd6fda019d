//! The chart of accounts: which accounts exist, and which face the outside world.

use crate::error::ServiceError;

/// A family of accounts, named `<prefix>:<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountClass {
    /// The prefix (`bank`, `loans`, ...).
    pub prefix: &'static str,
    /// Whether money enters or leaves the books through it: the sum of the internal
    /// balances changes only by flows through external accounts.
    pub external: bool,
    /// What the accounts hold.
    pub meaning: &'static str,
}

/// Every class of account the ledger accepts.
pub const CHART: &[AccountClass] = &[
    AccountClass {
        prefix: "bank",
        external: true,
        meaning:
            "cash at a bank channel (bank:<channel>): payouts leave through it, collections arrive",
    },
    AccountClass {
        prefix: "loans",
        external: false,
        meaning: "principal owed by customers, per funding partner (loans:<partner>)",
    },
    AccountClass {
        prefix: "income",
        external: false,
        meaning: "interest and fees earned (income:<kind>)",
    },
    AccountClass {
        prefix: "suspense",
        external: false,
        meaning: "money received that cannot yet be matched (suspense:<reason>)",
    },
];

/// The class of `account`, or a 400 naming what is allowed.
pub fn classify(account: &str) -> Result<&'static AccountClass, ServiceError> {
    let (prefix, rest) = account.split_once(':').unwrap_or((account, ""));
    let valid_rest = !rest.is_empty()
        && rest.len() <= 100
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b));
    match CHART.iter().find(|c| c.prefix == prefix) {
        Some(class) if valid_rest => Ok(class),
        Some(_) => Err(ServiceError::BadRequest(format!(
            "account {account:?}: the part after {prefix:?} must be 1–100 of a-z A-Z 0-9 _ - . :"
        ))),
        None => {
            Err(ServiceError::BadRequest(format!(
            "account {account:?}: unknown class; accounts are <class>:<name> with class one of {}",
            CHART.iter().map(|c| c.prefix).collect::<Vec<_>>().join(", ")
        )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_against_the_chart() {
        assert!(classify("bank:bank-a").unwrap().external);
        assert!(!classify("loans:trust-1").unwrap().external);
        assert!(classify("cash:x").is_err());
        assert!(classify("bank:").is_err());
        assert!(classify("bank:a b").is_err());
    }
}
