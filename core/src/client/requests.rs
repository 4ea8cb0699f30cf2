//! The requests a client is waiting on, each with what it was for and when to give up.

use std::collections::BTreeMap;

use crate::time::Instant;

/// Outstanding requests by id. Ids are never reused, so a late answer to a request given up
/// on cannot be mistaken for the answer to a newer one.
#[derive(Clone, Debug)]
pub(crate) struct Outstanding<T> {
    next_id: u64,
    waiting: BTreeMap<u64, (Instant, T)>,
}

impl<T> Outstanding<T> {
    pub(crate) fn new() -> Outstanding<T> {
        Outstanding {
            next_id: 0,
            waiting: BTreeMap::new(),
        }
    }

    /// Requests numbered from `first`, so that two state machines behind one driver (a group
    /// member and its fetching consumer) never hand out the same id.
    pub(crate) fn starting_at(first: u64) -> Outstanding<T> {
        Outstanding {
            next_id: first,
            waiting: BTreeMap::new(),
        }
    }

    /// A fresh id for a request that was not sent or needs no answer.
    pub(crate) fn allocate(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1).expect("request ids exhausted");
        id
    }

    /// Records a request sent now, to be given up on at `deadline`; returns its id.
    pub(crate) fn start(&mut self, deadline: Instant, purpose: T) -> u64 {
        let id = self.allocate();
        let previous = self.waiting.insert(id, (deadline, purpose));
        assert!(previous.is_none(), "request id reused");
        id
    }

    /// Stops waiting for `id`; `None` if it was never sent or already finished.
    pub(crate) fn finish(&mut self, id: u64) -> Option<T> {
        self.waiting.remove(&id).map(|(_, purpose)| purpose)
    }

    /// Removes and returns the requests whose deadline is at or before `now`, in id order.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<(u64, T)> {
        let expired: Vec<u64> = self
            .waiting
            .iter()
            .filter(|(_, (deadline, _))| *deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        let mut out = Vec::with_capacity(expired.len());
        for id in expired {
            let purpose = self.finish(id).expect("listed just above");
            out.push((id, purpose));
        }
        out
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.waiting.values().map(|(deadline, _)| *deadline).min()
    }

    /// What the outstanding requests are for.
    pub(crate) fn purposes(&self) -> impl Iterator<Item = (u64, &T)> {
        self.waiting.iter().map(|(id, (_, purpose))| (*id, purpose))
    }
}
