//! InitProducerId (key 22): an idempotent producer's first request (KIP-98).

use super::ErrorCode;

/// An InitProducerId request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitProducerIdRequest {
    /// The transactional id; `None` for an idempotent producer without transactions.
    pub transactional_id: Option<String>,
    /// The transaction timeout (ignored without a transactional id).
    pub transaction_timeout_ms: i32,
    /// The producer id the client holds (v3+, KIP-360), or -1.
    pub producer_id: i64,
    /// The epoch the client holds (v3+, KIP-360), or -1.
    pub producer_epoch: i16,
}

/// An InitProducerId response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitProducerIdResponse {
    /// NONE, or why no id was handed out.
    pub error: ErrorCode,
    /// The producer id, or -1.
    pub producer_id: i64,
    /// The producer epoch, or -1.
    pub producer_epoch: i16,
}

impl InitProducerIdRequest {
    /// The request an idempotent producer without a transactional id sends.
    pub fn idempotent() -> InitProducerIdRequest {
        InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: i32::MAX,
            producer_id: -1,
            producer_epoch: -1,
        }
    }
}

impl InitProducerIdResponse {
    /// An answer carrying only an error.
    pub fn error(error: ErrorCode) -> InitProducerIdResponse {
        InitProducerIdResponse {
            error,
            producer_id: -1,
            producer_epoch: -1,
        }
    }

    /// A fresh producer id at epoch 0: what Kafka's transaction coordinator always answers an
    /// InitProducerId without a transactional id (`TransactionCoordinator.handleInitProducerId`
    /// "blindly" hands out a new id; KIP-360's epoch bump applies to transactional ids, and an
    /// idempotent producer bumps its epoch on its own).
    pub fn fresh(producer_id: i64) -> InitProducerIdResponse {
        InitProducerIdResponse {
            error: ErrorCode::None,
            producer_id,
            producer_epoch: 0,
        }
    }
}
