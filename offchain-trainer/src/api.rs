//! The HTTP service: `tessera-trainer serve --listen 127.0.0.1:7070 --public-listen
//! 0.0.0.0:7071`.
//!
//! Two listeners share one trainer. The control API (`--listen`, loopback by default) is what
//! the node's off-chain worker calls: jobs, re-executions, aggregates, uploads, garbage
//! collection and fetches from peers, behind the checks of [`access`]. The public listener
//! ([`public`], `--public-listen`) serves content by CID and nothing else; its URL is the one
//! an operator publishes with `nodeRegistry.setEndpoint`. See [`types`] for the routes and
//! their bodies.

pub mod access;
mod error;
pub mod public;
pub mod types;

pub use access::{AccessError, ControlAccess};
pub use error::{ApiError, ErrorBody};
pub use public::PublicLimits;

use crate::{
	aggregate::{fed_avg, RoundShape},
	data::{Dataset, DatasetError},
	hwinfo::HardwareReport,
	model::Architecture,
	store::{self, ContentStore},
	train::{Commitment, Session, TrainError},
};
use axum::{
	body::Bytes,
	extract::{rejection::JsonRejection, DefaultBodyLimit, Path, State},
	http::{Method, StatusCode},
	routing::{get, post, put},
	Json, Router,
};
use std::{
	collections::HashMap,
	sync::{Arc, Mutex},
};
use tower_http::cors::{AllowOrigin, CorsLayer};
use types::*;

/// The largest JSON body accepted.
pub const MAX_JSON_BYTES: usize = 1 << 20;
/// The largest blob accepted or fetched.
pub const MAX_BLOB_BYTES: usize = 256 << 20;

/// Whether the service reports what it computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conduct {
	/// Reports its commitments as computed.
	Honest,
	/// Reports every commitment with a wrong weights digest, as a node that cheats or whose
	/// hardware is faulty would: for demonstrations and tests of verification only.
	WrongDigests,
}

/// Re-executions kept, finished or not; the oldest finished one goes first.
pub const MAX_VERIFICATIONS: usize = 64;
/// How long `POST /v1/verify` waits for a re-execution before answering that it runs.
const VERIFY_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// What the handlers share.
#[derive(Clone)]
pub struct Service {
	store: ContentStore,
	conduct: Conduct,
	jobs: Arc<Mutex<HashMap<JobKey, Run>>>,
	verifications: Arc<Mutex<Verifications>>,
	verify_wait: std::time::Duration,
}

/// A job in the trainer's table: the chain's job id and, for a federated job, the round and
/// the state it resumed, so that each round (and a round trained again from another start,
/// after a rewind) is a run of its own.
type JobKey = (u64, Option<(u32, Option<String>)>);

/// A run in the trainer's table.
struct Run {
	/// What it trains: a request for its key with another spec is refused.
	spec: TrainingSpec,
	/// Where it is.
	status: JobStatus,
	/// How many runs started before it (the table never drops one): of a round trained
	/// again from another start, the later run is the one `GET /v1/jobs/{job}` reports.
	started: usize,
}

fn job_key(job: u64, spec: &TrainingSpec) -> JobKey {
	let round = spec.round.map(|round| {
		(round.round, spec.resume.as_ref().map(|resume| resume.state.state_cid.clone()))
	});
	(job, round)
}

/// Re-executions by request (its canonical JSON): `None` while running.
#[derive(Default)]
struct Verifications {
	results: HashMap<String, Option<Result<Vec<Commitment>, String>>>,
	order: std::collections::VecDeque<String>,
}

impl Verifications {
	/// Records a started re-execution, making room by dropping the oldest finished one.
	fn start(&mut self, key: String) -> bool {
		if self.results.len() >= MAX_VERIFICATIONS {
			let finished = self
				.order
				.iter()
				.position(|key| self.results.get(key).is_some_and(|result| result.is_some()));
			match finished.and_then(|index| self.order.remove(index)) {
				Some(oldest) => {
					self.results.remove(&oldest);
				}
				None => return false,
			}
		}
		self.results.insert(key.clone(), None);
		self.order.push_back(key);
		true
	}
}

impl Service {
	/// A service over this content store.
	pub fn new(store: ContentStore, conduct: Conduct) -> Self {
		Self {
			store,
			conduct,
			jobs: Arc::default(),
			verifications: Arc::default(),
			verify_wait: VERIFY_WAIT,
		}
	}

	/// The same service answering `202` to every re-execution it has not finished yet, however
	/// short: the tests ask the way a panel's worker does.
	#[cfg(test)]
	fn answering_at_once(self) -> Self {
		Self { verify_wait: std::time::Duration::ZERO, ..self }
	}

	fn verification(&self, key: &str) -> Option<Option<Result<Vec<Commitment>, String>>> {
		self.verifications.lock().unwrap_or_else(|e| e.into_inner()).results.get(key).cloned()
	}

	/// The control API on loopback with no token and no web origin allowed: what the tests
	/// ask.
	#[cfg(test)]
	fn router(self) -> Router {
		self.control(ControlAccess::default())
	}

	/// The routes of the control API, admitting what `access` admits.
	pub fn control(self, access: ControlAccess) -> Router {
		let json = Router::new()
			.route("/v1/health", get(health))
			.route("/v1/hwinfo", get(hwinfo))
			.route("/v1/jobs", post(start_job))
			.route("/v1/jobs/{job}", get(job_status))
			.route("/v1/verify", post(verify))
			.route("/v1/aggregate", post(aggregate))
			.route("/v1/blobs/{cid}", get(get_blob))
			.route("/v1/blobs/{cid}/fetch", post(fetch_blob))
			.route("/v1/gc", post(gc))
			.layer(DefaultBodyLimit::max(MAX_JSON_BYTES));
		let blobs = Router::new()
			.route("/v1/blobs", put(put_blob))
			.layer(DefaultBodyLimit::max(MAX_BLOB_BYTES));
		// Pages of the allowed origins may read (the dashboard draws loss curves from job
		// reports) but not write: a cross-origin POST or PUT needs a preflight, which this
		// refuses.
		let reads = CorsLayer::new()
			.allow_origin(AllowOrigin::list(access.origins().iter().cloned()))
			.allow_methods([Method::GET]);
		let guard = axum::middleware::from_fn_with_state(Arc::new(access), access::guard);
		json.merge(blobs).layer(reads).layer(guard).with_state(self)
	}

	fn update(&self, key: &JobKey, change: impl FnOnce(&mut JobStatus)) {
		if let Some(run) = self.jobs.lock().unwrap_or_else(|e| e.into_inner()).get_mut(key) {
			change(&mut run.status);
		}
	}
}

/// Where the service listens.
#[derive(Clone, Copy, Debug)]
pub struct Listeners {
	/// The control API.
	pub control: std::net::SocketAddr,
	/// The public listener, if any.
	pub public: Option<std::net::SocketAddr>,
}

/// Serves `service` on `listen` until interrupted: the control API admitting what `access`
/// admits, and the public listener within [`PublicLimits::DEFAULT`].
pub async fn serve(
	service: Service,
	access: ControlAccess,
	listen: Listeners,
) -> std::io::Result<()> {
	let control = tokio::net::TcpListener::bind(listen.control).await?;
	let public = match listen.public {
		Some(address) => Some(tokio::net::TcpListener::bind(address).await?),
		None => None,
	};
	let (stop, stopped) = tokio::sync::watch::channel(false);
	tokio::spawn(async move {
		let _ = tokio::signal::ctrl_c().await;
		let _ = stop.send(true);
	});
	let until_stopped = move || {
		let mut stopped = stopped.clone();
		async move {
			let _ = stopped.wait_for(|stopped| *stopped).await;
		}
	};
	let control = axum::serve(control, service.clone().control(access))
		.with_graceful_shutdown(until_stopped());
	let Some(public) = public else { return control.await };
	let public = axum::serve(
		public,
		service
			.public(PublicLimits::DEFAULT)
			.into_make_service_with_connect_info::<std::net::SocketAddr>(),
	)
	.with_graceful_shutdown(until_stopped());
	use std::future::IntoFuture;
	tokio::try_join!(control.into_future(), public.into_future())?;
	Ok(())
}

type Reply<T> = Result<Json<T>, ApiError>;

impl From<TrainError> for ApiError {
	fn from(error: TrainError) -> Self {
		let message = error.to_string();
		match error {
			TrainError::InvalidHyperParameters(_) => {
				Self::bad_request("invalid_hyper_parameters", message)
			}
			TrainError::Architecture(_) => Self::bad_request("invalid_architecture", message),
			TrainError::EmptyDataset => Self::bad_request("empty_dataset", message),
			TrainError::OverLimit(error) => error.into(),
			TrainError::BadState { .. } => {
				Self::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_state", message)
			}
			TrainError::WrongState { .. } => {
				Self::new(StatusCode::UNPROCESSABLE_ENTITY, "wrong_state", message)
			}
			TrainError::Diverged(_) => {
				Self::new(StatusCode::UNPROCESSABLE_ENTITY, "diverged", message)
			}
			TrainError::Store(error) => error.into(),
			TrainError::Record(_) => Self::internal(message),
		}
	}
}

/// Runs blocking work (training, hashing large blobs) off the async workers.
async fn blocking<T: Send + 'static>(
	work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
	tokio::task::spawn_blocking(work)
		.await
		.map_err(|error| ApiError::internal(format!("the work stopped unexpectedly: {error}")))?
}

/// The data a job trains on: the whole set, or for a round of a federated job the
/// participant's shard of it.
///
/// The hyper-parameters are checked first: what they cost needs no data, and whatever the
/// data, a request they make impossible is refused before any of it is loaded.
fn training_data(spec: &TrainingSpec, store: &ContentStore) -> Result<Dataset, ApiError> {
	spec.hyper_parameters.check()?;
	let Some(Round { shard, shards, .. }) = spec.round else {
		return load_dataset(&spec.dataset, &spec.architecture, store);
	};
	// A shard that cannot exist is the request's fault whatever the data, so it is refused
	// before the data is loaded (or found missing).
	if shard >= shards {
		return Err(ApiError::bad_request(
			"invalid_round",
			format!("shard {shard} does not exist among {shards} (shards must be at least 1)"),
		));
	}
	let dataset = load_dataset(&spec.dataset, &spec.architecture, store)?;
	let part = dataset.shard(shard as usize, shards as usize);
	if part.is_empty() {
		return Err(ApiError::bad_request(
			"empty_shard",
			format!("shard {shard} of {shards} holds none of the {} samples", dataset.len()),
		));
	}
	Ok(part)
}

fn load_dataset(
	reference: &DatasetRef,
	architecture: &Architecture,
	store: &ContentStore,
) -> Result<Dataset, ApiError> {
	reference.load(architecture, store).map_err(|error| match error {
		DatasetError::Store(error) => error.into(),
		DatasetError::OverLimit(error) => error.into(),
		other => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_dataset", other.to_string()),
	})
}

async fn health() -> Json<Health> {
	Json(Health { version: env!("CARGO_PKG_VERSION").into(), api: "v1".into() })
}

async fn hwinfo() -> Reply<Hardware> {
	let report = blocking(|| Ok(HardwareReport::detect())).await?;
	Ok(Json(Hardware { hw_hash: report.hash(), report }))
}

async fn start_job(
	State(service): State<Service>,
	payload: Result<Json<JobRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<JobStatus>), ApiError> {
	let Json(JobRequest { job, spec }) = payload?;
	let key = job_key(job, &spec);
	{
		let jobs = service.jobs.lock().unwrap_or_else(|e| e.into_inner());
		if let Some(known) = jobs.get(&key) {
			return if known.spec == spec {
				Ok((StatusCode::OK, Json(known.status.clone())))
			} else {
				Err(ApiError::new(
					StatusCode::CONFLICT,
					"job_conflict",
					format!("job {job} is already known with another spec"),
				))
			};
		}
	}
	// Everything that can be refused is checked before the job is accepted.
	let (store, checked) = (service.store.clone(), spec.clone());
	let dataset = blocking(move || training_data(&checked, &store)).await?;
	session(spec.clone(), &dataset, &service.store)?;
	let status = JobStatus {
		job,
		state: JobState::Running,
		step: spec.resume.as_ref().map_or(0, |resume| resume.step),
		steps: spec.hyper_parameters.steps,
		commitments: Vec::new(),
		error: None,
		compute_seconds: None,
	};
	{
		let mut jobs = service.jobs.lock().unwrap_or_else(|e| e.into_inner());
		if let Some(known) = jobs.get(&key) {
			return Ok((StatusCode::OK, Json(known.status.clone())));
		}
		let started = jobs.len();
		jobs.insert(key.clone(), Run { spec: spec.clone(), status: status.clone(), started });
	}
	tokio::task::spawn_blocking(move || {
		let started = std::time::Instant::now();
		let outcome = train_job(&service, &key, &spec, &dataset);
		service.update(&key, |status| match outcome {
			Ok(()) => {
				status.state = JobState::Done;
				status.compute_seconds = Some(started.elapsed().as_secs().max(1));
			}
			Err(error) => {
				status.state = JobState::Failed;
				status.error = Some(error.to_string());
			}
		});
	});
	Ok((StatusCode::ACCEPTED, Json(status)))
}

fn train_job(
	service: &Service,
	key: &JobKey,
	spec: &TrainingSpec,
	dataset: &Dataset,
) -> Result<(), TrainError> {
	let hyper = spec.hyper_parameters.clone();
	let mut session = session(spec.clone(), dataset, &service.store)?;
	while session.step() < hyper.steps {
		let checkpoint = session.next_checkpoint();
		let mut commitments = session.run_until(checkpoint, |report| {
			service.update(key, |status| status.step = report.step)
		})?;
		if service.conduct == Conduct::WrongDigests {
			for commitment in &mut commitments {
				commitment.weights_digest.0.iter_mut().for_each(|byte| *byte = !*byte);
			}
		}
		service.update(key, |status| status.commitments.extend(commitments));
	}
	Ok(())
}

/// A job's first session: where a replica that took over resumes, else at step 0 from the
/// job's base state when it names one, else from the seed.
fn session<'a>(
	spec: TrainingSpec,
	dataset: &'a Dataset,
	store: &'a ContentStore,
) -> Result<Session<'a>, TrainError> {
	let TrainingSpec { architecture, hyper_parameters, backend, base_state, resume, .. } = spec;
	let (state, step) = match (resume, base_state) {
		(Some(Resume { state, step }), _) => (state, step),
		(None, Some(base)) => (base, 0),
		(None, None) => {
			return Session::start(architecture, dataset, hyper_parameters, backend, store)
		}
	};
	Session::resume(architecture, dataset, hyper_parameters, backend, store, &state, step)
}

async fn job_status(State(service): State<Service>, Path(job): Path<u64>) -> Reply<JobStatus> {
	let jobs = service.jobs.lock().unwrap_or_else(|e| e.into_inner());
	// A federated job answers for its latest round, and for the latest run of a round trained
	// again from another start.
	jobs.iter()
		.filter(|((id, _), _)| *id == job)
		.max_by_key(|((_, round), run)| (round.as_ref().map(|(round, _)| *round), run.started))
		.map(|(_, run)| Json(run.status.clone()))
		.ok_or_else(|| ApiError::not_found("unknown_job", format!("no job {job} on this trainer")))
}

/// Re-executes a segment in the background, once per request: the answer is `200` with the
/// commitments when they are there within [`VERIFY_WAIT`] (two seconds), else `202` with
/// none, and the caller asks again. What can be refused (a missing state or dataset) is refused at once.
async fn verify(
	State(service): State<Service>,
	payload: Result<Json<VerifyRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Commitments>), ApiError> {
	let Json(request) = payload?;
	if request.to_step <= request.from_step {
		return Err(ApiError::bad_request("empty_segment", "to_step must be after from_step"));
	}
	if request.start_state.is_none() && request.from_step != 0 {
		return Err(ApiError::bad_request(
			"missing_state",
			"a segment that does not start at step 0 needs the start_state it starts from",
		));
	}
	let key =
		serde_json::to_string(&request).map_err(|error| ApiError::internal(error.to_string()))?;
	if service.verification(&key).is_none() {
		let checked = request.clone();
		let store = service.store.clone();
		let dataset = blocking(move || {
			let dataset = training_data(&checked.spec, &store)?;
			reexecution(&checked, &dataset, &store)?;
			Ok(dataset)
		})
		.await?;
		let started =
			service.verifications.lock().unwrap_or_else(|e| e.into_inner()).start(key.clone());
		if !started {
			return Err(ApiError::new(
				StatusCode::SERVICE_UNAVAILABLE,
				"busy",
				format!("{MAX_VERIFICATIONS} re-executions are running; ask again later"),
			));
		}
		let (worker, key) = (service.clone(), key.clone());
		tokio::task::spawn_blocking(move || {
			let result = reexecution(&request, &dataset, &worker.store)
				.and_then(|mut session| session.run_until(request.to_step, |_| {}))
				.map_err(|error| error.to_string());
			let mut verifications = worker.verifications.lock().unwrap_or_else(|e| e.into_inner());
			if let Some(slot) = verifications.results.get_mut(&key) {
				*slot = Some(result);
			}
		});
	}
	let waiting_since = std::time::Instant::now();
	loop {
		match service.verification(&key) {
			Some(Some(Ok(commitments))) => {
				return Ok((StatusCode::OK, Json(Commitments { commitments })))
			}
			Some(Some(Err(message))) => {
				return Err(ApiError::new(
					StatusCode::UNPROCESSABLE_ENTITY,
					"reexecution_failed",
					message,
				))
			}
			_ if waiting_since.elapsed() >= service.verify_wait => {
				return Ok((StatusCode::ACCEPTED, Json(Commitments { commitments: Vec::new() })))
			}
			_ => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
		}
	}
}

/// The session a re-execution runs: from its state, or from the job's own start.
fn reexecution<'a>(
	request: &VerifyRequest,
	dataset: &'a Dataset,
	store: &'a ContentStore,
) -> Result<Session<'a>, TrainError> {
	match &request.start_state {
		Some(state) => Session::resume(
			request.spec.architecture.clone(),
			dataset,
			request.spec.hyper_parameters.clone(),
			request.spec.backend,
			store,
			state,
			request.from_step,
		),
		None => session(request.spec.clone(), dataset, store),
	}
}

async fn aggregate(
	State(service): State<Service>,
	payload: Result<Json<AggregateRequest>, JsonRejection>,
) -> Reply<Aggregate> {
	let Json(request) = payload?;
	blocking(move || {
		let dataset = load_dataset(&request.dataset, &request.architecture, &service.store)?;
		let shape = RoundShape {
			architecture: &request.architecture,
			inputs: dataset.num_features,
			image: dataset.image,
			classes: dataset.num_classes,
		};
		Ok(Json(fed_avg(
			&shape,
			&service.store,
			request.base_state_cid.as_deref(),
			&request.updates,
			request.privacy.as_ref(),
		)?))
	})
	.await
}

async fn put_blob(State(service): State<Service>, body: Bytes) -> Reply<Stored> {
	blocking(move || {
		let cid = service.store.put(&body)?;
		Ok(Json(Stored { cid: cid.to_string(), bytes: body.len() as u64 }))
	})
	.await
}

async fn get_blob(
	State(service): State<Service>,
	Path(cid): Path<String>,
) -> Result<Vec<u8>, ApiError> {
	let cid = store::parse_cid(&cid)?;
	blocking(move || Ok(service.store.get(&cid)?)).await
}

async fn fetch_blob(
	State(service): State<Service>,
	Path(cid): Path<String>,
	payload: Result<Json<FetchRequest>, JsonRejection>,
) -> Reply<Stored> {
	let Json(FetchRequest { peer }) = payload?;
	let cid = store::parse_cid(&cid)?;
	blocking(move || {
		let content = service.store.fetch(&peer, &cid, MAX_BLOB_BYTES as u64)?;
		Ok(Json(Stored { cid: cid.to_string(), bytes: content.len() as u64 }))
	})
	.await
}

async fn gc(State(service): State<Service>) -> Reply<GcReport> {
	blocking(move || Ok(Json(service.store.gc()?))).await
}

#[cfg(test)]
mod tests;
