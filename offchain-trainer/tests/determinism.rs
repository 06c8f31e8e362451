//! Reference-mode training is a pure function of the job: the same commitments on every run,
//! from a resumed checkpoint, and (by the golden digests) on every machine and CPU level the
//! same build runs on. `scripts/trainer-cpu-levels.sh` runs this file built for the baseline
//! x86-64 and for the host's own CPU.

use tessera_trainer::{
	backend::Backend,
	data::Builtin,
	model::Architecture,
	state::StartState,
	store::ContentStore,
	train::{Commitment, HyperParameters, Session},
};

fn hyper(steps: u64) -> HyperParameters {
	HyperParameters { learning_rate: 0.1, batch_size: 32, steps, checkpoint_every: 20, seed: 7 }
}

fn mlp() -> Architecture {
	Architecture::Mlp { hidden: vec![32] }
}

fn train(architecture: Architecture, steps: u64, store: &ContentStore) -> Vec<Commitment> {
	let digits = Builtin::Digits.load();
	let mut session =
		Session::start(architecture, &digits, hyper(steps), Backend::Reference, store).unwrap();
	session.run_until(steps, |_| {}).unwrap()
}

fn store() -> (tempfile::TempDir, ContentStore) {
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	(dir, store)
}

#[test]
fn mlp_on_digits_reproduces_its_golden_digests() {
	let (_dir, store) = store();
	let commitments = train(mlp(), 60, &store);
	let steps: Vec<u64> = commitments.iter().map(|c| c.step).collect();
	assert_eq!(steps, vec![20, 40, 60]);
	let last = commitments.last().unwrap();
	assert_eq!(format!("{:?}", last.weights_digest), GOLDEN_MLP_WEIGHTS);
	assert_eq!(format!("{:?}", last.loss_digest), GOLDEN_MLP_LOSSES);
	assert_eq!(last.state_cid, GOLDEN_MLP_STATE);
	assert!(commitments[2].mean_loss < commitments[0].mean_loss, "{commitments:?}");
}

const GOLDEN_MLP_WEIGHTS: &str =
	"0x1701a1781361ed8f1bd4abd328f5a87ef5dede0a6ab7524b5fd53b063fad53ac";
const GOLDEN_MLP_LOSSES: &str =
	"0xddbc94ff9c927848f93a2d177365f2cc958d30f14a60c867b7904789b6366e08";
const GOLDEN_MLP_STATE: &str = "bafkreigqpa3iq3amuplnet453ij6l6y35iwxxrw6vshmqxadevw765z364";

#[test]
fn two_runs_commit_identically_and_share_their_stored_states() {
	let (_dir, store) = store();
	let first = train(mlp(), 40, &store);
	let second = train(mlp(), 40, &store);
	assert_eq!(first, second);
	assert_eq!(store.pins().unwrap().len(), 4, "two states and two gradient sets");
	// Two replicas reveal the same payload; their commitments differ by node and salt only.
	let reveal = |commitment: &Commitment, node| {
		commitment
			.payload(9, 1, node, tessera_primitives::BackendClass::CpuReference, None)
			.unwrap()
	};
	let (mine, theirs) = (reveal(&first[1], 1), reveal(&second[1], 2));
	assert_eq!(mine.weights_digest, theirs.weights_digest);
	assert_eq!(mine.state_cid, theirs.state_cid);
	assert_ne!(
		tessera_primitives::commitment_hash(&mine, 1, &[7; 32]),
		tessera_primitives::commitment_hash(&theirs, 2, &[7; 32])
	);
}

#[test]
fn a_segment_re_executed_from_its_checkpoint_commits_the_same_digests() {
	let (_dir, store) = store();
	let digits = Builtin::Digits.load();
	let original = train(mlp(), 60, &store);
	let mut validator = Session::resume(
		mlp(),
		&digits,
		hyper(60),
		Backend::Reference,
		&store,
		&StartState {
			state_cid: original[0].state_cid.clone(),
			weights_digest: original[0].weights_digest,
		},
		20,
	)
	.unwrap();
	assert_eq!(validator.run_until(40, |_| {}).unwrap(), vec![original[1].clone()]);
}

#[test]
fn cnn_on_digits_trains_deterministically() {
	let (_dir, store) = store();
	let cnn = Architecture::Cnn { channels: [4, 8] };
	let first = train(cnn.clone(), 20, &store);
	assert_eq!(first, train(cnn, 20, &store));
	assert_eq!(format!("{:?}", first[0].weights_digest), GOLDEN_CNN_WEIGHTS);
}

const GOLDEN_CNN_WEIGHTS: &str =
	"0x15089a8b5c886515ece0a188718edd9ee5bb348b8d6dfad5a96ee15ae05fcc35";

#[test]
fn char_transformer_learns_its_text_deterministically() {
	let (_dir, store) = store();
	let text = "the chain keeps the commitments; the trainer keeps the weights. ".repeat(8);
	let corpus = tessera_trainer::data::from_texts([text.as_bytes()], 16).unwrap();
	let architecture = Architecture::CharTransformer { context: 16, width: 32, layers: 1 };
	let hyper = HyperParameters {
		learning_rate: 0.05,
		batch_size: 8,
		steps: 40,
		checkpoint_every: 20,
		seed: 3,
	};
	let run = || {
		Session::start(architecture.clone(), &corpus, hyper.clone(), Backend::Reference, &store)
			.unwrap()
			.run_until(40, |_| {})
			.unwrap()
	};
	let first = run();
	assert_eq!(first, run());
	assert!(first[1].mean_loss < first[0].mean_loss, "{first:?}");
	assert_eq!(format!("{:?}", first[1].weights_digest), GOLDEN_TRANSFORMER_WEIGHTS);
}

const GOLDEN_TRANSFORMER_WEIGHTS: &str =
	"0xcd14a08c96161a11cfd1fa8df4929ad78c7f26ba07368cc77edff563280f503c";
