//! Runtime benchmarks (issue 2): W1 a 10-step chain, W2 fan-out/fan-in of N events, W3 1,000
//! concurrent W1 runs — each against a floor: a hand-written tokio router (boxed events, one
//! unbounded mpsc, one spawned task per event) doing the same work.
//!
//! Run: `cargo bench --bench runtime`. Peak RSS of W2: run the bench binary with
//! `BLAZEN_RSS=blazen` or `BLAZEN_RSS=floor` (and `BLAZEN_RSS_EVENTS=10000`) under
//! `/usr/bin/time -v`: it runs that one workload once and exits (see BENCHMARKS.md);
//! `BLAZEN_RSS_REPEAT=k` runs it k times and prints the time of each run.

use std::any::Any;
use std::sync::{Arc, Mutex, OnceLock};

use blazen::prelude::*;
use blazen::{downcast_event, EventInfo, StepOutput};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};

fn main() {
    if let Ok(mode) = std::env::var("BLAZEN_RSS") {
        let n = std::env::var("BLAZEN_RSS_EVENTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000);
        let rt = runtime();
        // Sample the number of live tasks while the workload runs.
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = {
            let (peak, stop, handle) = (Arc::clone(&peak), Arc::clone(&stop), rt.handle().clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let alive = handle.metrics().num_alive_tasks();
                    peak.fetch_max(alive, std::sync::atomic::Ordering::Relaxed);
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
            })
        };
        let repeat: u32 = std::env::var("BLAZEN_RSS_REPEAT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let wf = w2_workflow(n);
        let mut out = String::new();
        for i in 0..repeat {
            let started = std::time::Instant::now();
            out = match mode.as_str() {
                "blazen" => rt.block_on(run_blazen(&wf)).to_string(),
                _ => rt.block_on(floor_w2(n)).to_string(),
            };
            if repeat > 1 {
                println!("run {i}: {:?}", started.elapsed());
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = sampler.join();
        println!(
            "{mode}: {n} events -> {out}; peak live tasks {}",
            peak.load(std::sync::atomic::Ordering::Relaxed)
        );
        return;
    }
    divan::main();
}

/// One multi-threaded runtime (2 workers, like the machine) for every benchmark.
fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

macro_rules! bench_event {
    ($($ty:ident),*) => {$(
        #[derive(Debug, Clone, Serialize, Deserialize)]
        struct $ty { n: u64 }
        impl Event for $ty {
            fn event_type(&self) -> &str { stringify!($ty) }
            fn to_json(&self) -> serde_json::Value { json!({"n": self.n}) }
            fn as_any(&self) -> &dyn Any { self }
            fn into_any(self: Box<Self>) -> Box<dyn Any + Send + Sync> { self }
            fn clone_event(&self) -> Box<dyn Event> { Box::new(self.clone()) }
        }
        impl TypedEvent for $ty {
            const EVENT_TYPE: &'static str = stringify!($ty);
            const EVENT_IDENTITY: &'static str = concat!(module_path!(), "::", stringify!($ty));
        }
    )*};
}
bench_event!(E1, E2, E3, E4, E5, E6, E7, E8, E9, Item, Mapped);

/// A step `I -> O` as `#[step]` generates it: downcast the input, box the output.
fn map_step<I: TypedEvent, O: TypedEvent>(name: &'static str, f: fn(I) -> O) -> Step {
    Step::new(name, move |_ctx, ev| async move {
        let input: I = downcast_event(ev)?;
        Ok(StepOutput::Single(Box::new(f(input))))
    })
    .accepts(EventInfo::of::<I>())
    .emits(EventInfo::of::<O>())
}

fn w1_workflow() -> Workflow {
    Workflow::builder("w1")
        .step(map_step("s0", |_: StartEvent| E1 { n: 1 }))
        .step(map_step("s1", |e: E1| E2 { n: e.n + 1 }))
        .step(map_step("s2", |e: E2| E3 { n: e.n + 1 }))
        .step(map_step("s3", |e: E3| E4 { n: e.n + 1 }))
        .step(map_step("s4", |e: E4| E5 { n: e.n + 1 }))
        .step(map_step("s5", |e: E5| E6 { n: e.n + 1 }))
        .step(map_step("s6", |e: E6| E7 { n: e.n + 1 }))
        .step(map_step("s7", |e: E7| E8 { n: e.n + 1 }))
        .step(map_step("s8", |e: E8| E9 { n: e.n + 1 }))
        .step(map_step("s9", |e: E9| StopEvent::new(json!(e.n))))
        .build()
        .expect("w1 graph")
}

fn w2_workflow(n: u64) -> Workflow {
    let start = Step::new("fan_out", move |_ctx, _ev| async move {
        Ok(StepOutput::Many(
            (0..n)
                .map(|n| Box::new(Item { n }) as Box<dyn Event>)
                .collect(),
        ))
    })
    .accepts(EventInfo::of::<StartEvent>())
    .emits(EventInfo::of::<Item>());
    let collect = Step::new("collect", move |ctx, ev| async move {
        let m: Mapped = downcast_event(ev)?;
        Ok(match ctx.collect_events(m, n as usize) {
            Some(all) => StepOutput::Single(Box::new(StopEvent::new(json!(all.len())))),
            None => StepOutput::None,
        })
    })
    .accepts(EventInfo::of::<Mapped>())
    .emits(EventInfo::of::<StopEvent>());
    Workflow::builder("w2")
        .step(start)
        .step(map_step("work", |i: Item| Mapped { n: i.n * 2 }))
        .step(collect)
        .build()
        .expect("w2 graph")
}

async fn run_blazen(wf: &Workflow) -> serde_json::Value {
    let h = wf.run(json!(null)).await.expect("run");
    h.result().await.expect("result").result
}

// ---------------------------------------------------------------------------------------
// The floor: a hand-written router. Boxed events, one unbounded mpsc, one task per event.

type Boxed = Box<dyn Any + Send>;

/// W1 floor: the router spawns a task per event; each task maps its event and sends the
/// next one back; the tenth ends the run.
async fn floor_w1() -> u64 {
    let (tx, mut rx) = mpsc::unbounded_channel::<Boxed>();
    let (done_tx, done_rx) = oneshot::channel::<u64>();
    tokio::spawn(async move {
        let mut done = Some(done_tx);
        let _ = tx.send(Box::new(0u64));
        while let Some(ev) = rx.recv().await {
            let Ok(n) = ev.downcast::<u64>() else {
                continue;
            };
            let n = *n;
            if n == 10 {
                if let Some(d) = done.take() {
                    let _ = d.send(n);
                }
                break;
            }
            let tx = tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(Box::new(n + 1) as Boxed);
            });
        }
    });
    done_rx.await.unwrap_or(0)
}

enum FloorEv {
    Start,
    Item(u64),
    Mapped(u64),
}

/// W2 floor: a start task emits N items, a task per item maps it, a task per result pushes
/// it into a shared buffer; the N-th ends the run.
async fn floor_w2(n: u64) -> usize {
    let (tx, mut rx) = mpsc::unbounded_channel::<Box<FloorEv>>();
    let (done_tx, done_rx) = oneshot::channel::<usize>();
    tokio::spawn(async move {
        let buffer: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new(Vec::new()));
        let done: Arc<Mutex<Option<oneshot::Sender<usize>>>> = Arc::new(Mutex::new(Some(done_tx)));
        let _ = tx.send(Box::new(FloorEv::Start));
        while let Some(ev) = rx.recv().await {
            let tx = tx.clone();
            match *ev {
                FloorEv::Start => {
                    tokio::spawn(async move {
                        for i in 0..n {
                            let _ = tx.send(Box::new(FloorEv::Item(i)));
                        }
                    });
                }
                FloorEv::Item(i) => {
                    tokio::spawn(async move {
                        let _ = tx.send(Box::new(FloorEv::Mapped(i * 2)));
                    });
                }
                FloorEv::Mapped(m) => {
                    let (buffer, done) = (Arc::clone(&buffer), Arc::clone(&done));
                    let finished = tokio::spawn(async move {
                        let mut b = buffer.lock().unwrap_or_else(|p| p.into_inner());
                        b.push(m);
                        if b.len() as u64 == n {
                            let all = std::mem::take(&mut *b);
                            if let Some(d) = done.lock().unwrap_or_else(|p| p.into_inner()).take() {
                                let _ = d.send(all.len());
                            }
                            return true;
                        }
                        false
                    });
                    drop(finished);
                }
            }
            if done.lock().unwrap_or_else(|p| p.into_inner()).is_none() {
                break;
            }
        }
    });
    done_rx.await.unwrap_or(0)
}

// ---------------------------------------------------------------------------------------

#[divan::bench(name = "w1_chain_blazen")]
fn w1_blazen(b: divan::Bencher) {
    let wf = w1_workflow();
    let rt = runtime();
    b.bench_local(|| rt.block_on(run_blazen(&wf)));
}

#[divan::bench(name = "w1_chain_floor")]
fn w1_floor(b: divan::Bencher) {
    let rt = runtime();
    b.bench_local(|| rt.block_on(floor_w1()));
}

const W2_SIZES: [u64; 3] = [10_000, 100_000, 1_000_000];

#[divan::bench(name = "w2_fan_in_blazen", args = W2_SIZES, sample_count = 10, sample_size = 1)]
fn w2_blazen(b: divan::Bencher, n: u64) {
    let wf = w2_workflow(n);
    let rt = runtime();
    b.counter(divan::counter::ItemsCount::new(n))
        .bench_local(|| rt.block_on(run_blazen(&wf)));
}

#[divan::bench(name = "w2_fan_in_floor", args = W2_SIZES, sample_count = 10, sample_size = 1)]
fn w2_floor(b: divan::Bencher, n: u64) {
    let rt = runtime();
    b.counter(divan::counter::ItemsCount::new(n))
        .bench_local(|| rt.block_on(floor_w2(n)));
}

const W3_RUNS: usize = 1_000;

#[divan::bench(name = "w3_concurrent_blazen", sample_count = 20, sample_size = 1)]
fn w3_blazen(b: divan::Bencher) {
    let wf = w1_workflow();
    let rt = runtime();
    b.bench_local(|| {
        rt.block_on(async {
            let runs: Vec<_> = (0..W3_RUNS)
                .map(|_| {
                    let wf = wf.clone();
                    tokio::spawn(async move { run_blazen(&wf).await })
                })
                .collect();
            for r in runs {
                let _ = r.await;
            }
        })
    });
}

#[divan::bench(name = "w3_concurrent_floor", sample_count = 20, sample_size = 1)]
fn w3_floor(b: divan::Bencher) {
    let rt = runtime();
    b.bench_local(|| {
        rt.block_on(async {
            let runs: Vec<_> = (0..W3_RUNS).map(|_| tokio::spawn(floor_w1())).collect();
            for r in runs {
                let _ = r.await;
            }
        })
    });
}
