//! A simulated client's side of its Kafka connections, through the same `sluice-net`
//! functions the `sluice` tools call: core's request built as kafka-protocol's body at the
//! version this client negotiated, framed, and the answer read back into core's response.
//! Each client draws its versions within the ranges the brokers advertise, as real clients
//! of different ages negotiate different ones.

use std::collections::BTreeMap;

use bytes::Bytes;
use sluice_core::api::{Disconnected, Request, Response};
use sluice_core::rng::Rng;
use sluice_net::client::{decode_response, encode_request, response_correlation_id};
use sluice_net::convert::outbound::{api_key_of, request_to_kafka, response_to_core};
use sluice_net::frame::{parse_frame, FrameStatus};
use sluice_net::kafka_protocol::messages::ApiKey;
use sluice_net::response::api_versions_body_for;
use sluice_net::serving::serves;
use sluice_sim::NodeId;

/// A request waiting for its answer.
struct InFlight {
    id: u64,
    api_key: ApiKey,
    version: i16,
}

/// One client's connections to the brokers.
pub struct Connections {
    client_id: String,
    /// API key → the version this client speaks.
    versions: BTreeMap<i16, i16>,
    next_correlation: i32,
    in_flight: BTreeMap<(NodeId, i32), InFlight>,
}

impl Connections {
    /// A client that speaks, for each API, one version drawn within what the brokers
    /// advertise in ApiVersions.
    pub fn draw(rng: &mut impl Rng, client_id: String) -> Connections {
        let versions = api_versions_body_for(serves)
            .api_keys
            .iter()
            .map(|range| {
                let (low, high) = (range.min_version, range.max_version);
                let version = rng.range_inclusive(low as u64, high as u64) as i16;
                (range.api_key, version)
            })
            .collect();
        Connections {
            client_id,
            versions,
            next_correlation: 0,
            in_flight: BTreeMap::new(),
        }
    }

    /// Whether this client names leader epochs where KIP-320 lets it (Fetch v9+ with the
    /// epochs of Metadata v7+): only then may a broker refuse it as stale, so only then does
    /// Kafka promise it a high watermark that never goes back. An older client can be answered
    /// by a deposed leader that does not know it yet, with that leader's older watermark.
    pub fn fences_leader_epochs(&self) -> bool {
        let version = |key: ApiKey| self.versions.get(&(key as i16)).copied().unwrap_or(-1);
        version(ApiKey::Fetch) >= 9 && version(ApiKey::Metadata) >= 7
    }

    /// Whether this client's ListOffsets name leader epochs (v4+, with the epochs of Metadata
    /// v7+), so that a deposed leader refuses them: only then is the offset a
    /// ListOffsets(latest) answer gives held to never going back.
    pub fn lists_with_leader_epochs(&self) -> bool {
        let version = |key: ApiKey| self.versions.get(&(key as i16)).copied().unwrap_or(-1);
        version(ApiKey::ListOffsets) >= 4 && version(ApiKey::Metadata) >= 7
    }

    /// The versions this client speaks, for the trace: `key=version` pairs.
    pub fn describe(&self) -> String {
        let pairs: Vec<String> = self
            .versions
            .iter()
            .map(|(key, version)| format!("{key}:{version}"))
            .collect();
        pairs.join(",")
    }

    /// `request` (the client's id `id`) as a frame to `broker`.
    pub fn encode(&mut self, broker: NodeId, id: u64, request: Request) -> Result<Vec<u8>, String> {
        let api_key = api_key_of(&request);
        let version = *self
            .versions
            .get(&(api_key as i16))
            .ok_or_else(|| format!("no version of {api_key:?}"))?;
        let answered = !matches!(&request, Request::Produce(p) if p.acks == 0);
        let body = request_to_kafka(request, version)
            .ok_or_else(|| format!("{api_key:?} has no kafka-protocol body"))?;
        self.next_correlation = self.next_correlation.wrapping_add(1);
        let correlation = self.next_correlation;
        let frame = encode_request(correlation, &self.client_id, version, &body)
            .map_err(|error| format!("{api_key:?} v{version}: {error}"))?;
        if answered {
            let in_flight = InFlight {
                id,
                api_key,
                version,
            };
            self.in_flight.insert((broker, correlation), in_flight);
        }
        Ok(frame.to_vec())
    }

    /// An answer frame (size prefix included) from `broker`: the request id it answers and
    /// the answer, or `None` for an answer to nothing in flight (a request already given up).
    pub fn decode(
        &mut self,
        broker: NodeId,
        frame: Vec<u8>,
    ) -> Result<Option<(u64, Response)>, String> {
        let body = match parse_frame(&frame, usize::MAX >> 1) {
            FrameStatus::Frame(range) if range.end == frame.len() => {
                Bytes::from(frame).slice(range)
            }
            status => return Err(format!("answer frame: {status:?}")),
        };
        let correlation = response_correlation_id(&body).ok_or("answer without a header")?;
        let Some(in_flight) = self.in_flight.remove(&(broker, correlation)) else {
            return Ok(None);
        };
        let (api_key, version) = (in_flight.api_key, in_flight.version);
        let what = || format!("{api_key:?} v{version}");
        let (answered, body) = decode_response(api_key, version, body)
            .map_err(|error| format!("{}: {error}", what()))?;
        if answered != correlation {
            return Err(format!(
                "{}: correlation {answered} for {correlation}",
                what()
            ));
        }
        let answer = response_to_core(api_key, body).map_err(|e| format!("{}: {e}", what()))?;
        Ok(Some((in_flight.id, answer.response)))
    }

    /// `broker` closed the connection: every request in flight to it fails.
    pub fn closed(&mut self, broker: NodeId) -> Vec<(u64, Result<Response, Disconnected>)> {
        let failed: Vec<(NodeId, i32)> = self
            .in_flight
            .keys()
            .filter(|(to, _)| *to == broker)
            .copied()
            .collect();
        failed
            .into_iter()
            .filter_map(|key| self.in_flight.remove(&key))
            .map(|in_flight| (in_flight.id, Err(Disconnected)))
            .collect()
    }
}
