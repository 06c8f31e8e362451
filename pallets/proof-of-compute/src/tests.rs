use crate::{mock::*, pallet::*, types::*};
use codec::Encode;
use polkadot_sdk::sp_core::Pair as _;
use polkadot_sdk::{
	frame_support::{
		assert_noop, assert_ok,
		traits::fungible::{Inspect, InspectHold},
	},
	frame_system::RawOrigin,
	sp_core::H256,
	sp_runtime::{
		transaction_validity::{InvalidTransaction, TransactionSource, TransactionValidityError},
		Perbill,
	},
};
use tessera_primitives::{
	commitment_hash, BackendClass, Cid, CommitmentPayload, DatasetConsent, DidId, JobId, JobSpec,
	JobState, NodeId, NodeSigned, Outcome, SigningContext, SlashReason,
};

pub(crate) fn test(body: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		body();
		ProofOfCompute::do_try_state().unwrap();
		ProofOfComputeTraps::do_try_state().unwrap();
	});
}

pub(crate) fn events() -> Vec<Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::ProofOfCompute(event) => Some(event),
			_ => None,
		})
		.collect()
}

/// Posts a two-checkpoint job for `redundancy` replicas on `backend`, due at `deadline`.
pub(crate) fn post(redundancy: u8, backend: BackendClass, deadline: u64) -> JobId {
	assert_ok!(ProofOfCompute::create_job(
		RuntimeOrigin::signed(REQUESTER),
		spec(20, backend),
		BUDGET,
		redundancy,
		deadline
	));
	NextJobId::<Test>::get() - 1
}

/// Posts a two-checkpoint CPU job with three replicas and assigns it.
fn assigned_job() -> (JobId, Vec<NodeId>) {
	let job = post(3, BackendClass::CpuReference, 100);
	run_to(System::block_number() + 1);
	(job, Assignments::<Test>::get(job).unwrap().into_inner())
}

pub(crate) fn authorize(call: Call<Test>) -> Result<(), InvalidTransaction> {
	priority(call).map(drop)
}

/// The pool priority `call` gets, or why it is refused.
fn priority(call: Call<Test>) -> Result<u64, InvalidTransaction> {
	let call = RuntimeCall::ProofOfCompute(call);
	use polkadot_sdk::frame_support::traits::Authorize;
	match call.authorize(TransactionSource::External).expect("authorized call") {
		Ok((validity, _)) => Ok(validity.priority),
		Err(TransactionValidityError::Invalid(error)) => Err(error),
		Err(other) => panic!("unexpected validity error {other:?}"),
	}
}

pub(crate) fn commit_call(payload: &tessera_primitives::CommitmentPayload) -> Call<Test> {
	let commit = Commit {
		job: payload.job,
		checkpoint: payload.checkpoint,
		node: payload.node,
		hash: commitment_hash(payload, payload.node, &salt(payload.node)),
	};
	let signature = signed_commit(&commit);
	Call::commit { commit, signature }
}

pub(crate) fn reveal_call(payload: tessera_primitives::CommitmentPayload) -> Call<Test> {
	let salt = salt(payload.node);
	let reveal = Reveal { payload, salt };
	let signature = signed_reveal(&reveal);
	Call::reveal { reveal, signature }
}

pub(crate) fn send(call: Call<Test>) {
	assert_ok!(authorize(call.clone()));
	let origin: RuntimeOrigin = RawOrigin::Authorized.into();
	match call {
		Call::commit { commit, signature } => {
			assert_ok!(ProofOfCompute::commit(origin, commit, signature));
		}
		Call::reveal { reveal, signature } => {
			assert_ok!(ProofOfCompute::reveal(origin, reveal, signature));
		}
		Call::panel_commit { commit, signature } => {
			assert_ok!(ProofOfCompute::panel_commit(origin, commit, signature));
		}
		Call::panel_reveal { reveal, signature } => {
			assert_ok!(ProofOfCompute::panel_reveal(origin, reveal, signature));
		}
		Call::report_availability { report, signature } => {
			assert_ok!(ProofOfCompute::report_availability(origin, report, signature));
		}
		Call::submit_aggregation { aggregation, signature } => {
			assert_ok!(ProofOfCompute::submit_aggregation(origin, aggregation, signature));
		}
		other => panic!("not an authorized call: {other:?}"),
	}
}

/// Every replica commits and then reveals each checkpoint; `digest(node)` is what it ends
/// with, and `reveals(node)` whether it reveals at all.
pub(crate) fn train(
	job: JobId,
	replicas: &[NodeId],
	digest: impl Fn(NodeId) -> u8,
	reveals: impl Fn(NodeId) -> bool,
) {
	for checkpoint in 0..2 {
		let last = checkpoint == 1;
		for node in replicas {
			send(commit_call(&payload(job, *node, checkpoint, digest(*node), last)));
		}
		for node in replicas.iter().filter(|node| reveals(**node)) {
			send(reveal_call(payload(job, *node, checkpoint, digest(*node), last)));
		}
	}
	next_block();
}

pub(crate) fn held(who: u64) -> u64 {
	Balances::balance_on_hold(&RuntimeHoldReason::ProofOfCompute(HoldReason::JobBudget), &who)
}

#[test]
fn create_job_holds_the_budget_and_refuses_bad_requests() {
	test(|| {
		let create = |budget, redundancy, deadline, steps| {
			ProofOfCompute::create_job(
				RuntimeOrigin::signed(REQUESTER),
				spec(steps, BackendClass::CpuReference),
				budget,
				redundancy,
				deadline,
			)
		};
		assert_noop!(create(BUDGET, 0, 100, 20), Error::<Test>::BadRedundancy);
		assert_noop!(create(BUDGET, 6, 100, 20), Error::<Test>::BadRedundancy);
		assert_noop!(create(99, 3, 100, 20), Error::<Test>::BudgetTooLow);
		assert_noop!(create(BUDGET, 3, 1, 20), Error::<Test>::DeadlineInPast);
		assert_noop!(create(BUDGET, 3, 100, 0), Error::<Test>::BadCheckpointing);
		assert_noop!(create(BUDGET, 3, 100, 90), Error::<Test>::BadCheckpointing);
		let adam = |beta1, epsilon| {
			let mut spec = spec(20, BackendClass::CpuReference);
			spec.hyper_parameters.optimizer =
				tessera_primitives::Optimizer::AdamW(tessera_primitives::AdamParameters {
					beta1,
					beta2: Perbill::from_parts(999_000_000),
					epsilon,
					weight_decay: Perbill::from_percent(1),
				});
			ProofOfCompute::create_job(RuntimeOrigin::signed(REQUESTER), spec, BUDGET, 3, 100)
		};
		assert_noop!(adam(Perbill::one(), Perbill::from_parts(10)), Error::<Test>::BadOptimizer);
		assert_noop!(
			adam(Perbill::from_percent(90), Perbill::from_parts(0)),
			Error::<Test>::BadOptimizer
		);
		assert_noop!(
			create(INITIAL_BALANCE * 2, 3, 100, 20),
			polkadot_sdk::sp_runtime::TokenError::FundsUnavailable
		);

		assert_ok!(create(BUDGET, 3, 100, 20));
		assert_eq!(held(REQUESTER), BUDGET);
		let info = Jobs::<Test>::get(0).unwrap();
		assert_eq!((info.state, info.checkpoints, info.redundancy), (JobState::Created, 2, 3));
		assert_eq!(Pending::<Test>::get().into_inner(), vec![0]);
		assert!(events().contains(&Event::JobCreated {
			job: 0,
			requester: REQUESTER,
			budget: BUDGET,
			redundancy: 3
		}));
		assert_ok!(adam(Perbill::from_percent(90), Perbill::from_parts(10)));
		assert!(matches!(
			JobSpecs::<Test>::get(1).unwrap().hyper_parameters.optimizer,
			tessera_primitives::Optimizer::AdamW(_)
		));
	});
}

#[test]
fn cancel_returns_the_whole_budget_only_before_assignment() {
	test(|| {
		post(3, BackendClass::CpuReference, 100);
		assert_noop!(
			ProofOfCompute::cancel_job(RuntimeOrigin::signed(CHALLENGER), 0),
			Error::<Test>::NotRequester
		);
		assert_ok!(ProofOfCompute::cancel_job(RuntimeOrigin::signed(REQUESTER), 0));
		assert_eq!((held(REQUESTER), Balances::balance(&REQUESTER)), (0, INITIAL_BALANCE));
		assert_eq!(Jobs::<Test>::get(0).unwrap().state, JobState::Cancelled);
		assert!(Pending::<Test>::get().is_empty());

		let (job, _) = assigned_job();
		assert_noop!(
			ProofOfCompute::cancel_job(RuntimeOrigin::signed(REQUESTER), job),
			Error::<Test>::WrongState
		);
	});
}

#[test]
fn creating_and_cancelling_jobs_cannot_fill_a_blocks_schedule() {
	test(|| {
		// The mock's blocks take four due events: four create-and-cancel pairs at one deadline
		// used to fill that block for good, for the price of four fees.
		for _ in 0..4 {
			let job = post(3, BackendClass::CpuReference, 50);
			assert_ok!(ProofOfCompute::cancel_job(RuntimeOrigin::signed(REQUESTER), job));
		}
		assert!(Due::<Test>::get(50).is_empty());
		let job = post(3, BackendClass::CpuReference, 50);
		assert_eq!(Due::<Test>::get(50).into_inner(), vec![job]);
		assert_eq!(held(REQUESTER), BUDGET);
	});
}

#[test]
fn a_full_block_delays_a_jobs_due_event_but_never_drops_it() {
	test(|| {
		let (job, replicas) = assigned_job();
		// The attacker knows when the challenge window will close and fills that block with
		// jobs of its own that fall due there.
		let ends = System::block_number() + 1 + CHALLENGE_WINDOW;
		let fillers: Vec<JobId> = (0..4).map(|_| post(1, BackendClass::Gpu, ends)).collect();
		assert_eq!(Due::<Test>::get(ends).into_inner(), fillers);

		train(job, &replicas, |_| 9, |_| true);
		let info = Jobs::<Test>::get(job).unwrap();
		assert_eq!((info.state, info.result.unwrap().challenge_ends), (JobState::Accepted, ends));
		assert!(Due::<Test>::get(ends + 1).contains(&job), "moved to the next block with room");

		run_to(ends);
		assert!(fillers
			.iter()
			.all(|filler| Jobs::<Test>::get(filler).unwrap().state == JobState::Failed));
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);
		run_to(ends + 1);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Finalized);
		assert_eq!(held(REQUESTER), 0);
		assert!(replicas.iter().all(|node| !OpenJobs::<Test>::contains_key(node, job)));
	});
}

#[test]
fn a_block_without_room_leaves_its_due_work_for_the_next_block_in_order() {
	use polkadot_sdk::frame_support::{
		traits::{Get, Hooks},
		weights::{RuntimeDbWeight, WeightMeter},
	};
	test(|| {
		// Jobs nobody can take, all due at block 10.
		let jobs: Vec<JobId> = (0..3).map(|_| post(3, BackendClass::Gpu, 10)).collect();
		run_to(9);
		let db: RuntimeDbWeight = <Test as polkadot_sdk::frame_system::Config>::DbWeight::get();
		let overhead = db.reads_writes(2, 2);
		let mut meter = WeightMeter::with_limit(overhead + ProofOfCompute::next_step_bound());
		System::set_block_number(10);
		ProofOfCompute::on_poll(10, &mut meter);
		// Room for one step: the first job failed, the others wait, and block 10 is not done.
		let state = |job: JobId| Jobs::<Test>::get(job).unwrap().state;
		assert_eq!(
			jobs.iter().map(|job| state(*job)).collect::<Vec<_>>(),
			vec![JobState::Failed, JobState::Created, JobState::Created]
		);
		assert_eq!(Due::<Test>::get(10).into_inner(), jobs[1..].to_vec());
		assert_eq!(PolledUpTo::<Test>::get(), Some(9));

		run_to(11);
		assert!(jobs.iter().all(|job| state(*job) == JobState::Failed));
		assert_eq!(PolledUpTo::<Test>::get(), Some(11));
		assert_eq!(held(REQUESTER), 0);
	});
}

#[test]
fn a_burst_of_due_jobs_cannot_crowd_transactions_out_of_a_block() {
	use polkadot_sdk::frame_support::{
		dispatch::DispatchClass,
		traits::{Get, Hooks},
		weights::WeightMeter,
	};
	test(|| {
		// The attacker posts jobs whose replicas will deliver nothing, timed to fall due
		// together: a full due list in each of the blocks one `on_poll` catches up on, more
		// than the share of a block that normal transactions may not use pays for.
		let weights: polkadot_sdk::frame_system::limits::BlockWeights =
			<Test as polkadot_sdk::frame_system::Config>::BlockWeights::get();
		let share = weights.max_block - weights.get(DispatchClass::Normal).max_total.unwrap();
		let (first_due, blocks) = (40, u64::from(crate::MAX_BLOCKS_CAUGHT_UP));
		let per_block = <Test as crate::Config>::MaxDuePerBlock::get();
		let mut jobs = Vec::new();
		for due in first_due..first_due + blocks {
			for _ in 0..per_block {
				// The pending queue is short: let assignment drain it.
				while Pending::<Test>::get().is_full() {
					run_to(System::block_number() + 1);
				}
				jobs.push(post(1, BackendClass::CpuReference, due));
			}
		}
		run_to(first_due - 1);
		assert!(jobs.iter().all(|job| Assignments::<Test>::contains_key(job)));
		let bound = ProofOfCompute::next_step_bound();
		assert!(
			bound.saturating_mul(jobs.len() as u64).any_gt(share),
			"the burst outweighs the share"
		);
		let last_due = first_due + blocks - 1;
		System::set_block_number(last_due);
		let mut block = WeightMeter::new();
		ProofOfCompute::on_poll(last_due, &mut block);

		// The scheduled work stopped at the share; the rest of the block is the transactions'.
		assert!(block.consumed().all_lte(share));
		let state = |job: &JobId| Jobs::<Test>::get(job).unwrap().state;
		let failed = jobs.iter().filter(|job| state(job) == JobState::Failed).count();
		assert!(failed > 0 && failed < jobs.len(), "{failed} of {} failed", jobs.len());
		assert!(PolledUpTo::<Test>::get() < Some(last_due));

		// Nothing is lost: the next blocks finish the burst.
		run_to(last_due + blocks);
		assert!(jobs.iter().all(|job| state(job) == JobState::Failed));
		assert_eq!(PolledUpTo::<Test>::get(), Some(last_due + blocks));
		assert_eq!(held(REQUESTER), 0);
	});
}

#[test]
fn a_step_that_ends_a_job_charges_for_the_owner_hearing_of_it() {
	use tessera_primitives::JobOutcome;
	test(|| {
		let job = post(3, BackendClass::Gpu, 10);
		run_to(9);
		// The job fails at its deadline and the model registry hears it: the step charges
		// the most that hearing may weigh, the bound of every step too.
		let heard = TestOutcome::max_weight();
		let weight = ProofOfCompute::take_next_step(job, 10);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Failed);
		assert_eq!(Finished::get(), vec![(job, None)]);
		assert!(weight.all_gte(heard) && ProofOfCompute::next_step_bound().all_gte(weight));
	});
}

#[test]
fn a_verification_that_accepts_is_charged_for_verifying_and_not_for_an_ending() {
	use crate::weights::WeightInfo;
	use polkadot_sdk::frame_support::traits::Get;
	test(|| {
		let (job, replicas) = assigned_job();
		for checkpoint in 0..2 {
			let last = checkpoint == 1;
			for node in &replicas {
				send(commit_call(&payload(job, *node, checkpoint, 9, last)));
			}
			for node in &replicas {
				send(reveal_call(payload(job, *node, checkpoint, 9, last)));
			}
		}
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Running);

		let weight = ProofOfCompute::take_next_step(job, System::block_number() + 1);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);
		// The job and its state afterwards are read; the verification is paid. Nobody was
		// paid and the owner heard nothing, so neither is charged: hundreds of jobs verified
		// together fit more of them in a block's share of scheduled work.
		let db: polkadot_sdk::frame_support::weights::RuntimeDbWeight =
			<Test as polkadot_sdk::frame_system::Config>::DbWeight::get();
		assert_eq!(weight, db.reads(2) + <() as WeightInfo>::verify_result());
		assert!(weight.all_lt(ProofOfCompute::next_step_bound()));
	});
}

#[test]
fn root_forces_the_next_step_of_a_job_whose_schedule_was_lost() {
	test(|| {
		let (job, replicas) = assigned_job();
		train(job, &replicas, |_| 9, |_| true);
		let ends = Jobs::<Test>::get(job).unwrap().result.unwrap().challenge_ends;
		// A schedule lost to a bug or a bad migration: nothing would ever finalize the job.
		for block in [ends, 100] {
			Due::<Test>::mutate(block, |due| due.retain(|due| *due != job));
		}
		System::set_block_number(ends);

		assert_noop!(
			ProofOfCompute::force_next_step(RuntimeOrigin::signed(REQUESTER), job),
			polkadot_sdk::sp_runtime::DispatchError::BadOrigin
		);
		assert_noop!(
			ProofOfCompute::force_next_step(RuntimeOrigin::root(), 99),
			Error::<Test>::UnknownJob
		);
		assert_ok!(ProofOfCompute::force_next_step(RuntimeOrigin::root(), job));
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Finalized);
		assert!(events().contains(&Event::NextStepForced { job, state: JobState::Finalized }));
		assert_eq!(held(REQUESTER), 0);
		assert_noop!(
			ProofOfCompute::force_next_step(RuntimeOrigin::root(), job),
			Error::<Test>::WrongState
		);
	});
}

#[test]
fn assignment_draws_distinct_eligible_trainers_and_waits_when_there_are_too_few() {
	test(|| {
		Nodes::mutate(|nodes| nodes[3].active = false);
		Nodes::mutate(|nodes| nodes[4].trainer = false);
		let (job, replicas) = assigned_job();
		let mut sorted = replicas.clone();
		sorted.sort();
		assert_eq!(sorted, vec![0, 1, 2], "the only active trainers");
		assert_eq!(Jobs::<Test>::get(job).unwrap().assigned, Some(2));
		assert!(events().contains(&Event::JobAssigned {
			job,
			nodes: replicas.clone().try_into().unwrap(),
			at: 2
		}));
		assert!(replicas.iter().all(|node| OpenJobs::<Test>::contains_key(node, job)));

		// Only nodes 0 and 1 have a GPU: a three-replica GPU job waits, then fails at its
		// deadline and refunds the requester.
		post(3, BackendClass::Gpu, 10);
		run_to(9);
		assert_eq!(Pending::<Test>::get().into_inner(), vec![1]);
		run_to(10);
		assert_eq!(Jobs::<Test>::get(1).unwrap().state, JobState::Failed);
		assert_eq!(held(REQUESTER), BUDGET, "only the first job's budget is still held");
		assert_eq!(Finished::get(), vec![(1, None)]);
	});
}

#[test]
fn jobs_nobody_can_take_never_keep_later_jobs_from_their_turn() {
	test(|| {
		// Only nodes 0 and 1 have a GPU, so three-replica GPU jobs find nobody; the mock
		// looks at two waiting jobs a block, and these two used to be those two forever.
		let stuck = [post(3, BackendClass::Gpu, 50), post(3, BackendClass::Gpu, 50)];
		let job = post(3, BackendClass::CpuReference, 50);
		next_block();
		assert_eq!(Pending::<Test>::get().into_inner(), vec![job, stuck[0], stuck[1]]);
		next_block();
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Assigned);
		assert_eq!(Pending::<Test>::get().into_inner(), vec![stuck[1], stuck[0]], "in turn");
	});
}

#[test]
fn a_deadline_further_than_the_longest_job_is_refused() {
	test(|| {
		let create = |deadline| {
			ProofOfCompute::create_job(
				RuntimeOrigin::signed(REQUESTER),
				spec(20, BackendClass::CpuReference),
				BUDGET,
				3,
				deadline,
			)
		};
		let now = System::block_number();
		assert_noop!(create(now + MAX_JOB_DURATION + 1), Error::<Test>::DeadlineTooFar);
		assert_ok!(create(now + MAX_JOB_DURATION));
		assert_eq!(held(REQUESTER), BUDGET);
	});
}

#[test]
fn training_on_unapproved_data_or_from_unregistered_weights_is_refused() {
	test(|| {
		let create = |spec: JobSpec| {
			ProofOfCompute::create_job(RuntimeOrigin::signed(REQUESTER), spec, BUDGET, 3, 100)
		};
		let approved = spec(20, BackendClass::CpuReference);
		let unapproved =
			JobSpec { dataset: Cid::truncate_from(b"bafkscraped".to_vec()), ..approved.clone() };
		assert_noop!(create(unapproved), Error::<Test>::UnapprovedDataset);
		let no_dataset = JobSpec { dataset: Default::default(), ..approved.clone() };
		assert_noop!(create(no_dataset.clone()), Error::<Test>::UnapprovedDataset);
		let forged = JobSpec { base_digest: H256::repeat_byte(7), ..approved.clone() };
		assert_noop!(create(forged), Error::<Test>::UnregisteredBase);
		let foreign =
			JobSpec { base_weights: Cid::truncate_from(b"bafkmine".to_vec()), ..approved.clone() };
		assert_noop!(create(foreign), Error::<Test>::UnregisteredBase);
		assert_noop!(
			ProofOfCompute::create_federated_job(
				RuntimeOrigin::signed(REQUESTER),
				JobSpec {
					dataset: Cid::truncate_from(b"bafkscraped".to_vec()),
					..approved.clone()
				},
				BUDGET,
				3,
				4,
				100,
				None
			),
			Error::<Test>::UnapprovedDataset
		);
		assert_eq!((held(REQUESTER), NextJobId::<Test>::get()), (0, 0));

		// An approved dataset from a registered version or from the seed, or texts alone.
		assert_ok!(create(approved.clone()));
		assert_ok!(create(JobSpec { base_weights: Default::default(), ..approved }));
		let text = b"to be or not to be".to_vec().try_into().unwrap();
		assert_ok!(create(JobSpec { texts: vec![text].try_into().unwrap(), ..no_dataset }));
		assert_eq!(NextJobId::<Test>::get(), 3);
	});
}

/// The tests' dataset, granted by its owner only to the DIDs of `granted` trainers; every
/// trainer is linked to a DID of its own (`[100 + node; 32]`).
pub(crate) fn granted_only_to(granted: &[NodeId]) -> Vec<DidId> {
	let dataset = spec(20, BackendClass::CpuReference).dataset.to_vec();
	ApprovedDatasets::set(vec![(dataset.clone(), DATA_OWNER, DatasetConsent::Granted)]);
	NodeDids::set((0..5).map(|node| (node, DidId([100 + node as u8; 32]))).collect());
	let dids: Vec<DidId> = granted.iter().map(|node| DidId([100 + *node as u8; 32])).collect();
	Grants::set(dids.iter().map(|did| (dataset.clone(), DATA_OWNER, *did)).collect());
	dids
}

#[test]
fn data_granted_only_to_some_dids_is_trained_only_by_their_nodes_and_each_use_recorded() {
	test(|| {
		let dids = granted_only_to(&[1, 3]);
		let (job, replicas) = {
			let job = post(2, BackendClass::CpuReference, 100);
			run_to(System::block_number() + 1);
			(job, Assignments::<Test>::get(job).unwrap().into_inner())
		};
		let mut assigned = replicas.clone();
		assigned.sort();
		assert_eq!(assigned, vec![1, 3]);
		let dataset = JobSpecs::<Test>::get(job).unwrap().dataset.to_vec();
		let mut recorded: Vec<DidId> = RecordedUses::get()
			.into_iter()
			.map(|(used_by, data, owner, did)| {
				assert_eq!((used_by, data, owner), (job, dataset.clone(), DATA_OWNER));
				did
			})
			.collect();
		recorded.sort();
		assert_eq!(recorded, dids);
	});
}

#[test]
fn a_revoked_grant_stops_new_assignments_until_consent_is_given_again() {
	test(|| {
		let dids = granted_only_to(&[1, 3]);
		// The owner revokes node 3's grant before the job is drawn: one grantee is left.
		Grants::mutate(|grants| grants.retain(|(_, _, did)| *did != dids[1]));
		let job = post(2, BackendClass::CpuReference, 100);
		run_to(System::block_number() + 2);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Created);
		assert!(RecordedUses::get().is_empty());
		// A DID without a linked node is no way in either.
		NodeDids::mutate(|links| links.retain(|(node, _)| *node != 4));
		let four = DidId([104; 32]);
		let dataset = JobSpecs::<Test>::get(job).unwrap().dataset.to_vec();
		Grants::mutate(|grants| grants.push((dataset.clone(), DATA_OWNER, four)));
		run_to(System::block_number() + 1);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Created);

		Grants::mutate(|grants| grants.push((dataset, DATA_OWNER, dids[1])));
		run_to(System::block_number() + 1);
		let mut assigned = Assignments::<Test>::get(job).unwrap().into_inner();
		assigned.sort();
		assert_eq!(assigned, vec![1, 3]);
	});
}

#[test]
fn a_job_on_granted_data_that_no_live_grant_admits_is_refused_when_posted() {
	test(|| {
		let post_granted = || {
			ProofOfCompute::create_job(
				RuntimeOrigin::signed(REQUESTER),
				spec(20, BackendClass::CpuReference),
				BUDGET,
				2,
				100,
			)
		};
		// The owner granted the data to nobody.
		granted_only_to(&[]);
		assert_noop!(post_granted(), Error::<Test>::NoConsent);
		// Its one grantee's DID was revoked.
		let dids = granted_only_to(&[2]);
		RevokedDids::set(dids.clone());
		assert_noop!(post_granted(), Error::<Test>::NoConsent);
		// A live grantee admits it, and its poster pays for the walk over the owner's grants.
		RevokedDids::set(vec![]);
		let info = post_granted().unwrap();
		let create_job = <<Test as Config>::WeightInfo as crate::weights::WeightInfo>::create_job();
		assert_eq!(info.actual_weight, Some(create_job + GRANT_WALK_WEIGHT));
		assert_eq!(
			held(REQUESTER),
			BUDGET + Jobs::<Test>::get(NextJobId::<Test>::get() - 1).unwrap().deposit
		);
	});
}

#[test]
fn a_job_on_public_data_is_not_charged_for_walking_grants() {
	test(|| {
		let info = ProofOfCompute::create_job(
			RuntimeOrigin::signed(REQUESTER),
			spec(20, BackendClass::CpuReference),
			BUDGET,
			2,
			100,
		)
		.unwrap();
		assert_eq!(
			info.actual_weight,
			Some(<<Test as Config>::WeightInfo as crate::weights::WeightInfo>::create_job())
		);
	});
}

#[test]
fn data_whose_owner_did_was_revoked_or_that_left_the_registry_is_given_to_nobody() {
	test(|| {
		granted_only_to(&[0, 1, 2, 3, 4]);
		RevokedDids::set(vec![DATA_OWNER]);
		assert_noop!(
			ProofOfCompute::create_job(
				RuntimeOrigin::signed(REQUESTER),
				spec(20, BackendClass::CpuReference),
				BUDGET,
				2,
				100
			),
			Error::<Test>::NoConsent
		);
		// Public data taken out of the registry after its job was posted.
		RevokedDids::set(vec![]);
		let dataset = spec(20, BackendClass::CpuReference).dataset.to_vec();
		ApprovedDatasets::set(vec![(dataset, DATA_OWNER, DatasetConsent::Public)]);
		let job = post(2, BackendClass::CpuReference, 100);
		ApprovedDatasets::set(vec![]);
		run_to(System::block_number() + 2);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Created);
	});
}

#[test]
fn honest_replicas_are_paid_only_when_the_challenge_window_closes() {
	test(|| {
		let (job, replicas) = assigned_job();
		train(job, &replicas, |_| 9, |_| true);
		let info = Jobs::<Test>::get(job).unwrap();
		assert_eq!(info.state, JobState::Accepted);
		let ends = info.result.unwrap().challenge_ends;
		assert_eq!(ends, System::block_number() + CHALLENGE_WINDOW);
		assert!(Payouts::<Test>::get(job).is_empty(), "nothing is paid before the window closes");
		assert_eq!(held(REQUESTER), BUDGET);

		run_to(ends);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Finalized);
		// 20 steps at 12.8 a step = 256, × 1.10 for the trusted node 2; 4 000 covers them all.
		let reward = |node: NodeId| if node == 2 { 281 } else { 256 };
		let paid: u64 = replicas.iter().map(|node| reward(*node)).sum();
		for node in &replicas {
			assert_eq!(
				Balances::balance(&(OWNER_BASE + u64::from(*node))),
				INITIAL_BALANCE + reward(*node)
			);
		}
		assert_eq!(Balances::balance(&REQUESTER), INITIAL_BALANCE - paid);
		assert_eq!(held(REQUESTER), 0);
		assert!(Slashes::get().is_empty());
		assert!(events().contains(&Event::JobFinalized { job, refunded: BUDGET - paid }));
		assert_eq!(Finished::get()[0].1.as_ref().unwrap().digest, H256::repeat_byte(9));
		assert!(replicas
			.iter()
			.all(|node| Reports::get().contains(&(*node, Outcome::JobCompleted))));
		assert_eq!(OpenJobs::<Test>::iter().count(), 0);
		let commitments = ProofOfCompute::commitments_of(job);
		assert_eq!(commitments.len(), 6, "three replicas, two checkpoints");
		assert!(commitments.iter().all(|view| view.revealed.is_some()));
	});
}

#[test]
fn root_sets_the_challenge_window_for_results_accepted_afterwards() {
	test(|| {
		let (first, replicas) = assigned_job();
		train(first, &replicas, |_| 9, |_| true);
		let first_ends = Jobs::<Test>::get(first).unwrap().result.unwrap().challenge_ends;

		assert_ok!(ProofOfCompute::set_challenge_window(RawOrigin::Root.into(), 3));
		assert_eq!(ChallengeWindow::<Test>::get(), 3);
		assert!(events().contains(&Event::ChallengeWindowSet { blocks: 3 }));

		let (second, replicas) = assigned_job();
		train(second, &replicas, |_| 9, |_| true);
		let second_ends = Jobs::<Test>::get(second).unwrap().result.unwrap().challenge_ends;
		assert_eq!(second_ends, System::block_number() + 3);
		assert_eq!(
			Jobs::<Test>::get(first).unwrap().result.unwrap().challenge_ends,
			first_ends,
			"a result already accepted keeps its window"
		);
		run_to(second_ends);
		assert_eq!(Jobs::<Test>::get(second).unwrap().state, JobState::Finalized);
		assert_eq!(Jobs::<Test>::get(first).unwrap().state, JobState::Accepted);
	});
}

#[test]
fn only_root_sets_the_challenge_window_and_never_to_zero() {
	test(|| {
		assert_noop!(
			ProofOfCompute::set_challenge_window(RuntimeOrigin::signed(REQUESTER), 3),
			polkadot_sdk::sp_runtime::DispatchError::BadOrigin
		);
		assert_noop!(
			ProofOfCompute::set_challenge_window(RawOrigin::Root.into(), 0),
			Error::<Test>::ZeroChallengeWindow
		);
		assert_eq!(ChallengeWindow::<Test>::get(), CHALLENGE_WINDOW);
	});
}

#[test]
fn a_copier_cannot_open_a_commit_with_a_rivals_revealed_payload() {
	test(|| {
		let (job, replicas) = assigned_job();
		let (honest, copier) = (replicas[0], replicas[2]);
		// The copier commits to nothing real; the honest replicas commit and reveal.
		for node in &replicas {
			let digest = if *node == copier { 66 } else { 9 };
			send(commit_call(&payload(job, *node, 0, digest, false)));
		}
		send(reveal_call(payload(job, honest, 0, 9, false)));
		// Now the honest digests are public: the copier reveals them as its own.
		let copied = payload(job, copier, 0, 9, false);
		assert_eq!(authorize(reveal_call(copied)), Err(InvalidTransaction::BadProof));
	});
}

/// The storage proof that `node`'s commit and reveal of `job`'s first checkpoint add to a
/// block: what a collator ships to the relay chain for them.
fn proof_of_commitment(
	ext: &mut polkadot_sdk::sp_io::TestExternalities,
	job: JobId,
	node: NodeId,
) -> usize {
	ext.commit_all().expect("the overlay commits to the backend");
	let (_, proof) = ext.execute_and_prove(|| {
		send(commit_call(&payload(job, node, 0, 9, false)));
		send(reveal_call(payload(job, node, 0, 9, false)));
	});
	proof.encoded_size()
}

#[test]
fn a_job_carrying_33_kb_of_texts_does_not_make_its_commitments_cost_more_proof() {
	use tessera_primitives::job::{MAX_TEXTS, MAX_TEXT_LEN};
	let mut ext = new_test_ext();
	let (small, large) = ext.execute_with(|| {
		let small = post(1, BackendClass::CpuReference, 100);
		let text = vec![b'a'; MAX_TEXT_LEN as usize].try_into().unwrap();
		let texts = vec![text; MAX_TEXTS as usize].try_into().unwrap();
		let heavy = JobSpec { texts, ..spec(20, BackendClass::CpuReference) };
		assert_ok!(ProofOfCompute::create_job(
			RuntimeOrigin::signed(REQUESTER),
			heavy,
			BUDGET,
			1,
			100
		));
		let large = NextJobId::<Test>::get() - 1;
		assert!(JobSpecs::<Test>::get(large).unwrap().encoded_size() > 32 * 1_024);
		next_block();
		let replica = |job| Assignments::<Test>::get(job).unwrap()[0];
		((small, replica(small)), (large, replica(large)))
	});
	let small_proof = proof_of_commitment(&mut ext, small.0, small.1);
	let large_proof = proof_of_commitment(&mut ext, large.0, large.1);
	// The texts are read by nobody who commits: the two proofs differ by trie nodes, not by
	// the texts' 32 KB.
	assert!(
		large_proof < small_proof + 1_024,
		"a commitment to the job with texts proved {large_proof} bytes, the other {small_proof}"
	);
	ext.execute_with(|| {
		let revealed = Reveals::<Test>::iter_keys().filter(|(_, _, checkpoint)| *checkpoint == 0);
		assert_eq!(revealed.count(), 2);
		ProofOfCompute::do_try_state().unwrap();
	});
}

/// The storage proof of the last replica's reveal of a five-replica job's first checkpoint,
/// once the other four revealed a state whose CID is `cid_len` bytes long.
fn proof_of_last_reveal(cid_len: usize) -> usize {
	let mut ext = new_test_ext();
	let (job, last) = ext.execute_with(|| {
		let job = post(5, BackendClass::CpuReference, 100);
		next_block();
		let replicas = Assignments::<Test>::get(job).unwrap().into_inner();
		let (last, others) = replicas.split_last().unwrap();
		let of_other = |node| CommitmentPayload {
			state_cid: Cid::truncate_from(vec![b'b'; cid_len]),
			..payload(job, node, 0, 9, false)
		};
		for node in others {
			send(commit_call(&of_other(*node)));
		}
		send(commit_call(&payload(job, *last, 0, 9, false)));
		for node in others {
			send(reveal_call(of_other(*node)));
		}
		(job, *last)
	});
	ext.commit_all().expect("the overlay commits to the backend");
	let (_, proof) = ext.execute_and_prove(|| send(reveal_call(payload(job, last, 0, 9, false))));
	ext.execute_with(|| {
		assert_eq!(Tallies::<Test>::get(job, 0).len(), 5, "every replica's vote is counted");
		assert!(LastAgreed::<Test>::get(job).is_some_and(|(checkpoint, _)| checkpoint == 0));
		ProofOfCompute::do_try_state().unwrap();
	});
	proof.encoded_size()
}

#[test]
fn a_reveal_reads_no_other_replicas_reveal_to_count_agreement() {
	let (short, long) = (
		proof_of_last_reveal(2),
		proof_of_last_reveal(tessera_primitives::job::MAX_CID_LEN as usize),
	);
	// Agreement is counted from the checkpoint's tally, a fixed-size vote a replica: what the
	// others revealed is not in the proof. One CID of theirs is, the state they agreed on
	// (`LastAgreed`), one record however many replicas agree; reading their four reveals
	// proved 476 bytes more.
	assert!(
		long < short + 128,
		"the reveal proved {long} bytes beside four reveals of long CIDs, {short} beside short"
	);
}

#[test]
fn a_wrong_replica_and_a_silent_one_are_slashed_at_finalization_and_not_before() {
	test(|| {
		post(5, BackendClass::CpuReference, 100);
		run_to(2);
		let replicas = Assignments::<Test>::get(0).unwrap().into_inner();
		let (wrong, silent) = (replicas[1], replicas[3]);
		// Reveals are due once every replica committed; the silent one commits and never reveals.
		train(0, &replicas, |node| if node == wrong { 13 } else { 9 }, |node| node != silent);
		assert_eq!(Jobs::<Test>::get(0).unwrap().state, JobState::Running, "a reveal is missing");
		run_to(100);
		assert_eq!(Jobs::<Test>::get(0).unwrap().state, JobState::Accepted);
		assert!(Slashes::get().is_empty());
		run_to(100 + CHALLENGE_WINDOW);
		let mut slashed: Vec<NodeId> = Slashes::get().iter().map(|(node, _)| *node).collect();
		slashed.sort();
		let mut expected = vec![wrong, silent];
		expected.sort();
		assert_eq!(slashed, expected);
		assert!(Slashes::get()
			.iter()
			.all(|(_, reason)| *reason == SlashReason::FailedVerification));
		assert!(Reports::get().contains(&(wrong, Outcome::ProofFailed)));
		assert!(Reports::get().contains(&(silent, Outcome::JobFailed)));
		assert!(events().contains(&Event::ReplicaSlashed {
			job: 0,
			node: wrong,
			amount: slash_amount(SlashReason::FailedVerification)
		}));
		assert_eq!(Payouts::<Test>::get(0).len(), 3);
	});
}

#[test]
fn no_majority_or_a_spot_check_disputes_the_job() {
	test(|| {
		let (job, replicas) = assigned_job();
		train(job, &replicas, |node| node as u8 + 20, |_| true);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Disputed);
		assert!(events().contains(&Event::JobDisputed { job, reason: DisputeReason::NoMajority }));

		let (job, replicas) = assigned_job();
		SpotChecked::set(vec![replicas[1]]);
		train(job, &replicas, |_| 9, |_| true);
		assert!(events()
			.contains(&Event::JobDisputed { job, reason: DisputeReason::SpotCheck(replicas[1]) }));
		assert!(Slashes::get().is_empty() && Payouts::<Test>::get(job).is_empty());
	});
}

#[test]
fn timing_the_last_reveal_does_not_choose_whether_a_spot_check_is_drawn() {
	test(|| {
		let (job, replicas) = assigned_job();
		for checkpoint in 0..2 {
			let report = |node| payload(job, node, checkpoint, 9, checkpoint == 1);
			replicas.iter().for_each(|node| send(commit_call(&report(*node))));
			replicas.iter().for_each(|node| send(reveal_call(report(*node))));
		}
		// The last replica revealed in a block whose randomness would draw no spot-check:
		// nothing is decided in it.
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Running);
		assert!(!events().iter().any(|event| matches!(event, Event::JobAccepted { .. })));

		// The next block's randomness, unknown when the reveal was signed, draws one.
		SpotChecked::set(vec![replicas[2]]);
		next_block();
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Disputed);
		assert!(events()
			.contains(&Event::JobDisputed { job, reason: DisputeReason::SpotCheck(replicas[2]) }));
	});
}

#[test]
fn a_challenge_bonds_and_disputes_only_within_the_window() {
	test(|| {
		let (job, replicas) = assigned_job();
		train(job, &replicas, |_| 9, |_| true);
		assert_noop!(
			ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 2),
			Error::<Test>::UnknownCheckpoint
		);
		assert_ok!(ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 1));
		let bond_reason = RuntimeHoldReason::ProofOfCompute(HoldReason::ChallengeBond);
		assert_eq!(Balances::balance_on_hold(&bond_reason, &CHALLENGER), BOND);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Disputed);
		assert_eq!(Challenges::<Test>::get(job), Some((CHALLENGER, 1, BOND)));
		run_to(System::block_number() + CHALLENGE_WINDOW);
		assert!(Payouts::<Test>::get(job).is_empty(), "a disputed job is not finalized");

		let (job, replicas) = assigned_job();
		train(job, &replicas, |_| 9, |_| true);
		run_to(System::block_number() + CHALLENGE_WINDOW);
		assert_noop!(
			ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 1),
			Error::<Test>::WrongState
		);
	});
}

#[test]
fn try_state_catches_a_challenge_bond_that_is_not_held_or_of_no_dispute() {
	new_test_ext().execute_with(|| {
		let (job, replicas) = assigned_job();
		train(job, &replicas, |_| 9, |_| true);
		assert_ok!(ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 1));
		assert_ok!(ProofOfCompute::do_try_state());
		Challenges::<Test>::insert(job, (CHALLENGER, 1, BOND - 1));
		assert_eq!(
			ProofOfCompute::do_try_state(),
			Err("a challenger's hold is not their bonds".into())
		);
		Challenges::<Test>::insert(job, (CHALLENGER, 1, BOND));
		Challenges::<Test>::insert(job + 1, (CHALLENGER, 1, 0));
		assert_eq!(
			ProofOfCompute::do_try_state(),
			Err("a challenge of a job that is not disputed".into())
		);
	});
}

#[test]
fn replaying_a_signature_from_another_chain_or_another_kind_of_message_fails() {
	test(|| {
		let (job, replicas) = assigned_job();
		let Call::commit { commit, signature } =
			commit_call(&payload(job, replicas[0], 0, 10, false))
		else {
			unreachable!()
		};
		let key = node_pair(commit.node);
		let other_chain = H256::repeat_byte(0xee);
		assert_ne!(other_chain, ProofOfCompute::genesis_hash());
		let forged = [
			// The same commit, signed on another chain that shares the node key.
			commit.signed_bytes(&other_chain),
			// The same bytes, signed as a reveal (or any other kind of message).
			SigningContext::Reveal.message(&ProofOfCompute::genesis_hash(), &commit),
			// The bare encoding, with neither context nor chain.
			commit.encode(),
		];
		for message in forged {
			let call =
				Call::commit { commit: commit.clone(), signature: key.sign(&message).into() };
			assert_eq!(authorize(call), Err(InvalidTransaction::BadProof));
		}
		assert_ok!(authorize(Call::commit { commit, signature }));
	});
}

#[test]
fn authorize_refuses_what_must_not_reach_the_pool() {
	test(|| {
		let (job, replicas) = assigned_job();
		let node = replicas[0];
		let good = payload(job, node, 0, 9, false);

		let mut forged = commit_call(&good);
		if let Call::commit { signature, .. } = &mut forged {
			*signature = signed_commit(&Commit { job, checkpoint: 0, node, hash: H256::zero() });
		}
		assert_eq!(authorize(forged), Err(InvalidTransaction::BadProof));
		let outsider = (0..5).find(|n| !replicas.contains(n)).unwrap();
		assert_eq!(
			authorize(commit_call(&payload(job, outsider, 0, 9, false))),
			Err(InvalidTransaction::BadSigner)
		);
		assert_eq!(
			authorize(commit_call(&payload(job + 7, node, 0, 9, false))),
			Err(InvalidTransaction::Stale)
		);
		assert_eq!(
			authorize(commit_call(&payload(job, node, 1, 9, true))),
			Err(InvalidTransaction::Future)
		);

		// The mock scores node n at 50 + 10·n percent of the configured priority of 100.
		assert_eq!(priority(commit_call(&good)), Ok(50 + 10 * u64::from(node)));
		send(commit_call(&good));
		assert_eq!(authorize(commit_call(&good)), Err(InvalidTransaction::Stale), "a duplicate");
		assert_eq!(
			authorize(reveal_call(good.clone())),
			Err(InvalidTransaction::Future),
			"others have not committed"
		);
		run_to(System::block_number() + REVEAL_DELAY);
		let other_digest = payload(job, node, 0, 10, false);
		assert_eq!(
			authorize(reveal_call(other_digest)),
			Err(InvalidTransaction::BadProof),
			"not what was committed"
		);
		send(reveal_call(good.clone()));
		assert_eq!(authorize(reveal_call(good)), Err(InvalidTransaction::Stale), "a second reveal");
	});
}

#[test]
fn a_job_another_pallet_could_not_pay_for_leaves_nothing_pending_or_scheduled() {
	test(|| {
		use tessera_primitives::JobCreator;
		// The model registry posts an approved proposal's job and, when it is refused (its
		// proposer can no longer pay), closes the proposal and goes on.
		let refused = <ProofOfCompute as JobCreator<_, _, _>>::create_job(
			&REQUESTER,
			spec(20, BackendClass::CpuReference),
			INITIAL_BALANCE + 1,
			3,
			100,
		);
		assert!(refused.is_err());
		assert!(Pending::<Test>::get().is_empty());
		assert!(Due::<Test>::get(100).is_empty());
		assert_eq!(NextJobId::<Test>::get(), 0);
		assert_eq!(Balances::free_balance(REQUESTER), INITIAL_BALANCE);
		ProofOfCompute::do_try_state().unwrap();
	});
}

#[test]
fn rewards_never_exceed_the_budget_and_a_short_budget_is_shared_alike() {
	test(|| {
		use tessera_primitives::JobCreator;
		let budget = 600;
		let job = <ProofOfCompute as JobCreator<_, _, _>>::create_job(
			&REQUESTER,
			spec(20, BackendClass::CpuReference),
			budget,
			3,
			100,
		)
		.unwrap();
		run_to(2);
		let replicas = Assignments::<Test>::get(job).unwrap().into_inner();
		train(job, &replicas, |_| 9, |_| true);
		run_to(System::block_number() + CHALLENGE_WINDOW);
		// 256, 256 and 281 (node 2 trusted) earned, 793 in all: each is paid 600/793 of it,
		// whatever its place in the assignment.
		let scaled = |earned: u64| Perbill::from_rational(budget, 793).mul_floor(earned);
		let payouts = Payouts::<Test>::get(job).into_inner();
		for (node, paid) in &payouts {
			assert_eq!(*paid, scaled(if *node == 2 { 281 } else { 256 }));
		}
		let paid: u64 = payouts.iter().map(|(_, paid)| paid).sum();
		assert_eq!(paid, 2 * 193 + 212);
		assert_eq!(Balances::balance(&REQUESTER), INITIAL_BALANCE - paid);
		assert!(events().contains(&Event::JobFinalized { job, refunded: budget - paid }));
	});
}

#[test]
fn paying_for_claimed_work_fails_and_replicas_are_paid_for_the_work_of_the_spec() {
	test(|| {
		let (job, replicas) = assigned_job();
		let boaster = replicas[0];
		for checkpoint in 0..2 {
			let last = checkpoint == 1;
			let report = |node: NodeId| {
				let mut report = payload(job, node, checkpoint, 9, last);
				if node == boaster && last {
					report.work = Some(u64::MAX);
				}
				report
			};
			for node in &replicas {
				send(commit_call(&report(*node)));
			}
			for node in &replicas {
				send(reveal_call(report(*node)));
			}
		}
		next_block();
		run_to(System::block_number() + CHALLENGE_WINDOW);
		// The work a replica claims changes nothing: everyone is paid the 20 steps the
		// spec says, and the replicas after the boaster are not starved.
		let reward = |node: NodeId| if node == 2 { 281 } else { 256 };
		let payouts = Payouts::<Test>::get(job).into_inner();
		assert_eq!(payouts.len(), 3);
		for (node, paid) in payouts {
			assert_eq!(paid, reward(node));
			assert_eq!(Balances::balance(&(OWNER_BASE + u64::from(node))), INITIAL_BALANCE + paid);
		}
		assert_eq!(Contributions::<Test>::iter_prefix(job).count(), 0);
	});
}

#[test]
fn a_replica_reveals_its_checkpoints_in_order_and_only_while_the_job_runs() {
	test(|| {
		let (job, replicas) = assigned_job();
		let (late, silent) = (replicas[1], replicas[2]);
		for node in &replicas {
			send(commit_call(&payload(job, *node, 0, 9, false)));
		}
		send(reveal_call(payload(job, replicas[0], 0, 9, false)));
		for node in &replicas {
			send(commit_call(&payload(job, *node, 1, 9, true)));
		}

		// What a dispute over the result would bisect to comes before the result.
		assert_eq!(
			authorize(reveal_call(payload(job, late, 1, 9, true))),
			Err(InvalidTransaction::Future)
		);
		send(reveal_call(payload(job, late, 0, 9, false)));
		for node in [replicas[0], late] {
			send(reveal_call(payload(job, node, 1, 9, true)));
		}
		run_to(Jobs::<Test>::get(job).unwrap().deadline);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);

		assert_eq!(
			authorize(reveal_call(payload(job, silent, 0, 9, false))),
			Err(InvalidTransaction::Stale),
			"verification is over"
		);
	});
}

#[test]
fn copying_after_the_reveal_opens_fails_and_the_copier_counts_as_missing() {
	test(|| {
		let (job, replicas) = assigned_job();
		let (honest, copier) = (&replicas[..2], replicas[2]);
		for node in honest {
			send(commit_call(&payload(job, *node, 0, 9, false)));
		}
		// The copier waits out the commit phase, then reads an honest reveal from storage.
		run_to(System::block_number() + REVEAL_DELAY);
		send(reveal_call(payload(job, honest[0], 0, 9, false)));
		let seen = Reveals::<Test>::get((job, honest[0], 0)).unwrap().weights_digest;
		let copy = payload(job, copier, 0, seen.0[0], false);
		let late = commit_call(&copy);
		assert_eq!(authorize(late.clone()), Err(InvalidTransaction::Stale));
		let Call::commit { commit, signature } = late else { unreachable!() };
		assert_noop!(
			ProofOfCompute::commit(RawOrigin::Authorized.into(), commit, signature),
			Error::<Test>::WrongState
		);
		assert!(!Commits::<Test>::contains_key((job, copier, 0)));
		assert_eq!(authorize(reveal_call(copy)), Err(InvalidTransaction::Future));

		// It may still deliver the checkpoints whose commit phase it makes; the one it
		// missed stays missing, and the final result is verified without it.
		for node in &replicas {
			send(commit_call(&payload(job, *node, 1, 9, true)));
		}
		send(reveal_call(payload(job, honest[1], 0, 9, false)));
		for node in &replicas {
			send(reveal_call(payload(job, *node, 1, 9, true)));
		}
		assert!(!Reveals::<Test>::contains_key((job, copier, 0)));
		next_block();
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);

		// The missed checkpoint is not paid: 10 steps for the copier, 20 for the others.
		run_to(System::block_number() + CHALLENGE_WINDOW);
		let trusted = |node: NodeId, earned: u64| if node == 2 { earned * 11 / 10 } else { earned };
		for (node, paid) in Payouts::<Test>::get(job) {
			let steps = if node == copier { 10 } else { 20 };
			assert_eq!(paid, trusted(node, steps * 128 / 10));
		}
	});
}

#[test]
fn a_sybil_majority_fails_since_one_owner_holds_one_seat_per_job_and_none_on_its_panel() {
	test(|| {
		// One account owns trainers 0, 1 and 2 and validator 5.
		let sybil = OWNER_BASE + 50;
		Nodes::mutate(|nodes| {
			for node in nodes.iter_mut().filter(|node| [0, 1, 2, 5].contains(&node.id)) {
				node.owner = sybil;
			}
		});
		let (job, replicas) = assigned_job();
		let owners: std::collections::BTreeSet<_> =
			replicas.iter().map(|node| Nodes::get()[*node as usize].owner).collect();
		assert_eq!(owners.len(), 3, "three replicas, three owners");
		assert_eq!(replicas.iter().filter(|node| **node < 3).count(), 1);

		// Without a majority the job is disputed; its panel has no node of a replica's owner.
		train(job, &replicas, |node| node as u8 + 20, |_| true);
		let panel = Panels::<Test>::get(job);
		assert_eq!(panel.len(), 3);
		assert!(!panel.contains(&5));
		let panel_owners: std::collections::BTreeSet<_> =
			panel.iter().map(|node| Nodes::get()[*node as usize].owner).collect();
		assert_eq!(panel_owners.len(), 3);
	});
}
