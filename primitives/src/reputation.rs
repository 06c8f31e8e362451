//! What a node's reputation is made of, as other pallets report it and read it.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// How far a node is trusted. Each tier needs both a score and a history of verified
/// contributions, so a new node cannot jump to the top; ordered from least to most trusted.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Debug,
	Default,
)]
pub enum TrustTier {
	/// Below every other tier's requirements; where every node starts and every slashed
	/// node returns.
	#[default]
	New,
	/// A neutral score and a short history.
	Developing,
	/// A good score over a longer history.
	Trusted,
	/// A near-perfect score over a long history.
	Excellent,
}

/// Something a node did that moves its reputation.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum Outcome {
	/// The node sent its heartbeat for a period.
	HeartbeatKept,
	/// The node let a heartbeat period pass without one.
	HeartbeatMissed,
	/// The node delivered a job it was assigned.
	JobCompleted,
	/// The node was assigned a job and did not deliver it.
	JobFailed,
	/// A result of the node was verified.
	ProofPassed,
	/// A result of the node was found wrong.
	ProofFailed,
	/// The node helped produce a model version that was activated.
	LineageContribution,
	/// A transfer from the node was measured.
	BandwidthMeasured {
		/// Bytes transferred.
		bytes: u64,
		/// How long the transfer took, in milliseconds.
		millis: u32,
	},
}
