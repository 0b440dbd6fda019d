use super::*;

const HASH: &str = "$2b$10$DO4rbDhpgYFdwBLOyfxUgOXyXOxrBD8aUbRq1prdGzGPWDgmO0A1W";

fn parse(text: &str) -> Result<WebConfig, Vec<String>> {
    WebConfig::parse("web.yml", text, PathBuf::from("/etc/taishan"))
        .map_err(|ds| ds.iter().map(|d| d.to_string()).collect())
}

#[test]
fn a_prometheus_web_config_with_taishan_identities_reads() {
    let text = format!(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS12\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\nbasic_auth_users:\n  alice: {HASH}\n  bob: {HASH}\ntaishan:\n  users:\n    alice: {{roles: [viewer, operator], tenants: [bank-a]}}\n  tokens:\n    - name: prometheus-bank-a\n      sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n      roles: [writer]\n      tenants: [\"*\"]\n"
    );
    let config = parse(&text).unwrap();
    assert!(config.requires_credentials());
    assert_eq!(config.basic_auth_users.len(), 2);
    assert_eq!(config.taishan.users["alice"].roles, ["viewer", "operator"]);
    assert_eq!(
        config.resolve(&config.tls_server_config.as_ref().unwrap().key_file),
        PathBuf::from("/etc/taishan/server.key")
    );
    assert!(!parse("").unwrap().requires_credentials());
}

#[test]
fn every_problem_is_reported_at_its_line() {
    let text = format!(
        "basic_auth_users:\n  alice: plaintext\n  bob: {HASH}\ntaishan:\n  users:\n    carol: {{roles: [root], tenants: []}}\n  tokens:\n    - name: bob\n      sha256: abc\n      roles: [writer]\n      tenants: [\"bad/tenant\"]\n"
    );
    let errors = parse(&text).unwrap_err();
    let want = [
        "web.yml:2:3: basic_auth_users.alice: not a bcrypt hash",
        "web.yml:6:5: taishan.users.carol: \"carol\" is not in basic_auth_users",
        "taishan.users.carol.roles[0]: unknown role \"root\"",
        "taishan.users.carol.tenants: must name at least one tenant",
        "web.yml:8:7: taishan.tokens[0].name: \"bob\" is also a basic-auth user",
        "web.yml:9:7: taishan.tokens[0].sha256: must be 64 hex digits",
        "taishan.tokens[0].tenants[0]: tenant id contains '/'",
    ];
    for w in want {
        assert!(
            errors.iter().any(|e| e.contains(w)),
            "{w} not in {errors:#?}"
        );
    }
    let unknown = parse("basic_auth_user:\n  a: b\n").unwrap_err();
    assert!(
        unknown[0].contains("unknown field `basic_auth_user`"),
        "{unknown:?}"
    );
    let tls = parse("tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n  min_version: TLS11\n").unwrap_err();
    for w in [
        "cert_file: required",
        "key_file: required",
        "client_ca_file: required",
        "min_version: TLS 1.0 and 1.1",
    ] {
        assert!(tls.iter().any(|e| e.contains(w)), "{w} not in {tls:#?}");
    }
    let header = parse("http_server_config:\n  headers:\n    Set-Cookie: x\n").unwrap_err();
    assert!(
        header[0].contains("not a header a web config may set"),
        "{header:?}"
    );
}
