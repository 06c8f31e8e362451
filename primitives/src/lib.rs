//! # Tessera primitives
//!
//! `no_std` types shared by Tessera's pallets, runtime, node and trainer. Cross-pallet
//! traits live here so that no pallet depends on another pallet's crate: a pallet names the
//! trait in its `Config`, and the runtime wires in the pallet that implements it.

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub mod commitment;
pub mod did;
pub mod digest;
pub mod job;
pub mod node;
pub mod offchain;
pub mod privacy;
pub mod reputation;
pub mod signing;
pub mod trainer_api;
pub mod traits;

pub use commitment::{commitment_hash, CommitmentPayload};
pub use did::DidId;
pub use job::{
	AdamParameters, Architecture, BackendClass, Cid, DatasetConsent, HyperParameters, InlineTexts,
	JobId, JobSpec, JobState, Optimizer, TrainedWeights, Workload,
};
pub use node::{
	node_key, Capabilities, NodeId, NodePublic, NodeRole, NodeSignature, NodeStatus, NODE_KEY_TYPE,
};
pub use privacy::{DpParameters, PrivacyBudget};
pub use reputation::{Outcome, TrustTier};
pub use signing::{dispatch_after_authorize, NodeSigned, SigningContext};
pub use traits::{
	ConsentInspect, DidControl, JobCreator, JobOutcome, NodeInspect, NodeWorkload,
	ReputationInspect, ReputationSink, SlashReason, Slasher, TrainingInputs,
};
