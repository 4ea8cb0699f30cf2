//! One controller process: a Raft voter, the metadata image it applies committed records to,
//! and — while it leads with its term's first entry committed — the active controller.

use std::collections::BTreeMap;

use sluice_core::controller::{ImageLimits, MetadataImage, QuorumController};
use sluice_core::raft::{NodeId as RaftId, RaftConfig, RaftError, RaftNode};
use sluice_sim::{EventId, NodeId, SimDisk};

use super::wire::Response;

/// Where the Raft state lives on each controller's disk.
pub const RAFT_DIR: &str = "metadata";

/// A response owed once the entry at some index commits.
#[derive(Clone, Debug)]
pub struct Reply {
    /// Who asked.
    pub to: NodeId,
    /// The request id.
    pub id: u64,
    /// The answer.
    pub response: Response,
}

/// One controller process and its disk.
pub struct ControllerNode {
    /// Its Raft id (its network id is the same number).
    pub id: RaftId,
    /// Its own disk: survives crashes as the durability contract says.
    pub disk: SimDisk,
    /// The Raft voter, `None` while the process is down.
    pub raft: Option<RaftNode>,
    /// The metadata applied from committed entries.
    pub image: MetadataImage,
    /// The active controller, while this node is it.
    pub controller: Option<QuorumController>,
    /// Responses waiting for their entry to commit.
    pub pending: BTreeMap<u64, Vec<Reply>>,
    /// The last index applied to `image`.
    pub applied: u64,
    /// The node's scheduled timer, if any.
    pub timer: Option<EventId>,
    /// Paused: receives nothing and its timers wait.
    pub paused: bool,
    config: RaftConfig,
}

impl ControllerNode {
    /// A controller that has never run.
    pub fn new(config: RaftConfig, disk: SimDisk) -> ControllerNode {
        ControllerNode {
            id: config.id,
            disk,
            raft: None,
            image: MetadataImage::new(ImageLimits::default()),
            controller: None,
            pending: BTreeMap::new(),
            applied: 0,
            timer: None,
            paused: false,
            config,
        }
    }

    /// The network address of this controller.
    pub fn net_id(&self) -> NodeId {
        NodeId(self.id.0)
    }

    /// Starts (or restarts) the process: Raft recovers from the disk; the image is rebuilt from
    /// the snapshot and the entries Raft applies again.
    pub fn start(&mut self) -> Result<(), RaftError> {
        assert!(self.raft.is_none(), "starting a running controller");
        self.raft = Some(RaftNode::open(
            &mut self.disk,
            RAFT_DIR,
            self.config.clone(),
        )?);
        self.image = MetadataImage::new(ImageLimits::default());
        self.applied = 0;
        Ok(())
    }

    /// Stops the process: everything in memory is gone.
    pub fn stop(&mut self) -> Vec<Reply> {
        self.raft = None;
        self.controller = None;
        self.timer = None;
        std::mem::take(&mut self.pending)
            .into_values()
            .flatten()
            .collect()
    }
}
