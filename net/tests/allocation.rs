//! No allocation sized by an unchecked length field: requests whose array counts claim up to
//! 2^32 elements are refused without reserving memory for them.
//!
//! The process's peak virtual size (`VmPeak` in /proc/self/status) shows any large reservation,
//! touched or not, so this test measures it around the decoding of hostile frames. A positive
//! control then decodes one such frame with kafka-protocol alone and checks that the
//! measurement does see the reservation the pre-check prevents. This file holds one test so that
//! no other test's allocations move the peak.
#![cfg(target_os = "linux")]

use bytes::{Bytes, BytesMut};
use sluice_net::kafka_protocol::messages::{
    create_topics_request, describe_configs_request, fetch_request, metadata_request,
    produce_request, ApiKey, BrokerId, CreateTopicsRequest, DescribeConfigsRequest, FetchRequest,
    MetadataRequest, ProduceRequest, RequestHeader, TopicName,
};
use sluice_net::kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use sluice_net::request::{decode_request, Malformed, RequestError};

const MIB: usize = 1 << 20;

/// A size from /proc/self/status: `VmPeak` (the peak virtual size) or `VmSize` (the current one).
fn status_bytes(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|line| line.starts_with(field)).unwrap();
    let kib: usize = line
        .trim_start_matches(field)
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

fn vm_peak_bytes() -> usize {
    status_bytes("VmPeak:")
}

/// A request frame (no size prefix) and where its body starts.
fn frame<B: Encodable>(api_key: ApiKey, version: i16, body: &B) -> (Vec<u8>, usize) {
    let header = RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(1)
        .with_client_id(Some(StrBytes::from_static_str("x")));
    let mut buffer = BytesMut::new();
    header
        .encode(&mut buffer, api_key.request_header_version(version))
        .unwrap();
    let body_start = buffer.len();
    body.encode(&mut buffer, version).unwrap();
    (buffer.to_vec(), body_start)
}

fn topic(name: &'static str) -> TopicName {
    TopicName(StrBytes::from_static_str(name))
}

/// Valid frames with arrays at every nesting depth, in non-flexible and flexible versions.
fn valid_frames() -> Vec<(Vec<u8>, usize, bool)> {
    let metadata = MetadataRequest::default().with_topics(Some(vec![
        metadata_request::MetadataRequestTopic::default().with_name(Some(topic("a"))),
    ]));
    let produce = ProduceRequest::default().with_topic_data(vec![
        produce_request::TopicProduceData::default()
            .with_name(topic("a"))
            .with_partition_data(vec![produce_request::PartitionProduceData::default()
                .with_records(Some(Bytes::from_static(&[1, 2, 3])))]),
    ]);
    let fetch = FetchRequest::default()
        .with_topics(vec![fetch_request::FetchTopic::default()
            .with_topic(topic("a"))
            .with_partitions(vec![fetch_request::FetchPartition::default()])])
        .with_forgotten_topics_data(vec![fetch_request::ForgottenTopic::default()
            .with_topic(topic("b"))
            .with_partitions(vec![1, 2])]);
    let create_topics = CreateTopicsRequest::default().with_topics(vec![
        create_topics_request::CreatableTopic::default()
            .with_name(topic("a"))
            .with_assignments(vec![
                create_topics_request::CreatableReplicaAssignment::default()
                    .with_broker_ids(vec![BrokerId(1), BrokerId(2)]),
            ])
            .with_configs(vec![create_topics_request::CreatableTopicConfig::default()
                .with_name(StrBytes::from_static_str("k"))]),
    ]);
    let describe_configs = DescribeConfigsRequest::default().with_resources(vec![
        describe_configs_request::DescribeConfigsResource::default()
            .with_resource_name(StrBytes::from_static_str("a"))
            .with_configuration_keys(Some(vec![StrBytes::from_static_str("k")])),
    ]);
    let mut frames = Vec::new();
    for (version, flexible) in [(1, false), (9, true)] {
        let (bytes, start) = frame(ApiKey::Metadata, version, &metadata);
        frames.push((bytes, start, flexible));
    }
    for (version, flexible) in [(8, false), (11, true)] {
        let (bytes, start) = frame(ApiKey::Produce, version, &produce);
        frames.push((bytes, start, flexible));
    }
    for (version, flexible) in [(11, false), (12, true)] {
        let (bytes, start) = frame(ApiKey::Fetch, version, &fetch);
        frames.push((bytes, start, flexible));
    }
    for (version, flexible) in [(4, false), (7, true)] {
        let (bytes, start) = frame(ApiKey::CreateTopics, version, &create_topics);
        frames.push((bytes, start, flexible));
    }
    for (version, flexible) in [(3, false), (4, true)] {
        let (bytes, start) = frame(ApiKey::DescribeConfigs, version, &describe_configs);
        frames.push((bytes, start, flexible));
    }
    frames
}

/// Every variant of `frame` with a huge count written at one body offset: 2^31 - 1 as INT32, or
/// 2^32 - 1 as a compact varint (2^32 - 2 elements).
fn hostile_variants(frame: &[u8], body_start: usize, flexible: bool) -> Vec<Vec<u8>> {
    let huge: &[u8] = if flexible {
        &[0xff, 0xff, 0xff, 0xff, 0x0f]
    } else {
        &[0x7f, 0xff, 0xff, 0xff]
    };
    (body_start..frame.len())
        .map(|offset| {
            let mut variant = frame.to_vec();
            variant.truncate(offset);
            variant.extend_from_slice(huge);
            let rest = (offset + huge.len()).min(frame.len());
            variant.extend_from_slice(&frame[rest..]);
            variant
        })
        .collect()
}

#[test]
fn hostile_array_counts_never_reserve_memory() {
    let frames = valid_frames();
    // Warm up this thread's allocator arena and the decoder before the baseline.
    for (bytes, _, _) in &frames {
        decode_request(Bytes::from(bytes.clone())).unwrap();
    }
    let baseline = vm_peak_bytes();

    let mut refused_counts = 0;
    for (bytes, body_start, flexible) in &frames {
        for variant in hostile_variants(bytes, *body_start, *flexible) {
            if let Err(RequestError::Malformed {
                reason: Malformed::ArrayCount { .. },
                ..
            }) = decode_request(Bytes::from(variant))
            {
                refused_counts += 1;
            }
        }
    }
    // One Metadata v1 frame claiming 2^31 - 1 topics, spelled out.
    let claim = [
        0, 3, 0, 1, 0, 0, 0, 9, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0, 1, b'a',
    ];
    assert!(matches!(
        decode_request(Bytes::copy_from_slice(&claim)),
        Err(RequestError::Malformed {
            reason: Malformed::ArrayCount { .. },
            ..
        })
    ));
    let grown = vm_peak_bytes() - baseline;
    // Every array of every frame was hit at least once.
    assert!(refused_counts >= 20, "{refused_counts}");
    assert!(
        grown < 16 * MIB,
        "decoding hostile frames raised the peak by {grown} bytes"
    );

    // Positive control: kafka-protocol alone, given a Metadata v1 body claiming 2^22 topics,
    // reserves room for all of them before failing, and the peak shows it.
    let before = vm_peak_bytes();
    let mut body = Bytes::from_static(&[0x00, 0x40, 0x00, 0x00, 0, 1, b'a']);
    assert!(MetadataRequest::decode(&mut body, 1).is_err());
    let reserved = (1 << 22) * std::mem::size_of::<metadata_request::MetadataRequestTopic>();
    let control = vm_peak_bytes() - before;
    assert!(
        control >= reserved / 2,
        "the control reserved {reserved} bytes but the peak moved by {control}"
    );

    // What a valid frame can cost: 1 MiB of the densest elements Sluice decodes, Metadata v9
    // topics with an empty name and one empty unknown tagged field (4 bytes each), each of which
    // becomes a 72-byte struct plus a map node for the tag. The crate docs quote this factor.
    let topics = 1 << 18;
    let mut frame = vec![0, 3, 0, 9, 0, 0, 0, 2, 0, 1, b'x', 0];
    let mut count = topics as u32 + 1;
    while count >= 0x80 {
        frame.push((count as u8) | 0x80);
        count >>= 7;
    }
    frame.push(count as u8);
    for _ in 0..topics {
        frame.extend_from_slice(&[1, 1, 0, 0]);
    }
    frame.extend_from_slice(&[1, 0, 0, 0]);
    let frame_bytes = frame.len();
    // The peak is still the control's; measure what the decoded request keeps instead.
    let before = status_bytes("VmSize:");
    let request = decode_request(Bytes::from(frame)).unwrap();
    let dense = status_bytes("VmSize:") - before;
    drop(request);
    assert!(
        dense < 192 * frame_bytes,
        "a {frame_bytes}-byte frame kept {dense} bytes decoded"
    );
    eprintln!("a {frame_bytes}-byte frame of minimal tagged topics kept {dense} bytes decoded");
}
