//! What a partition leader knows about its followers, and the decisions it makes from that:
//! the high watermark and the ISR changes it asks the controller for (KIP-497). Pure state:
//! no log, no disk, so every rule here is tested on its own.

use std::collections::BTreeMap;

use crate::bugs::{self, Bug};
use crate::controller::BrokerId;
use crate::time::{Duration, Instant};

/// One follower as the leader sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Its log end offset, from its last fetch; `None` until it fetched in this epoch.
    pub log_end_offset: Option<i64>,
    /// When it last had everything the leader had (Kafka's `lastCaughtUpTimeMs`).
    pub last_caught_up: Instant,
    /// When it last fetched, and the leader's log end at that time.
    last_fetch: Option<(Instant, i64)>,
    /// The high watermark last sent to it, so a waiting fetch can be answered when it grows.
    pub high_watermark_sent: i64,
}

/// An ISR change sent to the controller and not yet answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingIsr {
    /// The ISR asked for.
    pub isr: Vec<BrokerId>,
    /// The AlterPartition request's id.
    pub request_id: u64,
    /// Its fate is unknown: the request was lost, or a controller refused it for a reason
    /// that does not rule out an earlier send having been applied. The change stays in the
    /// maximal ISR and is sent again, until an answer or the metadata settles it (Kafka keeps
    /// its pending state the same way).
    pub in_doubt: bool,
}

/// The leader's view of one partition for one leader epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderState {
    /// The epoch it leads in.
    pub leader_epoch: i32,
    /// The log end offset when it became leader: its epoch starts there.
    pub epoch_start_offset: i64,
    /// The partition epoch of the ISR below.
    pub partition_epoch: i32,
    /// The ISR as the controller committed it.
    pub isr: Vec<BrokerId>,
    /// The ISR change in flight, if any.
    pub pending: Option<PendingIsr>,
    /// After a refused or lost ISR change, no new one is asked for before this.
    pub retry_isr_at: Option<Instant>,
    /// The assigned replicas.
    pub replicas: Vec<BrokerId>,
    /// Every other assigned replica.
    pub followers: BTreeMap<BrokerId, Progress>,
}

impl LeaderState {
    /// The state of a replica that just became leader at `log_end_offset`. ISR members count
    /// as caught up now, so none is dropped before it had a chance to fetch.
    pub fn new(
        me: BrokerId,
        leader_epoch: i32,
        partition_epoch: i32,
        isr: Vec<BrokerId>,
        replicas: Vec<BrokerId>,
        log_end_offset: i64,
        now: Instant,
    ) -> LeaderState {
        let followers = replicas
            .iter()
            .filter(|b| **b != me)
            .map(|b| {
                let progress = Progress {
                    log_end_offset: None,
                    last_caught_up: now,
                    last_fetch: None,
                    high_watermark_sent: -1,
                };
                (*b, progress)
            })
            .collect();
        LeaderState {
            leader_epoch,
            epoch_start_offset: log_end_offset,
            partition_epoch,
            isr,
            pending: None,
            retry_isr_at: None,
            replicas,
            followers,
        }
    }

    /// The ISR the high watermark waits for (KIP-497's maximal ISR): the committed ISR plus a
    /// member being added. A member being removed still counts until the controller agrees,
    /// so the set is always a superset of what the controller may elect from.
    pub fn maximal_isr(&self) -> Vec<BrokerId> {
        let mut isr = self.isr.clone();
        if let Some(pending) = &self.pending {
            for member in &pending.isr {
                if !isr.contains(member) {
                    isr.push(*member);
                }
            }
        }
        isr
    }

    /// Records a follower's fetch at `fetch_offset` (its log end) while the leader's log ends
    /// at `leader_end`. Kafka's rule: it is caught up now if it asked for the leader's end,
    /// and was caught up at its previous fetch if it asked for what the leader had then.
    pub fn record_fetch(
        &mut self,
        follower: BrokerId,
        fetch_offset: i64,
        leader_end: i64,
        now: Instant,
    ) {
        let Some(progress) = self.followers.get_mut(&follower) else {
            return;
        };
        if fetch_offset >= leader_end {
            progress.last_caught_up = now;
        } else if let Some((previous_time, previous_end)) = progress.last_fetch {
            if fetch_offset >= previous_end {
                progress.last_caught_up = progress.last_caught_up.max(previous_time);
            }
        }
        progress.last_fetch = Some((now, leader_end));
        progress.log_end_offset = Some(fetch_offset);
    }

    /// The high watermark the maximal ISR supports: the smallest log end among its members, or
    /// `None` while a member has not fetched in this epoch or the committed ISR is smaller
    /// than `min_isr` (strict min-ISR: nothing commits with too few replicas).
    pub fn supported_high_watermark(
        &self,
        me: BrokerId,
        own_end: i64,
        min_isr: usize,
    ) -> Option<i64> {
        if self.isr.len() < min_isr {
            return None;
        }
        let mut hw = own_end;
        if bugs::active(Bug::ReplicaHwOutsideIsr) {
            // The planted bug counts whichever followers fetched, in the ISR or not.
            let ends = self.followers.values().filter_map(|p| p.log_end_offset);
            return Some(ends.fold(hw, i64::min));
        }
        for member in self.maximal_isr() {
            if member == me {
                continue;
            }
            let end = self.followers.get(&member)?.log_end_offset?;
            hw = hw.min(end);
        }
        Some(hw)
    }

    /// The change to send again: the one in doubt, once the backoff after its failure passed.
    pub fn in_doubt_resend_due(&self, now: Instant) -> Option<Vec<BrokerId>> {
        let pending = self.pending.as_ref().filter(|p| p.in_doubt)?;
        let waiting = self.retry_isr_at.is_some_and(|at| at > now);
        (!waiting).then(|| pending.isr.clone())
    }

    /// The ISR to ask for when no change is in flight: followers that fell behind for longer
    /// than `lag_max` leave; a follower outside the ISR that has reached both `high_watermark`
    /// and the start of this epoch, and that `eligible` accepts, joins. Shrinks come first;
    /// one change at a time.
    pub fn wanted_isr(
        &self,
        me: BrokerId,
        own_end: i64,
        high_watermark: i64,
        now: Instant,
        lag_max: Duration,
        eligible: &dyn Fn(BrokerId) -> bool,
    ) -> Option<Vec<BrokerId>> {
        if self.pending.is_some() || self.retry_isr_at.is_some_and(|at| at > now) {
            return None;
        }
        let lagging = |b: &BrokerId| {
            *b != me
                && self.followers.get(b).is_none_or(|p| {
                    p.log_end_offset != Some(own_end)
                        && now.saturating_duration_since(p.last_caught_up) > lag_max
                })
        };
        if self.isr.iter().any(lagging) {
            let kept = self.isr.iter().copied().filter(|b| !lagging(b)).collect();
            return Some(kept);
        }
        let joining = self.followers.iter().find(|(b, p)| {
            !self.isr.contains(b)
                && eligible(**b)
                && p.log_end_offset
                    .is_some_and(|end| end >= high_watermark && end >= self.epoch_start_offset)
        });
        joining.map(|(b, _)| {
            let mut isr = self.isr.clone();
            isr.push(*b);
            isr
        })
    }
}
