//! The adversarial suite: replicas, challengers and panel members that lie, idle or stay
//! silent, with every balance checked to the unit.

use crate::{
	mock::*,
	pallet::*,
	tests::{authorize, commit_call, events, held, reveal_call, send, test},
	types::*,
};
use polkadot_sdk::{
	frame_support::{
		assert_noop, assert_ok,
		traits::{
			fungible::{Inspect, InspectHold},
			Hooks,
		},
	},
	frame_system::RawOrigin,
	sp_core::{Pair as _, H256},
	sp_runtime::transaction_validity::InvalidTransaction,
};
use tessera_primitives::NodeSigned as _;
use tessera_primitives::{
	BackendClass, Cid, CommitmentPayload, JobId, JobState, NodeId, Outcome, SlashReason,
};

/// The jobs here have eight checkpoints of ten steps.
pub(crate) const CHECKPOINTS: u32 = 8;
pub(crate) const WRONG: u8 = 50;
const LAZY: u8 = 90;

/// What an honest replica reports at `checkpoint`.
pub(crate) fn honest(checkpoint: u32) -> u8 {
	10 + checkpoint as u8
}

pub(crate) fn cid(digest: u8) -> Cid {
	Cid::truncate_from(vec![b'b', digest])
}

/// What node `node` is paid for the 80 steps of a long job at 12.8 a step (node 2 is
/// trusted: ×1.10).
pub(crate) fn reward(node: NodeId) -> u64 {
	if node == 2 {
		1_126
	} else {
		1_024
	}
}

pub(crate) fn balance(node: NodeId) -> u64 {
	Balances::balance(&(OWNER_BASE + u64::from(node)))
}

/// Posts an eight-checkpoint CPU job for three replicas and assigns it.
pub(crate) fn long_job() -> (JobId, Vec<NodeId>) {
	assert_ok!(ProofOfCompute::create_job(
		RuntimeOrigin::signed(REQUESTER),
		spec(CHECKPOINTS * 10, BackendClass::CpuReference),
		BUDGET,
		3,
		100
	));
	let job = NextJobId::<Test>::get() - 1;
	run_to(System::block_number() + 1);
	(job, Assignments::<Test>::get(job).unwrap().into_inner())
}

/// Every replica commits and reveals every checkpoint; `report(node, checkpoint)` is what
/// it reveals there. The chain verifies the result in the next block.
pub(crate) fn train(replicas: &[NodeId], report: impl Fn(NodeId, u32) -> CommitmentPayload) {
	for checkpoint in 0..CHECKPOINTS {
		for node in replicas {
			send(commit_call(&report(*node, checkpoint)));
		}
		for node in replicas {
			send(reveal_call(report(*node, checkpoint)));
		}
	}
	next_block();
}

/// The payload of a replica whose weights are `digest(checkpoint)` and whose state is
/// theirs.
pub(crate) fn reporting(
	job: JobId,
	digest: impl Fn(NodeId, u32) -> u8,
) -> impl Fn(NodeId, u32) -> CommitmentPayload {
	move |node, checkpoint| {
		payload(job, node, checkpoint, digest(node, checkpoint), checkpoint == CHECKPOINTS - 1)
	}
}

pub(crate) fn verdict(job: JobId, node: NodeId, digest: u8) -> Verdict {
	let checkpoint = Disputes::<Test>::get(job).unwrap().segment.checkpoint;
	Verdict {
		job,
		checkpoint,
		node,
		weights_digest: H256::repeat_byte(digest),
		state_cid: cid(digest),
		distances: Default::default(),
	}
}

fn panel_salt(node: NodeId) -> [u8; 32] {
	[node as u8 + 70; 32]
}

fn panel_commit_call(verdict: &Verdict) -> Call<Test> {
	let commit = PanelCommit {
		job: verdict.job,
		checkpoint: verdict.checkpoint,
		node: verdict.node,
		draw: Disputes::<Test>::get(verdict.job).unwrap().draws,
		hash: verdict_hash(verdict, &panel_salt(verdict.node)),
	};
	let signature =
		node_pair(commit.node).sign(&commit.signed_bytes(&ProofOfCompute::genesis_hash())).into();
	Call::panel_commit { commit, signature }
}

fn panel_reveal_call(verdict: Verdict) -> Call<Test> {
	let reveal = PanelReveal { salt: panel_salt(verdict.node), verdict };
	let signature = node_pair(reveal.verdict.node)
		.sign(&reveal.signed_bytes(&ProofOfCompute::genesis_hash()))
		.into();
	Call::panel_reveal { reveal, signature }
}

pub(crate) fn panel(job: JobId) -> Vec<NodeId> {
	Panels::<Test>::get(job).into_inner()
}

/// Each member of the current panel that `answer` gives a digest for commits to it, then
/// each reveals; members without an answer stay silent.
pub(crate) fn panel_answers(job: JobId, answer: impl Fn(NodeId) -> Option<u8>) {
	let verdicts: Vec<Verdict> = panel(job)
		.into_iter()
		.filter_map(|member| answer(member).map(|digest| verdict(job, member, digest)))
		.collect();
	for verdict in &verdicts {
		send(panel_commit_call(verdict));
	}
	run_to(System::block_number() + REVEAL_DELAY);
	for verdict in verdicts {
		send(panel_reveal_call(verdict));
	}
}

/// The honest panel re-executes segments until the dispute ends; returns every member
/// that was paid, once per segment.
pub(crate) fn honest_panels_until_resolved(job: JobId) -> Vec<NodeId> {
	let mut paid = Vec::new();
	while let Some(dispute) = Disputes::<Test>::get(job) {
		let checkpoint = dispute.segment.checkpoint;
		paid.extend(panel(job));
		panel_answers(job, |_| Some(honest(checkpoint)));
	}
	paid
}

pub(crate) fn segment(job: JobId) -> Segment {
	Disputes::<Test>::get(job).unwrap().segment
}

pub(crate) fn assert_no_dispute_left(job: JobId) {
	assert!(Disputes::<Test>::get(job).is_none());
	assert!(Panels::<Test>::get(job).is_empty());
	assert_eq!(PanelDuties::<Test>::iter().count(), 0);
	assert_eq!(PanelCommits::<Test>::iter_prefix(job).count(), 0);
	assert_eq!(PanelVerdicts::<Test>::iter_prefix(job).count(), 0);
}

#[test]
fn without_a_majority_bisection_convicts_each_wrong_replica_and_pays_the_survivor() {
	test(|| {
		let (job, replicas) = long_job();
		let (good, wrong, lazy) = (replicas[0], replicas[1], replicas[2]);
		// The wrong replica drifts from checkpoint 3; the lazy one stops training at 6 and
		// repeats one digest.
		train(
			&replicas,
			reporting(job, |node, checkpoint| match node {
				_ if node == wrong && checkpoint >= 3 => WRONG + checkpoint as u8,
				_ if node == lazy && checkpoint >= 6 => LAZY,
				_ => honest(checkpoint),
			}),
		);
		assert!(events().contains(&Event::JobDisputed { job, reason: DisputeReason::NoMajority }));

		// They agree up to checkpoint 2: the panel re-executes steps 30–40 from that state,
		// found in 1 + log2(8) comparisons.
		assert_eq!(
			segment(job),
			Segment {
				checkpoint: 3,
				from_step: 30,
				to_step: 40,
				start_state: Some(state_of(honest(2))),
				probes: 4
			}
		);
		let first_panel = panel(job);
		assert_eq!(first_panel.len(), 3);
		assert!(first_panel.iter().all(|member| VALIDATORS.contains(member)));
		assert!(events().contains(&Event::SegmentDisputed {
			job,
			checkpoint: 3,
			from_step: 30,
			to_step: 40,
			probes: 4
		}));
		let mut paid = first_panel.clone();
		panel_answers(job, |_| Some(honest(3)));
		assert!(events().contains(&Event::ReplicaConvicted {
			job,
			node: wrong,
			reason: SlashReason::FailedVerification,
			amount: STAKE / 10,
		}));

		// Among the two left, the lazy one diverges at 6.
		assert_eq!(segment(job).checkpoint, 6);
		paid.extend(panel(job));
		panel_answers(job, |_| Some(honest(6)));
		assert_eq!(
			Slashes::get(),
			vec![(wrong, SlashReason::FailedVerification), (lazy, SlashReason::FailedVerification)]
		);

		// One replica is left and nobody vouched for its result: its last segment is
		// re-executed before it is paid.
		assert_eq!(segment(job).checkpoint, 7);
		paid.extend(honest_panels_until_resolved(job));
		assert!(events().contains(&Event::DisputeResolved {
			job,
			upheld: true,
			segments: 3,
			steps: 30
		}));
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Resolved);
		assert_eq!(
			Finished::get(),
			vec![(
				job,
				Some(tessera_primitives::TrainedWeights {
					weights: cid(honest(7)),
					digest: H256::repeat_byte(honest(7)),
				})
			)]
		);
		assert_eq!(Slashes::get().len(), 2, "nobody is slashed twice");
		assert_eq!(balance(good), INITIAL_BALANCE + reward(good));
		assert_eq!(balance(wrong), INITIAL_BALANCE - STAKE / 10);
		assert_eq!(balance(lazy), INITIAL_BALANCE - STAKE / 10);
		assert_eq!(Balances::balance(&TREASURY), INITIAL_BALANCE + 2 * STAKE / 10);
		for validator in VALIDATORS {
			let seats = paid.iter().filter(|member| **member == validator).count() as u64;
			assert_eq!(balance(validator), INITIAL_BALANCE + seats * PANEL_FEE);
		}
		let fees = paid.len() as u64 * PANEL_FEE;
		assert_eq!(Balances::balance(&REQUESTER), INITIAL_BALANCE - reward(good) - fees);
		assert_eq!(held(REQUESTER), 0);
		assert_eq!(Payouts::<Test>::get(job).into_inner(), vec![(good, reward(good))]);
		assert!(Reports::get().contains(&(lazy, Outcome::ProofFailed)));
		assert_no_dispute_left(job);
		assert_eq!(OpenJobs::<Test>::iter().count(), 0);
	});
}

#[test]
fn a_colluding_wrong_majority_is_overturned_by_a_challenge_that_earns_its_bounty() {
	test(|| {
		let (job, replicas) = long_job();
		let good = replicas[0];
		let colluders = [replicas[1], replicas[2]];
		train(
			&replicas,
			reporting(job, |node, checkpoint| {
				if colluders.contains(&node) && checkpoint >= 4 {
					WRONG
				} else {
					honest(checkpoint)
				}
			}),
		);
		let info = Jobs::<Test>::get(job).unwrap();
		assert_eq!(info.state, JobState::Accepted);
		assert_eq!(info.result.unwrap().weights_digest, H256::repeat_byte(WRONG));

		assert_ok!(ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 4));
		assert_eq!(segment(job).checkpoint, 4);
		let paid = honest_panels_until_resolved(job);
		assert_eq!(paid.len(), 3, "one segment settles it");

		for colluder in colluders {
			assert!(events().contains(&Event::ReplicaConvicted {
				job,
				node: colluder,
				reason: SlashReason::FailedVerification,
				amount: STAKE / 10,
			}));
			assert_eq!(balance(colluder), INITIAL_BALANCE - STAKE / 10);
		}
		// The bounty is what the bond is, but never more than the dispute slashed.
		let bounty = 2 * STAKE / 10;
		assert!(events().contains(&Event::ChallengeWon { job, challenger: CHALLENGER, bounty }));
		assert_eq!(Balances::balance(&CHALLENGER), INITIAL_BALANCE + bounty);
		let bond_reason = RuntimeHoldReason::ProofOfCompute(HoldReason::ChallengeBond);
		assert_eq!(Balances::balance_on_hold(&bond_reason, &CHALLENGER), 0);
		assert_eq!(Balances::balance(&TREASURY), INITIAL_BALANCE);
		assert_eq!(balance(good), INITIAL_BALANCE + reward(good));
		assert_eq!(Balances::balance(&REQUESTER), INITIAL_BALANCE - reward(good) - 3 * PANEL_FEE);
		assert_eq!(Finished::get()[0].1.as_ref().unwrap().digest, H256::repeat_byte(honest(7)));
		assert_no_dispute_left(job);
	});
}

#[test]
fn a_false_challenger_loses_the_bond_to_the_replicas_and_the_panel() {
	test(|| {
		let (job, replicas) = long_job();
		train(&replicas, reporting(job, |_, checkpoint| honest(checkpoint)));
		assert_ok!(ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 5));
		assert_eq!(segment(job).start_state, Some(state_of(honest(4))));
		let members = honest_panels_until_resolved(job);
		assert!(events().contains(&Event::DisputeResolved {
			job,
			upheld: true,
			segments: 1,
			steps: 10
		}));
		assert!(events().contains(&Event::ChallengeLost {
			job,
			challenger: CHALLENGER,
			bond: BOND
		}));
		// 500 shared by three replicas and three panel members: 83 each, 2 left over.
		let share = BOND / 6;
		assert_eq!(Balances::balance(&CHALLENGER), INITIAL_BALANCE - BOND);
		for node in &replicas {
			assert_eq!(balance(*node), INITIAL_BALANCE + reward(*node) + share);
		}
		for member in &members {
			assert_eq!(balance(*member), INITIAL_BALANCE + PANEL_FEE + share);
		}
		assert_eq!(Balances::balance(&TREASURY), INITIAL_BALANCE + BOND - 6 * share);
		let rewards: u64 = replicas.iter().map(|node| reward(*node)).sum();
		assert_eq!(Balances::balance(&REQUESTER), INITIAL_BALANCE - rewards - 3 * PANEL_FEE);
		assert!(Slashes::get().is_empty());
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Resolved);
	});
}

#[test]
fn a_replica_whose_digest_contradicts_its_own_state_is_slashed_for_forgery() {
	test(|| {
		let (job, replicas) = long_job();
		let forger = replicas[1];
		// A spot-check of an honest-looking majority; the forger names the honest states
		// with weights digests of its own.
		SpotChecked::set(vec![replicas[0]]);
		let honest_report = reporting(job, |_, checkpoint| honest(checkpoint));
		train(&replicas, |node, checkpoint| {
			let mut payload = honest_report(node, checkpoint);
			if node == forger {
				payload.weights_digest = H256::repeat_byte(WRONG);
			}
			payload
		});
		assert!(events()
			.contains(&Event::JobDisputed { job, reason: DisputeReason::SpotCheck(replicas[0]) }));
		assert_eq!(segment(job).checkpoint, 0, "the forger diverges from the start");
		assert_eq!(segment(job).start_state, None, "segment 0 starts from the job");
		honest_panels_until_resolved(job);
		assert!(events().contains(&Event::ReplicaConvicted {
			job,
			node: forger,
			reason: SlashReason::ForgedResult,
			amount: STAKE / 2,
		}));
		assert_eq!(balance(forger), INITIAL_BALANCE - STAKE / 2);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Resolved);
		assert_eq!(Payouts::<Test>::get(job).len(), 2);
	});
}

#[test]
fn silent_panel_members_are_slashed_and_replaced_by_a_fresh_panel_that_settles_the_segment() {
	test(|| {
		let (job, replicas) = long_job();
		train(&replicas, reporting(job, |_, checkpoint| honest(checkpoint)));
		assert_ok!(ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 2));
		let first = panel(job);
		let (answering, silent) = (first[0], [first[1], first[2]]);
		panel_answers(job, |member| (member == answering).then(|| honest(2)));
		assert!(Disputes::<Test>::get(job).is_some(), "one verdict of three settles nothing");

		run_to(Disputes::<Test>::get(job).unwrap().deadline);
		for member in silent {
			let slashed = STAKE / 20;
			assert!(events().contains(&Event::VerdictMissed { job, node: member, slashed }));
			assert!(Slashes::get().contains(&(member, SlashReason::MissedVerdict(missed()))));
			assert!(Reports::get().contains(&(member, Outcome::JobFailed)));
		}
		// A whole panel is drawn again, so that nobody is seated next to a revealed verdict:
		// only one validator was never seated, and the member that answered, whose verdict
		// is gone, may sit again.
		let mut second = panel(job);
		second.sort();
		let mut expected: Vec<NodeId> = VALIDATORS
			.into_iter()
			.filter(|node| !silent.contains(node) && !replicas.contains(node))
			.collect();
		expected.sort();
		assert_eq!(second, expected);
		assert!(second.contains(&answering));
		assert_eq!(PanelVerdicts::<Test>::iter_prefix(job).count(), 0);
		assert_eq!(PanelCommits::<Test>::iter_prefix(job).count(), 0);
		panel_answers(job, |_| Some(honest(2)));

		assert!(Disputes::<Test>::get(job).is_none());
		// Two verdicts, two fees; the bond shared by the three replicas and both members.
		let share = BOND / 5;
		for member in &second {
			assert_eq!(balance(*member), INITIAL_BALANCE + PANEL_FEE + share);
		}
		for member in silent {
			assert_eq!(balance(member), INITIAL_BALANCE - STAKE / 20);
		}
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Resolved);
	});
}

fn missed() -> polkadot_sdk::sp_runtime::Perbill {
	<Test as Config>::MissedVerdictSlash::get()
}

#[test]
fn keeping_the_panels_silent_neither_refunds_the_requester_nor_frees_the_accused() {
	test(|| {
		let (job, replicas) = long_job();
		train(&replicas, reporting(job, |_, checkpoint| honest(checkpoint)));
		assert_ok!(ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 7));
		let silent = panel(job);
		assert_eq!(silent.len(), 3);

		run_to(Disputes::<Test>::get(job).unwrap().deadline);
		for member in &silent {
			let slashed = STAKE / 20;
			assert!(events().contains(&Event::VerdictMissed { job, node: *member, slashed }));
			assert_eq!(balance(*member), INITIAL_BALANCE - slashed);
		}
		// One validator is left besides the silent ones: too few for a majority of three, so
		// nobody is seated and the dispute draws again a window later, from everyone.
		let retry_at = Disputes::<Test>::get(job).unwrap().deadline;
		assert!(events().contains(&Event::NoPanel { job, retry_at }));
		assert!(panel(job).is_empty());
		assert_eq!(PanelDuties::<Test>::iter().count(), 0);

		// However long the panels stay silent, the dispute does not end: the requester's
		// budget and the challenger's bond stay held, and the accused stay bound to the job.
		run_to(retry_at);
		assert_eq!(panel(job).len(), 3);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Disputed);
		assert_eq!(held(REQUESTER), BUDGET);
		assert_eq!(
			Balances::balance_on_hold(
				&RuntimeHoldReason::ProofOfCompute(HoldReason::ChallengeBond),
				&CHALLENGER
			),
			BOND
		);
		for replica in &replicas {
			assert!(OpenJobs::<Test>::contains_key(replica, job));
		}
		assert!(Finished::get().is_empty());

		// Only a majority's re-execution ends it: here it upholds the replicas.
		let last_panel = panel(job);
		honest_panels_until_resolved(job);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Resolved);
		assert!(events().contains(&Event::ChallengeLost {
			job,
			challenger: CHALLENGER,
			bond: BOND
		}));
		let share = BOND / 6;
		for member in &last_panel {
			let slashed = if silent.contains(member) { STAKE / 20 } else { 0 };
			assert_eq!(balance(*member), INITIAL_BALANCE - slashed + PANEL_FEE + share);
		}
		assert_no_dispute_left(job);
	});
}

#[test]
fn integrity_test_refuses_a_panel_of_one() {
	test(ProofOfCompute::integrity_test);
	let refused = std::panic::catch_unwind(|| {
		PanelSizeOverride::set(1);
		ProofOfCompute::integrity_test();
	});
	PanelSizeOverride::set(3);
	assert!(refused.is_err());
}

#[test]
fn authorize_refuses_verdicts_from_outside_the_panel_or_out_of_turn() {
	test(|| {
		let (job, replicas) = long_job();
		train(&replicas, reporting(job, |_, checkpoint| honest(checkpoint)));
		assert_ok!(ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 3));
		let members = panel(job);
		let outsider = VALIDATORS.into_iter().find(|node| !members.contains(node)).unwrap();

		assert_eq!(
			authorize(panel_commit_call(&verdict(job, outsider, honest(3)))),
			Err(InvalidTransaction::BadSigner)
		);
		assert_eq!(
			authorize(panel_commit_call(&verdict(job, replicas[0], honest(3)))),
			Err(InvalidTransaction::BadSigner),
			"a replica never judges its own job"
		);
		let mut other_segment = verdict(job, members[0], honest(3));
		other_segment.checkpoint = 1;
		assert_eq!(authorize(panel_commit_call(&other_segment)), Err(InvalidTransaction::Stale));
		let mut forged = panel_commit_call(&verdict(job, members[0], honest(3)));
		if let Call::panel_commit { signature, .. } = &mut forged {
			*signature = node_pair(members[1]).sign(b"something else").into();
		}
		assert_eq!(authorize(forged), Err(InvalidTransaction::BadProof));

		let first = verdict(job, members[0], honest(3));
		send(panel_commit_call(&first));
		assert_eq!(authorize(panel_commit_call(&first)), Err(InvalidTransaction::Stale));
		assert_eq!(
			authorize(panel_reveal_call(first.clone())),
			Err(InvalidTransaction::Future),
			"reveals wait for every member or the reveal delay"
		);
		let mut changed = first.clone();
		changed.weights_digest = H256::repeat_byte(WRONG);
		run_to(System::block_number() + REVEAL_DELAY);
		assert_eq!(authorize(panel_reveal_call(changed)), Err(InvalidTransaction::BadProof));
		assert_ok!(authorize(panel_reveal_call(first)));
	});
}

#[test]
fn resubmitting_a_panel_commit_made_for_an_earlier_draw_fails() {
	test(|| {
		let (job, replicas) = long_job();
		train(&replicas, reporting(job, |_, checkpoint| honest(checkpoint)));
		assert_ok!(ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 2));
		let first = panel(job);
		let answering = first[0];
		let early = panel_commit_call(&verdict(job, answering, honest(2)));
		panel_answers(job, |member| (member == answering).then(|| honest(2)));
		run_to(Disputes::<Test>::get(job).unwrap().deadline);

		// The member that answered sits on the next panel of the same segment; its old
		// commit, public since it was pooled, names the draw it was made for.
		assert!(panel(job).contains(&answering));
		assert_eq!(authorize(early), Err(InvalidTransaction::Stale));
		assert_ok!(authorize(panel_commit_call(&verdict(job, answering, honest(2)))));
	});
}

#[test]
fn copying_a_panel_verdict_after_the_reveal_opens_fails() {
	test(|| {
		let (job, replicas) = long_job();
		train(&replicas, reporting(job, |_, checkpoint| honest(checkpoint)));
		assert_ok!(ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 3));
		let members = panel(job);
		let (first, lazy) = (members[0], members[1]);
		send(panel_commit_call(&verdict(job, first, honest(3))));
		run_to(System::block_number() + REVEAL_DELAY);
		send(panel_reveal_call(verdict(job, first, honest(3))));
		// The lazy member read the verdict and commits to a copy of it: refused.
		let copy = panel_commit_call(&verdict(job, lazy, honest(3)));
		assert_eq!(authorize(copy.clone()), Err(InvalidTransaction::Stale));
		let Call::panel_commit { commit, signature } = copy else { unreachable!() };
		assert_noop!(
			ProofOfCompute::panel_commit(RawOrigin::Authorized.into(), commit, signature),
			Error::<Test>::NoSuchVerdict
		);
		assert!(!PanelCommits::<Test>::contains_key(job, lazy));
	});
}

#[test]
fn a_poisoned_start_state_is_never_agreed_on_and_its_author_is_convicted_for_forgery() {
	test(|| {
		const POISON: u8 = 77;
		let (job, replicas) = long_job();
		// The poisoner reveals the right digests from checkpoint 3 on, each with a state of
		// its own making, and reveals first, so that a first-come choice would take its state.
		let poisoner = replicas[0];
		let honestly = reporting(job, |_, checkpoint| honest(checkpoint));
		let report = |node: NodeId, checkpoint: u32| {
			let mut report = honestly(node, checkpoint);
			if node == poisoner && checkpoint >= 3 {
				report.state_cid = cid(POISON);
			}
			report
		};
		train(&replicas, report);
		let info = Jobs::<Test>::get(job).unwrap();
		assert_eq!(info.state, JobState::Accepted);
		assert_eq!(info.result.unwrap().state_cid, cid(honest(CHECKPOINTS - 1)));
		assert_eq!(LastAgreed::<Test>::get(job), Some((CHECKPOINTS - 1, state_of(honest(7)))));

		// A challenge from checkpoint 5 on: the replicas' claims first part at 3, where the
		// states differ, and that segment starts from the state all of them named at 2.
		assert_ok!(ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 5));
		assert_eq!(segment(job).checkpoint, 3);
		assert_eq!(segment(job).start_state, Some(state_of(honest(2))));
		panel_answers(job, |_| Some(honest(3)));
		assert!(events().contains(&Event::ReplicaConvicted {
			job,
			node: poisoner,
			reason: SlashReason::ForgedResult,
			amount: STAKE / 2,
		}));
		// The challenged segment then starts from the honest replicas' state, never the
		// poisoner's.
		assert_eq!(segment(job).checkpoint, 5);
		assert_eq!(segment(job).start_state, Some(state_of(honest(4))));
		honest_panels_until_resolved(job);
		let info = Jobs::<Test>::get(job).unwrap();
		assert_eq!(info.state, JobState::Resolved);
		assert_eq!(Finished::get()[0].1.as_ref().unwrap().weights, cid(honest(7)));
		assert!(Payouts::<Test>::get(job).iter().all(|(node, _)| *node != poisoner));
		assert_no_dispute_left(job);
	});
}

#[test]
fn a_replica_that_names_a_state_of_its_own_is_slashed_as_the_minority_it_is() {
	test(|| {
		let (job, replicas) = long_job();
		let poisoner = replicas[0];
		let honestly = reporting(job, |_, checkpoint| honest(checkpoint));
		train(&replicas, |node, checkpoint| {
			let mut report = honestly(node, checkpoint);
			if node == poisoner && checkpoint == CHECKPOINTS - 1 {
				report.state_cid = cid(77);
			}
			report
		});
		let ends = Jobs::<Test>::get(job).unwrap().result.unwrap().challenge_ends;
		run_to(ends);
		assert!(events().contains(&Event::ReplicaSlashed {
			job,
			node: poisoner,
			amount: STAKE / 10
		}));
		let paid: Vec<NodeId> = Payouts::<Test>::get(job).iter().map(|(node, _)| *node).collect();
		assert_eq!(paid.len(), 2);
		assert!(!paid.contains(&poisoner));
	});
}

/// Nodes 0–2 have GPUs here.
pub(crate) fn gpu_job() -> (JobId, Vec<NodeId>) {
	Nodes::mutate(|nodes| nodes[2].gpu = true);
	assert_ok!(ProofOfCompute::create_job(
		RuntimeOrigin::signed(REQUESTER),
		spec(CHECKPOINTS * 10, BackendClass::Gpu),
		BUDGET,
		3,
		100
	));
	let job = NextJobId::<Test>::get() - 1;
	run_to(System::block_number() + 1);
	(job, Assignments::<Test>::get(job).unwrap().into_inner())
}

/// The GPU replicas train every checkpoint and reveal what `digest(node, checkpoint)` names.
pub(crate) fn train_on_gpus(job: JobId, replicas: &[NodeId], digest: impl Fn(NodeId, u32) -> u8) {
	train(replicas, |node, checkpoint| CommitmentPayload {
		backend_class: BackendClass::Gpu,
		..payload(job, node, checkpoint, digest(node, checkpoint), checkpoint == CHECKPOINTS - 1)
	});
}

/// What a GPU of kind `device` computes at `checkpoint`: honest devices of two kinds differ
/// in every bit of every digest.
pub(crate) fn on_device(device: u8, checkpoint: u32) -> u8 {
	100 + 10 * device + checkpoint as u8
}

/// A panel member's verdict on a GPU job's segment: the reference re-execution (its digest
/// 200) and how far each replica's state lies from it.
fn measured(job: JobId, node: NodeId, distances: &[(NodeId, u32)]) -> Verdict {
	Verdict { distances: distances.to_vec().try_into().unwrap(), ..verdict(job, node, 200) }
}

/// Each member of the current panel that `answer` gives a verdict commits to it, then reveals.
fn panel_verdicts(job: JobId, answer: impl Fn(NodeId) -> Option<Verdict>) {
	let verdicts: Vec<Verdict> = panel(job).into_iter().filter_map(answer).collect();
	for verdict in &verdicts {
		send(panel_commit_call(verdict));
	}
	run_to(System::block_number() + REVEAL_DELAY);
	for verdict in verdicts {
		send(panel_reveal_call(verdict));
	}
}

/// A GPU job's dispute re-executes the drawn checkpoint's segment once, from each replica's
/// own start (no common one), and ends with it.
fn assert_measured_segment(job: JobId) -> Segment {
	let dispute = Disputes::<Test>::get(job).unwrap();
	let checkpoint = ProofOfCompute::spot_check_claim(job, CHECKPOINTS);
	let steps = u64::from(checkpoint) * 10;
	assert_eq!(
		dispute.segment,
		Segment { checkpoint, from_step: steps, to_step: steps + 10, start_state: None, probes: 1 }
	);
	dispute.segment
}

#[test]
fn honest_gpu_replicas_on_different_devices_are_measured_against_the_reference_and_all_paid() {
	test(|| {
		let (job, replicas) = gpu_job();
		// Three devices, three digests at every checkpoint: no two agree.
		train_on_gpus(job, &replicas, |node, checkpoint| on_device(node as u8, checkpoint));
		assert!(events().contains(&Event::JobDisputed { job, reason: DisputeReason::NoMajority }));
		assert_measured_segment(job);

		let members = panel(job);
		let within: Vec<(NodeId, u32)> = replicas.iter().map(|node| (*node, 337)).collect();
		panel_verdicts(job, |member| Some(measured(job, member, &within)));
		assert!(events().contains(&Event::DisputeResolved {
			job,
			upheld: true,
			segments: 1,
			steps: 10
		}));
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Resolved);
		assert_eq!(Slashes::get(), vec![], "rounding is no fault");
		for node in &replicas {
			assert_eq!(balance(*node), INITIAL_BALANCE + reward(*node));
		}
		for member in &members {
			assert_eq!(balance(*member), INITIAL_BALANCE + PANEL_FEE);
		}
		let paid: u64 = replicas.iter().map(|node| reward(*node)).sum();
		assert_eq!(Balances::balance(&REQUESTER), INITIAL_BALANCE - paid - 3 * PANEL_FEE);
		assert_eq!(held(REQUESTER), 0);
		// The result delivered is the first replica's: every one of them trained the job.
		let first = replicas[0];
		let last = on_device(first as u8, CHECKPOINTS - 1);
		assert_eq!(Finished::get()[0].1.as_ref().unwrap().digest, H256::repeat_byte(last));
		assert_no_dispute_left(job);
		assert_eq!(OpenJobs::<Test>::iter().count(), 0);
	});
}

#[test]
fn an_honest_gpu_minority_is_measured_not_slashed_for_differing_from_a_majority_of_another_device()
{
	test(|| {
		let (job, replicas) = gpu_job();
		let other_device = replicas[2];
		train_on_gpus(job, &replicas, |node, checkpoint| {
			on_device((node == other_device) as u8, checkpoint)
		});
		// Two of one device agree bit for bit, which proves nothing against the third.
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Disputed);
		assert!(events().contains(&Event::JobDisputed { job, reason: DisputeReason::NoMajority }));
		assert_measured_segment(job);
		let within: Vec<(NodeId, u32)> = replicas.iter().map(|node| (*node, 1_000)).collect();
		panel_verdicts(job, |member| Some(measured(job, member, &within)));
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Resolved);
		assert_eq!(Slashes::get(), vec![]);
		for node in &replicas {
			assert_eq!(balance(*node), INITIAL_BALANCE + reward(*node));
		}
	});
}

#[test]
fn a_lazy_gpu_replica_is_convicted_by_its_distance_from_the_reference_and_a_forger_of_forgery() {
	use tessera_primitives::trainer_api::{FORGED, GPU_TOLERANCE};
	test(|| {
		let (job, replicas) = gpu_job();
		let (honest_one, lazy, forger) = (replicas[0], replicas[1], replicas[2]);
		train_on_gpus(job, &replicas, |node, checkpoint| on_device(node as u8, checkpoint));
		assert_measured_segment(job);
		// The lazy replica skipped a tenth of the segment's steps; the forger revealed a state
		// whose weights are not its digest. A member that measured otherwise agrees with
		// nobody and earns nothing.
		let found = [(honest_one, GPU_TOLERANCE), (lazy, 100_000_000), (forger, FORGED)];
		let mut misread = found;
		misread[1].1 = GPU_TOLERANCE;
		let members = panel(job);
		panel_verdicts(job, |member| {
			let distances = if member == members[2] { &misread } else { &found };
			Some(measured(job, member, distances))
		});
		assert!(events().contains(&Event::ReplicaConvicted {
			job,
			node: lazy,
			reason: SlashReason::FailedVerification,
			amount: STAKE / 10,
		}));
		assert!(events().contains(&Event::ReplicaConvicted {
			job,
			node: forger,
			reason: SlashReason::ForgedResult,
			amount: STAKE / 2,
		}));
		assert_eq!(
			Slashes::get(),
			vec![(lazy, SlashReason::FailedVerification), (forger, SlashReason::ForgedResult)]
		);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Resolved);
		assert_eq!(balance(honest_one), INITIAL_BALANCE + reward(honest_one));
		assert_eq!(balance(lazy), INITIAL_BALANCE - STAKE / 10);
		assert_eq!(balance(forger), INITIAL_BALANCE - STAKE / 2);
		assert_eq!(Payouts::<Test>::get(job).into_inner(), vec![(honest_one, reward(honest_one))]);
		for member in &members[..2] {
			assert_eq!(balance(*member), INITIAL_BALANCE + PANEL_FEE);
		}
		assert_eq!(balance(members[2]), INITIAL_BALANCE);
		assert!(Reports::get().contains(&(members[2], Outcome::ProofFailed)));
		let last = on_device(honest_one as u8, CHECKPOINTS - 1);
		assert_eq!(Finished::get()[0].1.as_ref().unwrap().digest, H256::repeat_byte(last));
		assert_no_dispute_left(job);
	});
}

#[test]
fn a_gpu_replica_that_withheld_its_state_from_the_panel_is_convicted_and_no_member_is_slashed() {
	test(|| {
		let (job, replicas) = gpu_job();
		let withholder = replicas[2];
		train_on_gpus(job, &replicas, |node, checkpoint| on_device(node as u8, checkpoint));
		assert_measured_segment(job);
		// No member could fetch the withholder's state: every verdict leaves it out.
		let members = panel(job);
		let found = [(replicas[0], 337), (replicas[1], 337)];
		panel_verdicts(job, |member| Some(measured(job, member, &found)));
		assert!(events().contains(&Event::ReplicaConvicted {
			job,
			node: withholder,
			reason: SlashReason::FailedVerification,
			amount: STAKE / 10,
		}));
		assert_eq!(Slashes::get(), vec![(withholder, SlashReason::FailedVerification)]);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Resolved);
		for node in &replicas[..2] {
			assert_eq!(balance(*node), INITIAL_BALANCE + reward(*node));
		}
		assert_eq!(balance(withholder), INITIAL_BALANCE - STAKE / 10);
		for member in &members {
			assert_eq!(balance(*member), INITIAL_BALANCE + PANEL_FEE);
		}
		assert_no_dispute_left(job);
	});
}

#[test]
fn a_challenge_of_a_unanimous_gpu_result_measures_the_challenged_segment() {
	test(|| {
		let (job, replicas) = gpu_job();
		// One device, three replicas: bit for bit alike, and accepted.
		train_on_gpus(job, &replicas, |_, checkpoint| on_device(0, checkpoint));
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);
		assert_ok!(ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 5));
		assert_eq!(
			segment(job),
			Segment { checkpoint: 5, from_step: 50, to_step: 60, start_state: None, probes: 1 }
		);
		let far: Vec<(NodeId, u32)> = replicas.iter().map(|node| (*node, 900_000_000)).collect();
		panel_verdicts(job, |member| Some(measured(job, member, &far)));
		assert!(events().contains(&Event::DisputeResolved {
			job,
			upheld: false,
			segments: 1,
			steps: 10
		}));
		assert!(events().iter().any(|event| matches!(event, Event::ChallengeWon { .. })));
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Failed);
		assert_no_dispute_left(job);
	});
}
