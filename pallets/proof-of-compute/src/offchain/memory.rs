//! How long the worker remembers a job. Sealed checkpoints, verdicts and the marks of sent
//! aggregates live in persistent offchain storage, which has no expiry and cannot be listed,
//! so every key written for a job is entered in one index; once the job has ended, its keys
//! are cleared [`FORGET_AFTER_BLOCKS`] blocks later. A job can end in many ways (accepted
//! and finalized, failed at its deadline, settled by a dispute, or the node replaced out of
//! it), most of which take the node off its duties in the same block, so that the worker
//! never looks at the job again; the index is how it still forgets. The delay is there
//! because the worker also runs on forks: the job may have ended on one and still run on
//! the chain that wins, where a sealed salt is the only way to open a commit.

use crate::{pallet::*, LOG_TARGET};
use alloc::{
	collections::{BTreeMap, BTreeSet},
	vec::Vec,
};
use codec::{Decode, Encode};
use polkadot_sdk::{
	frame_system::pallet_prelude::BlockNumberFor,
	sp_runtime::{offchain::storage::StorageValueRef, traits::Saturating},
};
use tessera_primitives::JobId;

/// Blocks the worker keeps what it remembers of a job after seeing the job ended: deeper
/// than any fork it may still be asked to work on.
pub const FORGET_AFTER_BLOCKS: u32 = 100;

pub(crate) const INDEX_KEY: &[u8] = b"tessera/proof-of-compute/remembered";

/// The offchain storage keys written for each job, by job.
pub(crate) type Remembered<BlockNumber> = BTreeMap<JobId, Memory<BlockNumber>>;

/// What the worker wrote for one job.
#[derive(Encode, Decode, Default, Debug, PartialEq)]
pub(crate) struct Memory<BlockNumber> {
	/// The persistent offchain storage keys.
	pub keys: BTreeSet<Vec<u8>>,
	/// The block at which the worker first saw the job ended, if it has.
	pub ended_at: Option<BlockNumber>,
}

impl<T: Config> Pallet<T> {
	/// Enters `key` in the index as written for `job`, so that it is cleared once the job
	/// has ended. Called before the key is first written.
	pub(crate) fn remember(job: JobId, key: &[u8]) {
		let entered = StorageValueRef::persistent(INDEX_KEY).mutate(
			|remembered: Result<Option<Remembered<BlockNumberFor<T>>>, _>| {
				let mut remembered = remembered.ok().flatten().unwrap_or_default();
				remembered.entry(job).or_default().keys.insert(key.to_vec());
				Ok::<_, ()>(remembered)
			},
		);
		if entered.is_err() {
			// Another run changed the index meanwhile: the key outlives its job, nothing worse.
			log::debug!(target: LOG_TARGET, "job {job}: a key was not entered in the index");
		}
	}

	/// Clears every key of the jobs that ended at least [`FORGET_AFTER_BLOCKS`] ago, and
	/// notes when the worker first saw a job ended (or, after a reorganisation, running
	/// again).
	pub(crate) fn forget_ended(now: BlockNumberFor<T>) {
		let index = StorageValueRef::persistent(INDEX_KEY);
		let mut forgotten = Vec::new();
		let updated =
			index.mutate(|remembered: Result<Option<Remembered<BlockNumberFor<T>>>, _>| {
				let mut remembered = remembered.ok().flatten().unwrap_or_default();
				let mut changed = false;
				remembered.retain(|job, memory| {
					let ended_at = Self::ended(*job).then(|| memory.ended_at.unwrap_or(now));
					changed |= ended_at != memory.ended_at;
					memory.ended_at = ended_at;
					match ended_at {
						Some(at) if now >= at.saturating_add(FORGET_AFTER_BLOCKS.into()) => {
							forgotten.push(core::mem::take(&mut memory.keys));
							changed = true;
							false
						}
						_ => true,
					}
				});
				// Nothing to write is reported as a failure, which leaves the index as it was.
				if changed {
					Ok(remembered)
				} else {
					Err(())
				}
			});
		if updated.is_ok() {
			for key in forgotten.iter().flatten() {
				StorageValueRef::persistent(key).clear();
			}
		}
	}

	/// Whether `job` is over: gone from the chain, or in a state it never leaves.
	fn ended(job: JobId) -> bool {
		Jobs::<T>::get(job).is_none_or(|info| info.state.has_ended())
	}
}
