//! The node's side of the group coordinator: group requests in, the coordinator's appends
//! through the replica manager's ordinary produce path (acks=all), its answers out, and the
//! offsets partitions it serves kept in step with the leaderships this broker holds.

use bytes::Bytes;

use super::channel::Purpose;
use super::message::{ControllerRequest, NodeOutput};
use super::node::{Node, Step};
use super::serve::Asker;
use super::sync::SyncToken;
use crate::api::{
    AdminRequest, CreatableTopic, CreateTopicsRequest, ErrorCode, GroupRequest, ProduceRequest,
    Request, Response, TopicPartition,
};
use crate::group::{GroupOutput, OFFSETS_TOPIC};

impl Node {
    pub(super) fn serve_group(&mut self, step: &mut Step<'_>, client: u64, request: GroupRequest) {
        let live = self.live_brokers().count();
        let image = self.follower.image();
        self.groups.handle_request(
            step.now,
            step.wall_ms,
            step.rng,
            image,
            live,
            client,
            request,
        );
    }

    /// Loads the offsets partitions this broker has come to lead (in a new leader epoch),
    /// drops those it no longer leads, and tells the coordinator how far each led one's high
    /// watermark has come.
    pub(super) fn follow_offsets_partitions(&mut self, step: &mut Step<'_>) {
        let image = self.follower.image();
        let topic = image
            .topic_by_name(OFFSETS_TOPIC)
            .map(|t| (t.topic_id, t.partitions.len()));
        let mut led = Vec::new();
        if let Some((topic_id, count)) = topic {
            for index in 0..i32::try_from(count).unwrap_or(i32::MAX) {
                let Some(partition) = self.manager.partition((topic_id, index)) else {
                    continue;
                };
                if partition.leader().is_some() && partition.offline.is_none() {
                    let hw = partition.high_watermark;
                    let leo = partition.log_end_offset();
                    led.push((topic_id, index, partition.leader_epoch(), hw, leo));
                }
            }
        }
        let held: Vec<(i32, i32)> = self.groups.led().collect();
        for (index, epoch) in &held {
            let still = led.iter().any(|(_, i, e, _, _)| i == index && e == epoch);
            if !still {
                let (now, wall_ms) = (step.now, step.wall_ms);
                self.groups.resign(now, wall_ms, step.rng, *index);
            }
        }
        for (topic_id, index, epoch, hw, leo) in led {
            if held.contains(&(index, epoch)) {
                self.groups.high_watermark(index, hw);
                continue;
            }
            let records =
                match self
                    .manager
                    .read_records(step.disk, (topic_id, index), 0, Some(leo))
                {
                    Ok(records) => records,
                    // The replica's log failed: it goes offline, and the next pass resigns.
                    Err(_) => continue,
                };
            let (now, wall_ms) = (step.now, step.wall_ms);
            self.groups
                .lead(now, wall_ms, step.rng, index, epoch, records, leo, hw);
        }
    }

    /// Routes the coordinator's outputs and hands it the outcomes of its appends; whether
    /// there was anything to do.
    pub(super) fn drain_groups(&mut self, step: &mut Step<'_>) -> bool {
        let mut busy = false;
        loop {
            if let Some((id, result, after)) = self.group_appends_done.pop_front() {
                let (now, wall_ms) = (step.now, step.wall_ms);
                self.groups
                    .append_done(now, wall_ms, step.rng, id, result, after);
                busy = true;
                continue;
            }
            let Some(output) = self.groups.poll_output() else {
                return busy;
            };
            busy = true;
            match output {
                GroupOutput::Answer {
                    token,
                    response,
                    after,
                } => {
                    let after = after.map(SyncToken);
                    self.outputs.push_back(NodeOutput::Respond {
                        client: token,
                        response: Response::Group(response),
                        after,
                    });
                }
                GroupOutput::Append {
                    id,
                    partition,
                    batch,
                    acks,
                    timeout_ms,
                } => {
                    let tp = TopicPartition {
                        topic: OFFSETS_TOPIC.to_string(),
                        partition,
                    };
                    let request = Request::Produce(ProduceRequest {
                        acks,
                        timeout_ms,
                        partitions: vec![(tp, Bytes::from(batch))],
                    });
                    self.serve_data(step, Asker::Group(id), request);
                }
                GroupOutput::CreateOffsetsTopic {
                    partitions,
                    replication_factor,
                    configs,
                } => {
                    if self.channel.is_waiting_for(&Purpose::CreateOffsetsTopic) {
                        continue;
                    }
                    let topic = CreatableTopic {
                        name: OFFSETS_TOPIC.to_string(),
                        num_partitions: partitions,
                        replication_factor,
                        assignments: Vec::new(),
                        configs: configs.into_iter().map(|(k, v)| (k, Some(v))).collect(),
                    };
                    let request = AdminRequest::CreateTopics(CreateTopicsRequest {
                        topics: vec![topic],
                        validate_only: false,
                    });
                    let request = ControllerRequest::Admin(request);
                    self.ask_controller(step, Purpose::CreateOffsetsTopic, request);
                }
            }
        }
    }

    /// The replica manager's answer to the coordinator's append `id`.
    pub(super) fn group_appended(&mut self, id: u64, response: Response, after: Option<SyncToken>) {
        let error = match &response {
            Response::Produce(produce) => produce
                .partitions
                .first()
                .map_or(ErrorCode::UnknownServerError, |p| p.error),
            _ => ErrorCode::UnknownServerError,
        };
        let result = match error {
            ErrorCode::None => Ok(()),
            error => Err(error),
        };
        // The coordinator's answers wait for the replica manager's sync `after`, as the
        // produce's own answer would have.
        self.group_appends_done
            .push_back((id, result, after.map(|token| token.0)));
    }
}
