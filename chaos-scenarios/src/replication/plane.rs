//! The data plane of a simulated cluster: each broker's replica manager and disk, wired to the
//! metadata the broker follows, to the other brokers, and to the controllers for AlterPartition.

use std::collections::BTreeMap;

use sluice_core::api;
use sluice_core::broker::{ProducerIdBlocks, ProducerIdOutput};
use sluice_core::controller::{ControllerError, PartitionReply, PartitionRole};
use sluice_core::replica::{ReplicaConfig, ReplicaManager, ReplicaOutput};
use sluice_core::time::{Duration, Instant};
use sluice_sim::{EventId, NodeId, SimDisk};

use super::clients::SimClient;
use crate::metadata_quorum::cluster::{Cluster, Event, BROKER_NET_BASE};
use crate::metadata_quorum::wire::{Request, Wire};

/// One broker's replicas and disk.
pub struct DataBroker {
    /// The replica manager, `None` while the process is down.
    pub manager: Option<ReplicaManager>,
    /// The broker's data disk.
    pub disk: SimDisk,
    timer: Option<EventId>,
    /// Process starts so far: a restarted leader is a new leader even in the same epoch.
    pub incarnation: u32,
    /// The broker's metadata holds its current registration: only then does it act on roles.
    active: bool,
    /// AlterPartition wire id → the manager's id.
    alters: BTreeMap<u64, u64>,
    /// Requests this broker sent to other brokers: wire id → the manager's id.
    peer_requests: BTreeMap<u64, u64>,
    /// Requests this broker is answering: the manager's client token → (asker, wire id).
    askers: BTreeMap<u64, (NodeId, u64)>,
    /// Until then its disk is busy with calls already made: what the broker sends waits for
    /// them, as a process blocked in write or fsync would.
    disk_free_at: Instant,
    next_token: u64,
    /// The producer ids this broker hands to InitProducerId, in blocks from the controller.
    producer_ids: ProducerIdBlocks,
    /// The AllocateProducerIds in flight: its wire id and when it was sent.
    allocation: Option<(u64, Instant)>,
    /// Until then the Produce answers this broker sends clients are lost on the way.
    pub answers_lost_until: Option<Instant>,
}

/// How long a broker waits for the controller's block of producer ids before asking again,
/// and how long an InitProducerId waits for one.
const PRODUCER_ID_WAIT: Duration = Duration::from_secs(5);

/// A broker's producer ids before its first block.
fn fresh_producer_ids() -> ProducerIdBlocks {
    ProducerIdBlocks::new(64, PRODUCER_ID_WAIT, Duration::from_millis(200))
}

impl DataBroker {
    /// Whether the process runs and acts on its roles: its registration is in its metadata.
    pub fn is_active(&self) -> bool {
        self.active && self.manager.is_some()
    }
}

/// Replicas, clients and the operation history of one run.
pub struct DataPlane {
    /// The brokers' data side, by broker index.
    pub brokers: Vec<DataBroker>,
    /// Producers and consumers.
    pub clients: Vec<SimClient>,
    /// Every client operation, for the checker.
    pub history: sluice_jepsen::History,
    /// The replication settings of every broker.
    pub config: ReplicaConfig,
    /// The workload's topic.
    pub topic: String,
    /// Counters of replica managers that crashed.
    pub retired: sluice_core::replica::ReplicaStats,
    /// What the cross-broker checks remember.
    pub audit: super::audit::AuditState,
    /// Its partitions.
    pub partitions: i32,
    /// Set when every broker lost its unsynced writes at once (page-cache mode): per
    /// partition, the log (offset → value) of the replica an unclean election then chose, as
    /// it was when it took up leadership. What it lacked is what the run may lose.
    pub unclean_recovery: Option<BTreeMap<i32, BTreeMap<i64, u64>>>,
    next_wire_id: u64,
}

impl DataPlane {
    /// A data plane for `brokers` brokers with these settings.
    pub fn new(brokers: Vec<SimDisk>, config: ReplicaConfig, topic: &str, partitions: i32) -> Self {
        let brokers = brokers
            .into_iter()
            .enumerate()
            .map(|(index, disk)| DataBroker {
                manager: Some(ReplicaManager::new(index as i32, config.clone())),
                disk,
                timer: None,
                incarnation: 0,
                active: false,
                alters: BTreeMap::new(),
                peer_requests: BTreeMap::new(),
                askers: BTreeMap::new(),
                disk_free_at: Instant::ZERO,
                next_token: 0,
                producer_ids: fresh_producer_ids(),
                allocation: None,
                answers_lost_until: None,
            })
            .collect();
        DataPlane {
            brokers,
            clients: Vec::new(),
            history: sluice_jepsen::History::default(),
            config,
            topic: topic.to_string(),
            audit: super::audit::AuditState::default(),
            retired: Default::default(),
            partitions,
            unclean_recovery: None,
            next_wire_id: 0,
        }
    }

    /// A fresh id for a data-plane request.
    pub fn wire_id(&mut self) -> u64 {
        self.next_wire_id += 1;
        self.next_wire_id
    }
}

/// The broker index behind a network id, if it is a broker's.
pub fn broker_index(cluster: &Cluster, net: NodeId) -> Option<usize> {
    let index = net.0.checked_sub(BROKER_NET_BASE)? as usize;
    (index < cluster.brokers.len()).then_some(index)
}

impl Cluster {
    fn broker_up(&self, index: usize) -> bool {
        let now = self.kernel.now();
        let awake = self.brokers[index]
            .muted_until
            .is_none_or(|until| now >= until);
        awake
            && self
                .data
                .as_ref()
                .is_some_and(|data| data.brokers[index].manager.is_some())
    }

    /// A broker applied a role change from the metadata log.
    pub(crate) fn data_role(&mut self, index: usize, change: &PartitionRole) {
        let active = self.data.as_ref().is_some_and(|d| d.brokers[index].active);
        if !active || !self.broker_up(index) {
            return;
        }
        let (now, wall) = (self.kernel.now(), self.kernel.wall_ms());
        self.kernel.record(format_args!(
            "broker {index} partition {} role {:?}",
            change.partition, change.role
        ));
        let image = self.brokers[index].follower.image();
        let data = self.data.as_mut().expect("broker_up checked");
        let broker = &mut data.brokers[index];
        let manager = broker.manager.as_mut().expect("broker_up checked");
        if let Err(error) = manager.apply_role(now, wall, &mut broker.disk, image, change) {
            self.kernel.record(format_args!(
                "broker {index} cannot open a replica: {error}"
            ));
        }
        self.note_unclean_leader(index, change);
        self.data_flush(index);
    }

    /// After a whole-cluster loss of unsynced writes, keeps the log of the first replica to
    /// lead each partition: only an unclean election can choose one.
    fn note_unclean_leader(&mut self, index: usize, change: &PartitionRole) {
        let Some(data) = self.data.as_mut() else {
            return;
        };
        let leads = matches!(change.role, sluice_core::controller::Role::Leader { .. });
        let known = data
            .unclean_recovery
            .as_ref()
            .is_none_or(|logs| logs.contains_key(&change.partition));
        if !leads || known {
            return;
        }
        let broker = &mut data.brokers[index];
        let Some(manager) = broker.manager.as_mut() else {
            return;
        };
        let key = (change.topic_id, change.partition);
        let Ok(records) = manager.records(&mut broker.disk, key, None) else {
            return;
        };
        let log = super::audit::workload_values(records).collect();
        if let Some(logs) = data.unclean_recovery.as_mut() {
            logs.insert(change.partition, log);
        }
        data.audit.forget_committed(change.partition);
        self.kernel.record(format_args!(
            "broker {index} leads partition {} after the unclean election",
            change.partition
        ));
    }

    /// Once a broker's metadata holds its current registration, it takes up every role that
    /// metadata gives it. Before that, what it replays is its previous incarnation's world: it
    /// may show this broker leading an epoch whose tail a crash took, until the controller
    /// (which moves a re-registering broker's leaderships away) has had its say.
    pub(crate) fn data_activate(&mut self, index: usize) {
        let inactive = self.data.as_ref().is_some_and(|d| !d.brokers[index].active);
        let Some(epoch) = self.brokers[index].epoch else {
            return;
        };
        if !inactive || !self.broker_up(index) || !self.brokers[index].follower.is_registered(epoch)
        {
            return;
        }
        self.data.as_mut().expect("inactive").brokers[index].active = true;
        self.kernel.record(format_args!(
            "broker {index} takes up its roles at epoch {epoch}"
        ));
        let follower = &self.brokers[index].follower;
        let me = follower.broker_id();
        let roles: Vec<PartitionRole> = follower
            .image()
            .partitions()
            .filter(|(_, _, state)| state.replicas.contains(&me))
            .map(|(topic_id, partition, _)| PartitionRole {
                topic_id,
                partition,
                role: follower.role(topic_id, partition),
            })
            .collect();
        for change in &roles {
            self.data_role(index, change);
        }
    }

    /// A broker process restarted: a new replica manager over the same disk.
    pub(crate) fn data_restart(&mut self, index: usize) {
        let Some(data) = self.data.as_mut() else {
            return;
        };
        let config = data.config.clone();
        // A controlled shutdown leaves the old manager in place until the restart.
        if let Some(manager) = data.brokers[index].manager.take() {
            data.retired.absorb(manager.stats());
        }
        let broker = &mut data.brokers[index];
        broker.manager = Some(ReplicaManager::new(index as i32, config));
        broker.incarnation += 1;
        broker.active = false;
        broker.alters.clear();
        broker.peer_requests.clear();
        broker.askers.clear();
        broker.producer_ids = fresh_producer_ids();
        broker.allocation = None;
    }

    /// Drains a broker's outputs onto the network and re-arms its timer.
    pub(crate) fn data_flush(&mut self, index: usize) {
        let from = self.brokers[index].net_id;
        let (target, epoch) = (self.brokers[index].target, self.brokers[index].epoch);
        let send_at = {
            let now = self.kernel.now();
            let data = self.data.as_mut().expect("data plane");
            let broker = &mut data.brokers[index];
            let busy = broker.disk.take_busy_time();
            broker.disk_free_at = broker.disk_free_at.max(now) + busy;
            broker.disk_free_at
        };
        loop {
            let data = self.data.as_mut().expect("data plane");
            let Some(manager) = data.brokers[index].manager.as_mut() else {
                return;
            };
            manager.set_broker_epoch(epoch.unwrap_or(-1));
            let Some(output) = manager.poll_output() else {
                break;
            };
            match output {
                ReplicaOutput::Request { to, id, request } => {
                    let wire = data.wire_id();
                    data.brokers[index].peer_requests.insert(wire, id);
                    let to = NodeId(BROKER_NET_BASE + to as u32);
                    let msg = Wire::Data { id: wire, request };
                    self.net.send(send_at, from, to, msg);
                }
                ReplicaOutput::Respond { client, response } => {
                    let Some((to, id)) = data.brokers[index].askers.remove(&client) else {
                        continue;
                    };
                    let now = self.kernel.now();
                    let lost = data.brokers[index]
                        .answers_lost_until
                        .is_some_and(|t| t > now);
                    if lost && matches!(response, api::Response::Produce(_)) {
                        // The batch is appended (and replicated, for acks=all); only the
                        // answer never arrives, so the producer must retry it.
                        self.kernel
                            .record(format_args!("broker {index} produce answer {id} lost"));
                        self.mark("produce-answer-lost");
                        continue;
                    }
                    let msg = Wire::DataResponse { id, response };
                    self.net.send(send_at, from, to, msg);
                }
                ReplicaOutput::AlterPartition { id, request } => {
                    let isr = &request.new_isr;
                    self.kernel
                        .record(format_args!("broker {index} asks for ISR {isr:?}"));
                    let wire = self.send_request(from, target, Request::AlterPartition(request));
                    let data = self.data.as_mut().expect("data plane");
                    data.brokers[index].alters.insert(wire, id);
                }
            }
        }
        self.flush_producer_ids(index, send_at);
        self.arm_data_timer(index);
        self.audit_broker(index);
    }

    /// Sends the broker's AllocateProducerIds and its InitProducerId answers.
    fn flush_producer_ids(&mut self, index: usize, send_at: Instant) {
        let from = self.brokers[index].net_id;
        let (target, epoch) = (self.brokers[index].target, self.brokers[index].epoch);
        let now = self.kernel.now();
        loop {
            let data = self.data.as_mut().expect("data plane");
            let broker = &mut data.brokers[index];
            let Some(output) = broker.producer_ids.poll_output() else {
                break;
            };
            match output {
                ProducerIdOutput::Allocate => {
                    let Some(broker_epoch) = epoch else {
                        broker.producer_ids.allocation_failed(now);
                        continue;
                    };
                    let request = Request::AllocateProducerIds {
                        broker_id: index as i32,
                        broker_epoch,
                    };
                    let wire = self.send_request(from, target, request);
                    let data = self.data.as_mut().expect("data plane");
                    data.brokers[index].allocation = Some((wire, now));
                }
                ProducerIdOutput::Answer { token, response } => {
                    let Some((to, id)) = broker.askers.remove(&token) else {
                        continue;
                    };
                    let response = api::Response::InitProducerId(response);
                    let msg = Wire::DataResponse { id, response };
                    self.net.send(send_at, from, to, msg);
                }
            }
        }
    }

    /// The controller answered a broker's AllocateProducerIds.
    pub(crate) fn producer_ids_answered(
        &mut self,
        index: usize,
        id: u64,
        result: Result<(i64, i64), ControllerError>,
    ) {
        if !self.broker_up(index) {
            return;
        }
        let now = self.kernel.now();
        let data = self.data.as_mut().expect("broker_up");
        let broker = &mut data.brokers[index];
        if broker.allocation.is_none_or(|(wire, _)| wire != id) {
            return;
        }
        broker.allocation = None;
        match result {
            Ok((first, count)) => broker.producer_ids.block_allocated(now, first, count),
            Err(_) => broker.producer_ids.allocation_failed(now),
        }
        self.data_flush(index);
    }

    fn arm_data_timer(&mut self, index: usize) {
        let now = self.kernel.now();
        let data = self.data.as_mut().expect("data plane");
        let broker = &mut data.brokers[index];
        if let Some(timer) = broker.timer.take() {
            self.kernel.cancel(timer);
        }
        if broker.manager.is_none() {
            return;
        }
        let allocation = broker.allocation.map(|(_, sent)| sent + PRODUCER_ID_WAIT);
        let Some(at) = broker
            .manager
            .as_ref()
            .and_then(ReplicaManager::poll_timeout)
            .into_iter()
            .chain(broker.producer_ids.poll_timeout())
            .chain(allocation)
            .min()
        else {
            return;
        };
        broker.timer = Some(
            self.kernel
                .schedule_at(at.max(now), Event::DataTimer(index)),
        );
    }

    /// A broker's replica manager has work due.
    pub(crate) fn data_timer(&mut self, index: usize) {
        let Some(data) = self.data.as_mut() else {
            return;
        };
        data.brokers[index].timer = None;
        if !self.broker_up(index) {
            // A stalled process: its timers fire when it wakes (the broker tick re-arms them).
            let retry = self.brokers[index].muted_until.unwrap_or(self.kernel.now());
            let data = self.data.as_mut().expect("data plane");
            if data.brokers[index].manager.is_some() {
                let at = retry.max(self.kernel.now());
                data.brokers[index].timer =
                    Some(self.kernel.schedule_at(at, Event::DataTimer(index)));
            }
            return;
        }
        let (now, wall) = (self.kernel.now(), self.kernel.wall_ms());
        let image = self.brokers[index].follower.image();
        let data = self.data.as_mut().expect("data plane");
        let broker = &mut data.brokers[index];
        let manager = broker.manager.as_mut().expect("broker_up");
        manager.handle_timeout(now, wall, &mut broker.disk, image);
        // A lost AllocateProducerIds is asked again.
        if broker
            .allocation
            .is_some_and(|(_, sent)| sent + PRODUCER_ID_WAIT <= now)
        {
            broker.allocation = None;
            broker.producer_ids.allocation_failed(now);
        }
        broker.producer_ids.handle_timeout(now);
        self.data_flush(index);
    }

    /// A data-plane request reached `to` (a broker).
    pub(crate) fn deliver_data_request(
        &mut self,
        from: NodeId,
        to: NodeId,
        id: u64,
        request: api::Request,
    ) {
        let Some(index) = broker_index(self, to) else {
            return;
        };
        if !self.broker_up(index) {
            return;
        }
        let (now, wall) = (self.kernel.now(), self.kernel.wall_ms());
        let image = self.brokers[index].follower.image();
        let data = self.data.as_mut().expect("broker_up");
        let broker = &mut data.brokers[index];
        let token = broker.next_token;
        broker.next_token += 1;
        broker.askers.insert(token, (from, id));
        if let api::Request::InitProducerId(request) = &request {
            broker.producer_ids.handle_request(now, token, request);
            return self.data_flush(index);
        }
        let manager = broker.manager.as_mut().expect("broker_up");
        manager.handle_request(now, wall, &mut broker.disk, image, token, request);
        self.data_flush(index);
    }

    /// A data-plane answer reached `to` (a broker or a client).
    pub(crate) fn deliver_data_response(&mut self, to: NodeId, id: u64, response: api::Response) {
        let Some(index) = broker_index(self, to) else {
            return self.client_response(to, id, response);
        };
        if !self.broker_up(index) {
            return;
        }
        let (now, wall) = (self.kernel.now(), self.kernel.wall_ms());
        let data = self.data.as_mut().expect("broker_up");
        let broker = &mut data.brokers[index];
        let Some(request_id) = broker.peer_requests.remove(&id) else {
            return;
        };
        let manager = broker.manager.as_mut().expect("broker_up");
        manager.handle_response(now, wall, &mut broker.disk, request_id, Ok(response));
        self.data_flush(index);
    }

    /// The controller answered a broker's AlterPartition.
    pub(crate) fn alter_partition_answered(
        &mut self,
        index: usize,
        id: u64,
        result: Result<PartitionReply, ControllerError>,
    ) {
        if !self.broker_up(index) {
            return;
        }
        let data = self.data.as_mut().expect("broker_up");
        let broker = &mut data.brokers[index];
        let Some(alter_id) = broker.alters.remove(&id) else {
            return;
        };
        let manager = broker.manager.as_mut().expect("broker_up");
        manager.handle_alter_partition(self.kernel.now(), alter_id, result);
        self.data_flush(index);
    }

    /// Stops a broker's data side for a crash: memory gone, disk crashed as `machine` says.
    pub(crate) fn data_crash(&mut self, index: usize, machine: bool) {
        let Some(data) = self.data.as_mut() else {
            return;
        };
        let broker = &mut data.brokers[index];
        if let Some(manager) = broker.manager.take() {
            data.retired.absorb(manager.stats());
        }
        let broker = &mut data.brokers[index];
        if let Some(timer) = broker.timer.take() {
            self.kernel.cancel(timer);
        }
        if machine {
            broker.disk.crash_machine(&mut self.rng);
            // In fsync mode nothing a replica reported is ever unsynced.
            if data.config.durability == sluice_core::replica::Durability::PageCache {
                self.brokers[index].lost_writes = true;
            }
        } else {
            broker.disk.crash_process();
        }
    }
}
