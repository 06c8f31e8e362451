//! Trap jobs: sealed by approvers, posted from any account, sprung once accepted by a
//! quorum of the approvers' own seals.

use super::{pallet::*, trap_seal};
use crate::{
	dispute::tests::{
		balance, gpu_job, honest, on_device, reporting, train, train_on_gpus, CHECKPOINTS, WRONG,
	},
	mock::*,
	Assignments, Jobs, NextJobId, Payouts,
};
use polkadot_sdk::{
	frame_support::{assert_noop, assert_ok, traits::fungible::Inspect},
	sp_core::H256,
	sp_runtime::{DispatchError, Perbill},
};
use tessera_primitives::{BackendClass, JobId, JobState, NodeId, SlashReason};

/// The traps pallet's events so far.
fn events() -> Vec<Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::ProofOfComputeTraps(event) => Some(event),
			_ => None,
		})
		.collect()
}

const SALT: [u8; 32] = [5; 32];
/// The second approver salts its seal with its own salt.
const SECOND_SALT: [u8; 32] = [8; 32];

fn expected() -> H256 {
	H256::repeat_byte(honest(CHECKPOINTS - 1))
}

/// Both approvers seal the answer to the next job, which an account of no approver posts
/// with three replicas, and they are assigned.
fn trap() -> (JobId, Vec<NodeId>) {
	let job = NextJobId::<Test>::get();
	for (approver, salt) in [(APPROVER, SALT), (SECOND_APPROVER, SECOND_SALT)] {
		assert_ok!(ProofOfComputeTraps::seal_trap(
			RuntimeOrigin::signed(approver),
			trap_seal(job, &expected(), &salt)
		));
	}
	assert_ok!(ProofOfCompute::create_job(
		RuntimeOrigin::signed(REQUESTER),
		spec(CHECKPOINTS * 10, BackendClass::CpuReference),
		BUDGET,
		3,
		100
	));
	run_to(System::block_number() + 1);
	(job, Assignments::<Test>::get(job).unwrap().into_inner())
}

/// The first approver's confirmation, then the second's, which springs the trap.
fn spring(job: JobId) -> polkadot_sdk::frame_support::dispatch::DispatchResult {
	ProofOfComputeTraps::reveal_trap(RuntimeOrigin::signed(APPROVER), job, expected(), SALT)?;
	ProofOfComputeTraps::reveal_trap(
		RuntimeOrigin::signed(SECOND_APPROVER),
		job,
		expected(),
		SECOND_SALT,
	)
}

#[test]
fn a_trainer_that_fails_a_trap_loses_its_whole_stake_and_the_result_reaches_no_model() {
	crate::tests::test(|| {
		let (job, replicas) = trap();
		let lazy = replicas[1];
		train(
			&replicas,
			reporting(
				job,
				|node, checkpoint| if node == lazy { WRONG } else { honest(checkpoint) },
			),
		);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);
		let treasury = Balances::balance(&TREASURY);

		assert_ok!(spring(job));
		assert!(events().contains(&Event::TrapSprung { job, expected: expected(), caught: 1 }));
		assert_eq!(Slashes::get(), vec![(lazy, SlashReason::TrapFailure)]);
		assert_eq!(balance(lazy), INITIAL_BALANCE - STAKE);
		let paid: u64 = Payouts::<Test>::get(job).iter().map(|(_, amount)| amount).sum();
		assert_eq!(Payouts::<Test>::get(job).len(), 2);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Finalized);
		assert!(Finished::get().is_empty(), "a trap's result reaches no model");
		// The treasury took the stake and paid the requester back what the trap cost.
		assert_eq!(Balances::balance(&REQUESTER), INITIAL_BALANCE);
		assert_eq!(Balances::balance(&TREASURY), treasury + STAKE - paid);
		assert!(TrapSeals::<Test>::iter().next().is_none());
		run_to(System::block_number() + CHALLENGE_WINDOW);
		assert_eq!(Slashes::get().len(), 1, "the window's end changes nothing");
	});
}

#[test]
fn a_trap_catches_a_colluding_majority_and_pays_the_honest_minority() {
	crate::tests::test(|| {
		let (job, replicas) = trap();
		let good = replicas[0];
		train(
			&replicas,
			reporting(
				job,
				|node, checkpoint| if node == good { honest(checkpoint) } else { WRONG },
			),
		);
		assert_eq!(
			Jobs::<Test>::get(job).unwrap().result.unwrap().weights_digest,
			H256::repeat_byte(WRONG)
		);
		assert_ok!(spring(job));
		assert_eq!(
			Slashes::get(),
			vec![(replicas[1], SlashReason::TrapFailure), (replicas[2], SlashReason::TrapFailure)]
		);
		let payouts = Payouts::<Test>::get(job).into_inner();
		assert_eq!(payouts.len(), 1);
		assert_eq!(payouts[0].0, good);
	});
}

#[test]
fn one_approvers_word_alone_cannot_spring_a_trap() {
	crate::tests::test(|| {
		let (job, replicas) = trap();
		train(&replicas, reporting(job, |_, checkpoint| honest(checkpoint)));
		let reveal = |approver, answer: H256, salt| {
			ProofOfComputeTraps::reveal_trap(RuntimeOrigin::signed(approver), job, answer, salt)
		};
		// A lone approver seals a wrong answer, to take the honest replicas' stake.
		let lie = H256::repeat_byte(WRONG);
		assert_ok!(ProofOfComputeTraps::set_trap_rate(RuntimeOrigin::root(), Perbill::one()));
		assert_ok!(ProofOfComputeTraps::seal_trap(
			RuntimeOrigin::signed(APPROVER),
			trap_seal(job, &lie, &[9; 32])
		));
		// Too late for this job: sealed after its replicas were chosen.
		assert_noop!(reveal(APPROVER, lie, [9; 32]), Error::<Test>::LateSeal);

		// Its own seal of the answer counts once, and springs nothing by itself.
		assert_ok!(reveal(APPROVER, expected(), SALT));
		assert!(events().contains(&Event::TrapConfirmed {
			job,
			expected: expected(),
			confirmations: 1
		}));
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);
		assert!(Slashes::get().is_empty());
		// Nobody reveals another's seal.
		assert_noop!(reveal(APPROVER, expected(), SECOND_SALT), Error::<Test>::NotATrap);

		// The second approver's own seal makes the quorum.
		assert_ok!(reveal(SECOND_APPROVER, expected(), SECOND_SALT));
		assert!(events().contains(&Event::TrapSprung { job, expected: expected(), caught: 0 }));
		assert_eq!(TrapConfirmations::<Test>::iter_prefix(job).count(), 0);
		assert!(Slashes::get().is_empty(), "honest replicas pass a trap");
	});
}

#[test]
fn a_trap_without_its_quorum_finalizes_as_a_job_and_leaves_no_confirmations() {
	crate::tests::test(|| {
		let (job, replicas) = trap();
		train(&replicas, reporting(job, |_, checkpoint| honest(checkpoint)));
		assert_ok!(ProofOfComputeTraps::reveal_trap(
			RuntimeOrigin::signed(APPROVER),
			job,
			expected(),
			SALT
		));
		let ends = Jobs::<Test>::get(job).unwrap().result.unwrap().challenge_ends;
		run_to(ends);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Finalized);
		assert_noop!(
			ProofOfComputeTraps::reveal_trap(
				RuntimeOrigin::signed(SECOND_APPROVER),
				job,
				expected(),
				SECOND_SALT
			),
			Error::<Test>::WrongState
		);
		assert_eq!(TrapConfirmations::<Test>::get(job, expected()).len(), 1);
		run_to(ends + RETENTION);
		assert!(!Jobs::<Test>::contains_key(job));
		// Past the job's deadline too, whose entry outlives it.
		run_to(System::block_number().max(200));
		crate::retention::tests::assert_nothing_left_of(job);
	});
}

#[test]
fn traps_are_refused_from_others_late_beyond_the_rate_or_before_acceptance() {
	crate::tests::test(|| {
		let seal = trap_seal(0, &expected(), &SALT);
		assert_noop!(
			ProofOfComputeTraps::seal_trap(RuntimeOrigin::signed(REQUESTER), seal),
			DispatchError::BadOrigin
		);
		let (job, replicas) = trap();
		// One trap, sealed by both approvers, is all the rate allows before any assignment.
		assert_noop!(
			ProofOfComputeTraps::seal_trap(RuntimeOrigin::signed(APPROVER), H256::repeat_byte(1)),
			Error::<Test>::TooManyTraps
		);
		assert_noop!(spring(job), Error::<Test>::WrongState);
		train(&replicas, reporting(job, |_, checkpoint| honest(checkpoint)));
		assert_noop!(
			ProofOfComputeTraps::reveal_trap(
				RuntimeOrigin::signed(APPROVER),
				job,
				expected(),
				[6; 32]
			),
			Error::<Test>::NotATrap
		);

		// A seal set after the replicas were chosen proves nothing about the answer.
		assert_ok!(ProofOfComputeTraps::set_trap_rate(RuntimeOrigin::root(), Perbill::one()));
		assert!(events().contains(&Event::TrapRateSet { rate: Perbill::one() }));
		assert_ok!(ProofOfCompute::create_job(
			RuntimeOrigin::signed(APPROVER),
			spec(CHECKPOINTS * 10, BackendClass::CpuReference),
			BUDGET,
			3,
			100
		));
		let late = NextJobId::<Test>::get() - 1;
		run_to(System::block_number() + 1);
		assert_ok!(ProofOfComputeTraps::seal_trap(
			RuntimeOrigin::signed(APPROVER),
			trap_seal(late, &expected(), &SALT)
		));
		let replicas = Assignments::<Test>::get(late).unwrap().into_inner();
		train(&replicas, reporting(late, |_, checkpoint| honest(checkpoint)));
		assert_noop!(
			ProofOfComputeTraps::reveal_trap(
				RuntimeOrigin::signed(APPROVER),
				late,
				expected(),
				SALT
			),
			Error::<Test>::LateSeal
		);
		assert_ok!(spring(job));
		assert!(Slashes::get().is_empty(), "honest replicas pass a trap");
	});
}

#[test]
fn a_trap_seal_never_revealed_leaves_the_chain_once_it_lapses() {
	crate::tests::test(|| {
		// Enough assignments that the rate allows 70 traps.
		assert_ok!(ProofOfComputeTraps::set_trap_rate(RuntimeOrigin::root(), Perbill::one()));
		TrapTally::<Test>::put((100, 0));
		let seals: Vec<H256> = (0..70).map(|job| trap_seal(job, &expected(), &SALT)).collect();
		for seal in &seals {
			assert_ok!(ProofOfComputeTraps::seal_trap(RuntimeOrigin::signed(APPROVER), *seal));
		}
		let lapses = System::block_number() + 2 * MAX_JOB_DURATION;
		run_to(lapses - 1);
		assert_eq!(TrapSeals::<Test>::iter().count(), 70, "good until they lapse");

		// A block looks at SEAL_SCAN_BATCH seals at most, from where the last one stopped,
		// and removes those that lapsed; the next block goes on with the rest.
		run_to(lapses);
		let left = TrapSeals::<Test>::iter().count();
		assert!((70 - super::SEAL_SCAN_BATCH as usize..70).contains(&left), "{left} left");
		run_to(lapses + 1);
		assert_eq!(TrapSeals::<Test>::iter().count(), 0);
		// A scan that finds nothing more forgets where it stood.
		run_to(lapses + 2);
		assert!(TrapSealCursor::<Test>::get().is_none());
		let lapsed: Vec<H256> = events()
			.into_iter()
			.filter_map(|event| match event {
				Event::TrapSealLapsed { seal } => Some(seal),
				_ => None,
			})
			.collect();
		let mut expected_seals = seals.clone();
		expected_seals.sort();
		let mut lapsed_sorted = lapsed.clone();
		lapsed_sorted.sort();
		assert_eq!(lapsed_sorted, expected_seals, "each seal lapsed once");
	});
}

#[test]
fn a_seal_cannot_be_revealed_once_it_lapsed() {
	crate::tests::test(|| {
		let (job, replicas) = trap();
		train(&replicas, reporting(job, |_, checkpoint| honest(checkpoint)));
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);
		let (_, sealed_at) = TrapSeals::<Test>::get(trap_seal(job, &expected(), &SALT)).unwrap();
		// Before on_idle has removed it, a lapsed seal is refused all the same.
		System::set_block_number(sealed_at + 2 * MAX_JOB_DURATION);
		assert_noop!(spring(job), Error::<Test>::SealLapsed);
		System::set_block_number(sealed_at + 2 * MAX_JOB_DURATION - 1);
		assert_ok!(spring(job));
	});
}

#[test]
fn an_upgrade_moves_the_traps_set_under_proof_of_compute_into_their_own_pallet() {
	use super::migrations::v1::{keys_of, MoveFromParent, MOVED_ITEMS};
	use polkadot_sdk::frame_support::{
		storage::migration::move_storage_from_pallet,
		traits::{GetStorageVersion, OnRuntimeUpgrade, PalletInfoAccess, StorageVersion},
	};
	crate::tests::test(|| {
		let (job, _) = trap();
		assert_ok!(ProofOfComputeTraps::set_trap_rate(
			RuntimeOrigin::root(),
			Perbill::from_percent(7)
		));
		TrapConfirmations::<Test>::mutate(job, expected(), |setters| {
			setters.try_push(APPROVER).expect("room for a setter")
		});
		TrapSealCursor::<Test>::put(trap_seal(job, &expected(), &SALT));
		let seals: Vec<_> = TrapSeals::<Test>::iter().collect();
		let (tally, confirmations) =
			(TrapTally::<Test>::get(), TrapConfirmations::<Test>::get(job, expected()));
		// The chain before the upgrade: every trap item under proof of compute's name, at
		// the traps' storage version 0.
		let (parent, traps) = (crate::Pallet::<Test>::name(), ProofOfComputeTraps::name());
		for item in MOVED_ITEMS {
			move_storage_from_pallet(item.as_bytes(), traps.as_bytes(), parent.as_bytes());
			assert_eq!(keys_of(traps.as_bytes(), item), 0, "{item} moved away");
		}
		StorageVersion::new(0).put::<ProofOfComputeTraps>();
		assert!(TrapSeals::<Test>::iter().next().is_none());

		MoveFromParent::<Test, ProofOfCompute>::on_runtime_upgrade();

		assert_eq!(TrapSeals::<Test>::iter().collect::<Vec<_>>(), seals);
		assert_eq!(TrapConfirmations::<Test>::get(job, expected()), confirmations);
		assert_eq!(TrapSealCursor::<Test>::get(), Some(trap_seal(job, &expected(), &SALT)));
		assert_eq!(TrapRate::<Test>::get(), Perbill::from_percent(7));
		assert_eq!(TrapTally::<Test>::get(), tally);
		for item in MOVED_ITEMS {
			assert_eq!(keys_of(parent.as_bytes(), item), 0, "{item} left under proof of compute");
		}
		assert_eq!(ProofOfComputeTraps::on_chain_storage_version(), StorageVersion::new(1));

		// Once at version 1 it runs no more: a second upgrade moves nothing back or forth.
		TrapTally::<Test>::put((99, 99));
		MoveFromParent::<Test, ProofOfCompute>::on_runtime_upgrade();
		assert_eq!(TrapTally::<Test>::get(), (99, 99));
		assert_eq!(TrapSeals::<Test>::iter().collect::<Vec<_>>(), seals);
	});
}

#[test]
fn a_trap_cannot_slash_gpu_replicas_that_differ_from_its_answer_by_rounding() {
	crate::tests::test(|| {
		let job = NextJobId::<Test>::get();
		// The approvers seal the answer of the reference backend, the one a seal can name.
		for (approver, salt) in [(APPROVER, SALT), (SECOND_APPROVER, SECOND_SALT)] {
			assert_ok!(ProofOfComputeTraps::seal_trap(
				RuntimeOrigin::signed(approver),
				trap_seal(job, &expected(), &salt)
			));
		}
		assert_eq!(gpu_job().0, job);
		let replicas = Assignments::<Test>::get(job).unwrap().into_inner();
		// The replicas train honestly on one kind of GPU: they agree bit for bit with each
		// other, and their bits are not the reference backend's.
		train_on_gpus(job, &replicas, |_, checkpoint| on_device(0, checkpoint));
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);

		assert_noop!(spring(job), Error::<Test>::TrapNotReproducible);
		assert!(Slashes::get().is_empty());
		assert!(TrapSeals::<Test>::get(trap_seal(job, &expected(), &SALT)).is_some());
		// The job ends as any other: its replicas are paid when its window closes.
		run_to(System::block_number() + CHALLENGE_WINDOW);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Finalized);
		assert_eq!(Payouts::<Test>::get(job).len(), replicas.len());
		assert!(Slashes::get().is_empty());
	});
}
