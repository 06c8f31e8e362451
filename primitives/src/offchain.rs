//! What every off-chain duty of a node key shares. Tessera's pallets each give the node keys
//! in the local keystore work to do in their off-chain workers — heartbeats, training and
//! its commitments, panel verdicts, availability checks, aggregation — and every duty ends
//! in an authorized transaction pooled for a later block: found the same way (the local keys'
//! nodes and what the chain lists for each), resent by one rule, failing for one set of
//! reasons.

use crate::{trainer_api::WireError, NodeId, NodePublic};
use alloc::vec::Vec;
use polkadot_sdk::sp_runtime::{traits::Saturating, RuntimeAppPublic};

/// Blocks to wait for a pooled transaction to land before sending it again: one to land in,
/// and room for a block the pool was slow to take it into. The pool's word is not proof that
/// it will land: the fork-aware pool answers a local submission `Ok` even when the view it
/// validated it at refused it and it is gone (`submit_local` of sc-transaction-pool 48), and
/// a worker that runs while the pool still builds the view of the block just imported is
/// validated at the block before. So the wait is kept short; a duplicate that does land is
/// refused by the call as stale, costing its sender nothing.
pub const RESEND_AFTER_BLOCKS: u32 = 3;

/// Whether something pooled at `sent` may still land at `now`, so that sending it again
/// would only duplicate it.
pub fn sent_recently<BlockNumber: Saturating + PartialOrd + From<u32> + Copy>(
	sent: Option<BlockNumber>,
	now: BlockNumber,
) -> bool {
	sent.is_some_and(|at| now < at.saturating_add(RESEND_AFTER_BLOCKS.into()))
}

/// The duties of the node keys in the local keystore: for each key `node_of_key` knows a
/// node of, and each item `items` lists for that node, `(node, key, item)` — at most `limit`
/// in all, so that one worker run stays within its time. Run `turn` (the block number) takes
/// the `turn`-th window of `limit` duties, round and round ([`window_of_turn`]): a node
/// operator with more keys and jobs than one run takes has every duty served once every few
/// blocks, not only the first `limit` of them while the rest miss their commit phases.
pub fn local_duties<I: Iterator>(
	node_of_key: impl Fn(&NodePublic) -> Option<NodeId>,
	items: impl Fn(NodeId) -> I,
	limit: usize,
	turn: u32,
) -> Vec<(NodeId, NodePublic, I::Item)> {
	let duties = NodePublic::all()
		.into_iter()
		.filter_map(|key| node_of_key(&key).map(|node| (node, key)))
		.flat_map(|(node, key)| items(node).map(move |item| (node, key.clone(), item)))
		.collect();
	window_of_turn(duties, limit, turn)
}

/// The `turn`-th window of `limit` of `all`, wrapping round at its end; all of them when they
/// are no more than `limit`.
pub fn window_of_turn<D>(mut all: Vec<D>, limit: usize, turn: u32) -> Vec<D> {
	if all.len() > limit && limit > 0 {
		let windows = all.len().div_ceil(limit);
		all.rotate_left((turn as usize % windows).saturating_mul(limit));
	}
	all.truncate(limit);
	all
}

/// Why a worker run did not finish a duty; it is tried again in a later block.
#[derive(Debug, PartialEq)]
pub enum DutyError {
	/// Another run holds the duty (overlapping runs, one per imported block, forks included).
	Locked,
	/// The trainer could not be reached in time.
	Unreachable,
	/// The trainer answered with a status other than 2xx.
	Status(u16),
	/// The trainer's answer was not what its API promises.
	BadResponse,
	/// A job or the trainer's report cannot cross between chain and trainer.
	Wire(WireError),
	/// The keystore could not sign with the node key.
	Signing,
	/// The transaction pool refused the transaction.
	Pool,
	/// The checked node said nowhere where it serves its content.
	NoEndpoint,
	/// The trainer is still computing what was asked.
	Pending,
	/// The trainer's run of a job failed before it reached the checkpoint asked for.
	RunFailed,
	/// The trainer token stored for the node key is not one a header can carry.
	BadToken,
}

impl From<WireError> for DutyError {
	fn from(error: WireError) -> Self {
		DutyError::Wire(error)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn duties_beyond_one_runs_limit_are_not_starved() {
		// Twenty duties, eight a run: every one is served within three runs, runs take
		// no more than eight, and the fourth run starts over.
		let all = || (0..20u32).collect::<Vec<_>>();
		let runs: Vec<Vec<u32>> = (0..3).map(|turn| window_of_turn(all(), 8, turn)).collect();
		assert!(runs.iter().all(|run| run.len() == 8));
		let mut served: Vec<u32> = runs.concat();
		served.sort();
		served.dedup();
		assert_eq!(served, (0..20).collect::<Vec<_>>());
		assert_eq!(window_of_turn(all(), 8, 3), runs[0]);
		// A list that fits one run is taken whole, whatever the turn.
		assert_eq!(window_of_turn((0..5u32).collect(), 8, 7), (0..5).collect::<Vec<_>>());
		assert!(window_of_turn(all(), 0, 1).is_empty());
	}

	#[test]
	fn something_pooled_is_not_sent_again_until_it_had_its_blocks_to_land() {
		assert!(!sent_recently::<u32>(None, 10));
		for now in 10..10 + RESEND_AFTER_BLOCKS {
			assert!(sent_recently(Some(10u32), now), "block {now}");
		}
		assert!(!sent_recently(Some(10u32), 10 + RESEND_AFTER_BLOCKS));
	}
}
