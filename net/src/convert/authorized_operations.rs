//! Authorized-operation fields (Metadata, DescribeCluster, DescribeGroups): with no
//! authorizer Kafka reports every operation a resource supports, as a bit field of its ACL
//! operation codes, and so does Sluice.

/// Kafka's "not asked for" in an authorized-operations field (`Integer.MIN_VALUE`).
pub(crate) const OMITTED: i32 = i32::MIN;

/// Kafka's ACL operation codes (`AclOperation`), as bit positions in authorized-operation
/// fields.
mod operation {
    pub(super) const READ: u8 = 3;
    pub(super) const WRITE: u8 = 4;
    pub(super) const CREATE: u8 = 5;
    pub(super) const DELETE: u8 = 6;
    pub(super) const ALTER: u8 = 7;
    pub(super) const DESCRIBE: u8 = 8;
    pub(super) const CLUSTER_ACTION: u8 = 9;
    pub(super) const DESCRIBE_CONFIGS: u8 = 10;
    pub(super) const ALTER_CONFIGS: u8 = 11;
    pub(super) const IDEMPOTENT_WRITE: u8 = 12;
}

/// The operations a topic supports (Kafka's `AclEntry.supportedOperations(TOPIC)`).
pub(super) const TOPIC_OPERATIONS: i32 = bits(&[
    operation::READ,
    operation::WRITE,
    operation::CREATE,
    operation::DELETE,
    operation::ALTER,
    operation::DESCRIBE,
    operation::DESCRIBE_CONFIGS,
    operation::ALTER_CONFIGS,
]);

/// The operations the cluster supports (Kafka's `AclEntry.supportedOperations(CLUSTER)`).
pub(super) const CLUSTER_OPERATIONS: i32 = bits(&[
    operation::CREATE,
    operation::ALTER,
    operation::DESCRIBE,
    operation::CLUSTER_ACTION,
    operation::DESCRIBE_CONFIGS,
    operation::ALTER_CONFIGS,
    operation::IDEMPOTENT_WRITE,
]);

/// The operations a consumer group supports (Kafka's `AclEntry.supportedOperations(GROUP)`
/// before KIP-848 gave groups configs).
pub(super) const GROUP_OPERATIONS: i32 =
    bits(&[operation::READ, operation::DELETE, operation::DESCRIBE]);

const fn bits(operations: &[u8]) -> i32 {
    let mut field = 0;
    let mut index = 0;
    while index < operations.len() {
        field |= 1 << operations[index];
        index += 1;
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorized_operation_bits_are_kafkas() {
        // READ..ALTER_CONFIGS but CLUSTER_ACTION, as Kafka reports for a topic with no
        // authorizer: 0b1101_1111_1000.
        assert_eq!(TOPIC_OPERATIONS, 0x0df8);
        assert_eq!(CLUSTER_OPERATIONS, 0x1fa0);
        assert_eq!(GROUP_OPERATIONS, 0x0148);
    }
}
