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
pub mod privacy;
pub mod reputation;
pub mod signing;
pub mod trainer_api;
pub mod traits;

pub use commitment::{commitment_hash, CommitmentPayload, JobState};
pub use did::DidId;
pub use job::{
	Architecture, BackendClass, Cid, DatasetConsent, HyperParameters, InlineTexts, JobSpec,
	TrainedWeights,
};
pub use node::{Capabilities, NodeId, NodeRole, NodeStatus};
pub use privacy::{DpParameters, PrivacyBudget};
pub use reputation::{JobId, Outcome, TrustTier};
pub use signing::{NodeSigned, SigningContext};
pub use traits::{
	ConsentInspect, DidControl, JobCreator, JobOutcome, NodeInspect, NodeWorkload,
	ReputationInspect, ReputationSink, SlashReason, Slasher, TrainingInputs,
};

use polkadot_sdk::sp_core::crypto::KeyTypeId;

/// The key type of a compute node's own key, as stored in the node's keystore.
pub const NODE_KEY_TYPE: KeyTypeId = KeyTypeId(*b"tsra");

/// The compute node key: an sr25519 application key of type [`NODE_KEY_TYPE`].
///
/// Off-chain workers sign heartbeats and commitments with it; the chain verifies them
/// against the key recorded when the node registered.
pub mod node_key {
	use polkadot_sdk::sp_application_crypto::{app_crypto, sr25519};
	app_crypto!(sr25519, super::NODE_KEY_TYPE);
}

/// A node's public key, as the chain stores it.
pub type NodePublic = node_key::Public;
/// A signature made with a node key.
pub type NodeSignature = node_key::Signature;
