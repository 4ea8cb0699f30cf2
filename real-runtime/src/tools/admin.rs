//! One-at-a-time requests to any bootstrap server, for the tools that inspect or change the
//! cluster (`topics`, `cluster`). Kafka's brokers forward what needs the controller.

use sluice_net::kafka_protocol::messages::{
    metadata_request, MetadataRequest, MetadataResponse, TopicName,
};
use sluice_net::kafka_protocol::protocol::StrBytes;
use sluice_net::request::RequestBody;
use sluice_net::response::ResponseBody;
use tokio::net::TcpStream;

use crate::cli::CliError;
use crate::client::Connection;
use crate::transport::TokioConnector;

/// A connection to the first bootstrap server that answers.
pub async fn connect(bootstrap: &[(String, u16)]) -> Result<Connection<TcpStream>, CliError> {
    let mut last = String::from("no bootstrap server given");
    for (host, port) in bootstrap {
        match Connection::open(&TokioConnector, host, *port, "sluice-admin").await {
            Ok(connection) => return Ok(connection),
            Err(error) => last = format!("cannot reach {host}:{port}: {error}"),
        }
    }
    Err(CliError::Failed(last))
}

/// Sends `body` and returns the answer, or a one-line error.
pub async fn call(
    connection: &mut Connection<TcpStream>,
    body: RequestBody,
) -> Result<ResponseBody, CliError> {
    let api = body.api_key();
    connection
        .call(&body)
        .await
        .map_err(|error| CliError::Failed(format!("{api:?}: {error}")))
}

/// Metadata for `topics` (every topic for `None`), never creating one.
pub async fn metadata(
    connection: &mut Connection<TcpStream>,
    topics: Option<&[String]>,
) -> Result<MetadataResponse, CliError> {
    let topics = topics.map(|names| {
        names
            .iter()
            .map(|name| {
                metadata_request::MetadataRequestTopic::default()
                    .with_name(Some(TopicName(StrBytes::from_string(name.clone()))))
            })
            .collect()
    });
    let body = RequestBody::Metadata(
        MetadataRequest::default()
            .with_topics(topics)
            .with_allow_auto_topic_creation(false),
    );
    match call(connection, body).await? {
        ResponseBody::Metadata(answer) => Ok(answer),
        other => Err(CliError::Failed(format!(
            "Metadata answered with {:?}",
            other.api_key()
        ))),
    }
}

/// Kafka's name for an error code in an admin answer.
pub fn error_name(code: i16) -> String {
    match sluice_core::api::ErrorCode::from_code(code) {
        Some(error) => error.to_string(),
        None => format!("error code {code}"),
    }
}

/// Builds a runtime for a tool: one thread, since a tool is one client.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| CliError::Failed(format!("cannot start the runtime: {error}")))
}
