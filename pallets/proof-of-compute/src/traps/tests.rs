//! Trap jobs: tasks stocked in the vault by approvers, armed by a quorum of their seals,
//! posted by the chain as the treasury's jobs, and sprung once accepted by a quorum of the
//! approvers' own seals.

use super::{pallet::*, trap_seal, SealedTask, TrapTask};
use crate::{
	dispute::tests::{
		balance, gpu_job, honest, long_job, on_device, reporting, train, train_on_gpus,
		CHECKPOINTS, WRONG,
	},
	mock::*,
	Assignments, JobSpecs, Jobs, NextJobId, Payouts,
};
use codec::Encode;
use polkadot_sdk::{
	frame_support::{
		assert_noop, assert_ok,
		traits::fungible::{Inspect, InspectHold, Mutate},
	},
	sp_core::H256,
	sp_io::hashing::blake2_256,
	sp_runtime::{DispatchError, Perbill},
};
use tessera_primitives::{JobId, JobState, NodeId, SlashReason};

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
/// The seed a trap re-runs its job with.
const SEED: u64 = 77;

fn expected() -> H256 {
	H256::repeat_byte(honest(CHECKPOINTS - 1))
}

/// A job of the requester's that its replicas trained honestly and the chain accepted: what
/// a trap re-runs.
fn verified_job() -> JobId {
	let (job, replicas) = long_job();
	train(&replicas, reporting(job, |_, checkpoint| honest(checkpoint)));
	assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);
	job
}

/// `approver`'s seal of `answer` to `task`, with its salt.
fn seal(approver: AccountId, task: &TrapTask, answer: &H256) -> DispatchResult {
	let salt = if approver == APPROVER { SALT } else { SECOND_SALT };
	ProofOfComputeTraps::seal_trap(
		RuntimeOrigin::signed(approver),
		*task,
		trap_seal(task, answer, &salt, &approver),
	)
}

type DispatchResult = polkadot_sdk::frame_support::dispatch::DispatchResult;

/// Both approvers seal the answer to a re-run of a verified job; the chain posts it in the
/// next block and assigns it in the one after.
fn trap() -> (JobId, Vec<NodeId>) {
	let task = TrapTask { source: verified_job(), seed: SEED };
	for approver in [APPROVER, SECOND_APPROVER] {
		assert_ok!(seal(approver, &task, &expected()));
	}
	let job = NextJobId::<Test>::get();
	run_to(System::block_number() + 2);
	assert!(events().contains(&Event::TrapPosted { task, job }));
	(job, Assignments::<Test>::get(job).unwrap().into_inner())
}

/// `approver`'s reveal of its seal of `answer` to trap job `job`, salted with `salt`.
fn reveal(approver: AccountId, job: JobId, answer: H256, salt: [u8; 32]) -> DispatchResult {
	ProofOfComputeTraps::reveal_trap(RuntimeOrigin::signed(approver), job, answer, salt)
}

/// The first approver's confirmation, then the second's, which springs the trap.
fn spring(job: JobId) -> DispatchResult {
	reveal(APPROVER, job, expected(), SALT)?;
	reveal(SECOND_APPROVER, job, expected(), SECOND_SALT)
}

/// What the treasury holds, free and on hold.
fn treasury() -> Balance {
	Balances::balance(&TREASURY) + Balances::total_balance_on_hold(&TREASURY)
}

#[test]
fn an_armed_task_is_posted_by_the_treasury_through_the_path_every_job_takes() {
	crate::tests::test(|| {
		let source = verified_job();
		let task = TrapTask { source, seed: SEED };
		assert_ok!(seal(APPROVER, &task, &expected()));
		assert!(events().contains(&Event::TrapSealed { task, setter: APPROVER, seals: 1 }));
		// One seal is short of the quorum: the task waits in the vault.
		run_to(System::block_number() + 2);
		assert!(ArmedTasks::<Test>::get().is_empty());
		assert_eq!(PostedTraps::<Test>::iter().count(), 0);

		assert_ok!(seal(SECOND_APPROVER, &task, &expected()));
		assert_eq!(ArmedTasks::<Test>::get().into_inner(), vec![task]);
		let job = NextJobId::<Test>::get();
		next_block();
		assert!(events().contains(&Event::TrapPosted { task, job }));
		assert!(Vault::<Test>::get(task).is_none());
		let (posted, original) =
			(Jobs::<Test>::get(job).unwrap(), Jobs::<Test>::get(source).unwrap());
		assert_eq!(posted.requester, TREASURY);
		assert_eq!(posted.state, JobState::Created);
		assert_eq!((posted.budget, posted.redundancy), (original.budget, original.redundancy));
		assert_eq!(posted.deadline - posted.created, original.deadline - original.created);
		// The same spec as the job it re-runs, but for the seed.
		let mut spec = JobSpecs::<Test>::get(source).unwrap();
		assert_ne!(spec.hyper_parameters.seed, SEED);
		spec.hyper_parameters.seed = SEED;
		assert_eq!(JobSpecs::<Test>::get(job).unwrap(), spec);
		assert_eq!(Balances::total_balance_on_hold(&TREASURY), BUDGET + posted.deposit);
		assert!(crate::tests::events().contains(&crate::Event::JobCreated {
			job,
			requester: TREASURY,
			budget: BUDGET,
			redundancy: 3,
		}));
		next_block();
		assert_eq!(Assignments::<Test>::get(job).unwrap().len(), 3);
	});
}

#[test]
fn a_trainer_that_fails_a_trap_loses_its_whole_stake_and_the_result_reaches_no_model() {
	crate::tests::test(|| {
		let treasury_at_start = treasury();
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
		let finished = Finished::get().len();

		assert_ok!(spring(job));
		assert!(events().contains(&Event::TrapSprung { job, expected: expected(), caught: 1 }));
		assert_eq!(Slashes::get(), vec![(lazy, SlashReason::TrapFailure)]);
		assert_eq!(balance(lazy), INITIAL_BALANCE - STAKE);
		let paid: u64 = Payouts::<Test>::get(job).iter().map(|(_, amount)| amount).sum();
		assert_eq!(Payouts::<Test>::get(job).len(), 2);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Finalized);
		assert_eq!(Finished::get().len(), finished, "a trap's result reaches no model");
		// The treasury paid the two honest replicas once, took the stake, and got the rest
		// of the budget back: nobody was paid back anything on top.
		assert_eq!(
			Balances::total_balance_on_hold(&TREASURY),
			Jobs::<Test>::get(job).unwrap().deposit
		);
		assert_eq!(treasury(), treasury_at_start + STAKE - paid);
		assert_eq!(
			Balances::balance(&REQUESTER) + Balances::total_balance_on_hold(&REQUESTER),
			INITIAL_BALANCE
				- Payouts::<Test>::get(job - 1).iter().map(|(_, amount)| amount).sum::<u64>()
		);
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
		// A lone approver stocks a task with a wrong answer, to take honest replicas' stake:
		// without a second seal it is never armed, and never posted.
		let lie = H256::repeat_byte(WRONG);
		let source = verified_job();
		let lone = TrapTask { source, seed: SEED + 1 };
		assert_ok!(seal(APPROVER, &lone, &lie));
		run_to(System::block_number() + 3);
		assert!(ArmedTasks::<Test>::get().is_empty());
		assert!(Vault::<Test>::get(lone).is_some());

		let (job, replicas) = trap();
		train(&replicas, reporting(job, |_, checkpoint| honest(checkpoint)));
		// Its own seal of the answer counts once, and springs nothing by itself.
		assert_ok!(reveal(APPROVER, job, expected(), SALT));
		assert!(events().contains(&Event::TrapConfirmed {
			job,
			expected: expected(),
			confirmations: 1
		}));
		assert_noop!(reveal(APPROVER, job, expected(), SALT), Error::<Test>::AlreadyConfirmed);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);
		assert!(Slashes::get().is_empty());
		// Nobody reveals another's seal, nor an answer it did not seal.
		assert_noop!(reveal(APPROVER, job, expected(), SECOND_SALT), Error::<Test>::NotATrap);
		assert_noop!(reveal(SECOND_APPROVER, job, lie, SECOND_SALT), Error::<Test>::NotATrap);

		// The second approver's own seal makes the quorum.
		assert_ok!(reveal(SECOND_APPROVER, job, expected(), SECOND_SALT));
		assert!(events().contains(&Event::TrapSprung { job, expected: expected(), caught: 0 }));
		assert_eq!(TrapConfirmations::<Test>::iter_prefix(job).count(), 0);
		assert!(Slashes::get().is_empty(), "honest replicas pass a trap");
	});
}

#[test]
fn a_setter_that_copies_another_setters_seal_cannot_reveal_it() {
	crate::tests::test(|| {
		let task = TrapTask { source: verified_job(), seed: SEED };
		// The second approver does no work: it seals the first approver's seal as its own.
		assert_ok!(seal(APPROVER, &task, &expected()));
		let copied = Vault::<Test>::get(task).unwrap().seals[0].1;
		assert_ok!(ProofOfComputeTraps::seal_trap(
			RuntimeOrigin::signed(SECOND_APPROVER),
			task,
			copied
		));
		let job = NextJobId::<Test>::get();
		run_to(System::block_number() + 2);
		let replicas = Assignments::<Test>::get(job).unwrap().into_inner();
		train(&replicas, reporting(job, |_, checkpoint| honest(checkpoint)));
		assert_ok!(reveal(APPROVER, job, expected(), SALT));
		// Even with the first approver's salt, now public, the copy is not its seal: a seal
		// names its setter.
		assert_noop!(reveal(SECOND_APPROVER, job, expected(), SALT), Error::<Test>::NotATrap);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);
	});
}

#[test]
fn a_trap_without_its_quorum_finalizes_as_a_job_and_leaves_nothing_behind() {
	crate::tests::test(|| {
		let (job, replicas) = trap();
		train(&replicas, reporting(job, |_, checkpoint| honest(checkpoint)));
		assert_ok!(reveal(APPROVER, job, expected(), SALT));
		let ends = Jobs::<Test>::get(job).unwrap().result.unwrap().challenge_ends;
		run_to(ends);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Finalized);
		assert_eq!(Payouts::<Test>::get(job).len(), replicas.len());
		assert_noop!(
			reveal(SECOND_APPROVER, job, expected(), SECOND_SALT),
			Error::<Test>::WrongState
		);
		assert_eq!(TrapConfirmations::<Test>::get(job, expected()).len(), 1);
		run_to(ends + RETENTION);
		assert!(!Jobs::<Test>::contains_key(job));
		// Past the job's deadline too, whose entry outlives it.
		run_to(System::block_number().max(200));
		crate::retention::tests::assert_nothing_left_of(job);
		assert!(PostedTraps::<Test>::get(job).is_none());
		assert_eq!(TrapConfirmations::<Test>::iter_prefix(job).count(), 0);
	});
}

#[test]
fn traps_come_from_approvers_of_verified_cpu_jobs_and_only_at_the_trap_rate() {
	crate::tests::test(|| {
		let task = |source, seed| TrapTask { source, seed };
		assert_noop!(
			ProofOfComputeTraps::seal_trap(
				RuntimeOrigin::signed(REQUESTER),
				task(0, 1),
				H256::zero()
			),
			DispatchError::BadOrigin
		);
		// Only a job whose majority was accepted is re-run: not an unknown or running one.
		assert_noop!(seal(APPROVER, &task(9, 1), &expected()), Error::<Test>::NotRerunnable);
		let (running, _) = long_job();
		assert_noop!(seal(APPROVER, &task(running, 1), &expected()), Error::<Test>::NotRerunnable);
		let source = verified_job();
		assert_ok!(seal(APPROVER, &task(source, 11), &expected()));
		assert_noop!(seal(APPROVER, &task(source, 11), &expected()), Error::<Test>::AlreadySealed);
		// The vault holds four tasks.
		for seed in 12..=14 {
			assert_ok!(seal(APPROVER, &task(source, seed), &expected()));
		}
		assert_noop!(seal(APPROVER, &task(source, 15), &expected()), Error::<Test>::VaultFull);

		// Two jobs were assigned: at 1%, the rate allows one trap before the hundredth.
		for seed in 11..=12 {
			assert_ok!(seal(SECOND_APPROVER, &task(source, seed), &expected()));
		}
		run_to(System::block_number() + 3);
		assert_eq!(PostedTraps::<Test>::iter().count(), 1);
		assert_eq!(ArmedTasks::<Test>::get().into_inner(), vec![task(source, 12)]);
		assert_eq!(TrapTally::<Test>::get().1, 1);
		assert_ok!(ProofOfComputeTraps::set_trap_rate(RuntimeOrigin::root(), Perbill::one()));
		assert!(events().contains(&Event::TrapRateSet { rate: Perbill::one() }));
		next_block();
		assert_eq!(PostedTraps::<Test>::iter().count(), 2);
		assert!(ArmedTasks::<Test>::get().is_empty());
	});
}

#[test]
fn a_task_whose_job_cannot_be_posted_is_dropped_and_leaves_nothing() {
	crate::tests::test(|| {
		let task = TrapTask { source: verified_job(), seed: SEED };
		// The treasury cannot put up the budget.
		Balances::set_balance(&TREASURY, 1);
		for approver in [APPROVER, SECOND_APPROVER] {
			assert_ok!(seal(approver, &task, &expected()));
		}
		let next = NextJobId::<Test>::get();
		next_block();
		assert!(events().iter().any(|event| matches!(
			event,
			Event::TrapDropped { task: dropped, .. } if *dropped == task
		)));
		assert_eq!(NextJobId::<Test>::get(), next, "no job was created");
		assert!(Vault::<Test>::get(task).is_none() && ArmedTasks::<Test>::get().is_empty());
		assert_eq!(TrapTally::<Test>::get().1, 0);
		assert_eq!(Balances::balance(&TREASURY), 1);
	});
}

#[test]
fn a_task_never_posted_leaves_the_vault_once_it_lapses() {
	crate::tests::test(|| {
		let source = verified_job();
		// The rate allows no trap: armed or not, tasks wait.
		TrapTally::<Test>::mutate(|(_, posted)| *posted = 1);
		let unarmed = TrapTask { source, seed: SEED };
		let armed = TrapTask { source, seed: SEED + 1 };
		assert_ok!(seal(APPROVER, &unarmed, &expected()));
		for approver in [APPROVER, SECOND_APPROVER] {
			assert_ok!(seal(approver, &armed, &expected()));
		}
		let lapses = System::block_number() + 2 * MAX_JOB_DURATION;
		run_to(lapses - 1);
		assert_eq!(Vault::<Test>::count(), 2, "good until they lapse");
		run_to(lapses);
		assert_eq!(Vault::<Test>::count(), 0);
		assert!(ArmedTasks::<Test>::get().is_empty());
		for task in [unarmed, armed] {
			assert!(events().contains(&Event::TrapLapsed { task }));
		}
		assert_eq!(PostedTraps::<Test>::iter().count(), 0);
	});
}

#[test]
fn a_gpu_job_is_never_re_run_as_a_trap_since_no_answer_judges_its_replicas_bits() {
	crate::tests::test(|| {
		let (job, replicas) = gpu_job();
		// The replicas train honestly on one kind of GPU: they agree bit for bit with each
		// other, and their bits are not the reference backend's.
		train_on_gpus(job, &replicas, |_, checkpoint| on_device(0, checkpoint));
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);
		let task = TrapTask { source: job, seed: SEED };
		assert_noop!(seal(APPROVER, &task, &expected()), Error::<Test>::NotRerunnable);
		// Nor can a GPU job pass for a trap afterwards.
		PostedTraps::<Test>::insert(
			job,
			SealedTask {
				task,
				seals: vec![(APPROVER, trap_seal(&task, &expected(), &SALT, &APPROVER))]
					.try_into()
					.unwrap(),
				stocked_at: 1,
			},
		);
		assert_noop!(reveal(APPROVER, job, expected(), SALT), Error::<Test>::TrapNotReproducible);
		PostedTraps::<Test>::remove(job);
		run_to(System::block_number() + CHALLENGE_WINDOW);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Finalized);
		assert!(Slashes::get().is_empty());
	});
}

#[test]
fn an_upgrade_removes_traps_sealed_by_job_and_counts_traps_posted_from_the_vault() {
	use super::migrations::v2::{FromTheVault, TrapSealCursor, TrapSeals};
	use polkadot_sdk::frame_support::traits::{
		GetStorageVersion, OnRuntimeUpgrade, StorageVersion,
	};
	crate::tests::test(|| {
		// Version 1: a seal of a job id, its cursor, a confirmation and a tally of seals.
		TrapSeals::<Test>::insert(H256::repeat_byte(3), (APPROVER, 1));
		TrapSealCursor::<Test>::put(H256::repeat_byte(3));
		TrapConfirmations::<Test>::mutate(0, expected(), |setters| {
			setters.try_push(APPROVER).unwrap()
		});
		TrapTally::<Test>::put((40, 3));
		StorageVersion::new(1).put::<ProofOfComputeTraps>();

		FromTheVault::<Test>::on_runtime_upgrade();

		assert!(TrapSeals::<Test>::iter().next().is_none());
		assert!(TrapSealCursor::<Test>::get().is_none());
		assert_eq!(TrapConfirmations::<Test>::iter().count(), 0);
		assert_eq!(TrapTally::<Test>::get(), (40, 0), "assignments kept, no trap posted yet");
		assert_eq!(ProofOfComputeTraps::on_chain_storage_version(), StorageVersion::new(2));
	});
}

#[test]
fn an_upgrade_spends_the_training_of_every_trap_posted_so_that_it_is_not_stocked_again() {
	use super::migrations::v3::SpendPosted;
	use polkadot_sdk::frame_support::traits::{
		GetStorageVersion, OnRuntimeUpgrade, StorageVersion,
	};
	crate::tests::test(|| {
		let (job, _) = trap();
		let task = PostedTraps::<Test>::get(job).unwrap().task;
		// Version 2 kept no record of what was posted.
		let _ = SpentTraps::<Test>::clear(u32::MAX, None);
		StorageVersion::new(2).put::<ProofOfComputeTraps>();
		assert_ok!(seal(APPROVER, &task, &expected()));
		let _ = Vault::<Test>::clear(u32::MAX, None);
		ArmedTasks::<Test>::kill();

		SpendPosted::<Test>::on_runtime_upgrade();

		let spec = JobSpecs::<Test>::get(job).unwrap();
		assert!(SpentTraps::<Test>::contains_key(H256(blake2_256(&spec.encode()))));
		assert_eq!(SpentTraps::<Test>::iter().count(), 1);
		assert_noop!(seal(APPROVER, &task, &expected()), Error::<Test>::AlreadyPosted);
		assert_eq!(ProofOfComputeTraps::on_chain_storage_version(), StorageVersion::new(3));
	});
}

#[test]
fn an_upgrade_moves_the_traps_set_under_proof_of_compute_into_their_own_pallet() {
	use super::migrations::{
		v1::{keys_of, MoveFromParent, MOVED_ITEMS},
		v2::{TrapSealCursor, TrapSeals},
	};
	use polkadot_sdk::frame_support::{
		storage::migration::move_storage_from_pallet,
		traits::{GetStorageVersion, OnRuntimeUpgrade, PalletInfoAccess, StorageVersion},
	};
	crate::tests::test(|| {
		// Version 0: a seal of job 0's answer, its cursor and a confirmation, under proof of
		// compute's name.
		let (job, seal) = (0, H256::repeat_byte(3));
		TrapSeals::<Test>::insert(seal, (APPROVER, 1));
		TrapTally::<Test>::put((5, 2));
		assert_ok!(ProofOfComputeTraps::set_trap_rate(
			RuntimeOrigin::root(),
			Perbill::from_percent(7)
		));
		TrapConfirmations::<Test>::mutate(job, expected(), |setters| {
			setters.try_push(APPROVER).expect("room for a setter")
		});
		TrapSealCursor::<Test>::put(seal);
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
		assert_eq!(TrapSealCursor::<Test>::get(), Some(seal));
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

		// The runtime's next migration then gives the seals of job ids way to the vault.
		super::migrations::v2::FromTheVault::<Test>::on_runtime_upgrade();
		assert!(TrapSeals::<Test>::iter().next().is_none());
		assert_eq!(TrapConfirmations::<Test>::iter().count(), 0);
		assert_eq!(TrapTally::<Test>::get(), (99, 0));
	});
}

#[test]
fn a_trap_with_its_source_jobs_own_seed_is_refused_since_the_accepted_result_answers_it() {
	crate::tests::test(|| {
		let source = verified_job();
		let own_seed = JobSpecs::<Test>::get(source).unwrap().hyper_parameters.seed;
		// The re-run would be the source job itself: a replica that trains nothing copies
		// the digest the chain accepted for it.
		let copy = TrapTask { source, seed: own_seed };
		assert_noop!(seal(APPROVER, &copy, &expected()), Error::<Test>::SeedNotFresh);
		assert_eq!(Vault::<Test>::count(), 0);
	});
}

#[test]
fn a_task_posted_once_cannot_be_stocked_again_since_its_replicas_reveals_answer_it() {
	crate::tests::test(|| {
		let (job, replicas) = trap();
		let task = PostedTraps::<Test>::get(job).unwrap().task;
		train(&replicas, reporting(job, |_, checkpoint| honest(checkpoint)));
		assert_ok!(spring(job));
		// The answer is on chain now: posted again, the same task would be answered by
		// copying these reveals.
		let spec = JobSpecs::<Test>::get(job).unwrap();
		assert_eq!(spec.hyper_parameters.seed, task.seed);
		assert!(SpentTraps::<Test>::contains_key(H256(blake2_256(&spec.encode()))));
		for approver in [APPROVER, SECOND_APPROVER] {
			assert_noop!(seal(approver, &task, &expected()), Error::<Test>::AlreadyPosted);
		}
		assert_eq!(Vault::<Test>::count(), 0);
		// Nor through the trap job itself, whose spec is the same training.
		let through_the_trap = TrapTask { source: job, seed: SEED };
		assert_noop!(seal(APPROVER, &through_the_trap, &expected()), Error::<Test>::SeedNotFresh);
		// A fresh seed for the same job is a new trap.
		assert_ok!(seal(APPROVER, &TrapTask { seed: SEED + 1, ..task }, &expected()));
	});
}

#[test]
fn of_two_armed_tasks_that_train_the_same_only_the_first_is_posted_since_its_reveals_answer_the_other(
) {
	crate::tests::test(|| {
		let (trap_job, replicas) = trap();
		train(&replicas, reporting(trap_job, |_, checkpoint| honest(checkpoint)));
		assert_ok!(spring(trap_job));
		let source = PostedTraps::<Test>::get(trap_job).unwrap().task.source;
		// The trap job is its source's spec with another seed: re-run with one fresh seed,
		// both train the same bits.
		let first = TrapTask { source, seed: SEED + 1 };
		let twin = TrapTask { source: trap_job, seed: SEED + 1 };
		for task in [first, twin] {
			for approver in [APPROVER, SECOND_APPROVER] {
				assert_ok!(seal(approver, &task, &expected()));
			}
		}
		assert_ok!(ProofOfComputeTraps::set_trap_rate(RuntimeOrigin::root(), Perbill::one()));
		let job = NextJobId::<Test>::get();
		run_to(System::block_number() + 2);
		assert!(events().contains(&Event::TrapPosted { task: first, job }));
		assert!(events().contains(&Event::TrapDropped {
			task: twin,
			error: Error::<Test>::AlreadyPosted.into()
		}));
		assert_eq!(NextJobId::<Test>::get(), job + 1, "the twin was not posted");
		assert!(Vault::<Test>::get(twin).is_none() && ArmedTasks::<Test>::get().is_empty());
	});
}
