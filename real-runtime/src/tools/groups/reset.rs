//! `--reset-offsets`: kafka-consumer-groups' scenarios (`--to-earliest`, `--to-latest`,
//! `--to-offset`, `--shift-by`, `--to-datetime`) computed from ListOffsets and OffsetFetch,
//! printed (`--dry-run`, the default) or committed (`--execute`) by an admin OffsetCommit
//! (generation -1, no member), which the coordinator takes only while the group is empty.

use std::collections::BTreeMap;

use sluice_core::api::{
    self, ErrorCode, GroupRequest, GroupResponse, OffsetCommitPartition, TopicPartition,
    ADMIN_GENERATION, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP,
};

use super::admin::{self, GroupAdmin};
use super::topic_partitions;
use crate::cli::CliError;
use crate::tools::flags::Flags;

/// Where the offsets go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    Earliest,
    Latest,
    Offset(i64),
    ShiftBy(i64),
    /// Milliseconds since the epoch.
    Datetime(i64),
}

fn scenario(flags: &Flags) -> Result<Scenario, CliError> {
    let mut chosen = Vec::new();
    if flags.has("--to-earliest") {
        chosen.push(Scenario::Earliest);
    }
    if flags.has("--to-latest") {
        chosen.push(Scenario::Latest);
    }
    if flags.has("--to-offset") {
        chosen.push(Scenario::Offset(flags.number("--to-offset", 0)?));
    }
    if flags.has("--shift-by") {
        chosen.push(Scenario::ShiftBy(flags.number("--shift-by", 0)?));
    }
    if let Some(text) = flags.value("--to-datetime") {
        chosen.push(Scenario::Datetime(parse_datetime(text).ok_or_else(
            || {
                CliError::Usage(format!(
                    "--to-datetime: `{text}` is not YYYY-MM-DDTHH:mm:SS[.sss][Z|+hh:mm]"
                ))
            },
        )?));
    }
    match chosen.as_slice() {
        [one] => Ok(*one),
        _ => Err(CliError::Usage(
            "Option '[reset-offsets]' requires one of the following scenarios: \
             [to-earliest, to-latest, to-offset, shift-by, to-datetime]"
                .into(),
        )),
    }
}

/// Runs `--reset-offsets` for `group`.
pub async fn run(admin: &mut GroupAdmin, group: &str, flags: &Flags) -> Result<(), CliError> {
    let scenario = scenario(flags)?;
    if flags.has("--dry-run") && flags.has("--execute") {
        return Err(CliError::Usage(
            "--dry-run and --execute exclude each other".into(),
        ));
    }
    let topics = flags.all("--topic");
    if topics.is_empty() {
        return Err(CliError::Usage(
            "One of the reset scopes should be defined: --topic.".into(),
        ));
    }
    let (_, mut connection) = admin.coordinator(group).await?;
    let described = admin::describe(&mut connection, group).await?;
    if !matches!(described.state.as_str(), "Empty" | "Dead") {
        return Err(CliError::Failed(format!(
            "Error: Assignments can only be reset if the group '{group}' is inactive, but the \
             current state is {}.",
            described.state
        )));
    }
    let partitions = topic_partitions(admin, topics).await?;
    let offsets = new_offsets(admin, &mut connection, group, &partitions, scenario).await?;
    if flags.has("--execute") {
        commit(&mut connection, group, &offsets).await?;
    } else if !flags.has("--dry-run") {
        eprintln!(
            "WARN: No action will be performed as the --execute option is missing. In a \
             future major release, the default behavior of this command will be to prompt the \
             user before executing the reset rather than doing a dry run. You should add the \
             --dry-run option explicitly if you are scripting this command and want to keep \
             the current default behavior without prompting."
        );
    }
    out!();
    out!(
        "{:<30} {:<30} {:<10} {:<15}",
        "GROUP",
        "TOPIC",
        "PARTITION",
        "NEW-OFFSET"
    );
    for (partition, offset) in &offsets {
        out!(
            "{group:<30} {:<30} {:<10} {offset:<15}",
            partition.topic,
            partition.partition
        );
    }
    Ok(())
}

async fn new_offsets(
    admin: &mut GroupAdmin,
    connection: &mut crate::client::Connection<tokio::net::TcpStream>,
    group: &str,
    partitions: &[TopicPartition],
    scenario: Scenario,
) -> Result<BTreeMap<TopicPartition, i64>, CliError> {
    let starts = admin.list_offsets(partitions, EARLIEST_TIMESTAMP).await?;
    let ends = admin.list_offsets(partitions, LATEST_TIMESTAMP).await?;
    let bound = |partition: &TopicPartition, map: &BTreeMap<TopicPartition, i64>, what: &str| {
        map.get(partition).copied().ok_or_else(|| {
            CliError::Failed(format!(
                "Error getting {what} offset of topic partition: {}-{}",
                partition.topic, partition.partition
            ))
        })
    };
    let committed: BTreeMap<TopicPartition, i64> = match scenario {
        Scenario::ShiftBy(_) => admin::committed(connection, group)
            .await?
            .into_iter()
            .map(|offset| (offset.partition, offset.offset))
            .collect(),
        _ => BTreeMap::new(),
    };
    let by_time = match scenario {
        Scenario::Datetime(timestamp) => admin.list_offsets(partitions, timestamp).await?,
        _ => BTreeMap::new(),
    };
    let mut offsets = BTreeMap::new();
    for partition in partitions {
        let start = bound(partition, &starts, "starting")?;
        let end = bound(partition, &ends, "ending")?;
        // Kafka clamps a requested offset into the log's range (checkOffsetsRange).
        let clamp = |offset: i64| offset.clamp(start, end.max(start));
        let offset = match scenario {
            Scenario::Earliest => start,
            Scenario::Latest => end,
            Scenario::Offset(offset) => clamp(offset),
            Scenario::ShiftBy(shift) => match committed.get(partition) {
                Some(current) => clamp(current.saturating_add(shift)),
                None => {
                    return Err(CliError::Failed(format!(
                        "Error: Cannot shift offset for partition {}-{} since there is no \
                         current committed offset",
                        partition.topic, partition.partition
                    )))
                }
            },
            Scenario::Datetime(_) => match by_time.get(partition) {
                Some(&offset) if offset >= 0 => offset,
                _ => {
                    out!(
                        "\nWarn: Partition {} from topic {} is empty. Falling back to latest \
                         known offset.",
                        partition.partition,
                        partition.topic
                    );
                    end
                }
            },
        };
        offsets.insert(partition.clone(), offset);
    }
    Ok(offsets)
}

/// The admin OffsetCommit: generation -1 and no member id, as Kafka's AdminClient sends it.
async fn commit(
    connection: &mut crate::client::Connection<tokio::net::TcpStream>,
    group: &str,
    offsets: &BTreeMap<TopicPartition, i64>,
) -> Result<(), CliError> {
    let request = GroupRequest::OffsetCommit(api::OffsetCommitRequest {
        group_id: group.to_string(),
        generation_id: ADMIN_GENERATION,
        member_id: String::new(),
        group_instance_id: None,
        partitions: offsets
            .iter()
            .map(|(partition, offset)| OffsetCommitPartition {
                partition: partition.clone(),
                offset: *offset,
                leader_epoch: -1,
                metadata: None,
            })
            .collect(),
    });
    let GroupResponse::OffsetCommit(answer) = admin::group_call(connection, request).await? else {
        unreachable!("group_call checks the answer's kind");
    };
    for (partition, error) in answer.partitions {
        if error != ErrorCode::None {
            return Err(CliError::Failed(format!(
                "Error: cannot commit the offset of {}-{} for group '{group}': {error}",
                partition.topic, partition.partition
            )));
        }
    }
    Ok(())
}

/// Milliseconds since the epoch of `YYYY-MM-DDTHH:mm:SS[.sss]` with an optional `Z`, `±hh:mm`
/// or `±hhmm` zone, the form kafka-consumer-groups takes. Without a zone the time is taken as
/// UTC (Kafka takes the JVM's local zone; this tool has no time-zone database).
pub fn parse_datetime(text: &str) -> Option<i64> {
    let (date, time) = text.split_once('T')?;
    let mut date_parts = date.split('-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: u32 = date_parts.next()?.parse().ok()?;
    let day: u32 = date_parts.next()?.parse().ok()?;
    if date_parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (clock, offset_minutes) = split_zone(time)?;
    let (hms, millis) = match clock.split_once('.') {
        Some((hms, fraction)) if !fraction.is_empty() && fraction.len() <= 3 => {
            let digits: i64 = fraction.parse().ok()?;
            (hms, digits * 10_i64.pow(3 - fraction.len() as u32))
        }
        Some(_) => return None,
        None => (clock, 0),
    };
    let mut fields = hms.split(':');
    let hour: i64 = fields.next()?.parse().ok()?;
    let minute: i64 = fields.next()?.parse().ok()?;
    let second: i64 = fields.next().map_or(Some(0), |s| s.parse().ok())?;
    if fields.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1_000 + millis)
}

/// The clock part and the zone's offset east of UTC in minutes.
fn split_zone(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix('Z') {
        return Some((clock, 0));
    }
    let Some(at) = time.rfind(['+', '-']) else {
        return Some((time, 0));
    };
    let (clock, zone) = time.split_at(at);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = digits[2..].parse().ok()?;
    Some((clock, sign * (hours * 60 + minutes)))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_datetime;

    #[test]
    fn kafka_datetimes() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00.000"), Some(0));
        assert_eq!(
            parse_datetime("2024-03-01T12:30:15.250Z"),
            Some(1_709_296_215_250)
        );
        assert_eq!(
            parse_datetime("2024-03-01T14:30:15.250+02:00"),
            Some(1_709_296_215_250)
        );
        assert_eq!(
            parse_datetime("2024-03-01T10:30:15.25-0200"),
            Some(1_709_296_215_250)
        );
        assert_eq!(parse_datetime("2000-02-29T00:00:00"), Some(951_782_400_000));
        for bad in [
            "2024-03-01",
            "2024-13-01T00:00:00",
            "2024-03-01T25:00:00",
            "x",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }
}
