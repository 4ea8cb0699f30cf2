//! Broker lifecycle on the active controller: registration, heartbeats and leases, fencing
//! and unfencing, controlled shutdown, unregistration and producer-id blocks (KIP-631).

use super::codec::{ARRAY_LEN_MAX, STRING_BYTES_MAX};
use super::config::PRODUCER_ID_BLOCK_SIZE;
use super::controller::QuorumController;
use super::error::ControllerError;
use super::record::{BrokerId, MetadataRecord, RegisterBroker, Uuid};
use super::requests::{ControllerResult, HeartbeatReply, HeartbeatRequest, RegisterBrokerRequest};
use crate::bugs::{self, Bug};
use crate::time::Instant;

impl QuorumController {
    /// BrokerRegistration: registers `request.broker_id` with a new broker epoch, fenced until
    /// a heartbeat says it caught up. A broker id whose other incarnation still holds a live
    /// lease is refused with DUPLICATE_BROKER_REGISTRATION; a re-registration of a live one
    /// (a restart the lease has not noticed yet) first moves its leaderships away. A broker
    /// back from an unclean shutdown (KIP-966) first leaves every ISR and ELR it was in.
    pub fn register_broker(
        &mut self,
        now: Instant,
        request: &RegisterBrokerRequest,
    ) -> ControllerResult<Result<i64, ControllerError>> {
        let mut out = Vec::new();
        let response = self.register_broker_into(&mut out, now, request);
        ControllerResult {
            records: out,
            response,
        }
    }

    fn register_broker_into(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        now: Instant,
        request: &RegisterBrokerRequest,
    ) -> Result<i64, ControllerError> {
        self.check_room()?;
        validate_registration(request)?;
        let broker_id = request.broker_id;
        // A retry from the same process was judged when it first registered.
        let (clean, live) = match self.working.broker(broker_id) {
            Some(existing) => {
                let retry = existing.incarnation_id == request.incarnation_id;
                if !retry && self.lease_live(now, broker_id) {
                    return Err(ControllerError::DuplicateBrokerRegistration);
                }
                let clean = retry || request.previous_broker_epoch == existing.broker_epoch;
                (clean, !existing.fenced)
            }
            None if self.working.brokers().count() >= self.working.limits().brokers_max => {
                return Err(ControllerError::PolicyViolation);
            }
            None => (false, false),
        };
        // The `Bug::ControllerIgnoreUncleanShutdown` switch trusts every restart, a planted
        // bug that lossy-follower must catch.
        if !clean && !bugs::active(Bug::ControllerIgnoreUncleanShutdown) {
            self.exclude_lost(out, broker_id);
        } else if live {
            self.move_away_from(out, broker_id);
        }
        let Some(broker_epoch) = self.working.broker_epoch_max().checked_add(1) else {
            return Err(ControllerError::PolicyViolation);
        };
        let record = RegisterBroker {
            broker_id,
            incarnation_id: request.incarnation_id,
            broker_epoch,
            listeners: request.listeners.clone(),
            rack: request.rack.clone(),
            fenced: true,
        };
        self.propose(out, MetadataRecord::RegisterBroker(record));
        self.leases.insert(broker_id, now);
        assert!(self.working.broker(broker_id).is_some_and(|b| b.fenced));
        Ok(broker_epoch)
    }

    /// BrokerHeartbeat: renews the broker's lease, then fences it if it asks, starts or
    /// continues a controlled shutdown if it asks, or unfences it once it is caught up.
    pub fn broker_heartbeat(
        &mut self,
        now: Instant,
        request: &HeartbeatRequest,
    ) -> ControllerResult<Result<HeartbeatReply, ControllerError>> {
        let mut out = Vec::new();
        let response = self.broker_heartbeat_into(&mut out, now, request);
        ControllerResult {
            records: out,
            response,
        }
    }

    fn broker_heartbeat_into(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        now: Instant,
        request: &HeartbeatRequest,
    ) -> Result<HeartbeatReply, ControllerError> {
        let broker_id = request.broker_id;
        self.check_broker_epoch(broker_id, request.broker_epoch)?;
        // A live broker keeps its lease even when the controller is too busy to act on it.
        self.leases.insert(broker_id, now);
        self.check_room()?;
        let broker = self.working.broker(broker_id).expect("checked above");
        let (fenced, shutting_down) = (broker.fenced, broker.in_controlled_shutdown);
        let mut should_shut_down = false;
        if request.want_shutdown {
            should_shut_down = self.controlled_shutdown_into(out, broker_id);
        } else if request.want_fence {
            self.fence_broker(out, broker_id);
        } else if fenced && request.caught_up && !shutting_down {
            let broker_epoch = request.broker_epoch;
            let unfence = MetadataRecord::UnfenceBroker {
                broker_id,
                broker_epoch,
            };
            self.propose(out, unfence);
            let budget = self.config.partition_changes_per_tick_max;
            self.elect_leaderless(out, budget);
        }
        let broker = self
            .working
            .broker(broker_id)
            .expect("heartbeats never unregister");
        Ok(HeartbeatReply {
            is_caught_up: request.caught_up,
            is_fenced: broker.fenced,
            should_shut_down,
        })
    }

    /// ControlledShutdown: the same as a heartbeat with `want_shutdown`. Returns whether the
    /// broker may stop now (it leads nothing); until then it should keep asking.
    pub fn controlled_shutdown(
        &mut self,
        now: Instant,
        broker_id: BrokerId,
        broker_epoch: i64,
    ) -> ControllerResult<Result<bool, ControllerError>> {
        let request = HeartbeatRequest {
            broker_id,
            broker_epoch,
            caught_up: true,
            want_fence: false,
            want_shutdown: true,
        };
        let result = self.broker_heartbeat(now, &request);
        ControllerResult {
            records: result.records,
            response: result.response.map(|reply| reply.should_shut_down),
        }
    }

    /// Marks the broker as shutting down and moves its leaderships and ISR memberships away
    /// (the shutdown record goes first so nothing elects it meanwhile). Once it leads nothing
    /// it is fenced and may stop: returns true then.
    fn controlled_shutdown_into(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        broker_id: BrokerId,
    ) -> bool {
        let broker = self.working.broker(broker_id).expect("caller checked");
        let broker_epoch = broker.broker_epoch;
        if !broker.fenced && !broker.in_controlled_shutdown {
            let begin = MetadataRecord::BeginControlledShutdown {
                broker_id,
                broker_epoch,
            };
            self.propose(out, begin);
            self.move_away_from(out, broker_id);
        }
        let leads_any = self
            .working
            .partitions()
            .any(|(_, _, s)| s.leader == broker_id);
        if leads_any {
            return false;
        }
        self.fence_broker(out, broker_id);
        true
    }

    /// UnregisterBroker: removes a broker, first moving its leaderships away.
    pub fn unregister_broker(
        &mut self,
        broker_id: BrokerId,
    ) -> ControllerResult<Result<(), ControllerError>> {
        let mut out = Vec::new();
        let response = self.unregister_broker_into(&mut out, broker_id);
        ControllerResult {
            records: out,
            response,
        }
    }

    fn unregister_broker_into(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        broker_id: BrokerId,
    ) -> Result<(), ControllerError> {
        self.check_room()?;
        let Some(broker) = self.working.broker(broker_id) else {
            return Err(ControllerError::BrokerIdNotRegistered);
        };
        let broker_epoch = broker.broker_epoch;
        self.fence_broker(out, broker_id);
        let record = MetadataRecord::UnregisterBroker {
            broker_id,
            broker_epoch,
        };
        self.propose(out, record);
        self.leases.remove(&broker_id);
        Ok(())
    }

    /// AllocateProducerIds (KIP-730): hands the broker the next block of producer ids, as
    /// `(first id, count)`.
    pub fn allocate_producer_ids(
        &mut self,
        broker_id: BrokerId,
        broker_epoch: i64,
    ) -> ControllerResult<Result<(i64, i64), ControllerError>> {
        let mut out = Vec::new();
        let response = self.allocate_producer_ids_into(&mut out, broker_id, broker_epoch);
        ControllerResult {
            records: out,
            response,
        }
    }

    fn allocate_producer_ids_into(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        broker_id: BrokerId,
        broker_epoch: i64,
    ) -> Result<(i64, i64), ControllerError> {
        self.check_room()?;
        self.check_broker_epoch(broker_id, broker_epoch)?;
        let first = self.working.next_producer_id();
        let Some(next_producer_id) = first.checked_add(PRODUCER_ID_BLOCK_SIZE) else {
            return Err(ControllerError::PolicyViolation);
        };
        let record = MetadataRecord::ProducerIds {
            broker_id,
            broker_epoch,
            next_producer_id,
        };
        self.propose(out, record);
        assert_eq!(self.working.next_producer_id(), next_producer_id);
        Ok((first, PRODUCER_ID_BLOCK_SIZE))
    }

    /// BROKER_ID_NOT_REGISTERED or STALE_BROKER_EPOCH unless `broker_epoch` is the broker's
    /// current registration.
    pub(super) fn check_broker_epoch(
        &self,
        broker_id: BrokerId,
        broker_epoch: i64,
    ) -> Result<(), ControllerError> {
        match self.working.broker(broker_id) {
            None => Err(ControllerError::BrokerIdNotRegistered),
            Some(broker) if broker.broker_epoch != broker_epoch => {
                Err(ControllerError::StaleBrokerEpoch)
            }
            Some(_) => Ok(()),
        }
    }

    /// True while the broker's last heartbeat is within `broker.session.timeout.ms`.
    fn lease_live(&self, now: Instant, broker_id: BrokerId) -> bool {
        let timeout = self.config.broker_session_timeout;
        self.leases
            .get(&broker_id)
            .and_then(|last| last.checked_add(timeout))
            .is_some_and(|end| now < end)
    }
}

/// INVALID_REQUEST for registrations the metadata log could not carry.
fn validate_registration(request: &RegisterBrokerRequest) -> Result<(), ControllerError> {
    let strings_fit = request
        .listeners
        .iter()
        .all(|l| l.name.len() <= STRING_BYTES_MAX && l.host.len() <= STRING_BYTES_MAX)
        && request
            .rack
            .as_ref()
            .is_none_or(|r| r.len() <= STRING_BYTES_MAX);
    if request.broker_id < 0
        || request.incarnation_id == Uuid::ZERO
        || request.listeners.len() > ARRAY_LEN_MAX
        || !strings_fit
    {
        return Err(ControllerError::InvalidRequest);
    }
    Ok(())
}
