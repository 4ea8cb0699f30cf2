//! The APIs Sluice advertises in ApiVersions, with their exact version ranges.
//!
//! [`SUPPORTED_APIS`] is the one table: ApiVersions answers are built from it and requests
//! outside it are refused. A later issue that serves a new API adds a row here and a variant to
//! the request and response enums; the tests then check that every advertised version decodes
//! and encodes.
//!
//! The ranges are the "Implement (v1)" column of KAFKA-APIS.md, the profile "Kafka 3.x without
//! topic IDs": nothing that needs topic IDs (Fetch 13+, Produce 13, Metadata 13) and every
//! non-flexible version still in use (kafkajs and aiokafka never send flexible requests).
//! The consumer-group APIs are the classic protocol's (no KIP-848 ConsumerGroupHeartbeat):
//! OffsetCommit stops at 8 because 9 belongs to KIP-848, OffsetFetch at 8 (9 adds member
//! epochs), JoinGroup at 7 (8 adds a reason, 9 skip_assignment), ListGroups at 4 (5 filters by
//! group type) and DescribeGroups at 5 (6 adds per-group error messages).

use kafka_protocol::messages::ApiKey;

/// One advertised API: its key and the inclusive range of versions Sluice serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRange {
    /// The API.
    pub api_key: ApiKey,
    /// The oldest version served.
    pub min_version: i16,
    /// The newest version served.
    pub max_version: i16,
}

impl ApiRange {
    /// Whether `version` is in the range.
    pub fn contains(&self, version: i16) -> bool {
        (self.min_version..=self.max_version).contains(&version)
    }
}

const fn api(api_key: ApiKey, min_version: i16, max_version: i16) -> ApiRange {
    ApiRange {
        api_key,
        min_version,
        max_version,
    }
}

/// Every API Sluice serves, sorted by key.
pub const SUPPORTED_APIS: &[ApiRange] = &[
    api(ApiKey::Produce, 3, 11),
    api(ApiKey::Fetch, 4, 12),
    api(ApiKey::ListOffsets, 1, 7),
    api(ApiKey::Metadata, 0, 12),
    api(ApiKey::OffsetCommit, 2, 8),
    api(ApiKey::OffsetFetch, 1, 8),
    api(ApiKey::FindCoordinator, 0, 4),
    api(ApiKey::JoinGroup, 0, 7),
    api(ApiKey::Heartbeat, 0, 4),
    api(ApiKey::LeaveGroup, 0, 5),
    api(ApiKey::SyncGroup, 0, 5),
    api(ApiKey::DescribeGroups, 0, 5),
    api(ApiKey::ListGroups, 0, 4),
    api(ApiKey::ApiVersions, 0, 4),
    api(ApiKey::CreateTopics, 2, 7),
    api(ApiKey::DeleteTopics, 1, 6),
    api(ApiKey::DeleteRecords, 0, 2),
    api(ApiKey::InitProducerId, 0, 4),
    api(ApiKey::OffsetForLeaderEpoch, 2, 4),
    api(ApiKey::DescribeConfigs, 1, 4),
    api(ApiKey::AlterConfigs, 0, 2),
    api(ApiKey::CreatePartitions, 0, 3),
    api(ApiKey::DeleteGroups, 0, 2),
    api(ApiKey::IncrementalAlterConfigs, 0, 1),
    api(ApiKey::OffsetDelete, 0, 0),
    api(ApiKey::DescribeCluster, 0, 1),
];

// The table is sorted by key with no duplicates, and every range is non-empty.
const _: () = {
    let mut index = 0;
    while index < SUPPORTED_APIS.len() {
        let row = SUPPORTED_APIS[index];
        assert!(row.min_version >= 0);
        assert!(row.min_version <= row.max_version);
        if index > 0 {
            assert!((SUPPORTED_APIS[index - 1].api_key as i16) < (row.api_key as i16));
        }
        index += 1;
    }
};

/// The advertised range of the API with key `api_key`, if Sluice serves it.
pub fn supported_range(api_key: i16) -> Option<ApiRange> {
    SUPPORTED_APIS
        .iter()
        .find(|row| row.api_key as i16 == api_key)
        .copied()
}

/// Whether Sluice serves `api_key` at `api_version`.
pub fn is_supported(api_key: i16, api_version: i16) -> bool {
    supported_range(api_key).is_some_and(|range| range.contains(api_version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_the_implement_v1_column() {
        let table: Vec<(i16, i16, i16)> = SUPPORTED_APIS
            .iter()
            .map(|row| (row.api_key as i16, row.min_version, row.max_version))
            .collect();
        assert_eq!(
            table,
            vec![
                (0, 3, 11),
                (1, 4, 12),
                (2, 1, 7),
                (3, 0, 12),
                (8, 2, 8),
                (9, 1, 8),
                (10, 0, 4),
                (11, 0, 7),
                (12, 0, 4),
                (13, 0, 5),
                (14, 0, 5),
                (15, 0, 5),
                (16, 0, 4),
                (18, 0, 4),
                (19, 2, 7),
                (20, 1, 6),
                (21, 0, 2),
                (22, 0, 4),
                (23, 2, 4),
                (32, 1, 4),
                (33, 0, 2),
                (37, 0, 3),
                (42, 0, 2),
                (44, 0, 1),
                (47, 0, 0),
                (60, 0, 1),
            ]
        );
    }

    #[test]
    fn every_range_is_inside_what_kafka_protocol_can_code() {
        for row in SUPPORTED_APIS {
            let codec = row.api_key.valid_versions();
            assert!(codec.min <= row.min_version, "{row:?} vs {codec}");
            assert!(row.max_version <= codec.max, "{row:?} vs {codec}");
        }
    }

    #[test]
    fn kip_848_and_the_newest_group_versions_are_not_advertised() {
        // ConsumerGroupHeartbeat and ConsumerGroupDescribe (KIP-848).
        for key in [68, 69] {
            assert_eq!(supported_range(key), None, "key {key}");
        }
        assert!(!is_supported(8, 9));
        assert!(!is_supported(9, 9));
        assert!(!is_supported(11, 8));
        assert!(!is_supported(16, 5));
    }

    #[test]
    fn lookups() {
        assert!(is_supported(18, 0));
        assert!(is_supported(18, 4));
        assert!(!is_supported(18, 5));
        assert!(!is_supported(18, -1));
        assert!(!is_supported(1, 13));
        assert!(!is_supported(0, 2));
        assert!(!is_supported(9999, 0));
    }
}
