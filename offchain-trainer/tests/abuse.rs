//! The service as an attacker finds it, on loopback and bounded in count and time: a
//! `tessera-trainer serve` process whose public listener is flooded with idle and trickling
//! connections and rapid requests, whose job queue is flooded with endless jobs and whose
//! fetch queue with fetches from a peer that never answers keeps answering health checks and
//! a panel's re-execution within a bound, stays within its memory budget, and loses nothing
//! it acknowledged.

use std::{
	io::Write,
	net::{SocketAddr, TcpListener, TcpStream},
	time::{Duration, Instant},
};
use support::{free_port, Service};

mod support;

/// How long a health check may take while the flood goes on.
const HEALTH_BOUND: Duration = Duration::from_millis(500);
/// How long a panel's ten-step re-execution may take while every job slot is busy.
const DUTY_BOUND: Duration = Duration::from_secs(10);
/// The resident memory the service may reach meanwhile.
const RSS_BUDGET_MIB: u64 = 512;

/// A running `serve` with a store of its own, killed when dropped.
struct Trainer {
	service: Service,
	control: String,
	public: SocketAddr,
	_store: tempfile::TempDir,
}

fn start() -> Trainer {
	let store = tempfile::tempdir().unwrap();
	let (control, public) = (free_port(), free_port());
	let service = Service::start(store.path(), control, Some(public));
	let trainer = Trainer { service, control: format!("http://{control}"), public, _store: store };
	let started = Instant::now();
	while call(&trainer, "GET", "/v1/health", None).0 != 200 {
		assert!(started.elapsed() < Duration::from_secs(20), "the trainer did not start");
		std::thread::sleep(Duration::from_millis(50));
	}
	trainer
}

fn agent() -> ureq::Agent {
	ureq::Agent::config_builder()
		.http_status_as_error(false)
		.timeout_global(Some(Duration::from_secs(30)))
		.build()
		.new_agent()
}

/// Calls the control API; the status and body (status 0 when the call failed).
fn call(trainer: &Trainer, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
	let url = format!("{}{path}", trainer.control);
	let agent = agent();
	let response = match (method, body) {
		("GET", _) => agent.get(&url).call(),
		("DELETE", _) => agent.delete(&url).call(),
		("PUT", Some(body)) => agent.put(&url).send(body),
		(_, body) => agent
			.post(&url)
			.header("content-type", "application/json")
			.send(body.unwrap_or_default()),
	};
	match response {
		Ok(mut response) => {
			(response.status().as_u16(), response.body_mut().read_to_string().unwrap_or_default())
		}
		Err(_) => (0, String::new()),
	}
}

fn job(id: u64, steps: u64, every: u64) -> String {
	format!(
		r#"{{"job":{id},"architecture":{{"kind":"mlp","hidden":[16]}},"dataset":{{"builtin":"digits"}},
		"hyper_parameters":{{"learning_rate":0.1,"batch_size":16,"steps":{steps},"checkpoint_every":{every},"seed":1}},
		"backend":"reference"}}"#
	)
}

/// Asks the public listener at `to` for `cid` from the address `from`; the status.
fn get_from(from: &str, to: SocketAddr, cid: &str) -> String {
	use std::io::Read;
	let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
	let socket = tokio::net::TcpSocket::new_v4().unwrap();
	socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
	let stream = runtime.block_on(socket.connect(to)).unwrap().into_std().unwrap();
	stream.set_nonblocking(false).unwrap();
	stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
	let mut stream = stream;
	let request = format!("GET /v1/blobs/{cid} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
	stream.write_all(request.as_bytes()).unwrap();
	let mut answer = String::new();
	let _ = stream.read_to_string(&mut answer);
	answer.get(9..12).unwrap_or("none").to_owned()
}

#[cfg(target_os = "linux")]
fn rss_mib(trainer: &Trainer) -> u64 {
	let status =
		std::fs::read_to_string(format!("/proc/{}/status", trainer.service.0.id())).unwrap();
	let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap();
	line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
}

#[cfg(not(target_os = "linux"))]
fn rss_mib(_: &Trainer) -> u64 {
	0
}

fn slowest_health(trainer: &Trainer, checks: usize) -> Duration {
	(0..checks)
		.map(|_| {
			let asked = Instant::now();
			assert_eq!(call(trainer, "GET", "/v1/health", None).0, 200);
			asked.elapsed()
		})
		.max()
		.unwrap()
}

#[test]
fn floods_of_connections_requests_and_jobs_leave_health_duties_and_content_intact() {
	let trainer = start();
	// Content acknowledged before the flood.
	let (status, stored) = call(&trainer, "PUT", "/v1/blobs", Some("acknowledged content"));
	assert_eq!(status, 200);
	let cid = stored.split('"').nth(3).unwrap().to_owned();

	// 300 idle connections to the public listener, and a few trickling a request.
	let idle: Vec<_> = (0..300).filter_map(|_| TcpStream::connect(trainer.public).ok()).collect();
	let mut trickling: Vec<_> =
		(0..4).map(|_| TcpStream::connect(trainer.public).unwrap()).collect();
	for stream in &mut trickling {
		let _ = stream.write_all(b"GET /v1/blobs/");
	}
	// Rapid requests for content from another address, while 127.0.0.1 holds all its
	// connections: served until its allowance runs out, then told when to come back.
	let mut answers = std::collections::BTreeMap::new();
	for _ in 0..50 {
		*answers.entry(get_from("127.0.0.2", trainer.public, &cid)).or_insert(0) += 1;
	}
	assert!(answers.keys().all(|status| ["200", "429"].contains(&status.as_str())), "{answers:?}");
	assert!(answers["200"] >= 32, "{answers:?}");

	// Forty endless jobs: two run, sixteen wait, the rest are refused.
	let mut accepted = 0;
	for id in 0..40 {
		match call(&trainer, "POST", "/v1/jobs", Some(&job(id, 1_000_000, 100_000))).0 {
			202 => accepted += 1,
			503 => {}
			other => panic!("job {id} answered {other}"),
		}
	}
	assert_eq!(accepted, 18);

	// Twenty fetches from a peer that accepts and never answers: four run, twelve wait, and
	// the rest are refused at once.
	let silent = TcpListener::bind("127.0.0.1:0").unwrap();
	let peer = format!("http://{}", silent.local_addr().unwrap());
	std::thread::spawn(move || {
		let held: Vec<_> = silent.incoming().take(64).collect();
		std::thread::sleep(Duration::from_secs(120));
		drop(held);
	});
	let (answered, answers_of_fetches) = std::sync::mpsc::channel();
	for n in 0..20 {
		let (control, answered) = (trainer.control.clone(), answered.clone());
		let body = format!(r#"{{"peer":"{peer}"}}"#);
		let wanted = tessera_trainer::store::cid_of(format!("wanted {n}").as_bytes());
		let path = format!("/v1/blobs/{wanted}/fetch");
		std::thread::spawn(move || {
			let url = format!("{control}{path}");
			let response =
				agent().post(&url).header("content-type", "application/json").send(&body);
			let _ = answered.send(response.map_or(0, |response| response.status().as_u16()));
		});
	}
	let refused: Vec<_> =
		(0..4).map(|_| answers_of_fetches.recv_timeout(Duration::from_secs(5)).unwrap()).collect();
	assert_eq!(refused, [503; 4]);

	let slowest = slowest_health(&trainer, 50);
	assert!(slowest < HEALTH_BOUND, "a health check took {slowest:?}");
	let segment = job(9, 20, 10)
		.replace(r#""job":9,"#, "")
		.replace(r#""backend":"reference""#, r#""backend":"reference","from_step":0,"to_step":10"#);
	let asked = Instant::now();
	loop {
		let (status, body) = call(&trainer, "POST", "/v1/verify", Some(&segment));
		if status == 200 {
			break;
		}
		assert_eq!(status, 202, "{body}");
		assert!(asked.elapsed() < DUTY_BOUND, "the re-execution waited past {DUTY_BOUND:?}");
	}
	let rss = rss_mib(&trainer);
	assert!(rss < RSS_BUDGET_MIB, "{rss} MiB resident");
	eprintln!(
		"public answers {answers:?}; slowest health {slowest:?}; re-execution {:?}; {rss} MiB",
		asked.elapsed()
	);

	for id in 0..40 {
		call(&trainer, "DELETE", &format!("/v1/jobs/{id}"), None);
	}
	drop((idle, trickling));
	assert_eq!(call(&trainer, "POST", "/v1/gc", Some("{}")).0, 200);
	let (status, content) = call(&trainer, "GET", &format!("/v1/blobs/{cid}"), None);
	assert_eq!((status, content.as_str()), (200, "acknowledged content"));
}
