//! What proof of compute offers other pallets: the traps pallet's view of jobs
//! ([`TrapJobs`]) and job creation for the model registry's approved proposals
//! ([`JobCreator`]).

use crate::{pallet::*, types::*, weights::WeightInfo, BalanceOf, TrapJob, TrapJobs};
use alloc::vec::Vec;
use codec::Encode;
use polkadot_sdk::{
	frame_support::{ensure, pallet_prelude::*},
	frame_system::{self, pallet_prelude::BlockNumberFor},
	sp_core::H256,
	sp_runtime::traits::{Saturating, Zero},
};
use tessera_primitives::{
	ConsentInspect, JobCreator, JobId, JobSpec, JobState, NodeId, Outcome, ReputationSink,
	SlashReason, Slasher, TrainedWeights,
};

/// What the traps pallet sees of jobs, how the chain posts a trap job (the treasury's, through
/// `create_job`'s path) and how a sprung trap settles one: the conviction and payment paths a
/// dispute's end takes.
impl<T: Config> TrapJobs<T::AccountId, BlockNumberFor<T>> for Pallet<T> {
	fn job(job: JobId) -> Option<TrapJob> {
		Jobs::<T>::get(job).map(|info| TrapJob {
			reproducible: !Self::measured(&info),
			state: info.state,
			checkpoints: info.checkpoints,
			agreed: info.result.map(|result| TrainedWeights {
				weights: result.state_cid,
				digest: result.weights_digest,
			}),
		})
	}

	fn rerunnable(job: JobId) -> bool {
		Jobs::<T>::get(job).is_some_and(|info| {
			matches!(info.state, JobState::Accepted | JobState::Finalized)
				&& !Self::measured(&info)
				&& !info.is_federated()
		})
	}

	fn trap_run(task: crate::traps::TrapTask) -> Option<crate::traits::TrapRun> {
		let mut spec = JobSpecs::<T>::get(task.source)?;
		let source_seed = spec.hyper_parameters.seed;
		spec.hyper_parameters.seed = task.seed;
		let spec_hash = H256(polkadot_sdk::sp_io::hashing::blake2_256(&spec.encode()));
		Some(crate::traits::TrapRun { source_seed, spec_hash })
	}

	fn post_trap(task: crate::traps::TrapTask) -> Result<JobId, DispatchError> {
		let source = Jobs::<T>::get(task.source).ok_or(Error::<T>::UnknownJob)?;
		let mut spec = JobSpecs::<T>::get(task.source).ok_or(Error::<T>::UnknownJob)?;
		spec.hyper_parameters.seed = task.seed;
		let duration = source.deadline.saturating_sub(source.created);
		let deadline = frame_system::Pallet::<T>::block_number().saturating_add(duration);
		<Self as JobCreator<_, _, _>>::create_job(
			&T::Treasury::get(),
			spec,
			source.budget,
			source.redundancy,
			deadline,
		)
	}

	fn posting_weight() -> Weight {
		// The re-run job's record and spec, then a job's creation.
		T::WeightInfo::create_job().saturating_add(T::DbWeight::get().reads(3))
	}

	fn reveals(
		job: JobId,
		checkpoint: u32,
	) -> Vec<(NodeId, Option<tessera_primitives::CommitmentPayload>)> {
		Assignments::<T>::get(job)
			.unwrap_or_default()
			.into_iter()
			.map(|node| (node, Reveals::<T>::get((job, node, checkpoint))))
			.collect()
	}

	fn max_job_duration() -> BlockNumberFor<T> {
		T::MaxJobDuration::get()
	}

	fn settle_sprung_trap(job: JobId, answer: TrainedWeights, caught: &[NodeId]) -> DispatchResult {
		let mut info = Jobs::<T>::get(job).ok_or(Error::<T>::UnknownJob)?;
		ensure!(info.state == JobState::Accepted, Error::<T>::WrongState);
		for node in caught {
			let reason = SlashReason::TrapFailure;
			let amount = T::Slasher::slash(*node, reason, None).unwrap_or_else(|_| Zero::zero());
			T::Reputation::report(*node, Outcome::ProofFailed);
			Self::deposit_event(Event::ReplicaConvicted { job, node: *node, reason, amount });
		}
		info.result = Some(AgreedResult {
			weights_digest: answer.digest,
			state_cid: answer.weights,
			challenge_ends: frame_system::Pallet::<T>::block_number(),
		});
		// The treasury posted the job: what the caught replicas would have earned goes back
		// to it with the rest of the budget, and nobody is paid back anything else.
		Self::pay(job, info, caught, JobState::Finalized);
		Ok(())
	}

	fn settlement_weight() -> Weight {
		Self::ending_weight(T::MaxRedundancy::get())
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn accepted_job(requester: T::AccountId) -> Result<JobId, DispatchError> {
		crate::benchmarking::accepted_job_of::<T>(requester)
	}
}

impl<T: Config> JobCreator<T::AccountId, BalanceOf<T>, BlockNumberFor<T>> for Pallet<T> {
	fn create_job(
		requester: &T::AccountId,
		spec: JobSpec,
		budget: BalanceOf<T>,
		redundancy: u8,
		deadline: BlockNumberFor<T>,
	) -> Result<JobId, DispatchError> {
		// Other pallets go on when a job is refused (an approved proposal whose proposer
		// cannot pay is closed): nothing of a refused job may stay behind.
		polkadot_sdk::frame_support::storage::with_storage_layer(|| {
			Self::do_create_job(
				requester.clone(),
				spec,
				budget,
				redundancy,
				deadline,
				JobKind::Replicated,
				None,
			)
		})
	}
	fn consent_check_weight() -> Weight {
		T::Consent::some_grant_allows_weight()
	}
}
