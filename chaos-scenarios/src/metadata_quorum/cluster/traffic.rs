//! The clients' side of the cluster: requests to the controllers and their answers, brokers'
//! heartbeats and metadata fetches, and the admin's topic requests.

use sluice_core::controller::{encode_batch, ElectionType, MetadataRecord, Role as FollowerRole};
use sluice_core::raft::CommittedRead;
use sluice_core::rng::Rng;
use sluice_core::time::Duration;
use sluice_sim::NodeId;

use super::{Cluster, Event, ADMIN_NET_ID, BROKER_NET_BASE};
use crate::metadata_quorum::clients::{Outstanding, ANSWER_TIMEOUT};
use crate::metadata_quorum::node::Reply;
use crate::metadata_quorum::wire::{Request, Response, Wire};

impl Cluster {
    pub(super) fn handle_request(&mut self, index: usize, from: NodeId, id: u64, request: Request) {
        let now = self.kernel.now();
        let node = &mut self.nodes[index];
        let reply = |response| {
            Some(Reply {
                to: from,
                id,
                response,
            })
        };
        if let Request::MetadataFetch(from_index) = request {
            // Any running controller serves the committed log, as KRaft's voters answer
            // observers' fetches.
            let Some(raft) = node.raft.as_ref() else {
                return;
            };
            let read = raft.read_committed(from_index, 32, 256 << 10);
            let response = Response::Metadata(read);
            return self.reply(
                index,
                Reply {
                    to: from,
                    id,
                    response,
                },
            );
        }
        let Some(controller) = node.controller.as_mut().filter(|_| node.raft.is_some()) else {
            let response = Response::not_controller(&request);
            return self.reply(
                index,
                Reply {
                    to: from,
                    id,
                    response,
                },
            );
        };
        match request {
            Request::Register(request) => {
                let result = controller.register_broker(now, &request);
                let excluded = request.previous_broker_epoch < 0
                    && result.records.iter().any(|record| {
                        matches!(record, MetadataRecord::PartitionChange(c)
                            if !c.isr.contains(&request.broker_id)
                                && !c.elr.contains(&request.broker_id))
                    });
                if excluded {
                    self.mark("lossy-replica-excluded");
                }
                self.propose(
                    index,
                    result.records,
                    reply(Response::Registered(result.response)),
                );
            }
            Request::Heartbeat(request) => {
                let result = controller.broker_heartbeat(now, &request);
                self.propose(
                    index,
                    result.records,
                    reply(Response::Heartbeat(result.response)),
                );
            }
            Request::CreateTopic(request) => {
                let result = controller.create_topics(&mut self.rng, &[request]);
                let response = result.response.into_iter().next().expect("one topic asked");
                self.propose(
                    index,
                    result.records,
                    reply(Response::TopicCreated(response)),
                );
            }
            Request::DeleteTopic(name) => {
                let result = controller.delete_topics(&[name]);
                let response = result.response.into_iter().next().expect("one topic asked");
                let reply = reply(Response::TopicDeleted(response));
                self.propose(index, result.records, reply);
            }
            Request::AlterPartition(request) => {
                let result = controller.alter_partition(&request);
                let reply = reply(Response::AlterPartition(result.response));
                self.propose(index, result.records, reply);
            }
            Request::AllocateProducerIds {
                broker_id,
                broker_epoch,
            } => {
                let result = controller.allocate_producer_ids(broker_id, broker_epoch);
                let reply = reply(Response::ProducerIds(result.response));
                self.propose(index, result.records, reply);
            }
            Request::ElectLeadersUnclean => {
                let result = controller.elect_leaders(ElectionType::Unclean, None);
                let reply = reply(Response::LeadersElected(Ok(result.response)));
                self.propose(index, result.records, reply);
            }
            Request::MetadataFetch(_) => unreachable!("answered before the controller check"),
        }
        self.reschedule(index);
    }

    /// Proposes one controller decision as one entry; its reply waits for the commit. A
    /// refused proposal leaves the controller ahead of the log, so it resigns.
    pub(super) fn propose(
        &mut self,
        index: usize,
        records: Vec<MetadataRecord>,
        reply: Option<Reply>,
    ) {
        if records.is_empty() {
            if let Some(reply) = reply {
                self.reply(index, reply);
            }
            return;
        }
        let now = self.kernel.now();
        let node = &mut self.nodes[index];
        let raft = node
            .raft
            .as_mut()
            .expect("a controller runs on a running node");
        match raft.propose(now, &mut node.disk, encode_batch(&records)) {
            Ok(entry) => {
                node.pending.entry(entry).or_default().extend(reply);
                self.after_raft_call(index, Ok(()));
            }
            Err(error) => {
                self.kernel
                    .record(format_args!("n{} proposal refused: {error}", index + 1));
                node.controller = None;
                if let Some(reply) = reply {
                    let response = Response::not_controller_for(&reply.response);
                    self.reply(index, Reply { response, ..reply });
                }
                self.after_raft_call(index, Ok(()));
            }
        }
    }

    pub(super) fn reply(&mut self, index: usize, reply: Reply) {
        let from = self.nodes[index].net_id();
        let wire = Wire::Response {
            id: reply.id,
            response: reply.response,
        };
        self.net.send(self.kernel.now(), from, reply.to, wire);
    }

    pub(super) fn handle_response(&mut self, to: NodeId, id: u64, response: Response) {
        let controllers = self.nodes.len();
        if to == ADMIN_NET_ID {
            if self.admin.outstanding.is_some_and(|o| o.id == id) && self.admin.answered(&response)
            {
                self.admin.target = (self.admin.target + 1) % controllers;
            }
            return;
        }
        let index = (to.0 - BROKER_NET_BASE) as usize;
        if let Response::AlterPartition(result) = response {
            if result == Err(sluice_core::controller::ControllerError::NotController) {
                self.brokers[index].target = (self.brokers[index].target + 1) % controllers;
            }
            return self.alter_partition_answered(index, id, result);
        }
        if let Response::ProducerIds(result) = response {
            if result == Err(sluice_core::controller::ControllerError::NotController) {
                self.brokers[index].target = (self.brokers[index].target + 1) % controllers;
            }
            return self.producer_ids_answered(index, id, result);
        }
        let broker = &mut self.brokers[index];
        if let Response::Metadata(read) = response {
            if broker.fetch_outstanding.is_some_and(|o| o.id == id) {
                broker.fetch_outstanding = None;
                self.follow(index, read);
            }
            return;
        }
        if broker.outstanding.is_some_and(|o| o.id == id) && broker.answered(&response) {
            broker.target = (broker.target + 1) % controllers;
        }
        if broker.stopped {
            // The controller moved its leaderships away first: now the process stops.
            broker.stopped = false;
            broker.restart_on_wake = true;
            let down = Duration::from_millis(3_000 + self.rng.below(5_000));
            let until = self.kernel.now() + down;
            self.brokers[index].muted_until = Some(until);
            self.kernel
                .record(format_args!("broker {index} shut down until {until}"));
            self.mark("controlled-shutdown");
        }
    }

    /// A broker applies what it fetched and takes up its new partition roles; every role it
    /// leads must be the only leader of that partition epoch anywhere.
    fn follow(&mut self, index: usize, read: CommittedRead) {
        // Behind: fetch again at once, as a broker catching up does, rather than at the next
        // heartbeat.
        let behind = !matches!(read, CommittedRead::UpToDate { .. });
        self.apply_read(index, read);
        let broker = &self.brokers[index];
        if behind && broker.fetch_outstanding.is_none() && self.failure.is_none() {
            let (net_id, from_index) = (broker.net_id, broker.follower.fetch_from());
            let server = self.rng.below(self.nodes.len() as u64) as usize;
            let id = self.send_request(net_id, server, Request::MetadataFetch(from_index));
            let sent_at = self.kernel.now();
            self.brokers[index].fetch_outstanding = Some(Outstanding { id, sent_at });
        }
    }

    fn apply_read(&mut self, index: usize, read: CommittedRead) {
        let follower = &mut self.brokers[index].follower;
        let snapshots = follower.stats().snapshots_loaded;
        if follower.handle_read(read).is_err() {
            return; // reordered or stale: the next fetch starts from the right place
        }
        if follower.stats().snapshots_loaded > snapshots {
            self.mark("broker-loaded-snapshot");
        }
        let broker_id = self.brokers[index].broker_id;
        while let Some(change) = self.brokers[index].follower.poll_change() {
            self.data_role(index, &change);
            if let FollowerRole::Leader { leader_epoch, .. } = change.role {
                self.mark("broker-became-leader");
                let key = (change.topic_id, change.partition, leader_epoch);
                if let Err(detail) = self.history.broker_leads(key, broker_id) {
                    return self.fail("two-brokers-lead-one-epoch", detail);
                }
            }
        }
        self.data_activate(index);
    }

    pub(super) fn broker_tick(&mut self, index: usize) {
        self.kernel.record(format_args!("broker {index} tick"));
        let now = self.kernel.now();
        let controllers = self.nodes.len();
        let broker = &mut self.brokers[index];
        if broker
            .outstanding
            .is_some_and(|o| now.saturating_duration_since(o.sent_at) >= ANSWER_TIMEOUT)
        {
            broker.outstanding = None;
            broker.target = (broker.target + 1) % controllers;
        }
        let awake = broker.muted_until.is_none_or(|until| now >= until);
        if awake && broker.restart_on_wake {
            broker.restart_on_wake = false;
            let incarnation = sluice_core::controller::Uuid::random(&mut self.rng);
            let broker = &mut self.brokers[index];
            broker.restart(incarnation);
            self.kernel.record(format_args!("broker {index} restarted"));
            self.data_restart(index);
        }
        let broker = &mut self.brokers[index];
        if awake {
            let stale = broker
                .fetch_outstanding
                .is_some_and(|o| now.saturating_duration_since(o.sent_at) >= ANSWER_TIMEOUT);
            if broker.fetch_outstanding.is_none() || stale {
                let from_index = broker.follower.fetch_from();
                let net_id = broker.net_id;
                let server = self.rng.below(controllers as u64) as usize;
                let id = self.send_request(net_id, server, Request::MetadataFetch(from_index));
                self.brokers[index].fetch_outstanding = Some(Outstanding { id, sent_at: now });
            }
        }
        let broker = &mut self.brokers[index];
        if broker.outstanding.is_none() && awake {
            let request = broker.next_request();
            let (from, target) = (broker.net_id, broker.target);
            let id = self.send_request(from, target, request);
            self.brokers[index].outstanding = Some(Outstanding { id, sent_at: now });
        }
        let interval = Duration::from_millis(1_500 + self.rng.below(1_000));
        self.kernel
            .schedule_after(interval, Event::BrokerTick(index));
    }

    pub(super) fn admin_tick(&mut self) {
        self.kernel.record("admin tick");
        let now = self.kernel.now();
        let controllers = self.nodes.len();
        if self
            .admin
            .outstanding
            .is_some_and(|o| now.saturating_duration_since(o.sent_at) >= ANSWER_TIMEOUT)
        {
            self.admin.outstanding = None;
            self.admin.target = (self.admin.target + 1) % controllers;
        }
        if self.admin.outstanding.is_none() {
            if let Some(request) = self.admin.request(&mut self.rng) {
                let id = self.send_request(self.admin.net_id, self.admin.target, request);
                self.admin.outstanding = Some(Outstanding { id, sent_at: now });
            }
        }
        let (low, high) = self.admin_interval_ms;
        let interval = Duration::from_millis(self.rng.range_inclusive(low, high));
        self.kernel.schedule_after(interval, Event::AdminTick);
    }

    pub(crate) fn send_request(&mut self, from: NodeId, target: usize, request: Request) -> u64 {
        self.next_request_id += 1;
        let id = self.next_request_id;
        let to = self.nodes[target].net_id();
        self.net
            .send(self.kernel.now(), from, to, Wire::Request { id, request });
        id
    }
}
