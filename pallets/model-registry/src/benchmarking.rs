//! Benchmarks of every call and of the job-outcome hooks, at their worst: longest names and
//! CIDs, the most inline text, votes up to the threshold.

use super::*;
use crate::types::{Voters, MAX_NAME_LEN};
use alloc::vec;
use frame_support::traits::{fungible::Mutate, EnsureOrigin, SortedMembers};
use frame_system::RawOrigin;
use polkadot_sdk::sp_runtime::{traits::Bounded, Perbill};
use polkadot_sdk::{frame_benchmarking::v2::*, sp_core::H256};
use tessera_primitives::{
	job::{MAX_CID_LEN, MAX_HIDDEN_LAYERS, MAX_TEXTS, MAX_TEXT_LEN},
	Architecture, BackendClass, HyperParameters, InlineTexts, JobOutcome, TrainedWeights,
};

fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, 0);
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 4u32.into());
	who
}

fn longest_name() -> Name {
	vec![b'n'; MAX_NAME_LEN as usize].try_into().expect("exactly the bound")
}

fn longest_cid(fill: u8) -> Cid {
	vec![fill; MAX_CID_LEN as usize].try_into().expect("exactly the bound")
}

fn largest_architecture() -> Architecture {
	let hidden = vec![u32::MAX; MAX_HIDDEN_LAYERS as usize];
	Architecture::Mlp { hidden: hidden.try_into().expect("exactly the bound") }
}

fn most_text() -> InlineTexts {
	let text: alloc::vec::Vec<u8> = vec![b't'; MAX_TEXT_LEN as usize];
	vec![text.try_into().expect("exactly the bound"); MAX_TEXTS as usize]
		.try_into()
		.expect("exactly the bound")
}

fn hyper_parameters() -> HyperParameters {
	HyperParameters {
		learning_rate: Perbill::from_percent(1),
		batch_size: 32,
		steps: 1_000,
		checkpoint_every: 100,
		seed: 1,
		optimizer: tessera_primitives::Optimizer::Sgd,
	}
}

/// The approvers that vote in the benchmarks: enough to meet the threshold.
fn approvers<T: Config>() -> alloc::vec::Vec<T::AccountId> {
	(0..ApprovalThreshold::<T>::get())
		.map(|index| {
			let approver: T::AccountId = account("approver", index, 0);
			if !T::Approvers::contains(&approver) {
				T::Approvers::add(&approver);
			}
			approver
		})
		.collect()
}

/// A model with the longest fields, owned by a DID that a funded account controls (the
/// owner check reads the DID); returns the model and the account.
fn model<T: Config>() -> (ModelId, T::AccountId) {
	let owner = funded::<T>("owner", 0);
	let did = T::Dids::controlled_by(&owner);
	let id = NextModelId::<T>::get();
	Pallet::<T>::do_register_model(
		owner.clone(),
		Some(did),
		longest_name(),
		longest_name(),
		longest_cid(1),
		longest_cid(2),
		H256::repeat_byte(1),
	)
	.expect("registration succeeds");
	(id, owner)
}

/// An approved dataset; returns its id.
fn dataset<T: Config>() -> DatasetId {
	Pallet::<T>::insert_dataset(Dataset {
		cid: longest_cid(3),
		shards: 64,
		licence: longest_name(),
		owner: tessera_primitives::DidId([5; 32]),
		consent: tessera_primitives::DatasetConsent::Granted,
	})
	.expect("the benchmark's dataset is approved once")
}

/// A training proposal on `model` whose job `job` is running, as approval leaves it.
fn training<T: Config>(model: ModelId, job: tessera_primitives::JobId) -> ProposalId {
	let requester = funded::<T>("owner", 0);
	let dataset = dataset::<T>();
	let kind = Pallet::<T>::training_kind(
		&requester,
		model,
		H256::repeat_byte(1),
		largest_architecture(),
		dataset,
		hyper_parameters(),
		most_text(),
		H256::repeat_byte(9),
		BackendClass::CpuReference,
		1_000u32.into(),
		5,
		100u32.into(),
	)
	.expect("a valid request");
	Pallet::<T>::do_propose(requester, kind).expect("the requester can pay the deposit");
	let id = NextProposalId::<T>::get() - 1;
	Proposals::<T>::mutate(id, |proposal| {
		proposal.as_mut().expect("just proposed").status = ProposalStatus::Training(job);
	});
	TrainingOf::<T>::insert(model, id);
	ProposalOfJob::<T>::insert(job, id);
	id
}

/// A dataset proposal with every vote but the deciding one cast on the `approve` side.
fn nearly_decided<T: Config>(approve: bool) -> (ProposalId, T::AccountId) {
	let voters = approvers::<T>();
	let proposer = funded::<T>("proposer", 0);
	Pallet::<T>::do_propose(
		proposer,
		ProposalKind::AddDataset(Dataset {
			cid: longest_cid(4),
			shards: 64,
			licence: longest_name(),
			owner: tessera_primitives::DidId([6; 32]),
			consent: tessera_primitives::DatasetConsent::Granted,
		}),
	)
	.expect("the proposer can pay the deposit");
	let id = NextProposalId::<T>::get() - 1;
	let (last, earlier) = voters.split_last().expect("the threshold is at least one");
	let earlier: Voters<T::AccountId> = earlier.to_vec().try_into().expect("within the bound");
	Proposals::<T>::mutate(id, |proposal| {
		let proposal = proposal.as_mut().expect("just proposed");
		if approve {
			proposal.ayes = earlier;
		} else {
			proposal.nays = earlier;
		}
	});
	(id, last.clone())
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register_model() {
		let owner = funded::<T>("owner", 0);
		let id = NextModelId::<T>::get();

		#[extrinsic_call]
		_(
			RawOrigin::Signed(owner),
			None,
			longest_name(),
			longest_name(),
			longest_cid(1),
			longest_cid(2),
			H256::repeat_byte(1),
		);

		assert!(Models::<T>::contains_key(id));
	}

	#[benchmark]
	fn deprecate_version() {
		let (model, owner) = model::<T>();
		training::<T>(model, 7);
		Pallet::<T>::activate(
			7,
			&TrainedWeights { weights: longest_cid(8), digest: H256::repeat_byte(2) },
		);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), model, 0);

		assert_eq!(Versions::<T>::get(model, 0).map(|v| v.status), Some(VersionStatus::Deprecated));
	}

	/// Proposed by the owner of a model owned by a DID, which is read.
	#[benchmark]
	fn propose_training() {
		let (model, requester) = model::<T>();
		let dataset = dataset::<T>();
		let id = NextProposalId::<T>::get();

		#[extrinsic_call]
		_(
			RawOrigin::Signed(requester),
			model,
			H256::repeat_byte(1),
			largest_architecture(),
			dataset,
			hyper_parameters(),
			most_text(),
			H256::repeat_byte(9),
			BackendClass::CpuReference,
			1_000u32.into(),
			5,
			100u32.into(),
		);

		assert!(Proposals::<T>::contains_key(id));
	}

	#[benchmark]
	fn propose_dataset() {
		let proposer = funded::<T>("proposer", 0);
		let owner = T::Dids::controlled_by(&proposer);
		let id = NextProposalId::<T>::get();

		#[extrinsic_call]
		_(
			RawOrigin::Signed(proposer),
			longest_cid(4),
			64,
			longest_name(),
			owner,
			tessera_primitives::DatasetConsent::Granted,
		);

		assert!(Proposals::<T>::contains_key(id));
	}

	#[benchmark]
	fn propose_approval_threshold() {
		let voters = approvers::<T>();
		let proposer = funded::<T>("proposer", 0);
		let id = NextProposalId::<T>::get();

		#[extrinsic_call]
		_(RawOrigin::Signed(proposer), voters.len() as u32);

		assert!(Proposals::<T>::contains_key(id));
	}

	#[benchmark]
	fn set_approval_threshold() -> Result<(), BenchmarkError> {
		let voters = approvers::<T>();
		let origin =
			T::ThresholdOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, voters.len() as u32);

		assert_eq!(ApprovalThreshold::<T>::get(), voters.len() as u32);
		Ok(())
	}

	#[benchmark]
	fn set_training_policy() {
		let (model, owner) = model::<T>();

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), model, TrainingPolicy::Anyone);

		assert_eq!(Models::<T>::get(model).map(|m| m.training), Some(TrainingPolicy::Anyone));
	}

	/// The deciding approval, which carries the proposal out.
	#[benchmark]
	fn approve() {
		let (id, approver) = nearly_decided::<T>(true);
		let dataset = NextDatasetId::<T>::get();

		#[extrinsic_call]
		_(RawOrigin::Signed(approver), id);

		assert!(Datasets::<T>::contains_key(dataset));
	}

	/// The deciding rejection, which forfeits the deposit.
	#[benchmark]
	fn reject() {
		let (id, approver) = nearly_decided::<T>(false);
		// Rejection decides once too few approvers are left to approve.
		let voters = T::Approvers::count() as u32;
		let threshold = ApprovalThreshold::<T>::get();
		for index in 0..voters.saturating_sub(threshold) {
			let extra: T::AccountId = account("extra-approver", index, 0);
			Proposals::<T>::mutate(id, |proposal| {
				let _ = proposal.as_mut().expect("open").nays.try_push(extra);
			});
		}

		#[extrinsic_call]
		_(RawOrigin::Signed(approver), id);

		assert!(!Proposals::<T>::contains_key(id));
	}

	#[benchmark]
	fn close() {
		let (id, _) = nearly_decided::<T>(true);
		let ends = Proposals::<T>::get(id).expect("open").voting_ends;
		frame_system::Pallet::<T>::set_block_number(ends);
		let caller = funded::<T>("caller", 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id);

		assert!(!Proposals::<T>::contains_key(id));
	}

	#[benchmark]
	fn job_finalized() {
		let (model, _) = model::<T>();
		training::<T>(model, 7);
		let weights = TrainedWeights { weights: longest_cid(8), digest: H256::repeat_byte(2) };

		#[block]
		{
			Pallet::<T>::finalized(7, &weights);
		}

		assert_eq!(Models::<T>::get(model).map(|m| m.current), Some(1));
	}

	#[benchmark]
	fn job_failed() {
		let (model, _) = model::<T>();
		let proposal = training::<T>(model, 7);

		#[block]
		{
			Pallet::<T>::failed(7);
		}

		assert!(!Proposals::<T>::contains_key(proposal));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
