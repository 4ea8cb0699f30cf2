//! A simulated network between nodes: latency, loss, partitions, pauses and crashes.
//!
//! The network owns its messages in flight rather than scheduling them on the [`Kernel`]: a
//! partition, a pause or a crash must drop or hold messages already sent, which is simple over
//! its own queue and awkward over someone else's. The driver merges the two event sources:
//!
//! ```
//! # use sluice_sim::{Kernel, SimNetwork, NodeId};
//! # let mut kernel: Kernel<()> = Kernel::new(1, false);
//! # let mut net: SimNetwork<&str> = SimNetwork::new(kernel.rng().fork());
//! # net.send(kernel.now(), NodeId(0), NodeId(1), "hello");
//! loop {
//!     let next_event = kernel.next_event_at();
//!     match net.next_delivery_at() {
//!         Some(at) if next_event.is_none_or(|event| at <= event) => {
//!             kernel.advance_to(at);
//!             let delivery = net.pop_delivery(kernel.now()).expect("due");
//!             // step node `delivery.to` with `delivery.msg` ...
//!         }
//!         _ => match kernel.pop() {
//!             Some((_now, _event)) => { /* handle the event */ }
//!             None => break,
//!         },
//!     }
//! }
//! ```
//!
//! Each ordered pair `(from, to)` is one connection and delivers in order, with gaps where
//! messages were lost: a later message is never delivered before an earlier one on the same
//! connection. Messages on different connections may overtake each other.
//!
//! [`Kernel`]: crate::Kernel

use crate::rng::SimRng;
use core::fmt;
use sluice_core::rng::Rng;
use sluice_core::time::{Duration, Instant};
use std::collections::{BTreeMap, BTreeSet};

/// Parts per million: the unit of the network's probabilities.
pub const PPM: u32 = 1_000_000;

/// A simulated node's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// The behaviour of one direction of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkConfig {
    /// Shortest one-way latency.
    pub latency_min: Duration,
    /// Longest ordinary one-way latency; latencies are uniform in `latency_min..=latency_max`.
    pub latency_max: Duration,
    /// Chance in parts per million that a message takes the long tail instead.
    pub tail_ppm: u32,
    /// Longest tail latency; tail latencies are uniform in `latency_max..=tail_max`.
    pub tail_max: Duration,
    /// Chance in parts per million that a message is lost.
    pub loss_ppm: u32,
}

impl LinkConfig {
    /// A datacenter network: 100 µs to 1 ms, one message in a thousand up to 50 ms late, no
    /// loss.
    pub const LAN: LinkConfig = LinkConfig {
        latency_min: Duration::from_micros(100),
        latency_max: Duration::from_millis(1),
        tail_ppm: 1_000,
        tail_max: Duration::from_millis(50),
        loss_ppm: 0,
    };

    fn check(&self) {
        assert!(
            self.latency_min <= self.latency_max,
            "latency range is empty"
        );
        assert!(
            self.latency_max <= self.tail_max,
            "the tail is shorter than the body"
        );
        assert!(self.tail_ppm <= PPM, "tail chance above one");
        assert!(self.loss_ppm <= PPM, "loss chance above one");
    }
}

/// A message handed to its destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery<M> {
    /// When it was sent.
    pub sent_at: Instant,
    /// The sender.
    pub from: NodeId,
    /// The receiver.
    pub to: NodeId,
    /// The message.
    pub msg: M,
}

/// Counters of what happened to sent messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Messages passed to `send`.
    pub sent: u64,
    /// Messages handed out by `pop_delivery`.
    pub delivered: u64,
    /// Messages dropped by random loss.
    pub lost: u64,
    /// Messages dropped by a partition or block: sent over a blocked link, or in flight on a
    /// link when it was cut.
    pub blocked: u64,
    /// Messages in flight to or from a node when it crashed.
    pub dropped_by_crash: u64,
}

/// The simulated network. See the module documentation for the driver loop.
#[derive(Debug)]
pub struct SimNetwork<M> {
    rng: SimRng,
    default_link: LinkConfig,
    links: BTreeMap<(NodeId, NodeId), LinkConfig>,
    /// The latest delivery time scheduled per connection, so later messages never overtake.
    connection_tail: BTreeMap<(NodeId, NodeId), Instant>,
    /// Messages in flight keyed by (delivery time, send sequence): a deterministic total order.
    in_flight: BTreeMap<(Instant, u64), Delivery<M>>,
    next_sequence: u64,
    blocked: BTreeSet<(NodeId, NodeId)>,
    paused: BTreeSet<NodeId>,
    stats: NetStats,
}

impl<M> SimNetwork<M> {
    /// A network where every link is [`LinkConfig::LAN`], drawing randomness from `rng`.
    pub fn new(rng: SimRng) -> SimNetwork<M> {
        SimNetwork {
            rng,
            default_link: LinkConfig::LAN,
            links: BTreeMap::new(),
            connection_tail: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            next_sequence: 0,
            blocked: BTreeSet::new(),
            paused: BTreeSet::new(),
            stats: NetStats::default(),
        }
    }

    /// Sets the behaviour of every link without its own configuration.
    pub fn set_default_link(&mut self, config: LinkConfig) {
        config.check();
        self.default_link = config;
    }

    /// Sets the behaviour of the direction `from → to`.
    pub fn set_link(&mut self, from: NodeId, to: NodeId, config: LinkConfig) {
        config.check();
        self.links.insert((from, to), config);
    }

    /// Sends `msg`; returns when it will arrive, or `None` if it was lost or the link is
    /// blocked. Arrival may be held further if the receiver is paused.
    pub fn send(&mut self, now: Instant, from: NodeId, to: NodeId, msg: M) -> Option<Instant> {
        self.stats.sent += 1;
        if self.blocked.contains(&(from, to)) {
            self.stats.blocked += 1;
            return None;
        }
        let link = self
            .links
            .get(&(from, to))
            .copied()
            .unwrap_or(self.default_link);
        if self.rng.chance(u64::from(link.loss_ppm), u64::from(PPM)) {
            self.stats.lost += 1;
            return None;
        }
        let latency = self.draw_latency(&link);
        let tail = self
            .connection_tail
            .entry((from, to))
            .or_insert(Instant::ZERO);
        // Never before the connection's previous message; equal times keep send order through
        // the sequence number.
        let at = now
            .checked_add(latency)
            .expect("virtual time overflow")
            .max(*tail);
        *tail = at;
        let sent_at = now;
        let delivery = Delivery {
            sent_at,
            from,
            to,
            msg,
        };
        self.in_flight.insert((at, self.next_sequence), delivery);
        self.next_sequence += 1;
        Some(at)
    }

    fn draw_latency(&mut self, link: &LinkConfig) -> Duration {
        let tail = self.rng.chance(u64::from(link.tail_ppm), u64::from(PPM));
        if tail {
            self.rng.duration_between(link.latency_max, link.tail_max)
        } else {
            self.rng
                .duration_between(link.latency_min, link.latency_max)
        }
    }

    /// When the next deliverable message is due (messages to paused nodes do not count). It
    /// may lie before the current time after a resume; it is then due at once.
    pub fn next_delivery_at(&self) -> Option<Instant> {
        self.in_flight
            .iter()
            .find(|(_, delivery)| !self.paused.contains(&delivery.to))
            .map(|((at, _), _)| *at)
    }

    /// Takes the next message due at or before `now` whose receiver is not paused.
    pub fn pop_delivery(&mut self, now: Instant) -> Option<Delivery<M>> {
        let key = self
            .in_flight
            .iter()
            .take_while(|((at, _), _)| *at <= now)
            .find(|(_, delivery)| !self.paused.contains(&delivery.to))
            .map(|(key, _)| *key)?;
        let delivery = self.in_flight.remove(&key).expect("the key was just found");
        assert!(
            !self.blocked.contains(&(delivery.from, delivery.to)),
            "blocking drops in flight"
        );
        self.stats.delivered += 1;
        Some(delivery)
    }

    /// Cuts both directions between `a` and `b`.
    pub fn partition(&mut self, a: NodeId, b: NodeId) {
        self.block(a, b);
        self.block(b, a);
    }

    /// Cuts the direction `from → to` only (an asymmetric partition). Messages in flight on it
    /// are lost, so [`SimNetwork::next_delivery_at`] never names a message that cannot arrive.
    pub fn block(&mut self, from: NodeId, to: NodeId) {
        self.blocked.insert((from, to));
        let before = self.in_flight.len();
        self.in_flight
            .retain(|_, delivery| (delivery.from, delivery.to) != (from, to));
        self.stats.blocked += (before - self.in_flight.len()) as u64;
    }

    /// Restores the direction `from → to`.
    pub fn unblock(&mut self, from: NodeId, to: NodeId) {
        self.blocked.remove(&(from, to));
    }

    /// Restores every link.
    pub fn heal(&mut self) {
        self.blocked.clear();
    }

    /// Holds every message to `node` until [`SimNetwork::resume`]. The driver must not step a
    /// paused node (it models a stop-the-world GC pause or SIGSTOP).
    pub fn pause(&mut self, node: NodeId) {
        self.paused.insert(node);
    }

    /// Releases the messages held for `node`; they arrive in order, starting at once.
    pub fn resume(&mut self, node: NodeId) {
        self.paused.remove(&node);
    }

    /// Whether `node` is paused.
    pub fn is_paused(&self, node: NodeId) -> bool {
        self.paused.contains(&node)
    }

    /// Drops every message in flight to or from `node`, as its connections die with it.
    pub fn crash(&mut self, node: NodeId) {
        let before = self.in_flight.len();
        self.in_flight
            .retain(|_, delivery| delivery.from != node && delivery.to != node);
        self.stats.dropped_by_crash += (before - self.in_flight.len()) as u64;
    }

    /// How many messages are in flight (held ones included).
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// What happened to the messages sent so far.
    pub fn stats(&self) -> NetStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: NodeId = NodeId(0);
    const B: NodeId = NodeId(1);
    const C: NodeId = NodeId(2);

    fn net(seed: u64) -> SimNetwork<u32> {
        SimNetwork::new(SimRng::new(seed))
    }

    fn drain(net: &mut SimNetwork<u32>) -> Vec<(NodeId, NodeId, u32)> {
        let mut out = Vec::new();
        while let Some(at) = net.next_delivery_at() {
            let delivery = net.pop_delivery(at).expect("due");
            out.push((delivery.from, delivery.to, delivery.msg));
        }
        out
    }

    #[test]
    fn fifo_per_connection_with_cross_link_reordering() {
        let mut net = net(5);
        let mut now = Instant::ZERO;
        for i in 0..500 {
            net.send(now, A, B, i);
            net.send(now, C, B, i);
            now = now + Duration::from_micros(50);
        }
        let delivered = drain(&mut net);
        assert_eq!(delivered.len(), 1_000);
        let from = |node| {
            delivered
                .iter()
                .filter(move |(f, _, _)| *f == node)
                .map(|d| d.2)
        };
        assert!(from(A).eq(0..500), "a → b in order");
        assert!(from(C).eq(0..500), "c → b in order");
        // Latency (100 µs to 1 ms) exceeds the send spacing, so links interleave out of send
        // order somewhere: some message from C overtakes an earlier-sent one from A.
        let position = |node, msg| delivered.iter().position(|d| d.0 == node && d.2 == msg);
        let overtakes = (1..500).any(|i| position(C, i) < position(A, i - 1));
        assert!(overtakes);
    }

    #[test]
    fn loss_drops_about_the_configured_share() {
        let mut net = net(9);
        net.set_default_link(LinkConfig {
            loss_ppm: 100_000,
            ..LinkConfig::LAN
        });
        for i in 0..10_000 {
            net.send(Instant::ZERO, A, B, i);
        }
        let stats = net.stats();
        assert!((800..1_200).contains(&stats.lost), "{stats:?}");
        assert_eq!(drain(&mut net).len() as u64, 10_000 - stats.lost);
    }

    #[test]
    fn one_way_block_and_partition_and_heal() {
        let mut net = net(1);
        net.block(A, B);
        assert_eq!(net.send(Instant::ZERO, A, B, 1), None);
        assert!(net.send(Instant::ZERO, B, A, 2).is_some());
        assert_eq!(drain(&mut net), vec![(B, A, 2)]);

        // A message in flight when the partition starts is lost.
        net.heal();
        net.send(Instant::ZERO, A, C, 3);
        net.partition(C, A);
        assert_eq!(net.send(Instant::ZERO, C, A, 4), None);
        assert_eq!(drain(&mut net), vec![]);
        assert_eq!(net.stats().blocked, 3);

        net.heal();
        net.send(Instant::ZERO, A, B, 5);
        assert_eq!(drain(&mut net), vec![(A, B, 5)]);
        net.block(A, B);
        net.unblock(A, B);
        net.send(Instant::ZERO, A, B, 6);
        assert_eq!(drain(&mut net), vec![(A, B, 6)]);
    }

    #[test]
    fn pause_holds_and_resume_releases_in_order() {
        let mut net = net(2);
        net.pause(B);
        assert!(net.is_paused(B));
        for i in 0..10 {
            net.send(Instant::ZERO, A, B, i);
        }
        net.send(Instant::ZERO, A, C, 99);
        assert_eq!(drain(&mut net), vec![(A, C, 99)]);
        assert_eq!(net.next_delivery_at(), None);
        assert_eq!(net.pop_delivery(Instant::from_nanos(u64::MAX)), None);
        assert_eq!(net.in_flight(), 10);

        net.resume(B);
        let now = Instant::from_nanos(1_000_000_000);
        net.send(now, A, B, 10);
        assert!(
            net.next_delivery_at().expect("held") < now,
            "held messages are due at once"
        );
        let mut got = Vec::new();
        while let Some(delivery) = net.pop_delivery(now + Duration::from_millis(100)) {
            got.push(delivery.msg);
        }
        assert_eq!(got, (0..=10).collect::<Vec<_>>());
    }

    #[test]
    fn crash_drops_traffic_to_and_from_the_node() {
        let mut net = net(3);
        net.send(Instant::ZERO, A, B, 1);
        net.send(Instant::ZERO, B, C, 2);
        net.send(Instant::ZERO, C, A, 3);
        net.crash(B);
        assert_eq!(net.stats().dropped_by_crash, 2);
        assert_eq!(drain(&mut net), vec![(C, A, 3)]);
    }

    #[test]
    fn not_due_yet_is_not_delivered() {
        let mut net = net(4);
        let at = net.send(Instant::ZERO, A, B, 1).expect("sent");
        assert!(at >= Instant::ZERO + LinkConfig::LAN.latency_min);
        assert_eq!(net.pop_delivery(Instant::ZERO), None);
        assert_eq!(net.next_delivery_at(), Some(at));
        assert_eq!(net.pop_delivery(at).map(|d| d.msg), Some(1));
    }

    #[test]
    fn same_seed_same_deliveries() {
        fn run(seed: u64) -> Vec<(Instant, u32)> {
            let mut net = SimNetwork::new(SimRng::new(seed));
            net.set_default_link(LinkConfig {
                loss_ppm: 50_000,
                tail_ppm: 100_000,
                ..LinkConfig::LAN
            });
            for i in 0..200u32 {
                let from = NodeId(i % 3);
                let to = NodeId((i + 1) % 3);
                net.send(Instant::from_nanos(u64::from(i) * 1_000), from, to, i);
            }
            let mut out = Vec::new();
            while let Some(at) = net.next_delivery_at() {
                let delivery = net.pop_delivery(at).expect("due");
                out.push((at, delivery.msg));
            }
            out
        }
        assert_eq!(run(11), run(11));
        assert_ne!(run(11), run(12));
    }
}
