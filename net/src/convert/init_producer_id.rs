//! InitProducerId (key 22), v0–4 (KIP-98; KIP-360 adds the held id and epoch in v3).
//!
//! Request, per version: `transactional_id` (nullable) and `transaction_timeout_ms` in every
//! version; v2+ flexible; v3+ `producer_id` and `producer_epoch` (-1 when the producer holds
//! none), which older versions lack and core reads as -1.
//!
//! Response: `throttle_time_ms` (0), `error_code`, `producer_id`, `producer_epoch` in every
//! version.

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use sluice_core::api;

/// The core request.
pub(super) fn request(body: &InitProducerIdRequest, version: i16) -> api::InitProducerIdRequest {
    let held = version >= 3;
    api::InitProducerIdRequest {
        transactional_id: body.transactional_id.as_ref().map(|id| id.0.to_string()),
        transaction_timeout_ms: body.transaction_timeout_ms,
        producer_id: if held { body.producer_id.0 } else { -1 },
        producer_epoch: if held { body.producer_epoch } else { -1 },
    }
}

/// The answer; every version carries the same fields.
pub(super) fn response(response: api::InitProducerIdResponse) -> InitProducerIdResponse {
    InitProducerIdResponse::default()
        .with_throttle_time_ms(0)
        .with_error_code(response.error.code())
        .with_producer_id(ProducerId(response.producer_id))
        .with_producer_epoch(response.producer_epoch)
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::{ApiKey, TransactionalId};
    use sluice_core::api::ErrorCode;

    use super::*;
    use crate::convert::test_support::{decode_response, text, through_wire};
    use crate::convert::{from_core, ClusterInfo, ResponseContext};
    use crate::request::RequestBody;

    fn body(version: i16, transactional: bool) -> InitProducerIdRequest {
        let id = transactional.then(|| TransactionalId(text("txn")));
        let request = InitProducerIdRequest::default()
            .with_transactional_id(id)
            .with_transaction_timeout_ms(60_000);
        if version >= 3 {
            request
                .with_producer_id(ProducerId(4000))
                .with_producer_epoch(2)
        } else {
            request
        }
    }

    #[test]
    fn every_version_converts() {
        for version in 0..=4 {
            for transactional in [false, true] {
                let request = RequestBody::InitProducerId(body(version, transactional));
                let converted = through_wire(request, version).unwrap();
                let api::Request::InitProducerId(request) = converted.request else {
                    panic!("{:?}", converted.request);
                };
                let held = if version >= 3 { (4000, 2) } else { (-1, -1) };
                let expected = api::InitProducerIdRequest {
                    transactional_id: transactional.then(|| "txn".to_string()),
                    transaction_timeout_ms: 60_000,
                    producer_id: held.0,
                    producer_epoch: held.1,
                };
                assert_eq!(request, expected, "v{version}");
            }
        }
    }

    #[test]
    fn every_version_answers() {
        for version in 0..=4 {
            let context = ResponseContext::new(ApiKey::InitProducerId, version);
            for answer in [
                api::InitProducerIdResponse::fresh(7_001),
                api::InitProducerIdResponse::error(ErrorCode::CoordinatorLoadInProgress),
            ] {
                let core = api::Response::InitProducerId(answer.clone());
                let body = from_core(core, &context, &ClusterInfo::default()).unwrap();
                let decoded: InitProducerIdResponse = decode_response(&body, version);
                assert_eq!(decoded.error_code, answer.error.code(), "v{version}");
                assert_eq!(decoded.producer_id.0, answer.producer_id);
                assert_eq!(decoded.producer_epoch, answer.producer_epoch);
                assert_eq!(decoded.throttle_time_ms, 0);
            }
        }
    }
}
