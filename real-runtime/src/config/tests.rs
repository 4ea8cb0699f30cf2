use super::*;
use sluice_core::log::CleanupPolicy;

fn parse(text: &str) -> Result<ServerConfig, ConfigError> {
    ServerConfig::from_properties(&Properties::parse(text).unwrap())
}

fn error(text: &str) -> String {
    let message = parse(text).unwrap_err().to_string();
    assert_eq!(message.lines().count(), 1, "{message}");
    message
}

#[test]
fn no_configuration_is_a_single_node_on_loopback() {
    let config = parse("").unwrap();
    assert_eq!(config.node_id, 1);
    assert_eq!(
        config.process_roles,
        ProcessRoles {
            broker: true,
            controller: true
        }
    );
    assert_eq!(config.listeners.len(), 1);
    assert_eq!(
        config.listeners[0].to_string(),
        "PLAINTEXT://127.0.0.1:9092"
    );
    assert_eq!(config.advertised_listeners, config.listeners);
    assert!(config.controller_listener_names.is_empty());
    assert!(config.controller_quorum_voters.is_empty());
    assert_eq!(config.effective_voters().len(), 1);
    assert_eq!(config.effective_voters()[0].id, 1);
    assert_eq!(config.log_dirs, vec![PathBuf::from("./sluice-data")]);
    assert_eq!(config.num_partitions, 1);
    assert_eq!(config.default_replication_factor, 1);
    assert_eq!(config.min_insync_replicas, 1);
    assert!(config.auto_create_topics_enable);
    assert_eq!(config.log_segment_bytes, 1_073_741_824);
    assert_eq!(config.log_retention_ms, Some(604_800_000));
    assert_eq!(config.log_retention_check_interval_ms, 300_000);
    assert_eq!(config.replica_lag_time_max_ms, 30_000);
    assert_eq!(config.replica_fetch_wait_max_ms, 500);
    assert_eq!(config.replica_fetch_max_bytes, 1_048_576);
    assert_eq!(config.socket_request_max_bytes, 104_857_600);
    assert!(!config.unclean_leader_election_enable);
    assert_eq!(config.log_flush_interval_messages, i64::MAX as u64);
    assert_eq!(config.broker_heartbeat_interval_ms, 2000);
    assert_eq!(config.broker_session_timeout_ms, 9000);
    assert_eq!(config.cluster_id, CLUSTER_ID_DEFAULT);
}

/// A three-node combined cluster as Kafka's KRaft quickstart writes it, with comments, a
/// continued line and `:` separators.
#[test]
fn a_kafka_style_file_parses() {
    let text = "\
# Server Basics
process.roles=broker,controller
node.id=2
controller.quorum.voters=1@n1:9093,2@n2:9093,\\
                         3@n3:9093
! Socket Server Settings
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
advertised.listeners = PLAINTEXT://n2:9092
controller.listener.names: CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
num.network.threads=3
log.dirs=/var/lib/a, /var/lib/b
num.partitions=4
log.retention.hours=24
log.segment.bytes=1048576
";
    let config = parse(text).unwrap();
    assert_eq!(config.node_id, 2);
    assert_eq!(config.controller_quorum_voters.len(), 3);
    assert_eq!(config.controller_quorum_voters[2].host, "n3");
    assert_eq!(config.listeners.len(), 2);
    assert_eq!(
        config.advertised_listeners[0].to_string(),
        "PLAINTEXT://n2:9092"
    );
    assert_eq!(config.controller_listener_names, vec!["CONTROLLER"]);
    assert_eq!(
        config.log_dirs,
        vec![PathBuf::from("/var/lib/a"), PathBuf::from("/var/lib/b")]
    );
    assert_eq!(config.num_partitions, 4);
    assert_eq!(config.log_retention_ms, Some(86_400_000));
    assert_eq!(config.log_segment_bytes, 1_048_576);
    let properties = Properties::parse(text).unwrap();
    assert_eq!(unknown_keys(&properties), vec!["num.network.threads"]);
}

#[test]
fn default_advertised_listeners_leave_out_the_controller_listener() {
    let config = parse(
        "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0\n\
         controller.listener.names=CONTROLLER",
    )
    .unwrap();
    assert_eq!(config.advertised_listeners.len(), 1);
    assert_eq!(config.advertised_listeners[0].name, "PLAINTEXT");
    let bound = [
        ("PLAINTEXT".to_string(), "127.0.0.1:40001".parse().unwrap()),
        ("CONTROLLER".to_string(), "127.0.0.1:40002".parse().unwrap()),
    ];
    let advertised = config.advertised_for(&bound);
    assert_eq!(advertised[0].to_string(), "PLAINTEXT://127.0.0.1:40001");
    assert_eq!(config.effective_voters()[0].port, 0);
}

#[test]
fn overrides_win_over_the_file_and_split_at_the_first_equals() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("server.properties");
    std::fs::write(&file, "num.partitions=3\nnode.id=7\n").unwrap();
    let overrides = ["num.partitions=5".to_string(), "cluster.id=a=b".to_string()];
    let properties = load(Some(&file), &overrides).unwrap();
    assert_eq!(properties.get("num.partitions"), Some("5"));
    assert_eq!(properties.get("node.id"), Some("7"));
    assert_eq!(properties.get("cluster.id"), Some("a=b"));
    let properties = load(None, &["num.partitions=2".to_string()]).unwrap();
    assert_eq!(
        ServerConfig::from_properties(&properties)
            .unwrap()
            .num_partitions,
        2
    );
    for bad in ["num.partitions", "=5", " =5"] {
        let error = load(None, &[bad.to_string()]).unwrap_err();
        assert_eq!(error, ConfigError::Override(bad.to_string()));
    }
}

#[test]
fn an_unreadable_file_is_a_one_line_error() {
    let error = load(Some(Path::new("/nonexistent/server.properties")), &[]).unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("cannot read config file /nonexistent/server.properties: "));
    assert_eq!(message.lines().count(), 1);
}

#[test]
fn bad_values_name_the_key_the_value_and_what_was_expected() {
    let cases = [
        ("node.id=-1", "node.id: invalid value \"-1\": expected an integer from 0 to 2147483647"),
        ("node.id=one", "node.id: invalid value \"one\": expected an integer from 0 to 2147483647"),
        (
            "process.roles=broker,broker",
            "process.roles: invalid value \"broker,broker\": expected broker, controller, or \
             broker,controller",
        ),
        (
            "listeners=localhost:9092",
            "listeners: invalid value \"localhost:9092\": expected a listener like \
             PLAINTEXT://host:9092",
        ),
        (
            "num.partitions=0",
            "num.partitions: invalid value \"0\": expected an integer from 1 to 2147483647",
        ),
        (
            "default.replication.factor=40000",
            "default.replication.factor: invalid value \"40000\": expected an integer from 1 to \
             32767",
        ),
        (
            "min.insync.replicas=0",
            "min.insync.replicas: invalid value \"0\": expected an integer from 1 to 2147483647",
        ),
        (
            "auto.create.topics.enable=yes",
            "auto.create.topics.enable: invalid value \"yes\": expected true or false",
        ),
        (
            "log.segment.bytes=1000",
            "log.segment.bytes: invalid value \"1000\": expected an integer from 1048576 to \
             2147483647",
        ),
        (
            "log.retention.ms=forever",
            "log.retention.ms: invalid value \"forever\": expected an integer",
        ),
        (
            "replica.lag.time.max.ms=-5",
            "replica.lag.time.max.ms: invalid value \"-5\": expected an integer of at least 0",
        ),
        (
            "replica.fetch.max.bytes=-1",
            "replica.fetch.max.bytes: invalid value \"-1\": expected an integer from 0 to \
             2147483647",
        ),
        (
            "socket.request.max.bytes=0",
            "socket.request.max.bytes: invalid value \"0\": expected an integer from 1 to \
             2147483647",
        ),
        (
            "unclean.leader.election.enable=1",
            "unclean.leader.election.enable: invalid value \"1\": expected true or false",
        ),
        (
            "log.retention.check.interval.ms=0",
            "log.retention.check.interval.ms: invalid value \"0\": expected an integer of at \
             least 1",
        ),
        (
            "log.flush.interval.messages=0",
            "log.flush.interval.messages: invalid value \"0\": expected an integer of at least 1",
        ),
        (
            "broker.session.timeout.ms=2s",
            "broker.session.timeout.ms: invalid value \"2s\": expected an integer from 1 to \
             2147483647",
        ),
        (
            "cluster.id=my cluster",
            "cluster.id: invalid value \"my cluster\": expected 1 to 255 letters, digits, `-`, `_` \
             or `.`",
        ),
        (
            "listener.security.protocol.map=PLAINTEXT:TLS",
            "listener.security.protocol.map: invalid value \"PLAINTEXT:TLS\": expected \
             NAME:PROTOCOL with one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
        ),
        (
            "controller.quorum.voters=1@host",
            "controller.quorum.voters: invalid value \"1@host\": expected a voter like 1@host:9093",
        ),
        (
            "log.dirs=",
            "log.dirs: invalid value \"\": expected at least one directory",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(error(text), expected, "{text}");
    }
    // A line break inside a value (from a `\n` escape) does not break the message.
    assert_eq!(
        error("num.partitions=1\\n2"),
        "num.partitions: invalid value \"1\\n2\": expected an integer from 1 to 2147483647"
    );
}

#[test]
fn ssl_and_sasl_listeners_are_refused_for_now() {
    for text in [
        "listeners=SSL://127.0.0.1:9093",
        "listeners=SASL_PLAINTEXT://127.0.0.1:9093",
        "listeners=CLIENT://127.0.0.1:9093\nlistener.security.protocol.map=CLIENT:SASL_SSL",
    ] {
        let message = error(text);
        assert!(
            message.contains("which Sluice does not support yet"),
            "{message}"
        );
    }
    let message = error("listeners=CLIENT://127.0.0.1:9093");
    assert_eq!(
        message,
        "listener CLIENT://127.0.0.1:9093 has no security protocol: add CLIENT:PLAINTEXT to \
         listener.security.protocol.map"
    );
    let config =
        parse("listeners=CLIENT://127.0.0.1:9093\nlistener.security.protocol.map=CLIENT:PLAINTEXT")
            .unwrap();
    assert_eq!(
        config.security_protocol("CLIENT"),
        Some(SecurityProtocol::Plaintext)
    );
}

#[test]
fn keys_that_do_not_fit_together_are_refused() {
    let cases = [
        ("listeners=", "listeners: invalid value \"\": expected at least one listener"),
        (
            "advertised.listeners=OTHER://h:1\n\
             listener.security.protocol.map=OTHER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "advertised.listeners names OTHER, which is not in listeners",
        ),
        (
            "advertised.listeners=PLAINTEXT://0.0.0.0:9092",
            "advertised.listeners: invalid value \"PLAINTEXT://0.0.0.0:9092\": expected a \
             routable host, not the wildcard address",
        ),
        (
            "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER\n\
             controller.quorum.voters=2@h:9093",
            "node.id 1 runs a controller but is not in controller.quorum.voters",
        ),
        (
            "process.roles=broker",
            "a broker-only node needs controller.quorum.voters to find the controllers",
        ),
        (
            "controller.quorum.voters=1@h:9093",
            "controller.quorum.voters is set, so controller.listener.names must name the \
             controller listener",
        ),
        (
            "controller.quorum.voters=1@h:9093\ncontroller.listener.names=CONTROLLER",
            "controller.listener.names names CONTROLLER, which is not in listeners",
        ),
        (
            "replica.fetch.wait.max.ms=40000",
            "replica.fetch.wait.max.ms (40000) must be at most replica.lag.time.max.ms (30000), \
             or followers on quiet partitions drop out of the ISR",
        ),
        (
            "broker.heartbeat.interval.ms=9000",
            "broker.heartbeat.interval.ms (9000) must be less than broker.session.timeout.ms \
             (9000)",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(error(text), expected, "{text}");
    }
    let broker_only = "process.roles=broker\nnode.id=4\ncontroller.quorum.voters=1@h:9093\n\
                       controller.listener.names=CONTROLLER\n";
    assert!(parse(broker_only).is_ok());
    let with_controller_listener =
        format!("{broker_only}listeners=PLAINTEXT://:9092,CONTROLLER://:9093");
    assert_eq!(
        error(&with_controller_listener),
        "a broker-only node must not listen on a controller listener"
    );
}

#[test]
fn retention_prefers_ms_then_minutes_then_hours_and_negative_is_forever() {
    let retention = |text: &str| parse(text).unwrap().log_retention_ms;
    assert_eq!(retention("log.retention.hours=1"), Some(3_600_000));
    assert_eq!(
        retention("log.retention.hours=1\nlog.retention.minutes=2"),
        Some(120_000)
    );
    assert_eq!(
        retention("log.retention.minutes=2\nlog.retention.ms=5"),
        Some(5)
    );
    assert_eq!(retention("log.retention.ms=-1"), None);
    assert_eq!(retention("log.retention.hours=-1"), None);
}

#[test]
fn log_cleanup_policy_is_a_list_of_delete_and_compact() {
    let policy = |text: &str| parse(text).map(|c| c.log_cleanup_policy);
    assert_eq!(policy("").unwrap(), CleanupPolicy::DELETE);
    let compact = policy("log.cleanup.policy=compact").unwrap();
    assert_eq!((compact.compact, compact.delete), (true, false));
    let both = policy("log.cleanup.policy=delete, compact").unwrap();
    assert_eq!((both.compact, both.delete), (true, true));
    assert_eq!(
        policy("log.cleanup.policy=shred").unwrap_err().to_string(),
        "log.cleanup.policy: invalid value \"shred\": expected a list of delete and compact"
    );
}

#[test]
fn values_are_trimmed_and_booleans_ignore_case() {
    let config = parse("num.partitions =  7  \nauto.create.topics.enable=FALSE").unwrap();
    assert_eq!(config.num_partitions, 7);
    assert!(!config.auto_create_topics_enable);
}

#[test]
fn group_keys_read_with_kafkas_defaults() {
    let defaults = ServerConfig::from_properties(&Properties::default()).unwrap();
    assert_eq!(defaults.group.offsets_topic_num_partitions, 50);
    assert_eq!(defaults.group.group_initial_rebalance_delay_ms, 3_000);
    let mut properties = Properties::default();
    properties.set("offsets.topic.num.partitions", "4");
    properties.set("group.initial.rebalance.delay.ms", "0");
    properties.set("offsets.retention.minutes", "2");
    let config = ServerConfig::from_properties(&properties).unwrap();
    assert_eq!(config.group.offsets_topic_num_partitions, 4);
    assert_eq!(config.group.group_initial_rebalance_delay_ms, 0);
    assert_eq!(config.group.offsets_retention_ms, 120_000);
    assert!(unknown_keys(&properties).is_empty());
    properties.set("group.min.session.timeout.ms", "9000000");
    let error = ServerConfig::from_properties(&properties).unwrap_err();
    assert!(
        error.to_string().contains("group.max.session.timeout.ms"),
        "{error}"
    );
}
