//! Carries a sans-IO client's requests (core's `Producer` and `Consumer`) to brokers over
//! TCP: one pipelined [`Connection`] per broker, opened on first use and dropped when it
//! fails, with brokers' addresses learnt from Metadata answers.

use std::collections::BTreeMap;

use sluice_core::api::{self, Disconnected, Response};
use sluice_core::controller::BrokerId;
use sluice_core::time::Instant;
use sluice_net::convert::outbound::Answer;
use tokio::sync::mpsc;

use super::connection::Connection;
use crate::clock::MonotonicClock;
use crate::transport::Connector;

/// Ids for bootstrap servers, far above any `node.id`: core's clients want a broker id for
/// each, and the real ids are known only from the first Metadata answer.
const BOOTSTRAP_IDS_FROM: BrokerId = 1_000_000_000;

/// An answer for the client: its request id and the response or the dropped connection.
pub type Delivered = (u64, Result<Response, Disconnected>);

/// Which of a broker's two connections a request takes. Group requests get their own, as the
/// Java client's coordinator connection (node id `Integer.MAX_VALUE - id`) does: answers on
/// one connection come in request order, so a commit or heartbeat would otherwise wait
/// behind a Fetch long poll (up to `fetch.max.wait.ms`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Lane {
    Data,
    Group,
}

impl Lane {
    fn of(request: &api::Request) -> Lane {
        match request {
            api::Request::Group(_) => Lane::Group,
            _ => Lane::Data,
        }
    }
}

/// The driver of one sans-IO client.
pub struct Driver<C: Connector> {
    connector: C,
    client_id: String,
    clock: MonotonicClock,
    addresses: BTreeMap<BrokerId, (String, u16)>,
    links: BTreeMap<(BrokerId, Lane), mpsc::UnboundedSender<(u64, api::Request)>>,
    /// The link each unanswered request went on, so a failed link can be dropped.
    sent_to: BTreeMap<u64, (BrokerId, Lane)>,
    answers_in: mpsc::UnboundedSender<(u64, Result<Answer, Disconnected>)>,
    answers: mpsc::UnboundedReceiver<(u64, Result<Answer, Disconnected>)>,
}

impl<C: Connector + Clone> Driver<C> {
    /// A driver that knows only `bootstrap` (host, port) servers; returns the broker ids to
    /// give the client as its bootstrap list.
    pub fn new(
        connector: C,
        bootstrap: &[(String, u16)],
        client_id: &str,
    ) -> (Self, Vec<BrokerId>) {
        let (answers_in, answers) = mpsc::unbounded_channel();
        let mut addresses = BTreeMap::new();
        let mut ids = Vec::new();
        for (index, address) in bootstrap.iter().enumerate() {
            let id = BOOTSTRAP_IDS_FROM + i32::try_from(index).unwrap_or(0);
            addresses.insert(id, address.clone());
            ids.push(id);
        }
        let driver = Driver {
            connector,
            client_id: client_id.to_string(),
            clock: MonotonicClock::start(),
            addresses,
            links: BTreeMap::new(),
            sent_to: BTreeMap::new(),
            answers_in,
            answers,
        };
        (driver, ids)
    }

    /// The client's clock.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Sends `request` to broker `to`, connecting first if no connection is open. A broker
    /// whose address is unknown answers `Err(Disconnected)`, as a failed connection would.
    pub fn send(&mut self, to: BrokerId, id: u64, request: api::Request) {
        let link_key = (to, Lane::of(&request));
        if !self.links.contains_key(&link_key) {
            let Some((host, port)) = self.addresses.get(&to).cloned() else {
                let _ = self.answers_in.send((id, Err(Disconnected)));
                return;
            };
            let (link, incoming) = mpsc::unbounded_channel();
            let connector = self.connector.clone();
            let client_id = self.client_id.clone();
            let answers = self.answers_in.clone();
            tokio::spawn(async move {
                match Connection::open(&connector, &host, port, &client_id).await {
                    Ok(connection) => connection.pipeline(incoming, answers).await,
                    Err(error) => {
                        tracing::debug!("cannot connect to {host}:{port}: {error}");
                        let mut incoming = incoming;
                        while let Some((id, _)) = incoming.recv().await {
                            let _ = answers.send((id, Err(Disconnected)));
                        }
                    }
                }
            });
            self.links.insert(link_key, link);
        }
        self.sent_to.insert(id, link_key);
        if let Some(link) = self.links.get(&link_key) {
            if link.send((id, request)).is_err() {
                let _ = self.answers_in.send((id, Err(Disconnected)));
            }
        }
    }

    /// Waits for the next answer. Cancel-safe, so it can race a timer in `select!`.
    pub async fn answer(&mut self) -> Delivered {
        loop {
            let Some((id, answer)) = self.answers.recv().await else {
                // The driver holds a sender itself, so the channel never closes.
                continue;
            };
            let broker = self.sent_to.remove(&id);
            return match answer {
                Ok(answer) => {
                    for broker in answer.brokers {
                        self.addresses.insert(broker.id, (broker.host, broker.port));
                    }
                    (id, Ok(answer.response))
                }
                Err(Disconnected) => {
                    // The next request on this link opens a new connection.
                    if let Some(link) = broker {
                        self.links.remove(&link);
                    }
                    (id, Err(Disconnected))
                }
            };
        }
    }

    /// How long until `deadline` in the client's clock (`None` for no deadline).
    pub fn time_until(&self, deadline: Option<Instant>) -> Option<std::time::Duration> {
        deadline.map(|deadline| {
            let left = deadline.saturating_duration_since(self.clock.now());
            std::time::Duration::from_nanos(u64::try_from(left.as_nanos()).unwrap_or(u64::MAX))
        })
    }
}

/// Sleeps for `wait`, or forever for `None`; a timer arm for `select!`.
pub async fn sleep(wait: Option<std::time::Duration>) {
    match wait {
        Some(wait) => tokio::time::sleep(wait).await,
        None => std::future::pending().await,
    }
}
