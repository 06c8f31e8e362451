//! Benchmarks of every call, the authorize paths, assignment and finalization, each at its
//! worst: full queues, the most replicas, the last reveal that triggers verification.

use super::*;
use crate::types::{commit_message, reveal_message};
use alloc::vec::Vec;
use frame_support::{
	pallet_prelude::{Authorize, TransactionSource},
	traits::{fungible::Mutate, Get},
	BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use polkadot_sdk::{
	frame_benchmarking::v2::*,
	sp_core::H256,
	sp_runtime::{
		traits::{Bounded, Saturating},
		Perbill, RuntimeAppPublic,
	},
};
use tessera_primitives::{
	commitment_hash, Architecture, BackendClass, Cid, CommitmentPayload, HyperParameters, JobState,
	NodePublic,
};

fn funded<T: Config>(name: &'static str) -> T::AccountId {
	let who: T::AccountId = account(name, 0, 0);
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 4u32.into());
	who
}

/// A job whose every checkpoint is its last: one checkpoint.
fn spec() -> JobSpec {
	let cid = Cid::truncate_from(alloc::vec![b'b'; tessera_primitives::job::MAX_CID_LEN as usize]);
	let hidden = alloc::vec![u32::MAX; tessera_primitives::job::MAX_HIDDEN_LAYERS as usize];
	JobSpec {
		architecture: Architecture::Mlp { hidden: hidden.try_into().expect("exactly the bound") },
		base_weights: cid.clone(),
		base_digest: H256::repeat_byte(1),
		dataset: cid,
		hyper_parameters: HyperParameters {
			learning_rate: Perbill::from_percent(10),
			batch_size: 32,
			steps: 10,
			checkpoint_every: 10,
			seed: 1,
		},
		texts: Default::default(),
		trainer_build: H256::repeat_byte(2),
		backend: BackendClass::CpuReference,
	}
}

fn deadline<T: Config>() -> BlockNumberFor<T> {
	frame_system::Pallet::<T>::block_number() + 1_000u32.into()
}

/// Fills the assignment queue and the deadline's due list to one short of their bounds.
fn crowd<T: Config>(deadline: BlockNumberFor<T>) {
	let pending: Vec<JobId> =
		(0..T::MaxPendingJobs::get().saturating_sub(1)).map(|i| 1_000_000 + u64::from(i)).collect();
	Pending::<T>::put(BoundedVec::truncate_from(pending));
	let due: Vec<JobId> =
		(0..T::MaxDuePerBlock::get().saturating_sub(1)).map(|i| 2_000_000 + u64::from(i)).collect();
	Due::<T>::insert(deadline, BoundedVec::truncate_from(due));
}

/// A posted job with the most replicas, assigned to freshly registered trainers.
fn running_job<T: Config>() -> (JobId, Vec<(NodeId, NodePublic)>) {
	let requester = funded::<T>("requester");
	let replicas = T::MaxRedundancy::get();
	let job = Pallet::<T>::do_create_job(
		requester,
		spec(),
		T::MinBudget::get().saturating_mul(1_000u32.into()),
		replicas,
		deadline::<T>(),
	)
	.expect("a valid job");
	let trainers: Vec<_> = (0..u32::from(replicas)).map(T::BenchmarkHelper::trainer).collect();
	let nodes = BoundedVec::truncate_from(trainers.iter().map(|(node, _)| *node).collect());
	Pending::<T>::mutate(|pending| pending.retain(|pending| *pending != job));
	Pallet::<T>::start(job, nodes, frame_system::Pallet::<T>::block_number());
	(job, trainers)
}

fn payload(job: JobId, node: NodeId) -> CommitmentPayload {
	CommitmentPayload {
		job,
		checkpoint: 0,
		step: 10,
		loss_digest: H256::repeat_byte(3),
		gradient_digest: H256::repeat_byte(4),
		weights_digest: H256::repeat_byte(5),
		delta_root: H256::repeat_byte(6),
		state_cid: Cid::truncate_from(
			alloc::vec![b's'; tessera_primitives::job::MAX_CID_LEN as usize],
		),
		samples: 320,
		backend_class: BackendClass::CpuReference,
		node,
		compute_seconds: Some(3_600),
	}
}

const SALT: [u8; 32] = [7; 32];

fn commit_of(job: JobId, node: NodeId) -> Commit {
	Commit { job, checkpoint: 0, node, hash: commitment_hash(&payload(job, node), node, &SALT) }
}

fn reveal_of(job: JobId, node: NodeId) -> Reveal {
	Reveal { payload: payload(job, node), salt: SALT }
}

/// Every replica committed; all but the last revealed.
fn all_but_one_revealed<T: Config>() -> (JobId, (NodeId, NodePublic)) {
	let (job, trainers) = running_job::<T>();
	for (node, _) in &trainers {
		Pallet::<T>::do_commit(commit_of(job, *node)).expect("a due commit");
	}
	let (last, others) = trainers.split_last().expect("at least one replica");
	for (node, _) in others {
		Pallet::<T>::do_reveal(reveal_of(job, *node)).expect("a due reveal");
	}
	(job, last.clone())
}

fn accepted_job<T: Config>() -> JobId {
	let (job, (last, _)) = all_but_one_revealed::<T>();
	Pallet::<T>::do_reveal(reveal_of(job, last)).expect("the last reveal");
	job
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn create_job() {
		let requester = funded::<T>("requester");
		let deadline = deadline::<T>();
		crowd::<T>(deadline);
		let budget = T::MinBudget::get();

		#[extrinsic_call]
		_(RawOrigin::Signed(requester), spec(), budget, T::MaxRedundancy::get(), deadline);

		assert_eq!(Pending::<T>::get().len() as u32, T::MaxPendingJobs::get());
	}

	#[benchmark]
	fn cancel_job() {
		let requester = funded::<T>("requester");
		let deadline = deadline::<T>();
		crowd::<T>(deadline);
		let job =
			Pallet::<T>::do_create_job(requester.clone(), spec(), T::MinBudget::get(), 1, deadline)
				.expect("a valid job");

		#[extrinsic_call]
		_(RawOrigin::Signed(requester), job);

		assert_eq!(Jobs::<T>::get(job).map(|info| info.state), Some(JobState::Cancelled));
	}

	#[benchmark]
	fn assign_job() {
		let requester = funded::<T>("requester");
		for index in 0..u32::from(T::MaxRedundancy::get()) {
			T::BenchmarkHelper::trainer(index);
		}
		let job = Pallet::<T>::do_create_job(
			requester,
			spec(),
			T::MinBudget::get(),
			T::MaxRedundancy::get(),
			deadline::<T>(),
		)
		.expect("a valid job");
		let now = frame_system::Pallet::<T>::block_number();

		#[block]
		{
			Pallet::<T>::assign_pending(now);
		}

		assert!(Assignments::<T>::get(job).is_some(), "enough trainers were found");
	}

	#[benchmark]
	fn commit() {
		let (job, trainers) = running_job::<T>();
		let (node, key) = trainers[0].clone();
		let commitment = commit_of(job, node);
		let signature = key.sign(&commit_message(&commitment)).expect("the keystore signs");

		#[extrinsic_call]
		_(RawOrigin::Authorized, commitment, signature);

		assert_eq!(NextCheckpoint::<T>::get(job, node), 1);
	}

	#[benchmark]
	fn authorize_commit() -> Result<(), BenchmarkError> {
		let (job, trainers) = running_job::<T>();
		let (node, key) = trainers[0].clone();
		let commitment = commit_of(job, node);
		let signature = key.sign(&commit_message(&commitment)).expect("the keystore signs");
		let call = Call::<T>::commit { commit: commitment, signature };

		#[block]
		{
			call.authorize(TransactionSource::External)
				.ok_or("commit has authorize logic")?
				.map_err(|_| "a due commit is authorized")?;
		}

		Ok(())
	}

	/// The last reveal of the most replicas: it runs verification.
	#[benchmark]
	fn reveal() {
		let (job, (node, key)) = all_but_one_revealed::<T>();
		let opening = reveal_of(job, node);
		let signature = key.sign(&reveal_message(&opening)).expect("the keystore signs");

		#[extrinsic_call]
		_(RawOrigin::Authorized, opening, signature);

		assert_eq!(Jobs::<T>::get(job).map(|info| info.state), Some(JobState::Accepted));
	}

	#[benchmark]
	fn authorize_reveal() -> Result<(), BenchmarkError> {
		let (job, (node, key)) = all_but_one_revealed::<T>();
		let opening = reveal_of(job, node);
		let signature = key.sign(&reveal_message(&opening)).expect("the keystore signs");
		let call = Call::<T>::reveal { reveal: opening, signature };

		#[block]
		{
			call.authorize(TransactionSource::External)
				.ok_or("reveal has authorize logic")?
				.map_err(|_| "a due reveal is authorized")?;
		}

		Ok(())
	}

	#[benchmark]
	fn challenge() {
		let job = accepted_job::<T>();
		let challenger = funded::<T>("challenger");

		#[extrinsic_call]
		_(RawOrigin::Signed(challenger), job, 0);

		assert_eq!(Jobs::<T>::get(job).map(|info| info.state), Some(JobState::Disputed));
	}

	#[benchmark]
	fn set_challenge_window() {
		let blocks = T::DefaultChallengeWindow::get().saturating_add(1u32.into());

		#[extrinsic_call]
		_(RawOrigin::Root, blocks);

		assert_eq!(ChallengeWindow::<T>::get(), blocks);
	}

	/// Finalizing a job of `r` replicas that all agreed: every one is paid.
	#[benchmark]
	fn finalize(r: Linear<1, 5>) {
		let job = accepted_job::<T>();
		let ends = Jobs::<T>::get(job)
			.and_then(|info| info.result)
			.map(|result| result.challenge_ends)
			.expect("accepted");
		// Fewer replicas: keep the first `r`.
		Assignments::<T>::mutate(job, |replicas| {
			if let Some(replicas) = replicas {
				replicas.truncate(r as usize);
			}
		});
		Jobs::<T>::mutate(job, |info| {
			if let Some(info) = info {
				info.redundancy = r as u8;
			}
		});
		frame_system::Pallet::<T>::set_block_number(ends);

		#[block]
		{
			Pallet::<T>::process_due(ends);
		}

		assert_eq!(Jobs::<T>::get(job).map(|info| info.state), Some(JobState::Finalized));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_bench_ext(), crate::mock::Test);
}
