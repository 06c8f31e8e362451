//! Behaviour of the model registry: models, proposals and votes, jobs ending, datasets.

use crate::{
	mock::*, ApprovalThreshold, Datasets, Error, Event, HoldReason, Models, Owner, ProposalKind,
	ProposalStatus, Proposals, TrainingOf, TrainingPolicy, VersionStatus, Versions,
};
use polkadot_sdk::{
	frame_support::{
		assert_noop, assert_ok,
		traits::{fungible::InspectHold, ChangeMembers},
	},
	sp_runtime::{DispatchError, Perbill},
};
use tessera_primitives::{
	Architecture, BackendClass, DatasetConsent, HyperParameters, JobOutcome, TrainedWeights,
	TrainingInputs,
};

const MODEL: u32 = 0;
const DATASET: u32 = 0;

fn held(who: AccountId, reason: HoldReason) -> Balance {
	Balances::balance_on_hold(&reason.into(), &who)
}

fn architecture() -> Architecture {
	Architecture::Mlp { hidden: vec![64].try_into().unwrap() }
}

fn hyper_parameters() -> HyperParameters {
	HyperParameters {
		learning_rate: Perbill::from_parts(10_000_000),
		batch_size: 32,
		steps: 200,
		checkpoint_every: 50,
		seed: 7,
		optimizer: tessera_primitives::Optimizer::Sgd,
	}
}

fn propose(base_digest: polkadot_sdk::sp_core::H256) -> polkadot_sdk::sp_runtime::DispatchResult {
	propose_as(REQUESTER, MODEL, base_digest)
}

/// `who` proposes training `model` from the version of `base_digest` on the genesis dataset.
fn propose_as(
	who: AccountId,
	model: u32,
	base_digest: polkadot_sdk::sp_core::H256,
) -> polkadot_sdk::sp_runtime::DispatchResult {
	ModelRegistry::propose_training(
		RuntimeOrigin::signed(who),
		model,
		base_digest,
		architecture(),
		DATASET,
		hyper_parameters(),
		Default::default(),
		digest(9),
		BackendClass::CpuReference,
		1_000,
		3,
		100,
	)
}

fn vote(approver: AccountId, proposal: u32, approve: bool) {
	if approve {
		assert_ok!(ModelRegistry::approve(RuntimeOrigin::signed(approver), proposal));
	} else {
		assert_ok!(ModelRegistry::reject(RuntimeOrigin::signed(approver), proposal));
	}
}

/// Proposes training from the current version and has two approvers pass it; returns the
/// job.
fn start_training() -> u64 {
	let current = Models::<Test>::get(MODEL).expect("the genesis model").current;
	assert_ok!(propose(Versions::<Test>::get(MODEL, current).expect("current").digest));
	let proposal = crate::NextProposalId::<Test>::get() - 1;
	vote(APPROVER_ACCOUNTS[0], proposal, true);
	vote(APPROVER_ACCOUNTS[1], proposal, true);
	99 + RequestedJobs::get().len() as u64
}

#[test]
fn genesis_starts_with_a_model_and_a_dataset() {
	test(|| {
		let model = Models::<Test>::get(MODEL).expect("a genesis model");
		assert_eq!(model.owner, Owner::Account(OWNER));
		assert_eq!((model.current, model.versions, model.deposit), (0, 1, None));
		let root = Versions::<Test>::get(MODEL, 0).expect("a root version");
		assert_eq!(
			(root.digest, root.parent, root.status),
			(digest(1), None, VersionStatus::Active)
		);
		assert_eq!(Datasets::<Test>::get(DATASET).expect("a dataset").cid, cid("bafy-digits"));
	});
}

#[test]
fn register_model_holds_the_deposit_and_records_the_root_version() {
	test(|| {
		assert_ok!(ModelRegistry::register_model(
			RuntimeOrigin::signed(OWNER),
			Some(OWNER_DID),
			b"cnn".to_vec().try_into().unwrap(),
			b"cnn".to_vec().try_into().unwrap(),
			cid("meta"),
			cid("weights"),
			digest(2),
		));
		System::assert_last_event(
			Event::ModelRegistered { model: 1, owner: Owner::Did(OWNER_DID), digest: digest(2) }
				.into(),
		);
		assert_eq!(held(OWNER, HoldReason::ModelDeposit), MODEL_DEPOSIT);
		assert_eq!(Versions::<Test>::get(1, 0).map(|v| v.digest), Some(digest(2)));
		assert_noop!(
			ModelRegistry::register_model(
				RuntimeOrigin::signed(REQUESTER),
				Some(OWNER_DID),
				Default::default(),
				Default::default(),
				cid("meta"),
				cid("weights"),
				digest(3),
			),
			Error::<Test>::NotOwner
		);
	});
}

#[test]
fn a_proposal_on_a_stale_base_digest_is_refused() {
	test(|| {
		assert_noop!(propose(digest(8)), Error::<Test>::StaleBaseDigest);
	});
}

#[test]
fn a_proposal_needs_a_model_an_approved_dataset_and_sane_redundancy() {
	test(|| {
		let with = |model, dataset, redundancy| {
			ModelRegistry::propose_training(
				RuntimeOrigin::signed(REQUESTER),
				model,
				digest(1),
				architecture(),
				dataset,
				hyper_parameters(),
				Default::default(),
				digest(9),
				BackendClass::CpuReference,
				1_000,
				redundancy,
				100,
			)
		};
		assert_noop!(with(7, DATASET, 3), Error::<Test>::UnknownModel);
		assert_noop!(with(MODEL, 7, 3), Error::<Test>::UnknownDataset);
		assert_noop!(with(MODEL, DATASET, 0), Error::<Test>::InvalidRedundancy);
		assert_noop!(with(MODEL, DATASET, 6), Error::<Test>::InvalidRedundancy);
	});
}

#[test]
fn approvals_up_to_the_threshold_start_the_job() {
	test(|| {
		assert_ok!(propose(digest(1)));
		assert_eq!(held(REQUESTER, HoldReason::ProposalDeposit), PROPOSAL_DEPOSIT);
		vote(APPROVER_ACCOUNTS[0], 0, true);
		assert!(RequestedJobs::get().is_empty(), "one approval is not enough");
		vote(APPROVER_ACCOUNTS[1], 0, true);

		let jobs = RequestedJobs::get();
		assert_eq!(jobs.len(), 1);
		let job = &jobs[0];
		assert_eq!(
			(job.requester, job.budget, job.redundancy, job.deadline),
			(REQUESTER, 1_000, 3, 101)
		);
		assert_eq!(job.spec.base_weights, cid("bafy-weights-0"));
		assert_eq!(job.spec.base_digest, digest(1));
		assert_eq!(job.spec.dataset, cid("bafy-digits"));
		System::assert_last_event(
			Event::TrainingStarted { proposal: 0, model: MODEL, job: 100 }.into(),
		);
		assert_eq!(
			Proposals::<Test>::get(0).map(|p| p.status),
			Some(ProposalStatus::Training(100))
		);
		assert_eq!(
			Models::<Test>::get(MODEL).unwrap().current,
			0,
			"nothing changes before the job ends"
		);
	});
}

#[test]
fn an_approver_votes_once_and_others_not_at_all() {
	test(|| {
		assert_ok!(propose(digest(1)));
		vote(APPROVER_ACCOUNTS[0], 0, true);
		assert_noop!(
			ModelRegistry::approve(RuntimeOrigin::signed(APPROVER_ACCOUNTS[0]), 0),
			Error::<Test>::AlreadyVoted
		);
		assert_noop!(
			ModelRegistry::reject(RuntimeOrigin::signed(APPROVER_ACCOUNTS[0]), 0),
			Error::<Test>::AlreadyVoted
		);
		assert_noop!(
			ModelRegistry::approve(RuntimeOrigin::signed(REQUESTER), 0),
			Error::<Test>::NotApprover
		);
		assert_noop!(
			ModelRegistry::approve(RuntimeOrigin::signed(APPROVER_ACCOUNTS[1]), 9),
			Error::<Test>::UnknownProposal
		);
	});
}

#[test]
fn enough_rejections_decide_and_forfeit_the_deposit() {
	test(|| {
		assert_ok!(propose(digest(1)));
		vote(APPROVER_ACCOUNTS[0], 0, false);
		assert!(Proposals::<Test>::contains_key(0), "two approvals are still possible");
		vote(APPROVER_ACCOUNTS[1], 0, false);
		System::assert_last_event(Event::ProposalRejected { proposal: 0 }.into());
		assert!(!Proposals::<Test>::contains_key(0));
		assert_eq!(held(REQUESTER, HoldReason::ProposalDeposit), 0);
		assert_eq!(Balances::free_balance(REQUESTER), INITIAL_BALANCE - PROPOSAL_DEPOSIT);
		assert_eq!(Balances::free_balance(TREASURY), 1 + PROPOSAL_DEPOSIT);
	});
}

#[test]
fn an_expired_proposal_takes_no_votes_and_is_closed_with_its_deposit_back() {
	test(|| {
		assert_ok!(propose(digest(1)));
		assert_noop!(
			ModelRegistry::close(RuntimeOrigin::signed(OWNER), 0),
			Error::<Test>::VotingOpen
		);
		System::set_block_number(1 + VOTING);
		assert_noop!(
			ModelRegistry::approve(RuntimeOrigin::signed(APPROVER_ACCOUNTS[0]), 0),
			Error::<Test>::VotingEnded
		);
		assert_ok!(ModelRegistry::close(RuntimeOrigin::signed(OWNER), 0));
		System::assert_last_event(Event::ProposalExpired { proposal: 0 }.into());
		assert_eq!(held(REQUESTER, HoldReason::ProposalDeposit), 0);
		assert_eq!(Balances::free_balance(REQUESTER), INITIAL_BALANCE);
	});
}

#[test]
fn a_version_a_job_produced_names_that_job_to_fetch_it_from_and_the_root_names_none() {
	test(|| {
		let job = start_training();
		let root = Versions::<Test>::get(MODEL, 0).unwrap();
		let root = TrainedWeights { weights: root.weights, digest: root.digest };
		assert_eq!(ModelRegistry::producer(&root), None);
		let trained = TrainedWeights { weights: cid("bafy-weights-1"), digest: digest(2) };
		assert_eq!(ModelRegistry::producer(&trained), None, "not a version before the job ends");
		ModelRegistry::finalized(job, &trained);
		assert_eq!(ModelRegistry::producer(&trained), Some(job));
	});
}

#[test]
fn a_finalized_job_activates_the_new_version_with_both_digests() {
	test(|| {
		let job = start_training();
		let weights = TrainedWeights { weights: cid("bafy-weights-1"), digest: digest(2) };
		ModelRegistry::finalized(job, &weights);

		System::assert_last_event(
			Event::VersionActivated {
				model: MODEL,
				version: 1,
				job,
				weights: cid("bafy-weights-1"),
				model_digest_before: digest(1),
				model_digest_after: digest(2),
			}
			.into(),
		);
		let model = Models::<Test>::get(MODEL).unwrap();
		assert_eq!((model.current, model.versions), (1, 2));
		let version = Versions::<Test>::get(MODEL, 1).unwrap();
		assert_eq!((version.parent, version.produced_by_job), (Some(0), Some(job)));
		assert_eq!(ModelRegistry::lineage(MODEL, 1), vec![1, 0]);
		assert_eq!(
			Versions::<Test>::get(MODEL, 0).unwrap().status,
			VersionStatus::Migrating { until: 1 + MIGRATION }
		);
		System::set_block_number(1 + MIGRATION);
		assert_eq!(ModelRegistry::versions_of(MODEL)[0].1.status, VersionStatus::Deprecated);
		assert_eq!(held(REQUESTER, HoldReason::ProposalDeposit), 0, "the deposit came back");
		assert!(!Proposals::<Test>::contains_key(0));
		assert!(!TrainingOf::<Test>::contains_key(MODEL));

		// The next proposal must name the new digest.
		assert_noop!(propose(digest(1)), Error::<Test>::StaleBaseDigest);
		assert_ok!(propose(digest(2)));
	});
}

#[test]
fn a_failed_job_leaves_the_model_unchanged() {
	test(|| {
		let job = start_training();
		ModelRegistry::failed(job);
		System::assert_last_event(Event::TrainingFailed { proposal: 0, model: MODEL, job }.into());
		let model = Models::<Test>::get(MODEL).unwrap();
		assert_eq!((model.current, model.versions), (0, 1));
		assert_eq!(Versions::<Test>::get(MODEL, 0).unwrap().status, VersionStatus::Active);
		assert_eq!(held(REQUESTER, HoldReason::ProposalDeposit), 0);
		// A later outcome of the same job changes nothing either.
		ModelRegistry::finalized(job, &TrainedWeights { weights: cid("late"), digest: digest(3) });
		assert_eq!(Models::<Test>::get(MODEL).unwrap().current, 0);
	});
}

#[test]
fn a_second_job_on_a_training_model_fails_and_returns_its_deposit() {
	test(|| {
		start_training();
		assert_ok!(propose(digest(1)));
		vote(APPROVER_ACCOUNTS[0], 1, true);
		vote(APPROVER_ACCOUNTS[1], 1, true);
		System::assert_last_event(
			Event::ProposalFailed { proposal: 1, error: Error::<Test>::ModelBusy.into() }.into(),
		);
		assert_eq!(RequestedJobs::get().len(), 1);
		assert_eq!(
			held(REQUESTER, HoldReason::ProposalDeposit),
			PROPOSAL_DEPOSIT,
			"only the first"
		);
	});
}

#[test]
fn a_job_that_cannot_start_fails_the_proposal() {
	test(|| {
		RefuseJobs::set(true);
		assert_ok!(propose(digest(1)));
		vote(APPROVER_ACCOUNTS[0], 0, true);
		vote(APPROVER_ACCOUNTS[1], 0, true);
		// The reason's text is not kept on chain, only that the job creator refused.
		assert!(matches!(
			System::events().last().map(|record| record.event.clone()),
			Some(RuntimeEvent::ModelRegistry(Event::ProposalFailed {
				proposal: 0,
				error: DispatchError::Other(_)
			}))
		));
		assert!(!Proposals::<Test>::contains_key(0));
		assert_eq!(held(REQUESTER, HoldReason::ProposalDeposit), 0);
	});
}

#[test]
fn a_model_has_at_most_max_versions() {
	test(|| {
		for version in 1..MAX_VERSIONS {
			let job = start_training();
			let weights = TrainedWeights { weights: cid("w"), digest: digest(1 + version as u8) };
			ModelRegistry::finalized(job, &weights);
		}
		assert_eq!(ModelRegistry::lineage(MODEL, MAX_VERSIONS - 1), vec![3, 2, 1, 0]);
		assert_noop!(propose(digest(MAX_VERSIONS as u8)), Error::<Test>::TooManyVersions);
	});
}

#[test]
fn datasets_enter_and_leave_by_vote() {
	test(|| {
		assert_ok!(ModelRegistry::propose_dataset(
			RuntimeOrigin::signed(OWNER),
			cid("bafy-iris"),
			1,
			b"CC-BY-4.0".to_vec().try_into().unwrap(),
			OWNER_DID,
			DatasetConsent::Granted,
		));
		vote(APPROVER_ACCOUNTS[0], 0, true);
		vote(APPROVER_ACCOUNTS[2], 0, true);
		System::assert_has_event(
			Event::DatasetApproved { dataset: 1, cid: cid("bafy-iris"), owner: OWNER_DID }.into(),
		);
		assert_eq!(Datasets::<Test>::get(1).unwrap().consent, DatasetConsent::Granted);
		assert_eq!(held(OWNER, HoldReason::ProposalDeposit), 0);
		assert_eq!(Balances::free_balance(OWNER), INITIAL_BALANCE);

		assert_ok!(ModelRegistry::propose_dataset_removal(RuntimeOrigin::signed(OWNER), 1));
		vote(APPROVER_ACCOUNTS[1], 1, true);
		vote(APPROVER_ACCOUNTS[2], 1, true);
		System::assert_has_event(Event::DatasetRemoved { dataset: 1 }.into());
		assert!(!Datasets::<Test>::contains_key(1));
		assert_noop!(
			ModelRegistry::propose_dataset_removal(RuntimeOrigin::signed(OWNER), 1),
			Error::<Test>::UnknownDataset
		);
	});
}

#[test]
fn a_rejected_dataset_forfeits_its_deposit() {
	test(|| {
		assert_ok!(ModelRegistry::propose_dataset(
			RuntimeOrigin::signed(OWNER),
			cid("bafy-spam"),
			1,
			Default::default(),
			OWNER_DID,
			DatasetConsent::Public,
		));
		vote(APPROVER_ACCOUNTS[0], 0, false);
		vote(APPROVER_ACCOUNTS[1], 0, false);
		assert!(matches!(Datasets::<Test>::get(1), None));
		assert_eq!(Balances::free_balance(TREASURY), 1 + PROPOSAL_DEPOSIT);
		assert_eq!(held(OWNER, HoldReason::ProposalDeposit), 0);
		assert_eq!(Balances::free_balance(OWNER), INITIAL_BALANCE - PROPOSAL_DEPOSIT);
	});
}

#[test]
fn only_the_owner_deprecates_and_never_the_current_version() {
	test(|| {
		let job = start_training();
		ModelRegistry::finalized(job, &TrainedWeights { weights: cid("w"), digest: digest(2) });
		assert_noop!(
			ModelRegistry::deprecate_version(RuntimeOrigin::signed(REQUESTER), MODEL, 0),
			Error::<Test>::NotOwner
		);
		assert_noop!(
			ModelRegistry::deprecate_version(RuntimeOrigin::signed(OWNER), MODEL, 1),
			Error::<Test>::VersionIsCurrent
		);
		assert_ok!(ModelRegistry::deprecate_version(RuntimeOrigin::signed(OWNER), MODEL, 0));
		System::assert_last_event(Event::VersionDeprecated { model: MODEL, version: 0 }.into());
		assert_noop!(
			ModelRegistry::deprecate_version(RuntimeOrigin::signed(OWNER), MODEL, 0),
			Error::<Test>::AlreadyDeprecated
		);
	});
}

#[test]
fn a_lowered_approver_set_rejects_what_can_no_longer_pass() {
	test(|| {
		Approvers::set(vec![APPROVER_ACCOUNTS[0], APPROVER_ACCOUNTS[1]]);
		assert_ok!(propose(digest(1)));
		vote(APPROVER_ACCOUNTS[0], 0, false);
		System::assert_last_event(Event::ProposalRejected { proposal: 0 }.into());
		assert!(matches!(Proposals::<Test>::get(0).map(|p| p.kind), None::<ProposalKind<_, _>>));
	});
}

#[test]
fn proposing_a_dataset_in_the_name_of_a_did_one_does_not_control_fails() {
	test(|| {
		assert_noop!(
			ModelRegistry::propose_dataset(
				RuntimeOrigin::signed(REQUESTER),
				cid("bafy-someone-elses"),
				1,
				Default::default(),
				OWNER_DID,
				DatasetConsent::Public,
			),
			Error::<Test>::NotOwner
		);
		assert_eq!(held(REQUESTER, HoldReason::ProposalDeposit), 0);
		assert_eq!(crate::NextProposalId::<Test>::get(), 0);
	});
}

/// `OWNER` registers a model of its own, which only it may propose training at first.
fn owners_model() -> u32 {
	assert_ok!(ModelRegistry::register_model(
		RuntimeOrigin::signed(OWNER),
		None,
		b"private".to_vec().try_into().unwrap(),
		b"mlp".to_vec().try_into().unwrap(),
		cid("bafy-meta"),
		cid("bafy-private-0"),
		digest(5),
	));
	crate::NextModelId::<Test>::get() - 1
}

#[test]
fn training_someone_elses_model_needs_its_owners_consent() {
	test(|| {
		let model = owners_model();
		assert_eq!(Models::<Test>::get(model).unwrap().training, TrainingPolicy::OwnerOnly);
		assert_noop!(propose_as(REQUESTER, model, digest(5)), Error::<Test>::TrainingNotAllowed);
		assert_noop!(
			ModelRegistry::set_training_policy(
				RuntimeOrigin::signed(REQUESTER),
				model,
				TrainingPolicy::Anyone
			),
			Error::<Test>::NotOwner
		);
		assert_ok!(propose_as(OWNER, model, digest(5)));

		assert_ok!(ModelRegistry::set_training_policy(
			RuntimeOrigin::signed(OWNER),
			model,
			TrainingPolicy::Anyone
		));
		System::assert_last_event(
			Event::TrainingPolicySet { model, policy: TrainingPolicy::Anyone }.into(),
		);
		assert_ok!(propose_as(REQUESTER, model, digest(5)));
		assert_eq!(held(REQUESTER, HoldReason::ProposalDeposit), PROPOSAL_DEPOSIT);
	});
}

#[test]
fn consent_withdrawn_before_approval_fails_the_proposal_and_returns_its_deposit() {
	test(|| {
		let model = owners_model();
		assert_ok!(ModelRegistry::set_training_policy(
			RuntimeOrigin::signed(OWNER),
			model,
			TrainingPolicy::Anyone
		));
		assert_ok!(propose_as(REQUESTER, model, digest(5)));
		assert_ok!(ModelRegistry::set_training_policy(
			RuntimeOrigin::signed(OWNER),
			model,
			TrainingPolicy::OwnerOnly
		));
		vote(APPROVER_ACCOUNTS[0], 0, true);
		vote(APPROVER_ACCOUNTS[1], 0, true);
		System::assert_last_event(
			Event::ProposalFailed { proposal: 0, error: Error::<Test>::TrainingNotAllowed.into() }
				.into(),
		);
		assert!(RequestedJobs::get().is_empty());
		assert_eq!(held(REQUESTER, HoldReason::ProposalDeposit), 0);
		assert_eq!(Balances::free_balance(REQUESTER), INITIAL_BALANCE);
	});
}

#[test]
fn root_or_the_approvers_set_the_threshold_never_beyond_the_approvers() {
	test(|| {
		assert_eq!(ApprovalThreshold::<Test>::get(), 2);
		for unreachable in [0, 4] {
			assert_noop!(
				ModelRegistry::set_approval_threshold(RuntimeOrigin::root(), unreachable),
				Error::<Test>::InvalidThreshold
			);
		}
		assert_noop!(
			ModelRegistry::set_approval_threshold(RuntimeOrigin::signed(APPROVER_ACCOUNTS[0]), 1),
			DispatchError::BadOrigin
		);
		assert_ok!(ModelRegistry::set_approval_threshold(RuntimeOrigin::root(), 3));
		System::assert_last_event(Event::ApprovalThresholdSet { threshold: 3 }.into());

		// Three of three now: two approvals leave a proposal open.
		assert_noop!(
			ModelRegistry::propose_approval_threshold(RuntimeOrigin::signed(REQUESTER), 4),
			Error::<Test>::InvalidThreshold
		);
		assert_ok!(ModelRegistry::propose_approval_threshold(RuntimeOrigin::signed(REQUESTER), 1));
		vote(APPROVER_ACCOUNTS[0], 0, true);
		vote(APPROVER_ACCOUNTS[1], 0, true);
		assert_eq!(ApprovalThreshold::<Test>::get(), 3);
		vote(APPROVER_ACCOUNTS[2], 0, true);
		System::assert_has_event(Event::ApprovalThresholdSet { threshold: 1 }.into());
		assert_eq!(ApprovalThreshold::<Test>::get(), 1);
		assert_eq!(held(REQUESTER, HoldReason::ProposalDeposit), 0);

		// One of three: a single approval starts a job.
		assert_ok!(propose(digest(1)));
		vote(APPROVER_ACCOUNTS[2], 1, true);
		assert_eq!(RequestedJobs::get().len(), 1);
	});
}

#[test]
fn two_of_three_approvers_pass_reject_or_let_expire() {
	test(|| {
		// Passed: two ayes.
		start_training();
		assert_eq!(RequestedJobs::get().len(), 1);
		// Rejected: two nays leave one approver, short of two.
		assert_ok!(ModelRegistry::propose_approval_threshold(RuntimeOrigin::signed(REQUESTER), 3));
		let rejected = crate::NextProposalId::<Test>::get() - 1;
		vote(APPROVER_ACCOUNTS[0], rejected, true);
		vote(APPROVER_ACCOUNTS[1], rejected, false);
		assert!(Proposals::<Test>::contains_key(rejected));
		vote(APPROVER_ACCOUNTS[2], rejected, false);
		System::assert_last_event(Event::ProposalRejected { proposal: rejected }.into());
		assert_eq!(ApprovalThreshold::<Test>::get(), 2);
		// Expired: one aye, then nobody until voting ends.
		assert_ok!(ModelRegistry::propose_approval_threshold(RuntimeOrigin::signed(REQUESTER), 1));
		let expired = crate::NextProposalId::<Test>::get() - 1;
		vote(APPROVER_ACCOUNTS[0], expired, true);
		System::set_block_number(System::block_number() + VOTING);
		assert_noop!(
			ModelRegistry::approve(RuntimeOrigin::signed(APPROVER_ACCOUNTS[1]), expired),
			Error::<Test>::VotingEnded
		);
		assert_ok!(ModelRegistry::close(RuntimeOrigin::signed(OWNER), expired));
		System::assert_last_event(Event::ProposalExpired { proposal: expired }.into());
		assert_eq!(ApprovalThreshold::<Test>::get(), 2);
		assert_eq!(Balances::free_balance(TREASURY), 1 + PROPOSAL_DEPOSIT);
	});
}

#[test]
fn a_smaller_approver_set_lowers_a_threshold_it_could_not_reach() {
	test(|| {
		let remaining = vec![APPROVER_ACCOUNTS[1]];
		Approvers::set(remaining.clone());
		ModelRegistry::change_members_sorted(
			&[],
			&[APPROVER_ACCOUNTS[0], APPROVER_ACCOUNTS[2]],
			&remaining,
		);
		System::assert_last_event(Event::ApprovalThresholdSet { threshold: 1 }.into());
		assert_eq!(ApprovalThreshold::<Test>::get(), 1);
		assert_ok!(propose(digest(1)));
		vote(APPROVER_ACCOUNTS[1], 0, true);
		assert_eq!(RequestedJobs::get().len(), 1);
	});
}

#[test]
fn jobs_may_train_on_approved_datasets_from_registered_versions_only() {
	use tessera_primitives::TrainingInputs;
	test(|| {
		let state =
			|weights: &str, byte| TrainedWeights { weights: cid(weights), digest: digest(byte) };
		assert_eq!(
			ModelRegistry::dataset_terms(b"bafy-digits"),
			Some((OWNER_DID, DatasetConsent::Public))
		);
		assert_eq!(ModelRegistry::dataset_terms(b"bafy-unapproved"), None);
		assert!(ModelRegistry::is_registered_version(&state("bafy-weights-0", 1)));
		// The digest alone is not enough: the state must be the version's.
		assert!(!ModelRegistry::is_registered_version(&state("bafy-other", 1)));
		assert!(!ModelRegistry::is_registered_version(&state("w", 2)));

		let job = start_training();
		ModelRegistry::finalized(job, &TrainedWeights { weights: cid("w"), digest: digest(2) });
		assert!(ModelRegistry::is_registered_version(&state("w", 2)));

		assert_ok!(ModelRegistry::propose_dataset_removal(RuntimeOrigin::signed(OWNER), DATASET));
		vote(APPROVER_ACCOUNTS[0], 1, true);
		vote(APPROVER_ACCOUNTS[1], 1, true);
		assert_eq!(ModelRegistry::dataset_terms(b"bafy-digits"), None);
	});
}

#[test]
fn a_dataset_cid_is_approved_once() {
	test(|| {
		assert_noop!(
			ModelRegistry::propose_dataset(
				RuntimeOrigin::signed(OWNER),
				cid("bafy-digits"),
				1,
				Default::default(),
				OWNER_DID,
				DatasetConsent::Public,
			),
			Error::<Test>::DatasetExists
		);
		// Two proposals of one CID: the second to pass fails and returns its deposit.
		for _ in 0..2 {
			assert_ok!(ModelRegistry::propose_dataset(
				RuntimeOrigin::signed(OWNER),
				cid("bafy-twice"),
				1,
				Default::default(),
				OWNER_DID,
				DatasetConsent::Public,
			));
		}
		for proposal in 0..2 {
			vote(APPROVER_ACCOUNTS[0], proposal, true);
			vote(APPROVER_ACCOUNTS[1], proposal, true);
		}
		System::assert_last_event(
			Event::ProposalFailed { proposal: 1, error: Error::<Test>::DatasetExists.into() }
				.into(),
		);
		assert_eq!(crate::NextDatasetId::<Test>::get(), 2);
		assert_eq!(Balances::free_balance(OWNER), INITIAL_BALANCE);
	});
}

#[test]
fn try_state_catches_a_model_whose_current_version_is_not_active() {
	new_test_ext().execute_with(|| {
		Versions::<Test>::mutate(MODEL, 0, |version| {
			version.as_mut().unwrap().status = VersionStatus::Deprecated
		});
		assert!(ModelRegistry::do_try_state().is_err());
	});
}
