//! Availability checks: asked for, sampled, proven, failed.

use crate::{
	dispute::tests::{balance, honest, long_job, reporting, reward, train, CHECKPOINTS},
	mock::*,
	pallet::*,
	tests::{authorize, events, send, test},
	types::*,
};
use polkadot_sdk::{
	frame_support::{assert_noop, assert_ok},
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

fn proof_call(check: u64, validator: NodeId) -> Call<Test> {
	let proof = AvailabilityProof { check, validator };
	let signature =
		node_pair(validator).sign(&proof.signed_bytes(&ProofOfCompute::genesis_hash())).into();
	Call::availability_proven { proof, signature }
}

#[test]
fn content_proven_in_time_costs_nothing_and_content_not_proven_costs_stake_and_the_reveal() {
	test(|| {
		let (job, replicas) = accepted_job();
		let (served, lost) = (replicas[0], replicas[1]);
		assert_ok!(ProofOfCompute::challenge_availability(
			RuntimeOrigin::signed(CHALLENGER),
			job,
			served,
			3
		));
		let check = AvailabilityChecks::<Test>::get(0).unwrap();
		assert_eq!((check.node, check.checkpoint), (served, 3));
		assert_eq!(check.cid, payload(job, served, 3, honest(3), false).state_cid);
		assert!(VALIDATORS.contains(&check.validator));
		assert_eq!(check.deadline, System::block_number() + AVAILABILITY_WINDOW);
		assert!(AvailabilityDuties::<Test>::contains_key(check.validator, 0));
		run_to(check.deadline);
		send(proof_call(0, check.validator));
		assert!(events().contains(&Event::AvailabilityProven { check: 0 }));
		assert!(AvailabilityChecks::<Test>::get(0).is_none());

		let last = CHECKPOINTS - 1;
		assert_ok!(ProofOfCompute::challenge_availability(
			RuntimeOrigin::signed(CHALLENGER),
			job,
			lost,
			last
		));
		let deadline = AvailabilityChecks::<Test>::get(1).unwrap().deadline;
		run_to(deadline + 1);
		// A new node's tier costs 3% of its stake.
		let slashed = STAKE * 3 / 100;
		assert!(events().contains(&Event::AvailabilityFailed { check: 1, node: lost, slashed }));
		assert_eq!(
			Slashes::get(),
			vec![(lost, SlashReason::DataUnavailable(Perbill::from_percent(3)))]
		);
		assert!(Reveals::<Test>::get((job, lost, last)).is_none());
		assert!(CheckOf::<Test>::iter().next().is_none());
		assert_eq!(AvailabilityDuties::<Test>::iter().count(), 0);

		// Its final state is gone: it is not paid for it, and counts as not delivered.
		let ends = Jobs::<Test>::get(job).unwrap().result.unwrap().challenge_ends;
		run_to(ends);
		let paid: Vec<NodeId> = Payouts::<Test>::get(job).iter().map(|(node, _)| *node).collect();
		assert!(!paid.contains(&lost) && paid.len() == 2);
		assert_eq!(balance(lost), INITIAL_BALANCE - slashed - STAKE / 10);
		assert_eq!(balance(served), INITIAL_BALANCE + reward(served));
	});
}

#[test]
fn reveals_are_sampled_at_the_configured_rate_as_far_as_a_block_has_room() {
	test(|| {
		let (first, _) = accepted_job();
		assert_eq!(AvailabilityChecks::<Test>::iter().count(), 0, "none at 0%");

		AvailabilitySampleRate::set(Perbill::one());
		let (second, _) = accepted_job();
		// Every reveal is drawn, but the checks of one block close in one block, whose list
		// holds `MaxDuePerBlock` (4 here): the rest are skipped, not queued.
		let checks: Vec<_> = AvailabilityChecks::<Test>::iter_values().collect();
		assert_eq!(checks.len(), 4);
		assert!(checks.iter().all(|check| check.job == second && check.job != first));
	});
}

#[test]
fn checks_are_refused_for_nothing_committed_twice_or_past_retention() {
	test(|| {
		let (job, replicas) = accepted_job();
		let challenge = |node, checkpoint| {
			ProofOfCompute::challenge_availability(
				RuntimeOrigin::signed(CHALLENGER),
				job,
				node,
				checkpoint,
			)
		};
		assert_noop!(challenge(VALIDATORS[0], 0), Error::<Test>::NothingCommitted);
		assert_ok!(challenge(replicas[0], 0));
		assert_noop!(challenge(replicas[0], 0), Error::<Test>::AlreadyChecking);

		Nodes::mutate(|nodes| nodes.iter_mut().for_each(|node| node.validator = false));
		assert_noop!(challenge(replicas[2], 0), Error::<Test>::NoValidator);
		Nodes::mutate(|nodes| nodes.iter_mut().for_each(|node| node.validator = node.id >= 5));

		let ends = Jobs::<Test>::get(job).unwrap().result.unwrap().challenge_ends;
		run_to(ends + RETENTION - 1);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Finalized);
		// Still within retention.
		assert_ok!(challenge(replicas[1], 1));
		run_to(ends + RETENTION);
		assert_noop!(challenge(replicas[2], 1), Error::<Test>::PastRetention);
	});
}

#[test]
fn authorize_refuses_proofs_from_other_validators_or_too_late() {
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
		assert_eq!(authorize(proof_call(0, other)), Err(InvalidTransaction::BadSigner));
		assert_eq!(authorize(proof_call(7, check.validator)), Err(InvalidTransaction::Stale));
		let mut forged = proof_call(0, check.validator);
		if let Call::availability_proven { signature, .. } = &mut forged {
			*signature = node_pair(other).sign(b"anything").into();
		}
		assert_eq!(authorize(forged), Err(InvalidTransaction::BadProof));
		run_to(check.deadline + 1);
		assert_eq!(authorize(proof_call(0, check.validator)), Err(InvalidTransaction::Stale));
	});
}
