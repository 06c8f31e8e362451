//! What replicas commit to.
//!
//! ## The trainer contract
//!
//! A node's off-chain worker does no training itself: it calls the node's trainer
//! (`tessera-trainer serve`, by default at `http://127.0.0.1:7070`) over its versioned JSON
//! API, whose requests are [`crate::trainer_api`]'s types, in `no_std`: the trainer
//! deserialises them itself, and its reports are supersets of the answers there:
//!
//! - `POST /v1/jobs` starts the job, or reports the progress of one it knows (keyed by the
//!   chain's [`JobId`]: asking twice never trains twice): one commitment per checkpoint,
//!   with step, loss, gradient and weights digests, delta root, state CID and samples.
//!   `GET /v1/jobs/{job}` reports the same without starting anything.
//! - `POST /v1/verify` re-executes a segment from a committed state and returns the
//!   commitments it reproduces; `POST /v1/aggregate` averages states; `/v1/blobs` moves
//!   content by CID between trainers.
//!
//! Every digest the trainer reports is computed with [`crate::digest`], the very code the
//! chain runs, so a [`CommitmentPayload`] built from a trainer commitment compares
//! byte for byte with another replica's.
//!
//! ## Commit, then reveal
//!
//! Honest replicas produce identical payloads, so a lazy node could copy a rival's from the
//! transaction pool. Each replica therefore first publishes only [`commitment_hash`] of its
//! payload with its node id and a secret salt, and reveals payload and salt once every
//! replica has committed.

use crate::{BackendClass, Cid, JobId, NodeId};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{sp_core::H256, sp_crypto_hashing::blake2_256};
use scale_info::TypeInfo;

/// What a replica reports at a checkpoint.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct CommitmentPayload {
	/// The job.
	pub job: JobId,
	/// The checkpoint's index, from 0.
	pub checkpoint: u32,
	/// Steps completed at this checkpoint.
	pub step: u64,
	/// Digest of the segment's per-step losses.
	pub loss_digest: H256,
	/// Digest of the last step's gradients.
	pub gradient_digest: H256,
	/// Digest of the weights after this step.
	pub weights_digest: H256,
	/// Merkle root of the per-layer weight deltas over the segment.
	pub delta_root: H256,
	/// CID of the full training state at this step.
	pub state_cid: Cid,
	/// Samples trained on in the segment.
	pub samples: u64,
	/// The backend class the replica trained on.
	pub backend_class: BackendClass,
	/// The replica.
	pub node: NodeId,
	/// The work units of the replica's whole run, as its trainer computed them with
	/// [`Workload`](crate::Workload)'s rule (what the chain pays by); only in the final payload.
	pub work: Option<u64>,
}

/// The hash a replica commits before revealing: `blake2_256(payload ‖ node ‖ salt)` over
/// the payload's and the node id's SCALE encodings.
pub fn commitment_hash(payload: &CommitmentPayload, node: NodeId, salt: &[u8; 32]) -> H256 {
	let mut bytes = payload.encode();
	bytes.extend(node.encode());
	bytes.extend_from_slice(salt);
	H256(blake2_256(&bytes))
}

#[cfg(test)]
mod tests {
	use super::*;

	fn payload() -> CommitmentPayload {
		CommitmentPayload {
			job: 7,
			checkpoint: 2,
			step: 300,
			loss_digest: H256::repeat_byte(1),
			gradient_digest: H256::repeat_byte(2),
			weights_digest: H256::repeat_byte(3),
			delta_root: H256::repeat_byte(4),
			state_cid: Cid::truncate_from(b"bafkrei".to_vec()),
			samples: 3_200,
			backend_class: BackendClass::CpuReference,
			node: 5,
			work: None,
		}
	}

	#[test]
	fn a_commitment_binds_payload_node_and_salt() {
		let salt = [9u8; 32];
		let hash = commitment_hash(&payload(), 5, &salt);
		assert_eq!(hash, commitment_hash(&payload(), 5, &salt));
		assert_ne!(hash, commitment_hash(&payload(), 6, &salt), "another node's reveal");
		assert_ne!(hash, commitment_hash(&payload(), 5, &[8u8; 32]), "another salt");
		let copied = CommitmentPayload { weights_digest: H256::repeat_byte(9), ..payload() };
		assert_ne!(hash, commitment_hash(&copied, 5, &salt), "another payload");
	}

	#[test]
	fn payloads_round_trip_through_scale_within_their_bound() {
		let final_payload = CommitmentPayload { work: Some(42), ..payload() };
		let bytes = final_payload.encode();
		assert!(bytes.len() <= CommitmentPayload::max_encoded_len());
		assert_eq!(CommitmentPayload::decode(&mut &bytes[..]).unwrap(), final_payload);
	}
}
