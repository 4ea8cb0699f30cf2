//! AlterConfigs and IncrementalAlterConfigs of topics on the active controller: the new set
//! of a topic's configs is worked out and checked whole, then stored as ConfigRecords (one
//! per changed name; a removed name gets a null value).

use std::collections::BTreeMap;

use super::admin_topics::{checked_value, duplicated, refusal, Refusal};
use super::controller::QuorumController;
use super::record::{MetadataRecord, CONFIG_RESOURCE_TOPIC};
use crate::api::{
    resource_type, AlterConfigOp, AlterConfigsRequest, AlterConfigsResource, AlterConfigsResult,
    ConfigType, ErrorCode,
};
use crate::topic_config;

impl QuorumController {
    pub(super) fn admin_alter_configs(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        request: &AlterConfigsRequest,
    ) -> Vec<AlterConfigsResult> {
        let mut results = Vec::with_capacity(request.resources.len());
        for resource in &request.resources {
            let result = match request.validate_only {
                true => self.dry_run(|c, out| c.alter_one(out, request.incremental, resource)),
                false => self.alter_one(out, request.incremental, resource),
            };
            let (error, message) = match result {
                Ok(()) => (ErrorCode::None, None),
                Err((error, message)) => (error, Some(message)),
            };
            results.push(AlterConfigsResult {
                resource: resource.resource.clone(),
                error,
                message,
            });
        }
        results
    }

    fn alter_one(
        &mut self,
        out: &mut Vec<MetadataRecord>,
        incremental: bool,
        resource: &AlterConfigsResource,
    ) -> Result<(), Refusal> {
        self.check_room().map_err(refusal)?;
        let name = &resource.resource.name;
        if resource.resource.resource_type != resource_type::TOPIC {
            let message = format!(
                "Sluice keeps configs of topics only, not of resource type {}.",
                resource.resource.resource_type
            );
            return Err((ErrorCode::InvalidRequest, message));
        }
        let Some(topic) = self.working.topic_by_name(name) else {
            let message = format!("Topic {name} does not exist.");
            return Err((ErrorCode::UnknownTopicOrPartition, message));
        };
        let names = resource.ops.iter().map(|(name, _, _)| name.as_str());
        if let Some(twice) = duplicated(names).first() {
            let message = format!("Error due to duplicate config keys: {twice}");
            return Err((ErrorCode::InvalidRequest, message));
        }
        let topic_id = topic.topic_id;
        let old = topic.configs.clone();
        let new = match incremental {
            true => incremental_set(&old, &resource.ops)?,
            false => whole_set(&resource.ops)?,
        };
        topic_config::validate_set(&new).map_err(|m| (ErrorCode::InvalidConfig, m))?;
        let removed = old
            .keys()
            .filter(|k| !new.contains_key(*k))
            .map(|k| (k, None));
        let changed = new
            .iter()
            .filter(|(k, v)| old.get(*k) != Some(*v))
            .map(|(k, v)| (k, Some(v.clone())));
        let changes: Vec<(String, Option<String>)> = removed
            .chain(changed)
            .map(|(k, v)| (k.clone(), v))
            .collect();
        for (key, value) in changes {
            let record = MetadataRecord::Config {
                resource_type: CONFIG_RESOURCE_TOPIC,
                resource_name: name.clone(),
                name: key,
                value,
            };
            self.propose(out, record);
        }
        // As Kafka's controller does when unclean.leader.election.enable is turned on for a
        // topic: its leaderless partitions get a leader now, from outside the ISR if need be.
        let enabled = |configs| topic_config::unclean_leader_election(configs) == Some(true);
        if enabled(&new) && !enabled(&old) {
            let budget = self.config.partition_changes_per_tick_max;
            self.elect_leaderless_in(out, budget, Some(topic_id));
        }
        Ok(())
    }
}

/// AlterConfigs: the given configs become the topic's whole set (a null value sets nothing).
fn whole_set(
    ops: &[(String, AlterConfigOp, Option<String>)],
) -> Result<BTreeMap<String, String>, Refusal> {
    let mut new = BTreeMap::new();
    for (name, _, value) in ops {
        if let Some(value) = value {
            new.insert(name.clone(), checked_value(name, value)?);
        }
    }
    Ok(new)
}

/// IncrementalAlterConfigs: each operation applied to the topic's current set.
fn incremental_set(
    old: &BTreeMap<String, String>,
    ops: &[(String, AlterConfigOp, Option<String>)],
) -> Result<BTreeMap<String, String>, Refusal> {
    let mut new = old.clone();
    for (name, op, value) in ops {
        let Some(def) = topic_config::definition(name) else {
            let message = format!("Unknown topic config name: {name}");
            return Err((ErrorCode::InvalidConfig, message));
        };
        let is_list = def.config_type == ConfigType::List;
        match op {
            AlterConfigOp::Delete => {
                new.remove(name);
                continue;
            }
            AlterConfigOp::Append | AlterConfigOp::Subtract if !is_list => {
                let message =
                    format!("Config value append/subtract is not allowed for config key: {name}");
                return Err((ErrorCode::InvalidConfig, message));
            }
            _ => {}
        }
        let Some(value) = value else {
            let message = format!("Null value not supported for : {name}");
            return Err((ErrorCode::InvalidConfig, message));
        };
        let value = match op {
            AlterConfigOp::Set => value.clone(),
            AlterConfigOp::Append | AlterConfigOp::Subtract => {
                let current = new.get(name).map_or(def.default, String::as_str);
                let mut items: Vec<&str> = topic_config::list_items(current);
                for item in topic_config::list_items(value) {
                    match op {
                        AlterConfigOp::Append if !items.contains(&item) => items.push(item),
                        AlterConfigOp::Subtract => items.retain(|i| *i != item),
                        _ => {}
                    }
                }
                items.join(",")
            }
            AlterConfigOp::Delete => unreachable!("handled above"),
        };
        new.insert(name.clone(), checked_value(name, &value)?);
    }
    Ok(new)
}
