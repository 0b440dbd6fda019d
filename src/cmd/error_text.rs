//! How an error reads to the person at the terminal: its chain of contexts, each cause once.

/// `e` and its causes joined with ": ", leaving out a cause whose text the message before it
/// already ends with (errors that print their source, as `path: {source}` does, would
/// otherwise say it twice).
pub fn chain(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.ends_with(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that prints its source in its own message, as `path: {source}` errors do.
    #[derive(Debug)]
    struct Unreadable {
        path: String,
        source: std::io::Error,
    }

    impl std::fmt::Display for Unreadable {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{}: {}", self.path, self.source)
        }
    }

    impl std::error::Error for Unreadable {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.source)
        }
    }

    #[test]
    fn a_source_the_message_already_names_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::new(Unreadable {
            path: "labels.json".into(),
            source: io,
        })
        .context("reading the corpus");
        assert_eq!(chain(&e), "reading the corpus: labels.json: no such file");
    }

    #[test]
    fn contexts_are_joined_in_order() {
        let e = anyhow::anyhow!("connection refused")
            .context("asking 127.0.0.1:9090")
            .context("running the query");
        assert_eq!(
            chain(&e),
            "running the query: asking 127.0.0.1:9090: connection refused"
        );
    }
}
