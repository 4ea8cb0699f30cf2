//! A broker's producer ids for InitProducerId. Ids must stay unique across the whole cluster
//! and across controller failovers, so, as in Kafka's KRaft mode (KIP-730), the active
//! controller hands each broker blocks of [`crate::controller::PRODUCER_ID_BLOCK_SIZE`] ids
//! through the metadata log (`ProducerIdsRecord`), and the broker hands them out one by one.
//!
//! Like Kafka's `RPCProducerIdManager`, the broker asks for its next block once 90% of the
//! current one is used, so clients rarely wait. Unlike it, an InitProducerId that finds no id
//! is held (at most `waiting_max` of them, each for at most `wait_timeout`) rather than
//! answered COORDINATOR_LOAD_IN_PROGRESS at once; that code is what a request gets when the
//! wait runs out or too many wait, and Kafka's clients retry it.
//!
//! # Call order
//!
//! [`ProducerIdBlocks::handle_request`] for each InitProducerId, with the driver's token;
//! then drain [`ProducerIdBlocks::poll_output`]: send the controller an AllocateProducerIds
//! for each [`ProducerIdOutput::Allocate`] and hand its answer to
//! [`ProducerIdBlocks::block_allocated`] or [`ProducerIdBlocks::allocation_failed`]; answer
//! each [`ProducerIdOutput::Answer`]. Call [`ProducerIdBlocks::handle_timeout`] at
//! [`ProducerIdBlocks::poll_timeout`].

use std::collections::VecDeque;

use crate::api::{ErrorCode, InitProducerIdRequest, InitProducerIdResponse};
use crate::time::{Duration, Instant};

/// Kafka's `RPCProducerIdManager` prefetches the next block once this share (per mille) of the
/// current one is handed out.
const PREFETCH_PER_MILLE: i64 = 900;

/// Work for the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProducerIdOutput {
    /// Ask the active controller for the next block (AllocateProducerIds).
    Allocate,
    /// Answer the InitProducerId that came with `token`.
    Answer {
        /// The driver's token.
        token: u64,
        /// The answer.
        response: InitProducerIdResponse,
    },
}

/// One block: ids `next..end` are still free; it held `size` in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Block {
    next: i64,
    end: i64,
    size: i64,
}

/// The broker's blocks and the requests waiting for one. See the module documentation.
#[derive(Clone, Debug)]
pub struct ProducerIdBlocks {
    current: Option<Block>,
    prefetched: Option<Block>,
    allocating: bool,
    retry_at: Option<Instant>,
    /// Held requests: token and the instant they are given up.
    waiting: VecDeque<(u64, Instant)>,
    waiting_max: usize,
    wait_timeout: Duration,
    retry_backoff: Duration,
    outputs: VecDeque<ProducerIdOutput>,
}

impl ProducerIdBlocks {
    /// No block yet. At most `waiting_max` requests wait, each at most `wait_timeout`; a
    /// failed allocation is asked again after `retry_backoff`.
    pub fn new(
        waiting_max: usize,
        wait_timeout: Duration,
        retry_backoff: Duration,
    ) -> ProducerIdBlocks {
        ProducerIdBlocks {
            current: None,
            prefetched: None,
            allocating: false,
            retry_at: None,
            waiting: VecDeque::new(),
            waiting_max,
            wait_timeout,
            retry_backoff,
            outputs: VecDeque::new(),
        }
    }

    /// An InitProducerId from a client; its answer comes out with `token`, now or later.
    pub fn handle_request(&mut self, now: Instant, token: u64, request: &InitProducerIdRequest) {
        let refusal = match request.transactional_id.as_deref() {
            // Kafka's coordinator refuses an empty transactional id as INVALID_REQUEST.
            Some("") => Some(ErrorCode::InvalidRequest),
            // Sluice has no transaction coordinator yet. Java's and kafka-python's producers
            // retry NOT_COORDINATOR and COORDINATOR_NOT_AVAILABLE until `max.block.ms` and
            // then time out with no hint why; UNSUPPORTED_VERSION fails `initTransactions`
            // at once with "The version of API is not supported", the honest answer.
            Some(_) => Some(ErrorCode::UnsupportedVersion),
            None => None,
        };
        if let Some(error) = refusal {
            let response = InitProducerIdResponse::error(error);
            self.outputs
                .push_back(ProducerIdOutput::Answer { token, response });
            return;
        }
        if self.waiting.is_empty() {
            if let Some(id) = self.take() {
                let response = InitProducerIdResponse::fresh(id);
                self.outputs
                    .push_back(ProducerIdOutput::Answer { token, response });
                self.maybe_allocate(now);
                return;
            }
        }
        if self.waiting.len() >= self.waiting_max {
            let response = InitProducerIdResponse::error(ErrorCode::CoordinatorLoadInProgress);
            self.outputs
                .push_back(ProducerIdOutput::Answer { token, response });
        } else {
            let deadline = now.checked_add(self.wait_timeout).unwrap_or(now);
            self.waiting.push_back((token, deadline));
        }
        self.maybe_allocate(now);
    }

    /// The controller's block: `count` ids from `first`. A block that makes no sense (empty,
    /// negative, overflowing) counts as a failed allocation.
    pub fn block_allocated(&mut self, now: Instant, first: i64, count: i64) {
        let end = first.checked_add(count);
        let Some(end) = end.filter(|_| first >= 0 && count > 0) else {
            return self.allocation_failed(now);
        };
        self.allocating = false;
        self.retry_at = None;
        let block = Block {
            next: first,
            end,
            size: count,
        };
        match self.current {
            Some(current) if current.next < current.end => self.prefetched = Some(block),
            _ => self.current = Some(block),
        }
        while let Some(&(token, _)) = self.waiting.front() {
            let Some(id) = self.take() else {
                break;
            };
            self.waiting.pop_front();
            let response = InitProducerIdResponse::fresh(id);
            self.outputs
                .push_back(ProducerIdOutput::Answer { token, response });
        }
        self.maybe_allocate(now);
        self.check_invariants();
    }

    /// The allocation was refused or lost: asked again after the backoff.
    pub fn allocation_failed(&mut self, now: Instant) {
        self.allocating = false;
        self.retry_at = Some(now.checked_add(self.retry_backoff).unwrap_or(now));
    }

    /// Gives up held requests whose wait ran out, and asks for a block again if due.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(token, deadline)) = self.waiting.front() {
            if deadline > now {
                break;
            }
            self.waiting.pop_front();
            let response = InitProducerIdResponse::error(ErrorCode::CoordinatorLoadInProgress);
            self.outputs
                .push_back(ProducerIdOutput::Answer { token, response });
        }
        self.maybe_allocate(now);
    }

    /// When [`ProducerIdBlocks::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let waiting = self.waiting.front().map(|(_, deadline)| *deadline);
        let retry = self
            .retry_at
            .filter(|_| self.wants_block() && self.has_use_for_block());
        waiting.into_iter().chain(retry).min()
    }

    /// The next thing for the driver to do.
    pub fn poll_output(&mut self) -> Option<ProducerIdOutput> {
        self.outputs.pop_front()
    }

    /// How many requests wait for a block.
    pub fn waiting_count(&self) -> usize {
        self.waiting.len()
    }

    /// The next free id, moving to the prefetched block when the current one is used up.
    fn take(&mut self) -> Option<i64> {
        if self.current.is_none_or(|c| c.next >= c.end) {
            self.current = self.prefetched.take();
        }
        let block = self.current.as_mut()?;
        if block.next >= block.end {
            return None;
        }
        let id = block.next;
        block.next += 1;
        Some(id)
    }

    /// Whether a block should be asked for: none is left, or 90% of the last one is used,
    /// and none is prefetched yet.
    fn wants_block(&self) -> bool {
        if self.prefetched.is_some() {
            return false;
        }
        match self.current {
            None => true,
            Some(block) => {
                let used = block.size - (block.end - block.next);
                used.saturating_mul(1000) >= block.size.saturating_mul(PREFETCH_PER_MILLE)
            }
        }
    }

    /// Whether a block would serve anyone: a request waits, or ids were handed out before
    /// (so more will be asked for). A broker nobody asked for ids never asks the controller.
    fn has_use_for_block(&self) -> bool {
        !self.waiting.is_empty() || self.current.is_some()
    }

    fn maybe_allocate(&mut self, now: Instant) {
        let backing_off = self.retry_at.is_some_and(|at| at > now);
        if self.allocating || backing_off || !self.wants_block() || !self.has_use_for_block() {
            return;
        }
        self.allocating = true;
        self.retry_at = None;
        self.outputs.push_back(ProducerIdOutput::Allocate);
    }

    fn check_invariants(&self) {
        assert!(self.waiting.len() <= self.waiting_max);
        if !self.waiting.is_empty() {
            assert!(self.current.is_none_or(|c| c.next >= c.end));
            assert!(self.prefetched.is_none());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::PRODUCER_ID_BLOCK_SIZE;

    fn blocks() -> ProducerIdBlocks {
        let second = Duration::from_secs(1);
        ProducerIdBlocks::new(2, Duration::from_secs(5), second)
    }

    fn outputs(blocks: &mut ProducerIdBlocks) -> Vec<ProducerIdOutput> {
        std::iter::from_fn(|| blocks.poll_output()).collect()
    }

    fn answer(token: u64, id: i64) -> ProducerIdOutput {
        let response = InitProducerIdResponse::fresh(id);
        ProducerIdOutput::Answer { token, response }
    }

    fn refusal(token: u64, error: ErrorCode) -> ProducerIdOutput {
        let response = InitProducerIdResponse::error(error);
        ProducerIdOutput::Answer { token, response }
    }

    #[test]
    fn requests_wait_for_the_first_block_then_ids_are_handed_out_in_order() {
        let mut b = blocks();
        let now = Instant::ZERO;
        let request = InitProducerIdRequest::idempotent();
        b.handle_request(now, 1, &request);
        b.handle_request(now, 2, &request);
        assert_eq!(outputs(&mut b), [ProducerIdOutput::Allocate]);
        // A third waiter is one too many.
        b.handle_request(now, 3, &request);
        let busy = refusal(3, ErrorCode::CoordinatorLoadInProgress);
        assert_eq!(outputs(&mut b), [busy]);
        b.block_allocated(now, 1000, PRODUCER_ID_BLOCK_SIZE);
        assert_eq!(outputs(&mut b), [answer(1, 1000), answer(2, 1001)]);
        b.handle_request(now, 4, &request);
        assert_eq!(outputs(&mut b), [answer(4, 1002)]);
    }

    #[test]
    fn the_next_block_is_fetched_at_ninety_percent_and_used_after_the_current() {
        let mut b = ProducerIdBlocks::new(2, Duration::from_secs(5), Duration::from_secs(1));
        let now = Instant::ZERO;
        let request = InitProducerIdRequest::idempotent();
        b.handle_request(now, 0, &request);
        b.block_allocated(now, 0, 10);
        outputs(&mut b);
        for token in 1..9 {
            b.handle_request(now, token, &request);
        }
        // Nine of ten used: the prefetch goes out with the ninth answer.
        let out = outputs(&mut b);
        assert_eq!(out.last(), Some(&ProducerIdOutput::Allocate));
        b.block_allocated(now, 50, 10);
        b.handle_request(now, 9, &request);
        b.handle_request(now, 10, &request);
        assert_eq!(outputs(&mut b), [answer(9, 9), answer(10, 50)]);
    }

    #[test]
    fn a_lost_allocation_is_retried_and_a_held_request_times_out() {
        let mut b = blocks();
        let now = Instant::ZERO;
        b.handle_request(now, 1, &InitProducerIdRequest::idempotent());
        assert_eq!(outputs(&mut b), [ProducerIdOutput::Allocate]);
        b.allocation_failed(now);
        let retry = now + Duration::from_secs(1);
        assert_eq!(b.poll_timeout(), Some(retry));
        b.handle_timeout(retry);
        assert_eq!(outputs(&mut b), [ProducerIdOutput::Allocate]);
        let expiry = now + Duration::from_secs(5);
        assert_eq!(b.poll_timeout(), Some(expiry));
        b.handle_timeout(expiry);
        let gave_up = refusal(1, ErrorCode::CoordinatorLoadInProgress);
        assert_eq!(outputs(&mut b), [gave_up]);
        // Nonsense from the controller is a failure, not a block; with nobody waiting, the
        // broker does not ask again until someone does.
        b.block_allocated(expiry, -5, 10);
        assert_eq!(b.poll_timeout(), None);
        b.handle_request(expiry, 2, &InitProducerIdRequest::idempotent());
        assert_eq!(b.poll_timeout(), Some(expiry + Duration::from_secs(1)));
    }

    #[test]
    fn transactional_ids_are_refused() {
        let mut b = blocks();
        let mut request = InitProducerIdRequest::idempotent();
        request.transactional_id = Some("tx".into());
        b.handle_request(Instant::ZERO, 1, &request);
        request.transactional_id = Some(String::new());
        b.handle_request(Instant::ZERO, 2, &request);
        let expected = [
            refusal(1, ErrorCode::UnsupportedVersion),
            refusal(2, ErrorCode::InvalidRequest),
        ];
        assert_eq!(outputs(&mut b), expected);
    }
}
