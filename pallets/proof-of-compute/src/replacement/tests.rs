//! Replicas whose node stops mid-job.

use crate::{
	dispute::tests::{
		balance, honest, honest_panels_until_resolved, reporting, segment, CHECKPOINTS,
	},
	mock::*,
	pallet::*,
	tests::{commit_call, events, reveal_call, send, test},
};
use polkadot_sdk::{
	frame_support::{assert_ok, traits::fungible::Inspect},
	sp_runtime::Perbill,
};
use tessera_primitives::{
	BackendClass, CommitmentPayload, JobId, JobState, NodeId, NodeWorkload, Outcome, SlashReason,
};

/// A third of it is each replica's share: 200, a fifth of the stake.
const SMALL_BUDGET: u64 = 600;

/// Posts an eight-checkpoint job for three replicas with [`SMALL_BUDGET`] and assigns it.
fn job() -> (JobId, Vec<NodeId>) {
	assert_ok!(ProofOfCompute::create_job(
		RuntimeOrigin::signed(REQUESTER),
		spec(CHECKPOINTS * 10, BackendClass::CpuReference),
		SMALL_BUDGET,
		3,
		100
	));
	let job = NextJobId::<Test>::get() - 1;
	run_to(System::block_number() + 1);
	(job, Assignments::<Test>::get(job).unwrap().into_inner())
}

/// `replicas` commit and reveal `checkpoints`, each reporting the honest result.
fn deliver(job: JobId, replicas: &[NodeId], checkpoints: core::ops::Range<u32>) {
	let report = reporting(job, |_, checkpoint| honest(checkpoint));
	for checkpoint in checkpoints {
		let payloads: Vec<CommitmentPayload> =
			replicas.iter().map(|node| report(*node, checkpoint)).collect();
		payloads.iter().for_each(|payload| send(commit_call(payload)));
		if replicas.len() < usize::from(Jobs::<Test>::get(job).unwrap().redundancy) {
			// Reveals open when every replica committed, or after the delay.
			run_to(System::block_number() + REVEAL_DELAY);
		}
		payloads.into_iter().for_each(|payload| send(reveal_call(payload)));
	}
	// A job whose last reveal came in is verified in the next block.
	next_block();
}

/// The registry deactivates `node` and tells the pallet, which acts in the next block.
pub(crate) fn stop(node: NodeId) {
	Nodes::mutate(|nodes| nodes[node as usize].active = false);
	<ProofOfCompute as NodeWorkload>::node_deactivated(node);
	run_to(System::block_number() + 1);
}

#[test]
fn a_replica_that_stops_is_slashed_and_replaced_from_the_last_agreed_checkpoint() {
	test(|| {
		let (job, replicas) = job();
		let gone = replicas[2];
		deliver(job, &replicas, 0..4);
		stop(gone);

		let now = Assignments::<Test>::get(job).unwrap().into_inner();
		let by = now[2];
		assert_eq!(&now[..2], &replicas[..2], "the others keep their places");
		assert!(!replicas.contains(&by) && by < 5, "another trainer");
		// Its share of the budget, 200, is a fifth of its stake, and goes to the requester.
		let slashed = STAKE / 5;
		assert!(events().contains(&Event::ReplicaReplaced {
			job,
			node: gone,
			by: Some(by),
			from: 4,
			slashed
		}));
		assert_eq!(
			Slashes::get(),
			vec![(gone, SlashReason::AbandonedJob(Perbill::from_percent(20)))]
		);
		assert_eq!(Balances::balance(&REQUESTER), INITIAL_BALANCE - SMALL_BUDGET + slashed);
		assert!(Reports::get().contains(&(gone, Outcome::JobFailed)));
		assert_eq!(ReplicaStarts::<Test>::get(job, by), Some((4, state_of(honest(3)))));
		assert_eq!(NextCheckpoint::<Test>::get(job, by), 4);
		assert!(
			OpenJobs::<Test>::contains_key(by, job) && !OpenJobs::<Test>::contains_key(gone, job)
		);
		assert!(Deactivated::<Test>::get().is_empty());

		// The replacement commits from checkpoint 4 on, and the job completes as usual.
		deliver(job, &now, 4..CHECKPOINTS);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);
		run_to(System::block_number() + CHALLENGE_WINDOW);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Finalized);
		let paid: Vec<NodeId> = Payouts::<Test>::get(job).iter().map(|(node, _)| *node).collect();
		assert_eq!(paid, now);
		assert_eq!(Slashes::get().len(), 1, "the replica that stopped is not slashed again");
		assert_eq!(balance(gone), INITIAL_BALANCE - slashed);
		assert!(ReplicaStarts::<Test>::iter().next().is_none());
	});
}

#[test]
fn without_another_trainer_the_job_goes_on_with_the_replicas_it_has() {
	test(|| {
		let (job, replicas) = job();
		let gone = replicas[0];
		for spare in (0..5).filter(|node| !replicas.contains(node)) {
			Nodes::mutate(|nodes| nodes[spare as usize].active = false);
		}
		deliver(job, &replicas[1..], 0..CHECKPOINTS);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Running, "waits for the third");
		stop(gone);
		assert!(events().contains(&Event::ReplicaReplaced {
			job,
			node: gone,
			by: None,
			from: CHECKPOINTS,
			slashed: STAKE / 5
		}));
		assert_eq!(Assignments::<Test>::get(job).unwrap().into_inner(), &replicas[1..]);
		// The replica that stopped was the last one verification waited for: two of three agree.
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);
	});
}

#[test]
fn a_replica_that_delivered_or_came_back_keeps_its_place() {
	test(|| {
		let (job, replicas) = job();
		deliver(job, &replicas[..1], 0..CHECKPOINTS);
		stop(replicas[0]);
		<ProofOfCompute as NodeWorkload>::node_deactivated(replicas[1]);
		run_to(System::block_number() + 1);
		assert_eq!(Assignments::<Test>::get(job).unwrap().into_inner(), replicas);
		assert!(Slashes::get().is_empty());
		assert!(Deactivated::<Test>::get().is_empty());
	});
}

#[test]
fn a_dispute_never_holds_a_replacement_to_checkpoints_before_its_start() {
	test(|| {
		let (job, replicas) = job();
		deliver(job, &replicas, 0..4);
		stop(replicas[2]);
		let now = Assignments::<Test>::get(job).unwrap().into_inner();
		deliver(job, &now, 4..CHECKPOINTS);
		assert_ok!(ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 2));
		assert_eq!(
			segment(job).checkpoint,
			2,
			"the replacement's silence before 4 is no divergence"
		);
		honest_panels_until_resolved(job);
		assert_eq!(Slashes::get().len(), 1, "only the abandonment");
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Resolved);
		assert_eq!(Payouts::<Test>::get(job).len(), 3);
	});
}

#[test]
fn churning_replicas_cannot_grow_a_jobs_payout_beyond_what_ending_it_is_charged_for() {
	test(|| {
		let (job, first) = job();
		let most = <<Test as Config>::MaxReplacements as polkadot_sdk::sp_core::Get<u32>>::get();
		let mut gone = Vec::new();
		// Each replica in turn works one checkpoint and stops; a stopped node comes back
		// so that an eligible trainer is always there to take the seat.
		for checkpoint in 0..=most {
			let replicas = Assignments::<Test>::get(job).unwrap().into_inner();
			deliver(job, &replicas, checkpoint..checkpoint + 1);
			if let Some(back) = gone.first().copied() {
				gone.remove(0);
				Nodes::mutate(|nodes| nodes[back as usize].active = true);
			}
			let stopping = replicas[0];
			stop(stopping);
			gone.push(stopping);
			// A replacement takes the seat of the replica it replaces.
			let by = Assignments::<Test>::get(job).unwrap()[0];
			let expected = (checkpoint < most).then_some(by);
			assert!(
				events().iter().any(|event| matches!(
					event,
					Event::ReplicaReplaced { job: of, node, by: drawn, from, .. }
						if *of == job && *node == stopping && *drawn == expected
							&& *from == checkpoint + 1
				)),
				"replacement {checkpoint}: {expected:?}"
			);
		}
		let spec = JobSpecs::<Test>::get(job).unwrap();
		let access = crate::lifecycle::DataAccess::of::<Test>(job, &spec);
		let seated = Assignments::<Test>::get(job).unwrap();
		assert!(
			(0..5).any(|node| !seated.contains(&node)
				&& !gone.contains(&node)
				&& ProofOfCompute::eligible(node, &spec, &access)),
			"a trainer was there to take the last seat"
		);
		assert_eq!(Replacements::<Test>::get(job), most);
		assert_eq!(Assignments::<Test>::get(job).unwrap().len(), 2);
		assert_eq!(Slashes::get().len() as u32, most + 1, "every replica that stopped");
		let contributors = Contributions::<Test>::iter_prefix(job).count() as u32;
		assert!(contributors > 3, "the churn left more contributors than seats");
		assert!(contributors <= ProofOfCompute::most_contributors(3));
		assert_ne!(first, Assignments::<Test>::get(job).unwrap().into_inner());

		// The job goes on with the two replicas left and ends as usual.
		let replicas = Assignments::<Test>::get(job).unwrap().into_inner();
		deliver(job, &replicas, most + 1..CHECKPOINTS);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);
		run_to(System::block_number() + CHALLENGE_WINDOW);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Finalized);
		let paid: Vec<NodeId> = Payouts::<Test>::get(job).iter().map(|(node, _)| *node).collect();
		assert_eq!(paid, replicas);
		assert!(!Replacements::<Test>::contains_key(job));
	});
}
