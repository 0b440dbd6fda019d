//! The on-call file's checks, and paging with escalation, acknowledgement and hand-overs
//! on explicit times (no clock is read).

use std::sync::Arc;

use super::pager::{Pager, PagerEvent};
use super::*;
use crate::config::GlobalConfig;
use crate::notify::tests::{alert, job};

const MIN: i64 = 60_000;

/// 2026-11-30 09:00 in Asia/Shanghai: the rotation's first hand-over.
const START: i64 = 1_796_000_400_000;

const FILE: &str = r#"teams:
  - name: payments
    members:
      - name: alice
        contacts: [{webhook: {url: "http://127.0.0.1:1/alice"}}]
      - name: bob
        contacts: [{webhook: {url: "http://127.0.0.1:1/bob"}}]
      - name: carol
        time_zone: Europe/Berlin
        contacts: [{webhook: {url: "http://127.0.0.1:1/carol"}}]
    schedules:
      - name: primary
        time_zone: Asia/Shanghai
        layers:
          - name: weekly
            start: 2026-11-30 09:00
            rotation: 1w
            members: [alice, bob]
        overrides:
          - {member: carol, start: "2026-12-01 09:00", end: "2026-12-01 18:00"}
    escalation:
      levels:
        - notify: [{schedule: primary}]
          after: 5m
        - notify: [{member: carol}]
          after: 10m
      repeat: 1
services:
  - team: payments
    matchers: ['service=~"payment|gateway"']
"#;

fn load(text: &str) -> Result<OnCall, crate::ConfigErrors> {
    let templates = Arc::new(taishan_template::TemplateSet::new());
    let env = ContactEnv {
        global: &GlobalConfig::default(),
        http: &reqwest::Client::new(),
        templates: &templates,
    };
    OnCall::load_str("oncall.yml", text, env)
}

#[test]
fn the_file_compiles_into_teams_schedules_and_ownership() {
    let oncall = load(FILE).unwrap();
    let team = oncall.team("payments").unwrap();
    assert_eq!(
        team.members["carol"].time_zone,
        Some(chrono_tz::Europe::Berlin)
    );
    assert_eq!(team.members["alice"].contacts[0].name, "alice/webhook[0]");
    assert_eq!(team.paged_at(0, START)[0].member, "alice");
    assert_eq!(team.paged_at(0, START)[0].via, "schedule primary (weekly)");
    // The override puts carol on call for the day of December 1st.
    assert_eq!(team.paged_at(0, START + 24 * 60 * MIN)[0].member, "carol");
    assert_eq!(team.paged_at(0, START + 7 * 24 * 60 * MIN)[0].member, "bob");
    assert_eq!(team.total_levels(), 4);
    let payment = LabelSet::from([("service".to_string(), "payment".to_string())]);
    assert_eq!(oncall.owner(&payment), Some("payments"));
    assert_eq!(oncall.owner(&LabelSet::new()), None);
}

#[test]
fn every_problem_of_the_file_is_placed() {
    let bad = r#"teams:
  - name: payments
    members:
      - name: alice
        time_zone: Mars/Olympus
        contacts: [{pigeon: {loft: 3}}]
      - name: bob
        contacts: []
    schedules:
      - name: primary
        layers:
          - start: next monday
            rotation: 0s
            members: [alice, zoe]
        overrides:
          - {member: bob, start: "2026-12-02 18:00", end: "2026-12-02 09:00"}
    escalation:
      levels:
        - notify: [{schedule: secondary}, {member: yan}]
services:
  - team: risk
    matchers: ['service=~"("']
"#;
    let err = load(bad).unwrap_err().to_string();
    for want in [
        "oncall.yml:5:9: teams[0].members[0].time_zone: unknown time zone \"Mars/Olympus\"",
        "oncall.yml:6:21: teams[0].members[0].contacts[0].pigeon: unknown integration `pigeon`",
        "teams[0].members[1].contacts: bob has no contact to be paged at",
        "teams[0].schedules[0].layers[0].start: \"next monday\": expected a local time",
        "teams[0].schedules[0].layers[0].rotation: the rotation must be longer than 0s",
        "teams[0].schedules[0].layers[0].members[1]: \"zoe\" is not a member of the team",
        "teams[0].schedules[0].overrides[0].end: the override must end after it starts",
        "teams[0].escalation.levels[0].notify[0]: no schedule \"secondary\"",
        "teams[0].escalation.levels[0].notify[1]: \"yan\" is not a member",
        "services[0].team: no team named \"risk\"",
        "services[0].matchers[0]:",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
}

fn page_members(pages: &[pager::Page]) -> Vec<&str> {
    pages.iter().map(|p| p.paged.member.as_str()).collect()
}

#[test]
fn an_unacknowledged_page_climbs_the_policy_and_repeats_it() {
    let oncall = load(FILE).unwrap();
    let team = oncall.team("payments").unwrap().clone();
    let pager = Pager::new();
    let t0 = START + 2 * 60 * MIN;
    let pages = pager.on_flush(&team, job(vec![alert("a", 0)], t0));
    assert_eq!(page_members(&pages), ["alice"]);
    assert!(matches!(
        &pager.take_events()[..],
        [PagerEvent::Opened { .. }]
    ));

    assert!(
        pager.tick(&oncall, t0 + 5 * MIN - 1).is_empty(),
        "alice has 5 minutes"
    );
    let level1 = pager.tick(&oncall, t0 + 5 * MIN);
    assert_eq!(page_members(&level1), ["carol"]);
    assert_eq!(level1[0].level, 1);
    // The next flush of the group reaches everyone paged so far.
    let both = pager.on_flush(&team, job(vec![alert("a", 0), alert("b", 0)], t0 + 6 * MIN));
    assert_eq!(page_members(&both), ["alice", "carol"]);

    // Repeat: the first level again after carol's 10 minutes, with the log bypassed.
    let again = pager.tick(&oncall, t0 + 15 * MIN);
    assert_eq!(page_members(&again), ["alice"]);
    assert_eq!(
        again[0].job.repeat,
        std::time::Duration::from_secs(600),
        "what was sent in carol's 10 minutes counts"
    );
    assert_eq!(again[0].job.notification.alerts.len(), 2);
    assert_eq!(page_members(&pager.tick(&oncall, t0 + 20 * MIN)), ["carol"]);
    assert!(
        pager.tick(&oncall, t0 + 60 * MIN).is_empty(),
        "the policy is climbed twice, no more"
    );
}

#[test]
fn an_acknowledgement_stops_the_climb_and_holds_until_the_alert_resolves() {
    let oncall = load(FILE).unwrap();
    let team = oncall.team("payments").unwrap().clone();
    let pager = Pager::new();
    let t0 = START;
    pager.on_flush(&team, job(vec![alert("a", 0)], t0));
    let incident = pager.incidents()[0].id.clone();
    let acked = pager
        .acknowledge_incident(&incident, "alice", "looking", t0 + 2 * MIN)
        .unwrap();
    assert_eq!(acked, [alert("a", 0).fingerprint()]);
    assert!(
        pager.tick(&oncall, t0 + 30 * MIN).is_empty(),
        "acknowledged: no escalation"
    );
    let events = pager.take_events();
    assert!(
        events.contains(&PagerEvent::Acknowledged {
            incident: incident.clone(),
            team: "payments".into(),
            service: String::new(),
            by: "alice".into(),
            after_ms: 2 * MIN,
        }),
        "{events:?}"
    );

    // A repeat of the acknowledged alert is muted; a new alert in the group is not, and
    // the climb resumes for it.
    let repeat = pager.on_flush(&team, job(vec![alert("a", 0)], t0 + 40 * MIN));
    assert!(repeat[0].job.muted.contains(&alert("a", 0).fingerprint().0));
    let new = pager.on_flush(
        &team,
        job(vec![alert("a", 0), alert("b", 0)], t0 + 41 * MIN),
    );
    assert!(!new[0].job.muted.contains(&alert("b", 0).fingerprint().0));
    assert!(!pager.incidents()[0].fully_acknowledged);
    assert_eq!(page_members(&pager.tick(&oncall, t0 + 46 * MIN)), ["carol"]);

    // Both resolve: those paged hear it, the incident closes, the acknowledgement ends.
    let resolved = pager.on_flush(
        &team,
        job(vec![alert("a", 1), alert("b", 1)], t0 + 50 * MIN),
    );
    assert_eq!(page_members(&resolved), ["alice", "carol"]);
    assert!(pager.incidents().is_empty());
    assert_eq!(pager.ack_of(alert("a", 0).fingerprint()), None);
    assert!(pager
        .take_events()
        .iter()
        .any(|e| matches!(e, PagerEvent::Resolved { after_ms, .. } if *after_ms == 50 * MIN)));
}

#[test]
fn a_level_with_nobody_on_call_is_passed_at_once() {
    let gap = FILE.replace("start: 2026-11-30 09:00", "start: 2027-01-04 09:00");
    let oncall = load(&gap).unwrap();
    let team = oncall.team("payments").unwrap().clone();
    let pager = Pager::new();
    let pages = pager.on_flush(&team, job(vec![alert("a", 0)], START));
    assert_eq!(
        page_members(&pages),
        ["carol"],
        "the schedule has not begun: level 2 at once"
    );
}
