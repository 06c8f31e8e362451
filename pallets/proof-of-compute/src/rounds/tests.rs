//! Federated rounds: participants, stragglers, aggregators in turn, and an aggregator that
//! lies, with every balance checked to the unit.

use crate::{
	dispute::{
		tests::{balance, panel, panel_answers},
		Disputed,
	},
	mock::*,
	pallet::*,
	replacement::tests::stop,
	tests::{authorize, commit_call, events, held, post, reveal_call, send, test},
	types::*,
};
use polkadot_sdk::{
	frame_support::{
		assert_noop, assert_ok,
		dispatch::{DispatchResult, DispatchResultWithPostInfo},
		traits::fungible::Inspect,
	},
	sp_core::{Pair as _, H256},
	sp_runtime::{transaction_validity::InvalidTransaction, Perbill},
};
use tessera_primitives::trainer_api::AggregatePrivacy;
use tessera_primitives::{
	BackendClass, CommitmentPayload, DidId, DpParameters, JobId, JobSpec, JobState, NodeId,
	Outcome, SlashReason,
};
use tessera_primitives::{NodeSigned as _, NodeWorkload};

const ROUNDS: u32 = 3;
const SHARDS: u32 = 4;
const FEDERATED_BUDGET: Balance = 30_000;
/// The fee for aggregating three updates: `1 000 × (1 + 3 / 1 000)`.
const FEE_FOR_THREE: Balance = 1_003;

/// Posts a three-round federated CPU job for `participants` and assigns it.
pub(crate) fn federated_job(participants: u8) -> (JobId, Vec<NodeId>) {
	assert_ok!(ProofOfCompute::create_federated_job(
		RuntimeOrigin::signed(REQUESTER),
		spec(ROUNDS * 10, BackendClass::CpuReference),
		FEDERATED_BUDGET,
		participants,
		SHARDS,
		200,
		None
	));
	let job = NextJobId::<Test>::get() - 1;
	run_to(System::block_number() + 1);
	(job, Assignments::<Test>::get(job).unwrap().into_inner())
}

/// What `node` trained on its shard in `round`: its own weights, 100 compute seconds.
fn update(job: JobId, node: NodeId, round: u32) -> CommitmentPayload {
	payload(job, node, round, trained(node, round), true)
}

/// The weights `node` gets training its shard in `round`, named by a byte.
fn trained(node: NodeId, round: u32) -> u8 {
	100 + node as u8 * 10 + round as u8
}

/// `nodes` commit and then reveal their updates for `round`; reveals wait for the
/// participants that do not commit.
pub(crate) fn deliver(job: JobId, nodes: &[NodeId], round: u32) {
	for node in nodes {
		send(commit_call(&update(job, *node, round)));
	}
	if nodes.len() < Assignments::<Test>::get(job).unwrap().len() {
		run_to(System::block_number() + REVEAL_DELAY);
	}
	for node in nodes {
		send(reveal_call(update(job, *node, round)));
	}
}

pub(crate) fn honest_aggregate(round: u32) -> u8 {
	200 + round as u8
}

/// The aggregate `node` commits for the current round: averaged weights `digest`, over the
/// round's inputs as the chain lists them.
pub(crate) fn aggregation(job: JobId, node: NodeId, digest: u8) -> Aggregation {
	let federation = Federations::<Test>::get(job).unwrap();
	let cids: Vec<_> = federation
		.inputs
		.iter()
		.map(|input| Reveals::<Test>::get((job, *input, federation.round)).unwrap().state_cid)
		.collect();
	Aggregation {
		job,
		round: federation.round,
		node,
		state_cid: crate::dispute::tests::cid(digest),
		weights_digest: H256::repeat_byte(digest),
		inputs_root: inputs_root(cids.iter().map(|cid| cid.as_slice())),
		participants: cids.len() as u32,
		noise: ProofOfCompute::round_noise(job, federation.round),
	}
}

pub(crate) fn aggregation_call(aggregation: Aggregation) -> Call<Test> {
	let signature = node_pair(aggregation.node)
		.sign(&aggregation.signed_bytes(&ProofOfCompute::genesis_hash()))
		.into();
	Call::submit_aggregation { aggregation, signature }
}

/// The aggregation fees paid for `job` so far, in order.
fn aggregator_fees(job: JobId) -> Vec<(NodeId, Balance)> {
	events()
		.into_iter()
		.filter_map(|event| match event {
			Event::AggregatorPaid { job: of, node, amount } if of == job => Some((node, amount)),
			_ => None,
		})
		.collect()
}

/// Each of `aggregators` paid the fee for three updates.
fn fees_of(aggregators: &[NodeId]) -> Vec<(NodeId, Balance)> {
	aggregators.iter().map(|node| (*node, FEE_FOR_THREE)).collect()
}

pub(crate) fn aggregators(job: JobId) -> Vec<NodeId> {
	Federations::<Test>::get(job).unwrap().aggregators.into_inner()
}

#[test]
fn a_federated_job_trains_round_by_round_from_each_aggregate_and_pays_everyone_who_worked() {
	test(|| {
		let requester_before = Balances::balance(&REQUESTER);
		let (job, participants) = federated_job(3);
		assert!(events().contains(&Event::FederatedJobCreated {
			job,
			rounds: ROUNDS,
			shards: SHARDS,
			epsilon_milli: None
		}));
		let mut paid_aggregators = Vec::new();
		for round in 0..ROUNDS {
			let federation = Federations::<Test>::get(job).unwrap();
			assert_eq!((federation.round, federation.closed), (round, None));
			for node in &participants {
				let shard = shard_of(*node, &federation.seed, round, SHARDS);
				assert_eq!(ProofOfCompute::shard(job, *node), Some((round, shard, SHARDS)));
			}
			deliver(job, &participants, round);

			// Every update is in: the round closes, and three validators that trained
			// nothing of it take turns to aggregate.
			let seated = aggregators(job);
			assert_eq!(seated.len(), 3);
			assert!(seated.iter().all(|node| VALIDATORS.contains(node)));
			assert!(events().contains(&Event::RoundClosed {
				job,
				round,
				participants: 3,
				aggregators: seated.clone().try_into().unwrap(),
			}));
			assert!(seated.iter().all(|node| AggregatorDuties::<Test>::contains_key(node, job)));

			send(aggregation_call(aggregation(job, seated[0], honest_aggregate(round))));
			// Its author answers for the aggregate, unpaid, until the next round's supersedes
			// it; that pays the author of the round before.
			assert_eq!(AggregatesAtStake::<Test>::get(seated[0], job), Some(round));
			assert_eq!(aggregator_fees(job), fees_of(&paid_aggregators));
			paid_aggregators.push(seated[0]);
			assert_eq!(AggregatorDuties::<Test>::iter().count(), 0);
			assert_eq!(
				LastAgreed::<Test>::get(job),
				Some((round, state_of(honest_aggregate(round))))
			);
		}
		// The last aggregate is the job's result.
		let info = Jobs::<Test>::get(job).unwrap();
		assert_eq!(info.state, JobState::Accepted);
		let result = info.result.unwrap();
		assert_eq!(result.weights_digest, H256::repeat_byte(honest_aggregate(ROUNDS - 1)));

		run_to(result.challenge_ends);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Finalized);
		// The last aggregate could be challenged until the job's window closed.
		assert_eq!(aggregator_fees(job), fees_of(&paid_aggregators));
		assert_eq!(AggregatesAtStake::<Test>::iter().count(), 0);
		// Three rounds of 10 steps at 12.8 a step, node 2 trusted (×1.10).
		let earned = |node: NodeId| if node == 2 { 422 } else { 384 };
		for node in &participants {
			assert_eq!(balance(*node), INITIAL_BALANCE + earned(*node));
		}
		let fees: Balance = FEE_FOR_THREE * Balance::from(ROUNDS);
		for node in VALIDATORS {
			let rounds = paid_aggregators.iter().filter(|paid| **paid == node).count() as Balance;
			assert_eq!(balance(node), INITIAL_BALANCE + rounds * FEE_FOR_THREE);
		}
		let spent = fees + participants.iter().map(|node| earned(*node)).sum::<Balance>();
		assert_eq!(Balances::balance(&REQUESTER), requester_before - spent);
		assert_eq!(held(REQUESTER), 0);
		assert_eq!(Contributions::<Test>::iter_prefix(job).count(), 0);
		assert_eq!(Finished::get().last().unwrap().0, job);

		// After its retention the job leaves the chain, its rounds and aggregates with it.
		run_to(result.challenge_ends + RETENTION);
		assert!(events().contains(&Event::JobPruned { job, deposit: 0 }));
		run_to(System::block_number().max(200));
		crate::retention::tests::assert_nothing_left_of(job);
	});
}

#[test]
fn an_aggregate_over_other_inputs_or_out_of_turn_is_refused_and_a_backup_takes_over() {
	test(|| {
		let (job, participants) = federated_job(3);
		let early = aggregation(job, VALIDATORS[0], honest_aggregate(0));
		assert_eq!(authorize(aggregation_call(early)), Err(InvalidTransaction::Future));

		deliver(job, &participants, 0);
		let seated = aggregators(job);
		let mut missing_one = aggregation(job, seated[0], honest_aggregate(0));
		missing_one.participants = 2;
		assert_eq!(authorize(aggregation_call(missing_one)), Err(InvalidTransaction::BadProof));
		let mut other_inputs = aggregation(job, seated[0], honest_aggregate(0));
		other_inputs.inputs_root = H256::repeat_byte(9);
		assert_eq!(authorize(aggregation_call(other_inputs)), Err(InvalidTransaction::BadProof));
		let outsider = VALIDATORS.into_iter().find(|node| !seated.contains(node)).unwrap();
		let by_outsider = aggregation(job, outsider, honest_aggregate(0));
		assert_eq!(authorize(aggregation_call(by_outsider)), Err(InvalidTransaction::BadSigner));
		let mut forged = aggregation_call(aggregation(job, seated[0], honest_aggregate(0)));
		if let Call::submit_aggregation { signature, .. } = &mut forged {
			*signature = node_pair(seated[1]).sign(b"something else").into();
		}
		assert_eq!(authorize(forged), Err(InvalidTransaction::BadProof));

		// The first backup's turn starts a grace after the round closed.
		let backup = aggregation(job, seated[1], honest_aggregate(0));
		assert_eq!(authorize(aggregation_call(backup.clone())), Err(InvalidTransaction::Future));
		run_to(System::block_number() + GRACE);
		send(aggregation_call(backup));
		assert_eq!(Aggregations::<Test>::get(job, 0).unwrap().node, seated[1]);
		assert!(Reports::get().contains(&(seated[0], Outcome::JobFailed)));
		assert_eq!(Federations::<Test>::get(job).unwrap().round, 1);
		assert_noop!(
			ProofOfCompute::submit_aggregation(
				polkadot_sdk::frame_system::RawOrigin::Authorized.into(),
				aggregation(job, seated[2], honest_aggregate(0)),
				node_pair(seated[2]).sign(b"late").into(),
			),
			Error::<Test>::NoSuchAggregation
		);
	});
}

#[test]
fn a_round_short_of_its_quorum_replaces_its_straggler_and_waits_for_the_replacement() {
	test(|| {
		let (job, participants) = federated_job(3);
		let (straggler, on_time) = (participants[2], &participants[..2]);
		deliver(job, on_time, 0);
		assert!(Federations::<Test>::get(job).unwrap().closed.is_none());

		// Two of three is short of 80%: the straggler goes, another trainer joins.
		let deadline = Federations::<Test>::get(job).unwrap().deadline;
		run_to(deadline);
		let now_training = Assignments::<Test>::get(job).unwrap();
		let by = now_training.iter().copied().find(|node| !participants.contains(node));
		assert!(by.is_some());
		assert!(events().contains(&Event::ParticipantReplaced { job, node: straggler, by }));
		assert!(events().contains(&Event::RoundExtended {
			job,
			round: 0,
			updates: 2,
			deadline: deadline + ROUND_WINDOW
		}));
		assert!(Reports::get().contains(&(straggler, Outcome::JobFailed)));
		assert!(!OpenJobs::<Test>::contains_key(straggler, job));

		let newcomer = by.unwrap();
		send(commit_call(&update(job, newcomer, 0)));
		send(reveal_call(update(job, newcomer, 0)));
		let federation = Federations::<Test>::get(job).unwrap();
		assert!(federation.closed.is_some());
		assert_eq!(federation.inputs.into_inner(), now_training.into_inner());
	});
}

#[test]
fn a_round_with_a_quorum_proceeds_at_its_deadline_without_its_straggler() {
	test(|| {
		let (job, participants) = federated_job(5);
		let (straggler, on_time) = (participants[4], &participants[..4]);
		deliver(job, on_time, 0);
		run_to(Federations::<Test>::get(job).unwrap().deadline);

		// Four of five is 80%: the round is aggregated without the straggler, and no trainer
		// is left to take its seat.
		let federation = Federations::<Test>::get(job).unwrap();
		assert!(federation.closed.is_some());
		assert_eq!(federation.inputs.into_inner(), on_time.to_vec());
		assert!(events().contains(&Event::ParticipantReplaced { job, node: straggler, by: None }));
		assert_eq!(Assignments::<Test>::get(job).unwrap().into_inner(), on_time.to_vec());
		let seated = aggregators(job);
		send(aggregation_call(aggregation(job, seated[0], honest_aggregate(0))));
		assert!(events().contains(&Event::RoundAggregated {
			job,
			round: 0,
			node: seated[0],
			weights_digest: H256::repeat_byte(honest_aggregate(0)),
			participants: 4
		}));
	});
}

#[test]
fn aggregators_that_all_let_their_turn_pass_are_redrawn_and_then_the_job_fails() {
	test(|| {
		let (job, participants) = federated_job(3);
		deliver(job, &participants, 0);
		let first = aggregators(job);
		run_to(System::block_number() + 3 * GRACE);
		assert!(first.iter().all(|node| Reports::get().contains(&(*node, Outcome::JobFailed))));
		// Only one validator had no seat yet.
		let second = aggregators(job);
		assert_eq!(second.len(), 1);
		assert!(!first.contains(&second[0]));
		run_to(System::block_number() + 3 * GRACE);
		assert_eq!(Federations::<Test>::get(job).unwrap().draws, 3);
		run_to(System::block_number() + 3 * GRACE);

		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Failed);
		assert!(events().contains(&Event::JobFailed { job, refunded: FEDERATED_BUDGET }));
		assert_eq!(held(REQUESTER), 0);
		assert_eq!(AggregatorDuties::<Test>::iter().count(), 0);
	});
}

#[test]
fn an_aggregator_that_lies_is_convicted_by_a_panel_and_the_job_retrains_from_the_true_aggregate() {
	test(|| {
		let (job, participants) = federated_job(3);
		deliver(job, &participants, 0);
		let liar = aggregators(job)[0];
		// It commits an aggregate its inputs do not average to; only re-execution shows it.
		const LIE: u8 = 66;
		send(aggregation_call(aggregation(job, liar, LIE)));
		deliver(job, &participants, 1);
		// Its stake answers for the aggregate while it may be challenged: it cannot leave.
		assert!(<ProofOfCompute as NodeWorkload>::has_open_jobs(liar));
		let liar_stake = balance(liar);
		let challenger_before = Balances::balance(&CHALLENGER);

		assert_noop!(
			ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 2),
			Error::<Test>::UnknownCheckpoint
		);
		assert_ok!(ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 0));
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Disputed);
		// The panel re-computes the average; neither the liar nor a participant sits on it.
		let members = panel(job);
		assert_eq!(members.len(), 3);
		assert!(!members.contains(&liar) && members.iter().all(|m| !participants.contains(m)));
		panel_answers(job, |_| Some(honest_aggregate(0)));

		let slashed = slash_amount(tessera_primitives::SlashReason::FailedVerification);
		assert_eq!(balance(liar), liar_stake - slashed);
		assert!(events().contains(&Event::DisputeResolved {
			job,
			upheld: false,
			segments: 1,
			steps: 0
		}));
		assert!(events().contains(&Event::ChallengeWon {
			job,
			challenger: CHALLENGER,
			bounty: slashed
		}));
		assert_eq!(Balances::balance(&CHALLENGER), challenger_before + slashed);
		assert_eq!(
			Slashes::get(),
			vec![(liar, tessera_primitives::SlashReason::FailedVerification)]
		);
		// Proven wrong, the aggregate earns its author nothing.
		assert_eq!(aggregator_fees(job), vec![]);
		assert_eq!(AggregatesAtStake::<Test>::get(liar, job), None);
		assert!(events().contains(&Event::RoundsRewound {
			job,
			round: 0,
			weights_digest: H256::repeat_byte(honest_aggregate(0))
		}));

		// Round 1 trained from the lie: it is undone and trained again from the truth, whose
		// state a panel member serves.
		let aggregate = Aggregations::<Test>::get(job, 0).unwrap();
		assert_eq!(aggregate.weights_digest, H256::repeat_byte(honest_aggregate(0)));
		assert!(members.contains(&aggregate.node));
		assert_eq!(LastAgreed::<Test>::get(job), Some((0, state_of(honest_aggregate(0)))));
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Running);
		let federation = Federations::<Test>::get(job).unwrap();
		assert_eq!((federation.round, federation.closed), (1, None));
		for node in &participants {
			assert!(!Reveals::<Test>::contains_key((job, *node, 1)));
			assert_eq!(NextCheckpoint::<Test>::get(job, node), 1);
		}
		deliver(job, &participants, 1);
		assert!(Federations::<Test>::get(job).unwrap().closed.is_some());
	});
}

#[test]
fn a_challenge_of_an_honest_aggregate_costs_the_challenger_its_bond_and_the_rounds_go_on() {
	test(|| {
		let (job, participants) = federated_job(3);
		for round in 0..2 {
			deliver(job, &participants, round);
			let author = aggregators(job)[0];
			send(aggregation_call(aggregation(job, author, honest_aggregate(round))));
		}
		let author = Aggregations::<Test>::get(job, 1).unwrap().node;
		assert_noop!(
			ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 0),
			Error::<Test>::AggregateSuperseded
		);
		let before: Vec<Balance> = VALIDATORS.into_iter().map(balance).collect();
		assert_ok!(ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 1));
		let members = panel(job);
		panel_answers(job, |_| Some(honest_aggregate(1)));

		assert!(events().contains(&Event::DisputeResolved {
			job,
			upheld: true,
			segments: 1,
			steps: 0
		}));
		assert!(events().contains(&Event::ChallengeLost {
			job,
			challenger: CHALLENGER,
			bond: BOND
		}));
		// The bond goes to the aggregate's author and the panel, a quarter each, and the
		// upheld aggregate earns its author the fee.
		for (validator, before) in VALIDATORS.into_iter().zip(before) {
			let fee = if members.contains(&validator) { PANEL_FEE } else { 0 };
			let share = if validator == author || fee > 0 { BOND / 4 } else { 0 };
			let aggregated = if validator == author { FEE_FOR_THREE } else { 0 };
			assert_eq!(balance(validator), before + share + fee + aggregated);
		}
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Running);
		let federation = Federations::<Test>::get(job).unwrap();
		assert_eq!(federation.round, 2);
		assert_eq!(federation.deadline, System::block_number() + ROUND_WINDOW);
		deliver(job, &participants, 2);
		assert!(Federations::<Test>::get(job).unwrap().closed.is_some());
	});
}

#[test]
fn an_upheld_aggregate_pays_its_author_at_once_and_cannot_be_challenged_again() {
	test(|| {
		let (job, participants) = federated_job(3);
		deliver(job, &participants, 0);
		let author = aggregators(job)[0];
		send(aggregation_call(aggregation(job, author, honest_aggregate(0))));
		assert_ok!(ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 0));
		panel_answers(job, |_| Some(honest_aggregate(0)));
		assert_eq!(Federations::<Test>::get(job).unwrap().settled, Some(0));
		// Settled, it can never be challenged again: its author is paid and free at once.
		assert_eq!(aggregator_fees(job), fees_of(&[author]));
		assert_eq!(AggregatesAtStake::<Test>::iter().count(), 0);
		assert!(!<ProofOfCompute as NodeWorkload>::has_open_jobs(author));

		// A second bond would only make another panel re-execute what one settled.
		let challenger_before = Balances::balance(&CHALLENGER);
		assert_noop!(
			ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, 0),
			Error::<Test>::AggregateSettled
		);
		assert_eq!(Balances::balance(&CHALLENGER), challenger_before);
		assert!(Disputes::<Test>::get(job).is_none());
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Running);
	});
}

#[test]
fn a_participant_that_stops_after_its_round_closed_is_replaced_from_the_next_round() {
	test(|| {
		let (job, participants) = federated_job(3);
		deliver(job, &participants, 0);
		let gone = participants[0];
		stop(gone);

		// Its update is in round 0's average; the newcomer starts with round 1.
		let by = Assignments::<Test>::get(job)
			.unwrap()
			.into_iter()
			.find(|node| !participants.contains(node))
			.unwrap();
		assert!(events().contains(&Event::ReplicaReplaced {
			job,
			node: gone,
			by: Some(by),
			from: 1,
			// Its share of the budget is more than its stake: all of it.
			slashed: STAKE,
		}));
		assert_eq!(NextCheckpoint::<Test>::get(job, by), 1);
		assert!(!ReplicaStarts::<Test>::contains_key(job, by));
		assert_eq!(Federations::<Test>::get(job).unwrap().inputs.len(), 3);

		let seated = aggregators(job);
		send(aggregation_call(aggregation(job, seated[0], honest_aggregate(0))));
		let training = Assignments::<Test>::get(job).unwrap();
		deliver(job, &training, 1);
		let federation = Federations::<Test>::get(job).unwrap();
		assert!(federation.closed.is_some());
		assert!(federation.inputs.contains(&by));
	});
}

#[test]
fn a_dispute_is_over_the_challenged_update_else_a_federated_jobs_aggregate_else_the_results() {
	test(|| {
		let (federated, participants) = federated_job(3);
		let replicated = post(3, BackendClass::CpuReference, 100);
		let (federated, replicated) =
			(Jobs::<Test>::get(federated).unwrap(), Jobs::<Test>::get(replicated).unwrap());
		let participant = participants[0];
		let update = DisputeReason::UpdateChallenged(participant);
		assert_eq!(ProofOfCompute::disputed(&federated, &update), Disputed::Update(participant));
		let reasons = [
			DisputeReason::Challenged,
			DisputeReason::NoMajority,
			DisputeReason::SpotCheck(participant),
		];
		for reason in reasons {
			assert_eq!(ProofOfCompute::disputed(&federated, &reason), Disputed::Aggregate);
			assert_eq!(ProofOfCompute::disputed(&replicated, &reason), Disputed::Results);
		}
	});
}

#[test]
fn an_update_claiming_no_samples_or_more_than_a_round_trains_on_is_refused() {
	test(|| {
		let (job, participants) = federated_job(3);
		// A round is 10 steps of 32 samples.
		let claims: Vec<CommitmentPayload> = participants
			.iter()
			.zip([0, 321, 320])
			.map(|(node, samples)| CommitmentPayload { samples, ..update(job, *node, 0) })
			.collect();
		claims.iter().for_each(|claim| send(commit_call(claim)));
		assert_eq!(authorize(reveal_call(claims[0].clone())), Err(InvalidTransaction::Call));
		assert_eq!(authorize(reveal_call(claims[1].clone())), Err(InvalidTransaction::Call));
		assert_ok!(authorize(reveal_call(claims[2].clone())));
	});
}

#[test]
fn a_federated_job_needs_a_shard() {
	test(|| {
		assert_noop!(
			ProofOfCompute::create_federated_job(
				RuntimeOrigin::signed(REQUESTER),
				spec(30, BackendClass::CpuReference),
				FEDERATED_BUDGET,
				3,
				0,
				200,
				None
			),
			Error::<Test>::NoShards
		);
	});
}

#[test]
fn an_aggregator_cannot_take_its_fee_and_leave_while_its_aggregate_may_be_challenged() {
	test(|| {
		let (job, participants) = federated_job(3);
		deliver(job, &participants, 0);
		let seated = aggregators(job);
		assert!(seated.iter().all(|node| <ProofOfCompute as NodeWorkload>::has_open_jobs(*node)));
		let author = seated[0];
		let before = balance(author);
		send(aggregation_call(aggregation(job, author, honest_aggregate(0))));
		// The seats it took the turn from are free; its author is bound, and unpaid.
		assert!(seated[1..]
			.iter()
			.all(|node| !<ProofOfCompute as NodeWorkload>::has_open_jobs(*node)));
		assert!(<ProofOfCompute as NodeWorkload>::has_open_jobs(author));
		assert_eq!(balance(author), before);

		// Round 1's aggregate supersedes it: round 0 can no longer be challenged.
		deliver(job, &participants, 1);
		let next = aggregators(job)[0];
		send(aggregation_call(aggregation(job, next, honest_aggregate(1))));
		assert_eq!(aggregator_fees(job), fees_of(&[author]));
		assert_eq!(AggregatesAtStake::<Test>::get(author, job), None);
		assert_eq!(AggregatesAtStake::<Test>::get(next, job), Some(1));
		if next != author {
			assert!(!<ProofOfCompute as NodeWorkload>::has_open_jobs(author));
			assert_eq!(balance(author), before + FEE_FOR_THREE);
		}
	});
}

#[test]
fn a_federated_job_that_fails_pays_the_author_of_its_last_aggregate() {
	test(|| {
		let (job, participants) = federated_job(3);
		deliver(job, &participants, 0);
		let author = aggregators(job)[0];
		send(aggregation_call(aggregation(job, author, honest_aggregate(0))));
		let requester_before = Balances::balance(&REQUESTER);

		// Nobody delivers round 1: the job fails at its deadline, past which no aggregate of
		// it can be challenged.
		run_to(Jobs::<Test>::get(job).unwrap().deadline + 1);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Failed);
		assert_eq!(aggregator_fees(job), fees_of(&[author]));
		assert_eq!(AggregatesAtStake::<Test>::iter().count(), 0);
		assert_eq!(
			Balances::balance(&REQUESTER),
			requester_before + FEDERATED_BUDGET - FEE_FOR_THREE
		);
		assert_eq!(held(REQUESTER), 0);
	});
}

/// σ = 1, every participant in every round, δ = 10⁻⁵.
fn private() -> DpParameters {
	DpParameters {
		clip_milli: 1_000,
		noise_multiplier_milli: 1_000,
		sampling: Perbill::one(),
		delta: Perbill::from_parts(10_000),
	}
}

fn create_private(privacy: Option<DpParameters>) -> DispatchResultWithPostInfo {
	ProofOfCompute::create_federated_job(
		RuntimeOrigin::signed(REQUESTER),
		spec(ROUNDS * 10, BackendClass::CpuReference),
		FEDERATED_BUDGET,
		3,
		SHARDS,
		200,
		privacy,
	)
}

fn post_private(privacy: Option<DpParameters>) -> JobId {
	assert_ok!(create_private(privacy));
	NextJobId::<Test>::get() - 1
}

#[test]
fn a_private_job_spends_its_epsilon_from_each_participants_grant_and_never_overspends_one() {
	test(|| {
		let dids = crate::tests::granted_only_to(&[0, 1, 2, 3, 4]);
		let epsilon = tessera_primitives::privacy::epsilon(&private(), ROUNDS).unwrap();
		// Every grant's budget fits one such job, not two.
		let delta = private().delta;
		PrivacyLeft::set(dids.iter().map(|did| (*did, epsilon + epsilon / 2, delta)).collect());

		let first = post_private(Some(private()));
		assert!(events().contains(&Event::FederatedJobCreated {
			job: first,
			rounds: ROUNDS,
			shards: SHARDS,
			epsilon_milli: Some(epsilon)
		}));
		run_to(System::block_number() + 1);
		let participants = Assignments::<Test>::get(first).unwrap();
		for (did, left, _) in PrivacyLeft::get() {
			let node = dids.iter().position(|granted| *granted == did).unwrap() as NodeId;
			let spent = if participants.contains(&node) { epsilon } else { 0 };
			assert_eq!(left, epsilon + epsilon / 2 - spent, "node {node}");
		}

		// Two grants have budget left for a second job of three: it waits, spending nothing.
		let second = post_private(Some(private()));
		run_to(System::block_number() + 2);
		assert_eq!(Jobs::<Test>::get(second).unwrap().state, JobState::Created);
		assert_eq!(RecordedUses::get().len(), 3);
		// A job that no grant's budget admits is refused when posted, holding nothing: here
		// one stated for a larger δ than every grant allows.
		let loose = DpParameters { delta: Perbill::from_parts(20_000), ..private() };
		PrivacyLeft::mutate(|budgets| budgets.iter_mut().for_each(|(_, left, _)| *left = u32::MAX));
		assert_noop!(create_private(Some(loose)), Error::<Test>::NoConsent);
	});
}

#[test]
fn a_job_declaring_no_privacy_is_never_drawn_to_a_budgeted_grant() {
	test(|| {
		let dids = crate::tests::granted_only_to(&[0, 1, 2, 3, 4]);
		let budgeted = |did: &DidId| (*did, u32::MAX, Perbill::one());
		PrivacyLeft::set(dids.iter().map(budgeted).collect());
		// With every grant budgeted, nobody may take it: it is refused when posted.
		assert_noop!(create_private(None), Error::<Test>::NoConsent);
		// One grant without a budget admits it, but it needs three participants: it waits.
		PrivacyLeft::set(dids[1..].iter().map(budgeted).collect());
		let job = post_private(None);
		run_to(System::block_number() + 2);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Created);
		// Grants without a budget take it.
		PrivacyLeft::set(vec![]);
		run_to(System::block_number() + 1);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Assigned);
	});
}

#[test]
fn privacy_the_accountant_cannot_state_is_refused() {
	test(|| {
		for unstated in [
			DpParameters { noise_multiplier_milli: 50, ..private() },
			DpParameters { sampling: Perbill::zero(), ..private() },
			DpParameters { delta: Perbill::zero(), ..private() },
		] {
			assert_noop!(
				ProofOfCompute::create_federated_job(
					RuntimeOrigin::signed(REQUESTER),
					spec(ROUNDS * 10, BackendClass::CpuReference),
					FEDERATED_BUDGET,
					3,
					SHARDS,
					200,
					Some(unstated)
				),
				Error::<Test>::InvalidPrivacy
			);
		}
		// From its seed, a round has no start state to clip updates against.
		let from_seed = JobSpec {
			base_weights: Default::default(),
			..spec(ROUNDS * 10, BackendClass::CpuReference)
		};
		assert_noop!(
			ProofOfCompute::create_federated_job(
				RuntimeOrigin::signed(REQUESTER),
				from_seed,
				FEDERATED_BUDGET,
				3,
				SHARDS,
				200,
				Some(private())
			),
			Error::<Test>::InvalidPrivacy
		);
	});
}

/// The noise `private()` adds to the current round of `job`, of three seats: drawn from the
/// round's randomness.
fn private_noise(job: JobId) -> AggregatePrivacy {
	let samples_per_update = Jobs::<Test>::get(job).unwrap().workload.samples_per_checkpoint();
	let seed = Federations::<Test>::get(job).unwrap().seed;
	AggregatePrivacy::of(&private(), &seed, 3, samples_per_update)
}

/// `aggregation` by its own node's key, dispatched without the pool's check.
fn dispatch_aggregation(aggregation: Aggregation) -> DispatchResult {
	let signature = node_pair(aggregation.node)
		.sign(&aggregation.signed_bytes(&ProofOfCompute::genesis_hash()))
		.into();
	ProofOfCompute::submit_aggregation(
		polkadot_sdk::frame_system::RawOrigin::Authorized.into(),
		aggregation,
		signature,
	)
}

#[test]
fn an_aggregate_naming_other_noise_than_its_round_adds_is_refused() {
	test(|| {
		let job = post_private(Some(private()));
		run_to(System::block_number() + 1);
		let participants = Assignments::<Test>::get(job).unwrap();
		deliver(job, &participants, 0);
		let seated = aggregators(job);
		let honest = aggregation(job, seated[0], honest_aggregate(0));
		// The declared parameters, the job's seats and a round's samples, and a seed drawn
		// from the round's randomness.
		let noise = private_noise(job);
		assert_eq!(honest.noise, Some(noise));
		assert_eq!((noise.clip_milli, noise.noise_multiplier_milli), (1_000, 1_000));
		assert_eq!((noise.seats, noise.sampling), (3, Perbill::one()));
		for other in [
			None,
			Some(AggregatePrivacy { seed: noise.seed.wrapping_add(1), ..noise }),
			Some(AggregatePrivacy { clip_milli: 2_000, ..noise }),
			Some(AggregatePrivacy { noise_multiplier_milli: 500, ..noise }),
			Some(AggregatePrivacy { sampling: Perbill::from_percent(50), ..noise }),
			Some(AggregatePrivacy { seats: 4, ..noise }),
			Some(AggregatePrivacy { samples_per_update: 1, ..noise }),
		] {
			let wrong = Aggregation { noise: other, ..honest.clone() };
			assert_eq!(
				authorize(aggregation_call(wrong.clone())),
				Err(InvalidTransaction::BadProof),
				"{other:?}"
			);
			assert_noop!(dispatch_aggregation(wrong), Error::<Test>::WrongNoise);
		}
		send(aggregation_call(honest));
		assert_eq!(Aggregations::<Test>::get(job, 0).unwrap().noise, Some(noise));
		// The next round draws other noise; the aggregate keeps naming its own, which is the
		// noise a panel re-computing it draws.
		let next = ProofOfCompute::round_noise(job, 1).unwrap();
		assert_ne!(next.seed, noise.seed);
		assert_eq!(next, private_noise(job));
		assert_eq!(ProofOfCompute::round_noise(job, 0), Some(noise));

		// A job that declared no privacy adds no noise, and may name none.
		let (plain, participants) = federated_job(3);
		deliver(plain, &participants, 0);
		let seated = aggregators(plain);
		let noisy = Aggregation { noise: Some(noise), ..aggregation(plain, seated[0], 1) };
		assert_eq!(authorize(aggregation_call(noisy.clone())), Err(InvalidTransaction::BadProof));
		assert_noop!(dispatch_aggregation(noisy), Error::<Test>::WrongNoise);
	});
}

/// A private job like `private()` drawing each of its five participants into a round with
/// probability `sampling`; returns it once assigned.
fn post_sampling(sampling: Perbill) -> JobId {
	assert_ok!(ProofOfCompute::create_federated_job(
		RuntimeOrigin::signed(REQUESTER),
		spec(ROUNDS * 10, BackendClass::CpuReference),
		FEDERATED_BUDGET,
		5,
		SHARDS,
		200,
		Some(DpParameters { sampling, ..private() }),
	));
	let job = NextJobId::<Test>::get() - 1;
	run_to(System::block_number() + 1);
	job
}

/// The participants of `job` its current round drew, and those it did not.
fn sample(job: JobId) -> (Vec<NodeId>, Vec<NodeId>) {
	let federation = Federations::<Test>::get(job).unwrap();
	let (privacy, _) = federation.privacy.unwrap();
	Assignments::<Test>::get(job)
		.unwrap()
		.into_iter()
		.partition(|node| takes_part(*node, &federation.seed, federation.round, privacy.sampling))
}

#[test]
fn poisson_sampling_draws_each_participant_with_the_declared_chance_from_the_round_seed() {
	let half = Perbill::from_percent(50);
	let (seed, other) = (H256::repeat_byte(3), H256::repeat_byte(4));
	let drawn = |seed: H256, round| -> Vec<NodeId> {
		(0..10_000).filter(|node| takes_part(*node, &seed, round, half)).collect()
	};
	// About half (4σ = 200), the same from the same seed and round, and others from others.
	let count = drawn(seed, 0).len();
	assert!((4_800..=5_200).contains(&count), "{count}");
	assert_eq!(drawn(seed, 0), drawn(seed, 0));
	assert_ne!(drawn(seed, 0), drawn(seed, 1));
	assert_ne!(drawn(seed, 0), drawn(other, 0));
	// Every participant at a rate of one, none at zero.
	assert!((0..1_000).all(|node| takes_part(node, &seed, 0, Perbill::one())));
	assert!((0..1_000).all(|node| !takes_part(node, &seed, 0, Perbill::zero())));
}

#[test]
fn a_round_takes_updates_only_from_the_participants_its_seed_drew_and_waits_for_no_other() {
	test(|| {
		let half = Perbill::from_percent(50);
		let job = post_sampling(half);
		// The job spends the ε of its sampling rate, less than one that samples everyone.
		let epsilon = tessera_primitives::privacy::epsilon(
			&DpParameters { sampling: half, ..private() },
			ROUNDS,
		)
		.unwrap();
		assert!(epsilon < tessera_primitives::privacy::epsilon(&private(), ROUNDS).unwrap());
		assert!(events().contains(&Event::FederatedJobCreated {
			job,
			rounds: ROUNDS,
			shards: SHARDS,
			epsilon_milli: Some(epsilon)
		}));
		for round in 0..ROUNDS {
			let (drawn, left_out) = sample(job);
			assert!(!drawn.is_empty() && !left_out.is_empty(), "round {round}: {drawn:?}");
			for node in &left_out {
				// It trains nothing and may commit nothing.
				assert_eq!(ProofOfCompute::shard(job, *node), None);
				let commit = commit_call(&update(job, *node, round));
				assert_eq!(authorize(commit.clone()), Err(InvalidTransaction::BadSigner));
				let Call::commit { commit, signature } = commit else { unreachable!() };
				assert_noop!(
					ProofOfCompute::commit(
						polkadot_sdk::frame_system::RawOrigin::Authorized.into(),
						commit,
						signature
					),
					Error::<Test>::WrongState
				);
			}
			for node in &drawn {
				assert!(ProofOfCompute::shard(job, *node).is_some());
				// A participant that sat rounds out commits the round it was drawn for.
				assert_eq!(NextCheckpoint::<Test>::get(job, node), round);
			}
			// The round closes once those it drew revealed, and averages theirs alone.
			deliver(job, &drawn, round);
			let federation = Federations::<Test>::get(job).unwrap();
			assert!(federation.closed.is_some());
			assert_eq!(federation.inputs.into_inner(), drawn);
			send(aggregation_call(aggregation(job, aggregators(job)[0], honest_aggregate(round))));
		}
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);
	});
}

#[test]
fn a_sampled_round_opens_its_reveals_once_every_participant_it_drew_committed() {
	test(|| {
		let job = post_sampling(Perbill::from_percent(50));
		let (drawn, left_out) = sample(job);
		assert!(!drawn.is_empty() && !left_out.is_empty(), "{drawn:?}");
		for node in &drawn {
			send(commit_call(&update(job, *node, 0)));
		}
		// No `RevealDelay` to wait out: the round awaits no commit from those it left out.
		for node in &drawn {
			send(reveal_call(update(job, *node, 0)));
		}
		let federation = Federations::<Test>::get(job).unwrap();
		assert!(federation.closed.is_some());
		assert_eq!(federation.inputs.into_inner(), drawn);
	});
}

#[test]
fn a_round_that_drew_none_of_its_participants_is_aggregated_from_its_start_and_noise() {
	test(|| {
		let job = post_sampling(Perbill::from_percent(1));
		let (drawn, _) = sample(job);
		assert!(drawn.is_empty());
		// Complete as it opens, it closes in the next block: its aggregators average no
		// update.
		let federation = Federations::<Test>::get(job).unwrap();
		assert_eq!(federation.closed, None);
		assert_eq!(federation.deadline, System::block_number() + 1);
		run_to(System::block_number() + 1);
		let federation = Federations::<Test>::get(job).unwrap();
		assert!(federation.closed.is_some() && federation.inputs.is_empty());
		assert!(events().contains(&Event::RoundClosed {
			job,
			round: 0,
			participants: 0,
			aggregators: federation.aggregators.clone(),
		}));
		let empty = aggregation(job, federation.aggregators[0], honest_aggregate(0));
		assert_eq!((empty.participants, empty.inputs_root), (0, inputs_root(core::iter::empty())));
		assert!(empty.noise.is_some());
		send(aggregation_call(empty));
		assert_eq!(Federations::<Test>::get(job).unwrap().round, 1);
	});
}

/// `lazy` trains nothing of `round` and reveals the update of `copied` as its own, which
/// the chain cannot tell from training, shards being different; the others deliver theirs.
fn deliver_with_a_copy(
	job: JobId,
	participants: &[NodeId],
	round: u32,
	lazy: NodeId,
	copied: NodeId,
) {
	let report = |node: NodeId| {
		if node == lazy {
			CommitmentPayload { node: lazy, ..update(job, copied, round) }
		} else {
			update(job, node, round)
		}
	};
	for node in participants {
		send(commit_call(&report(*node)));
	}
	for node in participants {
		send(reveal_call(report(*node)));
	}
}

fn challenge_update(job: JobId, round: u32, node: NodeId) -> DispatchResult {
	ProofOfCompute::challenge_update(RuntimeOrigin::signed(CHALLENGER), job, round, node)
}

#[test]
fn a_participant_that_copies_an_update_is_convicted_and_its_round_trained_again_without_it() {
	test(|| {
		let (job, participants) = federated_job(3);
		let (lazy, copied) = (participants[2], participants[0]);
		deliver_with_a_copy(job, &participants, 0, lazy, copied);
		let author = aggregators(job)[0];
		send(aggregation_call(aggregation(job, author, honest_aggregate(0))));
		assert_eq!(Federations::<Test>::get(job).unwrap().round, 1);
		let (lazy_before, author_before) = (balance(lazy), balance(author));
		let challenger_before = Balances::balance(&CHALLENGER);
		let round_zero_seed = Federations::<Test>::get(job).unwrap().previous_seed;

		assert_ok!(challenge_update(job, 0, lazy));
		assert!(events()
			.contains(&Event::JobDisputed { job, reason: DisputeReason::UpdateChallenged(lazy) }));
		// The panel trains the lazy node's shard of round 0 from the job's start.
		let segment = Disputes::<Test>::get(job).unwrap().segment;
		assert_eq!((segment.checkpoint, segment.from_step, segment.to_step), (0, 0, 10));
		assert_eq!(segment.start_state, None);
		// Nobody judges the round's own work: no participant, and not its aggregator.
		let members = panel(job);
		assert_eq!(members.len(), 3);
		assert!(members.iter().all(|member| !participants.contains(member) && *member != author));
		panel_answers(job, |_| Some(trained(lazy, 0)));

		let slashed = slash_amount(SlashReason::FailedVerification);
		assert_eq!(balance(lazy), lazy_before - slashed);
		assert_eq!(Slashes::get(), vec![(lazy, SlashReason::FailedVerification)]);
		assert!(events().contains(&Event::DisputeResolved {
			job,
			upheld: false,
			segments: 1,
			steps: 10
		}));
		assert!(events().contains(&Event::ChallengeWon {
			job,
			challenger: CHALLENGER,
			bounty: slashed
		}));
		assert_eq!(Balances::balance(&CHALLENGER), challenger_before + slashed);
		// The aggregate averaged what it was given: its author is paid for it, and free.
		assert_eq!(aggregator_fees(job), fees_of(&[author]));
		assert_eq!(balance(author), author_before + FEE_FOR_THREE);
		assert_eq!(AggregatesAtStake::<Test>::iter().count(), 0);

		// Round 0 opens again, on the same shards, without the lazy node, which forfeits
		// what it earned of the job.
		assert!(events().contains(&Event::RoundRetrained { job, round: 0 }));
		let seats = Assignments::<Test>::get(job).unwrap().into_inner();
		assert_eq!(seats.len(), 3);
		assert!(!seats.contains(&lazy));
		let by = seats.iter().copied().find(|node| !participants.contains(node));
		assert!(events().contains(&Event::ParticipantReplaced { job, node: lazy, by }));
		assert_eq!(Contributions::<Test>::get(job, lazy), (0, 0));
		assert!(!Aggregations::<Test>::contains_key(job, 0));
		assert_eq!(LastAgreed::<Test>::get(job), None);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Running);
		let federation = Federations::<Test>::get(job).unwrap();
		assert_eq!(
			(federation.round, federation.closed, federation.previous_seed),
			(0, None, None)
		);
		assert_eq!(Some(federation.seed), round_zero_seed);
		for node in &seats {
			assert!(!Reveals::<Test>::contains_key((job, *node, 0)));
			assert_eq!(NextCheckpoint::<Test>::get(job, node), 0);
		}
		deliver(job, &seats, 0);
		assert!(Federations::<Test>::get(job).unwrap().closed.is_some());
	});
}

#[test]
fn a_challenge_of_an_honest_update_costs_the_challenger_its_bond_and_cannot_be_repeated() {
	test(|| {
		let (job, participants) = federated_job(3);
		deliver(job, &participants, 0);
		let honest = participants[1];
		let validators_before: Vec<Balance> = VALIDATORS.into_iter().map(balance).collect();
		let honest_before = balance(honest);

		assert_ok!(challenge_update(job, 0, honest));
		let members = panel(job);
		panel_answers(job, |_| Some(trained(honest, 0)));

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
		assert!(Slashes::get().is_empty());
		// The bond goes to the participant and the panel, a quarter each.
		assert_eq!(balance(honest), honest_before + BOND / 4);
		for (validator, before) in VALIDATORS.into_iter().zip(validators_before) {
			let paid = if members.contains(&validator) { PANEL_FEE + BOND / 4 } else { 0 };
			assert_eq!(balance(validator), before + paid);
		}
		// Upheld, it can never be challenged again: a second bond would only buy a second
		// re-execution of what a panel settled.
		assert!(UpheldUpdates::<Test>::contains_key(job, (0, honest)));
		let challenger_before = Balances::balance(&CHALLENGER);
		assert_noop!(challenge_update(job, 0, honest), Error::<Test>::UpdateSettled);
		assert_eq!(Balances::balance(&CHALLENGER), challenger_before);

		// The round goes on: its aggregators' turns start again.
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Running);
		send(aggregation_call(aggregation(job, aggregators(job)[0], honest_aggregate(0))));
		assert_eq!(Federations::<Test>::get(job).unwrap().round, 1);
	});
}

#[test]
fn only_the_updates_of_the_latest_aggregates_round_can_be_challenged() {
	test(|| {
		let (job, participants) = federated_job(3);
		// Before its round closes an update is not one an aggregate averages: neither
		// committed nor revealed.
		for node in &participants {
			send(commit_call(&update(job, *node, 0)));
		}
		assert_noop!(challenge_update(job, 0, participants[0]), Error::<Test>::UnknownUpdate);
		send(reveal_call(update(job, participants[0], 0)));
		assert_noop!(challenge_update(job, 0, participants[0]), Error::<Test>::UnknownUpdate);
		for node in &participants[1..] {
			send(reveal_call(update(job, *node, 0)));
		}
		send(aggregation_call(aggregation(job, aggregators(job)[0], honest_aggregate(0))));
		deliver(job, &participants, 1);
		send(aggregation_call(aggregation(job, aggregators(job)[0], honest_aggregate(1))));
		// Round 2 is open: round 0's aggregate was superseded, and its updates with it.
		assert_noop!(challenge_update(job, 0, participants[0]), Error::<Test>::UnknownUpdate);
		// A node whose update the round did not average.
		assert_noop!(challenge_update(job, 1, VALIDATORS[0]), Error::<Test>::UnknownUpdate);
		deliver(job, &participants, 2);
		send(aggregation_call(aggregation(job, aggregators(job)[0], honest_aggregate(2))));
		// The last round's aggregate is the result; the round before's updates are
		// superseded by it.
		let info = Jobs::<Test>::get(job).unwrap();
		assert_eq!(info.state, JobState::Accepted);
		assert_noop!(challenge_update(job, 1, participants[0]), Error::<Test>::AggregateSuperseded);
		// Once the result's window closed, nothing of the job can be challenged.
		run_to(info.result.unwrap().challenge_ends);
		assert_noop!(challenge_update(job, 2, participants[0]), Error::<Test>::WrongState);
		// A job of replicas has no updates.
		let (replicated, replicas) = crate::dispute::tests::long_job();
		assert_noop!(challenge_update(replicated, 0, replicas[0]), Error::<Test>::NotFederated);
	});
}

#[test]
fn an_update_of_a_gpu_job_cannot_be_challenged_since_no_panel_reproduces_it_to_the_bit() {
	test(|| {
		Nodes::mutate(|nodes| nodes.iter_mut().for_each(|node| node.gpu = true));
		assert_ok!(ProofOfCompute::create_federated_job(
			RuntimeOrigin::signed(REQUESTER),
			spec(ROUNDS * 10, BackendClass::Gpu),
			FEDERATED_BUDGET,
			3,
			SHARDS,
			200,
			None
		));
		let job = NextJobId::<Test>::get() - 1;
		run_to(System::block_number() + 1);
		let participant = Assignments::<Test>::get(job).unwrap()[0];
		assert_noop!(challenge_update(job, 0, participant), Error::<Test>::UpdateNotReproducible);
	});
}

#[test]
fn a_copied_update_in_the_last_round_voids_the_accepted_result_until_the_round_is_trained_again() {
	test(|| {
		let (job, participants) = federated_job(3);
		let last = ROUNDS - 1;
		for round in 0..last {
			deliver(job, &participants, round);
			send(aggregation_call(aggregation(job, aggregators(job)[0], honest_aggregate(round))));
		}
		let (lazy, copied) = (participants[0], participants[1]);
		deliver_with_a_copy(job, &participants, last, lazy, copied);
		send(aggregation_call(aggregation(job, aggregators(job)[0], honest_aggregate(last))));
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Accepted);
		let lazy_before = balance(lazy);

		assert_ok!(challenge_update(job, last, lazy));
		// The round starts from the aggregate of the round before.
		let segment = Disputes::<Test>::get(job).unwrap().segment;
		assert_eq!(segment.start_state, Some(state_of(honest_aggregate(last - 1))));
		panel_answers(job, |_| Some(trained(lazy, last)));

		assert!(events().contains(&Event::RoundRetrained { job, round: last }));
		let info = Jobs::<Test>::get(job).unwrap();
		assert_eq!((info.state, info.result), (JobState::Running, None));
		assert_eq!(
			LastAgreed::<Test>::get(job),
			Some((last - 1, state_of(honest_aggregate(last - 1))))
		);
		// The aggregate before was superseded, and its author paid, when the voided one was
		// committed: it stays final.
		let federation = Federations::<Test>::get(job).unwrap();
		assert_eq!((federation.round, federation.settled), (last, Some(last - 1)));
		assert_noop!(
			ProofOfCompute::challenge(RuntimeOrigin::signed(CHALLENGER), job, last - 1),
			Error::<Test>::AggregateSettled
		);

		let seats = Assignments::<Test>::get(job).unwrap().into_inner();
		deliver(job, &seats, last);
		send(aggregation_call(aggregation(job, aggregators(job)[0], honest_aggregate(last))));
		let result = Jobs::<Test>::get(job).unwrap().result.unwrap();
		assert_eq!(result.weights_digest, H256::repeat_byte(honest_aggregate(last)));
		run_to(result.challenge_ends);
		assert_eq!(Jobs::<Test>::get(job).unwrap().state, JobState::Finalized);
		// The lazy node was slashed and paid nothing. The others are paid each round once,
		// though the last was aggregated twice, and the replacement its one round (12.8 a
		// step; node 2 trusted: ×1.10).
		let slashed = slash_amount(SlashReason::FailedVerification);
		assert_eq!(balance(lazy), lazy_before - slashed);
		let earned =
			|node: NodeId, rounds: Balance| 128 * rounds * if node == 2 { 110 } else { 100 } / 100;
		for node in seats {
			let rounds = if participants.contains(&node) { ROUNDS } else { 1 };
			assert_eq!(balance(node), INITIAL_BALANCE + earned(node, Balance::from(rounds)));
		}
	});
}

#[test]
fn an_update_upheld_in_a_round_that_is_trained_again_can_be_challenged_anew() {
	test(|| {
		let (job, participants) = federated_job(3);
		let (lazy, honest) = (participants[2], participants[1]);
		deliver_with_a_copy(job, &participants, 0, lazy, participants[0]);
		send(aggregation_call(aggregation(job, aggregators(job)[0], honest_aggregate(0))));
		deliver(job, &participants, 1);
		assert_ok!(challenge_update(job, 1, honest));
		panel_answers(job, |_| Some(trained(honest, 1)));
		assert!(UpheldUpdates::<Test>::contains_key(job, (1, honest)));

		// Round 1 trained from an aggregate that averaged a copy: once round 0 is trained
		// again, round 1's updates are new, and no panel judged them.
		assert_ok!(challenge_update(job, 0, lazy));
		panel_answers(job, |_| Some(trained(lazy, 0)));
		assert!(events().contains(&Event::RoundRetrained { job, round: 0 }));
		assert_eq!(UpheldUpdates::<Test>::iter_prefix(job).count(), 0);
		assert!(!Reveals::<Test>::contains_key((job, honest, 1)));
	});
}
