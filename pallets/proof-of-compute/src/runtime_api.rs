//! The runtime API through which clients follow jobs.

use alloc::vec::Vec;
use codec::{Codec, Decode, Encode};
use polkadot_sdk::{sp_api, sp_core::H256};
use scale_info::TypeInfo;
use tessera_primitives::{CommitmentPayload, JobId, JobSpec, NodeId};

use crate::JobInfo;

/// One replica's commitment to one checkpoint, and its payload once revealed.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct CheckpointView {
	/// The replica.
	pub node: NodeId,
	/// The checkpoint.
	pub checkpoint: u32,
	/// The committed hash.
	pub commit: H256,
	/// The revealed payload.
	pub revealed: Option<CommitmentPayload>,
}

sp_api::decl_runtime_apis! {
	/// Read access to jobs: state, replicas, commitments and payouts.
	pub trait ComputeApi<AccountId, Balance, BlockNumber>
	where
		AccountId: Codec,
		Balance: Codec,
		BlockNumber: Codec,
	{
		/// The job's record: who pays, where it is, its workload and result.
		fn job(job: JobId) -> Option<JobInfo<AccountId, Balance, BlockNumber>>;
		/// What the job trains.
		fn spec(job: JobId) -> Option<JobSpec>;
		/// Its replicas, in assignment order.
		fn assignments(job: JobId) -> Vec<NodeId>;
		/// Every commitment made for it, by replica and checkpoint.
		fn commitments(job: JobId) -> Vec<CheckpointView>;
		/// What each replica was paid when it was finalized.
		fn payouts(job: JobId) -> Vec<(NodeId, Balance)>;
	}
}
