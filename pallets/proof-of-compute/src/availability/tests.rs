//! Availability checks: asked for, sampled, proven, failed.

use crate::{
	dispute::tests::{balance, honest, long_job, reporting, reward, train, CHECKPOINTS},
	mock::*,
	pallet::*,
	tests::{authorize, events, send, test},
	types::*,
};
use polkadot_sdk::{
	frame_support::{
		assert_noop, assert_ok, pallet_prelude::DispatchResult, traits::fungible::Inspect,
		traits::Hooks, weights::WeightMeter,
	},
	sp_core::Pair as _,
	sp_runtime::{transaction_validity::InvalidTransaction, Perbill},
};
use tessera_primitives::NodeSigned as _;
use tessera_primitives::{JobId, JobState, NodeId, SlashReason};

/// An eight-checkpoint job its three replicas trained honestly, accepted.
fn accepted_job() -> (JobId, Vec<NodeId>) {
	let (job, replicas) = long_job();
	train(&replicas, reporting(job, |_, checkpoint| honest(checkpoint)));
	assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);
	(job, replicas)
}

fn report_call(check: u64, validator: NodeId, served: bool) -> Call<Test> {
	let report = AvailabilityReport { check, validator, served };
	let signature =
		node_pair(validator).sign(&report.signed_bytes(&ProofOfCompute::genesis_hash())).into();
	Call::report_availability { report, signature }
}

fn bonded(who: u64) -> u64 {
	use polkadot_sdk::frame_support::traits::fungible::InspectHold;
	Balances::balance_on_hold(
		&RuntimeHoldReason::ProofOfCompute(HoldReason::AvailabilityBond),
		&who,
	)
}

fn challenge(job: JobId, node: NodeId, checkpoint: u32) -> DispatchResult {
	ProofOfCompute::challenge_availability(RuntimeOrigin::signed(CHALLENGER), job, node, checkpoint)
}

/// A replica other than the trusted node 2, whose reward is plain.
fn plain(replicas: &[NodeId]) -> NodeId {
	*replicas.iter().find(|node| **node != 2).unwrap()
}

#[test]
fn content_proven_pays_the_validator_from_the_treasury_and_the_askers_bond_to_the_node() {
	test(|| {
		let (job, replicas) = accepted_job();
		let served = plain(&replicas);
		assert_ok!(challenge(job, served, 3));
		assert_eq!(bonded(CHALLENGER), AVAILABILITY_BOND);
		let check = AvailabilityChecks::<Test>::get(0).unwrap();
		assert_eq!((check.node, check.checkpoint), (served, 3));
		assert_eq!(check.cid, payload(job, served, 3, honest(3), false).state_cid);
		assert!(VALIDATORS.contains(&check.validator));
		assert_eq!(check.deadline, System::block_number() + AVAILABILITY_WINDOW);
		assert!(AvailabilityDuties::<Test>::contains_key(check.validator, 0));
		let (node_before, validator_before) = (balance(served), balance(check.validator));
		let treasury_before = Balances::balance(&TREASURY);

		run_to(check.deadline);
		send(report_call(0, check.validator, true));
		assert!(events().contains(&Event::AvailabilityProven {
			check: 0,
			validator: check.validator,
			fee: AVAILABILITY_FEE
		}));
		assert!(AvailabilityChecks::<Test>::get(0).is_none());
		assert_eq!(OpenChecks::<Test>::get(served), 0);
		assert_eq!(bonded(CHALLENGER), 0);
		assert_eq!(Balances::balance(&CHALLENGER), INITIAL_BALANCE - AVAILABILITY_BOND);
		assert_eq!(balance(served), node_before + AVAILABILITY_BOND);
		assert_eq!(balance(check.validator), validator_before + AVAILABILITY_FEE);
		assert_eq!(Balances::balance(&TREASURY), treasury_before - AVAILABILITY_FEE);
		assert!(Slashes::get().is_empty());
	});
}

#[test]
fn a_free_availability_challenge_cannot_take_stake_silent_validators_pay_for_their_silence() {
	test(|| {
		let (job, replicas) = accepted_job();
		let node = plain(&replicas);
		let node_before = balance(node);
		assert_ok!(challenge(job, node, CHECKPOINTS - 1));
		let mut silent = Vec::new();
		// Every validator drawn says nothing: each loses its share, another is drawn, and
		// after the last draw the check closes without fault.
		while let Some(check) = AvailabilityChecks::<Test>::get(0) {
			silent.push(check.validator);
			run_to(check.deadline + 1);
			let slashed = STAKE * 5 / 100;
			assert!(events().contains(&Event::AvailabilityReportMissed {
				check: 0,
				validator: check.validator,
				slashed
			}));
		}
		let reason = SlashReason::MissedVerdict(Perbill::from_percent(5));
		assert_eq!(
			Slashes::get(),
			silent.iter().map(|validator| (*validator, reason)).collect::<Vec<_>>()
		);
		silent.sort();
		assert_eq!(silent, VALIDATORS.to_vec(), "never the same validator twice");
		assert!(events().contains(&Event::AvailabilityUndecided { check: 0 }));
		// The job finalized meanwhile: the node was paid in full and lost nothing.
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Finalized);
		assert_eq!(balance(node), node_before + reward(node));
		assert!(Reveals::<Test>::contains_key((job, node, CHECKPOINTS - 1)));
		assert_eq!((bonded(CHALLENGER), Balances::balance(&CHALLENGER)), (0, INITIAL_BALANCE));
		assert_eq!(AvailabilityDuties::<Test>::iter().count(), 0);
	});
}

#[test]
fn content_a_quorum_of_validators_cannot_get_costs_the_node_once_and_the_job_goes_on() {
	test(|| {
		let (job, replicas) = accepted_job();
		let (served, lost) = (
			replicas.iter().copied().find(|node| *node != plain(&replicas)).unwrap(),
			plain(&replicas),
		);
		let last = CHECKPOINTS - 1;
		assert_ok!(challenge(job, lost, last));
		let first = AvailabilityChecks::<Test>::get(0).unwrap().validator;
		// One validator's word is not enough: another is asked.
		send(report_call(0, first, false));
		assert!(events().contains(&Event::AvailabilityMissing { check: 0, validator: first }));
		assert!(Slashes::get().is_empty());
		let second = AvailabilityChecks::<Test>::get(0).unwrap().validator;
		assert_ne!(second, first);
		send(report_call(0, second, false));

		// A new node's tier costs 3% of its stake.
		let slashed = STAKE * 3 / 100;
		assert!(events().contains(&Event::AvailabilityFailed { check: 0, node: lost, slashed }));
		assert_eq!(
			Slashes::get(),
			vec![(lost, SlashReason::DataUnavailable(Perbill::from_percent(3)))]
		);
		assert!(AvailabilityChecks::<Test>::get(0).is_none());
		assert!(CheckOf::<Test>::iter().next().is_none());
		assert_eq!(AvailabilityDuties::<Test>::iter().count(), 0);
		assert_eq!((bonded(CHALLENGER), Balances::balance(&CHALLENGER)), (0, INITIAL_BALANCE));
		// Once found missing, the same content cannot be held against the node again.
		assert_noop!(challenge(job, lost, last), Error::<Test>::AlreadyLost);

		// The reveal stays: the replica delivered the result and is paid for all but the
		// checkpoint whose state is gone (one of eight), and slashed nothing more.
		assert!(Reveals::<Test>::contains_key((job, lost, last)));
		let ends = Jobs::<Test>::get(job).unwrap().result.unwrap().challenge_ends;
		run_to(ends);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Finalized);
		assert_eq!(balance(lost), INITIAL_BALANCE - slashed + reward(lost) * 7 / 8);
		assert_eq!(balance(served), INITIAL_BALANCE + reward(served));
		assert_eq!(Slashes::get().len(), 1);
	});
}

#[test]
fn sampled_reveals_are_checked_in_later_blocks_as_far_as_each_has_room() {
	test(|| {
		let (first, _) = accepted_job();
		assert_eq!(AvailabilityChecks::<Test>::iter().count(), 0, "none at 0%");

		AvailabilitySampleRate::set(Perbill::one());
		let (second, replicas) = long_job();
		train(&replicas, reporting(second, |_, checkpoint| honest(checkpoint)));
		// Every reveal is drawn; a reveal only queues its check, and the block after it opens
		// as many as its deadline list holds (`MaxDuePerBlock`, 4 here).
		let checks: Vec<_> = AvailabilityChecks::<Test>::iter_values().collect();
		assert_eq!(checks.len(), 4);
		assert!(checks.iter().all(|check| check.job == second && check.job != first));
		assert_eq!(SampledReveals::<Test>::iter().count(), 24 - 4);
		ProofOfCompute::do_try_state().unwrap();
		// The next blocks open the rest, up to `MAX_OPEN_CHECKS_PER_NODE` open checks of
		// each node's content; samples beyond that are not checked.
		for _ in 0..3 {
			next_block();
		}
		assert_eq!(SampledReveals::<Test>::iter().count(), 0);
		for node in &replicas {
			assert_eq!(OpenChecks::<Test>::get(node), crate::MAX_OPEN_CHECKS_PER_NODE);
		}
		assert_eq!(AvailabilityChecks::<Test>::iter().count(), 12);
		ProofOfCompute::do_try_state().unwrap();
	});
}

#[test]
fn checks_are_refused_for_nothing_committed_twice_too_many_without_a_bond_or_past_retention() {
	test(|| {
		let (job, replicas) = accepted_job();
		assert_noop!(challenge(job, VALIDATORS[0], 0), Error::<Test>::NothingCommitted);
		assert_ok!(challenge(job, replicas[0], 0));
		assert_noop!(challenge(job, replicas[0], 0), Error::<Test>::AlreadyChecking);
		// A node answers a few checks at a time, whoever asks.
		for checkpoint in 1..crate::MAX_OPEN_CHECKS_PER_NODE {
			assert_ok!(challenge(job, replicas[0], checkpoint));
		}
		assert_noop!(challenge(job, replicas[0], 5), Error::<Test>::TooManyChecks);
		assert_eq!(bonded(CHALLENGER), AVAILABILITY_BOND * 4);
		// Nobody asks without a bond.
		assert!(ProofOfCompute::challenge_availability(
			RuntimeOrigin::signed(77),
			job,
			replicas[1],
			0
		)
		.is_err());

		Nodes::mutate(|nodes| nodes.iter_mut().for_each(|node| node.validator = false));
		assert_noop!(challenge(job, replicas[2], 0), Error::<Test>::NoValidator);
		Nodes::mutate(|nodes| nodes.iter_mut().for_each(|node| node.validator = node.id >= 5));

		let ends = Jobs::<Test>::get(job).unwrap().result.unwrap().challenge_ends;
		run_to(ends + RETENTION - 1);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Finalized);
		// Still within retention.
		assert_ok!(challenge(job, replicas[1], 1));
		// Past it, before the job is pruned (blocks with no weight left over, say)…
		System::set_block_number(ends + RETENTION);
		assert_noop!(challenge(job, replicas[2], 1), Error::<Test>::PastRetention);
		// …and once it is gone.
		ProofOfCompute::on_poll(ends + RETENTION, &mut WeightMeter::new());
		ProofOfCompute::on_idle(ends + RETENTION, IDLE_WEIGHT);
		assert_noop!(challenge(job, replicas[2], 1), Error::<Test>::UnknownJob);
	});
}

#[test]
fn authorize_refuses_reports_from_other_validators_or_too_late() {
	test(|| {
		let (job, replicas) = accepted_job();
		assert_ok!(ProofOfCompute::challenge_availability(
			RuntimeOrigin::signed(CHALLENGER),
			job,
			replicas[0],
			0
		));
		let check = AvailabilityChecks::<Test>::get(0).unwrap();
		let other = VALIDATORS.into_iter().find(|node| *node != check.validator).unwrap();
		assert_eq!(authorize(report_call(0, other, true)), Err(InvalidTransaction::BadSigner));
		assert_eq!(
			authorize(report_call(7, check.validator, true)),
			Err(InvalidTransaction::Stale)
		);
		let mut forged = report_call(0, check.validator, true);
		if let Call::report_availability { signature, .. } = &mut forged {
			*signature = node_pair(other).sign(b"anything").into();
		}
		assert_eq!(authorize(forged), Err(InvalidTransaction::BadProof));
		run_to(check.deadline + 1);
		// Its silence cost it the check: another validator holds it now.
		assert_eq!(
			authorize(report_call(0, check.validator, true)),
			Err(InvalidTransaction::BadSigner)
		);
	});
}

#[test]
fn a_validator_with_a_check_to_report_cannot_leave_before_it_reports() {
	use tessera_primitives::NodeWorkload;
	test(|| {
		let (job, replicas) = accepted_job();
		assert_ok!(challenge(job, plain(&replicas), 3));
		let check = AvailabilityChecks::<Test>::get(0).unwrap();
		// Leaving with the check open would leave it to a node that no longer answers.
		assert!(<ProofOfCompute as NodeWorkload>::has_open_jobs(check.validator));
		send(report_call(0, check.validator, true));
		assert!(!<ProofOfCompute as NodeWorkload>::has_open_jobs(check.validator));
	});
}

#[test]
fn try_state_catches_an_open_availability_check_with_nothing_scheduled() {
	new_test_ext().execute_with(|| {
		let (job, replicas) = accepted_job();
		assert_ok!(challenge(job, plain(&replicas), 3));
		assert_ok!(ProofOfCompute::do_try_state());
		let check = AvailabilityChecks::<Test>::get(0).unwrap();
		AvailabilityDue::<Test>::remove(check.deadline + 1);
		assert_eq!(
			ProofOfCompute::do_try_state(),
			Err("an open availability check with nothing scheduled".into())
		);
	});
}

#[test]
fn try_state_catches_a_duty_of_a_node_that_is_not_registered() {
	new_test_ext().execute_with(|| {
		let (job, replicas) = accepted_job();
		assert_ok!(challenge(job, plain(&replicas), 3));
		let check = AvailabilityChecks::<Test>::get(0).unwrap();
		Nodes::mutate(|nodes| nodes.retain(|node| node.id != check.validator));
		assert_eq!(
			ProofOfCompute::do_try_state(),
			Err("a duty of a node that is not registered".into())
		);
	});
}
