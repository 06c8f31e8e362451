//! Storage deposits and pruning after retention.

use crate::{
	mock::*,
	pallet::*,
	tests::{events, held, post, test, train},
};
use polkadot_sdk::frame_support::{
	assert_ok,
	traits::{fungible::InspectHold, Hooks},
	weights::{Weight, WeightMeter},
};
use tessera_primitives::{BackendClass, JobState};

fn deposit_held(who: u64) -> u64 {
	Balances::balance_on_hold(&RuntimeHoldReason::ProofOfCompute(HoldReason::JobDeposit), &who)
}

/// A base of 50 and a unit a byte.
fn with_deposits() {
	JobDepositBaseOf::set(50);
	JobDepositPerByteOf::set(1);
}

#[test]
fn a_job_holds_a_deposit_for_all_it_can_make_the_chain_store() {
	test(|| {
		with_deposits();
		let job = post(3, BackendClass::CpuReference, 100);
		let info = Jobs::<Test>::get(job).unwrap();
		assert_eq!(info.deposit, ProofOfCompute::job_deposit(&info.spec, 3, 2));
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
		assert!(!Jobs::<Test>::contains_key(job));
		assert!(ProofOfCompute::commitments_of(job).is_empty());
		assert_eq!(Reveals::<Test>::iter_prefix((job,)).count(), 0);
		assert_eq!(Commits::<Test>::iter_prefix((job,)).count(), 0);
		assert_eq!(CommitRounds::<Test>::iter_prefix(job).count(), 0);
		assert_eq!(NextCheckpoint::<Test>::iter_prefix(job).count(), 0);
		assert!(!Assignments::<Test>::contains_key(job) && !Payouts::<Test>::contains_key(job));
		assert!(Prunable::<Test>::iter().next().is_none());
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
