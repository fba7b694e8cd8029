//! The `dns` kind against a small authoritative responder on 127.0.0.1 (UDP), built
//! with hickory's wire format.

use crate::support::{SHORT, TIMEOUT, assert_measured, run};
use continuo_core::state::Verdict;
use hickory_resolver::proto::op::{Message, ResponseCode};
use hickory_resolver::proto::rr::rdata::{A, AAAA, CNAME, TXT};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use std::net::SocketAddr;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// The zone the responder serves:
/// - `www.test`: A 192.0.2.10 and 192.0.2.11, AAAA 2001:db8::10, TXT "v=spf1 -all";
/// - `alias.test`: CNAME `www.test`;
/// - `refused.test` and `broken.test`: REFUSED and SERVFAIL.
fn zone() -> Vec<Record> {
    let www = name("www.test.");
    vec![
        Record::from_rdata(www.clone(), 60, RData::A(A::new(192, 0, 2, 10))),
        Record::from_rdata(www.clone(), 60, RData::A(A::new(192, 0, 2, 11))),
        Record::from_rdata(
            www.clone(),
            60,
            RData::AAAA(AAAA::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10)),
        ),
        Record::from_rdata(
            www.clone(),
            60,
            RData::TXT(TXT::new(vec!["v=spf1 -all".into()])),
        ),
        Record::from_rdata(name("alias.test."), 60, RData::CNAME(CNAME(www))),
    ]
}

fn name(text: &str) -> Name {
    Name::from_ascii(text).expect("a valid name")
}

/// The answer to one question: the records of that name and type, following a CNAME.
fn answer(zone: &[Record], asked: &Name, record_type: RecordType) -> Vec<Record> {
    let mut out = Vec::new();
    let mut current = asked.clone();
    loop {
        let here: Vec<&Record> = zone.iter().filter(|r| r.name == current).collect();
        out.extend(
            here.iter()
                .filter(|r| r.record_type() == record_type)
                .map(|r| (*r).clone()),
        );
        let cname = here.iter().find_map(|r| match &r.data {
            RData::CNAME(target) if record_type != RecordType::CNAME => Some(target.0.clone()),
            _ => None,
        });
        match cname {
            Some(target) => {
                out.extend(
                    here.iter()
                        .filter(|r| r.record_type() == RecordType::CNAME)
                        .map(|r| (*r).clone()),
                );
                current = target;
            }
            None => return out,
        }
    }
}

/// A UDP DNS responder that answers from [`zone`], or (silent) reads and never answers.
struct DnsServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl DnsServer {
    async fn start(silent: bool) -> DnsServer {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = socket.local_addr().expect("local address");
        let zone = zone();
        let task = tokio::spawn(async move {
            let mut buffer = [0u8; 4096];
            while let Ok((n, from)) = socket.recv_from(&mut buffer).await {
                if silent {
                    continue;
                }
                let Ok(request) = Message::from_vec(&buffer[..n]) else {
                    continue;
                };
                let mut response = Message::response(request.metadata.id, request.metadata.op_code);
                response.metadata.recursion_desired = request.metadata.recursion_desired;
                response.metadata.recursion_available = true;
                response.metadata.authoritative = true;
                response.add_queries(request.queries.clone());
                for query in &request.queries {
                    let special = match query.name().to_ascii().as_str() {
                        "refused.test." => Some(ResponseCode::Refused),
                        "broken.test." => Some(ResponseCode::ServFail),
                        _ => None,
                    };
                    if let Some(rcode) = special {
                        response.metadata.response_code = rcode;
                        continue;
                    }
                    let records = answer(&zone, query.name(), query.query_type());
                    if records.is_empty() && !zone.iter().any(|r| &r.name == query.name()) {
                        response.metadata.response_code = ResponseCode::NXDomain;
                    }
                    response.add_answers(records);
                }
                if let Ok(bytes) = response.to_vec() {
                    let _ = socket.send_to(&bytes, from).await;
                }
            }
        });
        DnsServer { addr, task }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn dns_check(server: SocketAddr, name: &str, record_type: &str, expect: &[&str]) -> String {
    format!(
        "kind = \"dns\"\nname = \"{name}\"\nrecord_type = \"{record_type}\"\nresolver = \"{server}\"\nexpect = {expect:?}"
    )
}

#[tokio::test]
async fn answers_are_matched_against_expectations() {
    let server = DnsServer::start(false).await;
    use Verdict::{Failure, Success};
    let cases: &[(&str, &str, &[&str], Verdict, &str)] = &[
        (
            "www.test",
            "A",
            &[],
            Success,
            "www.test A = 192.0.2.10, 192.0.2.11",
        ),
        ("www.test", "A", &["192.0.2.11"], Success, ""),
        ("www.test", "A", &["192.0.2.10", "192.0.2.11"], Success, ""),
        (
            "www.test",
            "AAAA",
            &["2001:db8::10"],
            Success,
            "2001:db8::10",
        ),
        ("www.test", "TXT", &["v=spf1 -all"], Success, "v=spf1 -all"),
        // Names compare without the final dot and case.
        ("alias.test", "CNAME", &["WWW.test."], Success, "www.test"),
        ("alias.test", "A", &["192.0.2.10"], Success, ""),
        // A mismatch is down and says what the answer was.
        (
            "www.test",
            "A",
            &["192.0.2.99"],
            Failure,
            "answer 192.0.2.10, 192.0.2.11 lacks 192.0.2.99",
        ),
        (
            "www.test",
            "TXT",
            &["v=spf1 include:mail.test -all"],
            Failure,
            "answer v=spf1 -all lacks v=spf1 include:mail.test -all",
        ),
    ];
    for (name, record_type, expect, verdict, part) in cases {
        let m = run(&dns_check(server.addr, name, record_type, expect), TIMEOUT).await;
        assert_eq!(
            m.verdict, *verdict,
            "{name} {record_type} {expect:?}: {m:#?}"
        );
        assert!(
            m.message.contains(part),
            "{name} {record_type} {expect:?}: {:?} lacks {part:?}",
            m.message
        );
        assert!(m.timings.dns_us.is_some(), "{:?}", m.timings);
    }
}

/// Regression: failed lookups printed hickory's debug structure ("no records found for
/// Query { name: Name(...) ... }") and never set the response code that
/// `Measurement::code` promises for DNS.
#[tokio::test]
async fn failed_lookups_say_why_with_the_response_code() {
    let server = DnsServer::start(false).await;
    let cases: &[(&str, &str, &str, i32)] = &[
        (
            "nowhere.test",
            "A",
            "nowhere.test does not exist (NXDOMAIN)",
            3,
        ),
        (
            "www.test",
            "MX",
            "no MX records for www.test, though the name exists",
            0,
        ),
        ("refused.test", "A", "refused.test A", 5),
        ("broken.test", "A", "broken.test A", 2),
    ];
    for (name, record_type, part, rcode) in cases {
        let m = run(&dns_check(server.addr, name, record_type, &[]), TIMEOUT).await;
        assert_measured(&m, Verdict::Failure, &[part]);
        assert_eq!(m.code, Some(*rcode), "{name} {record_type}: {m:?}");
    }
    let m = run(&dns_check(server.addr, "www.test", "A", &[]), TIMEOUT).await;
    assert_eq!(m.code, Some(0), "{m:?}");
}

#[tokio::test]
async fn a_resolver_that_never_answers_times_out() {
    let server = DnsServer::start(true).await;
    let m = run(&dns_check(server.addr, "www.test", "A", &[]), SHORT).await;
    assert_eq!(m.verdict, Verdict::Failure, "{m:#?}");
    assert!(
        m.message.to_lowercase().contains("timed out"),
        "{:?}",
        m.message
    );
}

#[tokio::test]
async fn a_resolver_port_with_nobody_is_down() {
    // Nothing listens on UDP (nor TCP) there: the query is refused or unanswered.
    let addr = {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        socket.local_addr().expect("local address")
    };
    let m = run(&dns_check(addr, "www.test", "A", &[]), SHORT).await;
    assert_measured(&m, Verdict::Failure, &[]);
}
