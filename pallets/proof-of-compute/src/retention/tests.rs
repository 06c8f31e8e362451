//! Storage deposits and pruning after retention.

use crate::{
	dispute::tests::{
		honest, honest_panels_until_resolved, long_job, reporting, train as train_long, CHECKPOINTS,
	},
	mock::*,
	pallet::*,
	tests::{authorize, events, held, post, send, test, train},
	types::AvailabilityReport,
};
use polkadot_sdk::frame_support::{
	assert_ok,
	traits::{fungible::InspectHold, Hooks},
	weights::{Weight, WeightMeter},
};
use polkadot_sdk::sp_core::Pair as _;
use tessera_primitives::{BackendClass, JobState};
use tessera_primitives::{JobId, NodeSigned as _};

fn deposit_held(who: u64) -> u64 {
	Balances::balance_on_hold(&RuntimeHoldReason::ProofOfCompute(HoldReason::JobDeposit), &who)
}

/// A base of 50 and a unit a byte.
fn with_deposits() {
	JobDepositBaseOf::set(50);
	JobDepositPerByteOf::set(1);
}

/// Asserts that no storage item of the pallet still names `job`.
pub(crate) fn assert_nothing_left_of(job: JobId) {
	assert!(!Jobs::<Test>::contains_key(job), "the job");
	assert!(!JobSpecs::<Test>::contains_key(job), "its spec");
	assert!(!Prunable::<Test>::contains_key(job), "its pruning mark");
	assert!(!Assignments::<Test>::contains_key(job) && !Payouts::<Test>::contains_key(job));
	assert!(!Pending::<Test>::get().contains(&job), "its place in the queue");
	assert!(Due::<Test>::iter_values().all(|due| !due.contains(&job)), "its schedule");
	assert_eq!(Commits::<Test>::iter_prefix((job,)).count(), 0, "commits");
	assert_eq!(Reveals::<Test>::iter_prefix((job,)).count(), 0, "reveals");
	assert_eq!(CommitRounds::<Test>::iter_prefix(job).count(), 0, "commit rounds");
	assert_eq!(NextCheckpoint::<Test>::iter_prefix(job).count(), 0, "next checkpoints");
	assert_eq!(LostContent::<Test>::iter_prefix((job,)).count(), 0, "lost content");
	assert!(!Challenges::<Test>::contains_key(job) && !Disputes::<Test>::contains_key(job));
	assert!(Panels::<Test>::get(job).is_empty(), "its panel");
	assert_eq!(PanelCommits::<Test>::iter_prefix(job).count(), 0, "panel commits");
	assert_eq!(PanelVerdicts::<Test>::iter_prefix(job).count(), 0, "panel verdicts");
	assert!(PanelDuties::<Test>::iter_keys().all(|(_, of)| of != job), "panel duties");
	assert!(!LastAgreed::<Test>::contains_key(job), "its agreed checkpoint");
	assert_eq!(ReplicaStarts::<Test>::iter_prefix(job).count(), 0, "replacement starts");
	assert!(!Replacements::<Test>::contains_key(job), "its replacement count");
	assert_eq!(Contributions::<Test>::iter_prefix(job).count(), 0, "contributions");
	assert!(!Federations::<Test>::contains_key(job), "its federation");
	assert_eq!(Aggregations::<Test>::iter_prefix(job).count(), 0, "aggregates");
	assert_eq!(UpheldUpdates::<Test>::iter_prefix(job).count(), 0, "upheld updates");
	assert_eq!(
		crate::traps::TrapConfirmations::<Test>::iter_prefix(job).count(),
		0,
		"trap confirmations"
	);
	assert!(AggregatorDuties::<Test>::iter_keys().all(|(_, of)| of != job), "aggregators");
	assert!(AggregatesAtStake::<Test>::iter_keys().all(|(_, of)| of != job), "aggregates at stake");
	assert!(OpenJobs::<Test>::iter_keys().all(|(_, of)| of != job), "replica seats");
	assert!(AvailabilityChecks::<Test>::iter_values().all(|check| check.job != job), "checks");
	assert!(CheckOf::<Test>::iter_keys().all(|(of, _, _)| of != job), "check index");
}

fn report_call(check: u64, validator: u32, served: bool) -> Call<Test> {
	let report = AvailabilityReport { check, validator, served };
	let signature =
		node_pair(validator).sign(&report.signed_bytes(&ProofOfCompute::genesis_hash())).into();
	Call::report_availability { report, signature }
}

#[test]
fn a_finished_job_leaves_no_storage_after_its_retention() {
	test(|| {
		with_deposits();
		// A challenged job: a dispute, panels and their verdicts come and go.
		let (job, replicas) = long_job();
		let deposit = Jobs::<Test>::get(job).unwrap().deposit;
		train_long(&replicas, reporting(job, |_, checkpoint| honest(checkpoint)));
		assert_ok!(ProofOfCompute::challenge(
			RuntimeOrigin::signed(CHALLENGER),
			job,
			CHECKPOINTS - 1
		));
		honest_panels_until_resolved(job);
		let info = Jobs::<Test>::get(job).unwrap();
		assert_eq!(info.state, JobState::Resolved);
		let ended = info.ended.unwrap();

		// An availability check asked for in the last block of the retention outlives it.
		run_to(ended + RETENTION - 1);
		let node = replicas[0];
		assert_ok!(ProofOfCompute::challenge_availability(
			RuntimeOrigin::signed(REQUESTER),
			job,
			node,
			CHECKPOINTS - 1
		));
		run_to(ended + RETENTION);
		assert!(events().contains(&Event::JobPruned { job, deposit }));
		assert!(AvailabilityChecks::<Test>::contains_key(0));
		// The content turns out lost after the job is gone: the node pays, and nothing is
		// stored for a job that no longer exists.
		for _ in 0..2 {
			let validator = AvailabilityChecks::<Test>::get(0).unwrap().validator;
			assert_ok!(authorize(report_call(0, validator, false)));
			send(report_call(0, validator, false));
		}
		assert!(events().iter().any(|event| matches!(
			event,
			Event::AvailabilityFailed { check: 0, node: lost, .. } if *lost == node
		)));
		run_to(100);
		assert_nothing_left_of(job);
		// The deposit and the availability bond came back; the budget paid the replicas
		// and the panels, and the rest came back too.
		let refunded = events()
			.into_iter()
			.find_map(|event| match event {
				Event::JobFinalized { job: finalized, refunded } if finalized == job => {
					Some(refunded)
				}
				_ => None,
			})
			.unwrap();
		assert_eq!((deposit_held(REQUESTER), held(REQUESTER)), (0, 0));
		let bond = RuntimeHoldReason::ProofOfCompute(HoldReason::AvailabilityBond);
		assert_eq!(Balances::balance_on_hold(&bond, &REQUESTER), 0);
		assert_eq!(Balances::free_balance(REQUESTER), INITIAL_BALANCE - BUDGET + refunded);
	});
}

#[test]
fn try_state_catches_lost_content_of_a_job_that_is_gone() {
	new_test_ext().execute_with(|| {
		let job = post(3, BackendClass::CpuReference, 100);
		LostContent::<Test>::insert((job, 0, 0), ());
		assert_ok!(ProofOfCompute::do_try_state());
		LostContent::<Test>::insert((job + 1, 0, 0), ());
		assert_eq!(
			ProofOfCompute::do_try_state(),
			Err("lost content recorded for a job that is gone".into())
		);
	});
}

#[test]
fn a_job_holds_a_deposit_for_all_it_can_make_the_chain_store() {
	test(|| {
		with_deposits();
		let job = post(3, BackendClass::CpuReference, 100);
		let info = Jobs::<Test>::get(job).unwrap();
		assert_eq!(
			info.deposit,
			ProofOfCompute::job_deposit(&JobSpecs::<Test>::get(job).unwrap(), 3, 2)
		);
		// The spec, and three replicas' commit and reveal of two checkpoints.
		assert!(info.deposit > 50 + 6 * 300, "{}", info.deposit);
		assert_eq!((deposit_held(REQUESTER), held(REQUESTER)), (info.deposit, BUDGET));
		// Five replicas store more.
		let wider = post(5, BackendClass::CpuReference, 100);
		assert!(Jobs::<Test>::get(wider).unwrap().deposit > info.deposit);
	});
}

#[test]
fn a_finished_job_leaves_the_chain_after_its_retention_and_its_deposit_goes_back() {
	test(|| {
		with_deposits();
		let job = post(3, BackendClass::CpuReference, 100);
		run_to(System::block_number() + 1);
		let replicas = Assignments::<Test>::get(job).unwrap();
		train(job, &replicas, |_| 9, |_| true);
		let ends = Jobs::<Test>::get(job).unwrap().result.unwrap().challenge_ends;
		run_to(ends);
		let info = Jobs::<Test>::get(job).unwrap();
		assert_eq!((info.state, info.ended), (JobState::Finalized, Some(ends)));
		assert_eq!(held(REQUESTER), 0);
		assert_eq!(deposit_held(REQUESTER), info.deposit, "held until the job is pruned");
		let refunded = events()
			.into_iter()
			.find_map(|event| match event {
				Event::JobFinalized { job: finalized, refunded } if finalized == job => {
					Some(refunded)
				}
				_ => None,
			})
			.unwrap();

		// Still readable (and its content still owed) for the retention period.
		run_to(ends + RETENTION - 1);
		assert!(Jobs::<Test>::contains_key(job));
		assert_eq!(ProofOfCompute::commitments_of(job).len(), 6);

		run_to(ends + RETENTION);
		assert!(events().contains(&Event::JobPruned { job, deposit: info.deposit }));
		assert!(ProofOfCompute::commitments_of(job).is_empty());
		// Its deadline's entry in the schedule goes when that block comes.
		run_to(100);
		assert_nothing_left_of(job);
		assert_eq!(deposit_held(REQUESTER), 0);
		assert_eq!(Balances::free_balance(REQUESTER), INITIAL_BALANCE - BUDGET + refunded);
	});
}

#[test]
fn a_cancelled_job_is_pruned_too_and_only_with_weight_a_block_leaves_over() {
	test(|| {
		with_deposits();
		let job = post(3, BackendClass::CpuReference, 100);
		let deposit = Jobs::<Test>::get(job).unwrap().deposit;
		assert_ok!(ProofOfCompute::cancel_job(RuntimeOrigin::signed(REQUESTER), job));
		let due = System::block_number() + RETENTION;
		System::set_block_number(due);
		ProofOfCompute::on_poll(due, &mut WeightMeter::new());
		assert!(Prunable::<Test>::contains_key(job));
		// A block with nothing left over prunes nothing.
		assert_eq!(ProofOfCompute::on_idle(due, Weight::zero()), Weight::zero());
		assert!(Jobs::<Test>::contains_key(job));
		assert_eq!(deposit_held(REQUESTER), deposit);

		ProofOfCompute::on_idle(due, IDLE_WEIGHT);
		assert!(!Jobs::<Test>::contains_key(job));
		assert_eq!(
			(deposit_held(REQUESTER), Balances::free_balance(REQUESTER)),
			(0, INITIAL_BALANCE)
		);
	});
}
