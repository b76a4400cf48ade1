use super::estep::{self, Observations, PosteriorSummary};
use super::*;
use crate::matrix::MatrixBuilder;
use crate::matrix::ResponseMatrix;
use crate::rng::Rng;

/// A synthetic 2PL matrix (a log-normal, b and θ standard normal) with
/// about `missing` of its cells absent.
pub(crate) fn synthetic_2pl(models: usize, items: usize, missing: f64, seed: u64) -> ResponseMatrix {
    synthetic_2pl_from(models, items, missing, &mut Rng::new(seed)).0
}

/// [`synthetic_2pl`] drawing from `rng`, with the true item parameters.
pub(crate) fn synthetic_2pl_from(models: usize, items: usize, missing: f64, rng: &mut Rng) -> (ResponseMatrix, Vec<ItemParams>) {
    let params: Vec<ItemParams> = (0..items).map(|_| ItemParams::new(rng.log_normal(0.0, 0.3), rng.normal())).collect();
    let mut b = MatrixBuilder::new((0..items).map(|i| format!("i{i}")).collect());
    for j in 0..models {
        let theta = rng.normal();
        let row: Vec<Option<f32>> =
            params.iter().map(|p| if rng.uniform() < missing { None } else { Some((rng.uniform() < p.expected(theta)) as u8 as f32) }).collect();
        b.push_row_unchecked(format!("m{j}"), &row);
    }
    (b.into_matrix(), params)
}

/// The sums over the whole grid, on the CPU, in the windowed code's
/// order (observed items, then correct ones; models ascending), failing
/// from call `fail_at` on.
pub(crate) struct CpuSums<'a> {
    pub m: &'a ResponseMatrix,
    pub calls: usize,
    pub fail_at: usize,
}

impl CpuSums<'_> {
    fn fail(&mut self) -> std::result::Result<(), String> {
        self.calls += 1;
        if self.calls >= self.fail_at { Err("device lost (simulated)".into()) } else { Ok(()) }
    }
}

impl BinarySums for CpuSums<'_> {
    fn log_likelihood<'a>(&'a mut self, t0: &'a [f64], t1: &'a [f64], q: usize, ll: &'a mut [f64]) -> SumsFuture<'a> {
        let out = self.fail().map(|()| {
            ll.fill(0.0);
            for model in 0..self.m.n_models() {
                let row = &mut ll[model * q..(model + 1) * q];
                for (t, bits) in [(t0, self.m.observed_bits(model)), (t1, self.m.correct_bits(model).unwrap())] {
                    for i in 0..self.m.n_items() {
                        if bits[i / 64] >> (i % 64) & 1 == 1 {
                            row.iter_mut().zip(&t[i * q..(i + 1) * q]).for_each(|(a, x)| *a += x);
                        }
                    }
                }
            }
        });
        Box::pin(std::future::ready(out))
    }

    fn counts<'a>(&'a mut self, post: &'a [f64], q: usize, stats: &'a mut [f64]) -> SumsFuture<'a> {
        let out = self.fail().map(|()| {
            let full = vec![PosteriorSummary::full(q); self.m.n_models()];
            estep::accumulate(&Observations::Binary(self.m), post, &full, q, stats);
        });
        Box::pin(std::future::ready(out))
    }
}

/// [`CpuSums`] whose results arrive only on the second poll, as a
/// WebGPU readback would: [`fit_with`] reports that instead of hanging,
/// and [`fit_async`] under a real executor gives the synchronous fit.
pub(crate) struct LateSums<'a>(pub CpuSums<'a>);

/// Pending on its first poll (waking its task), ready on the second.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

impl BinarySums for LateSums<'_> {
    fn log_likelihood<'a>(&'a mut self, t0: &'a [f64], t1: &'a [f64], q: usize, ll: &'a mut [f64]) -> SumsFuture<'a> {
        let inner = self.0.log_likelihood(t0, t1, q, ll);
        Box::pin(async move {
            YieldOnce(false).await;
            inner.await
        })
    }

    fn counts<'a>(&'a mut self, post: &'a [f64], q: usize, stats: &'a mut [f64]) -> SumsFuture<'a> {
        let inner = self.0.counts(post, q, stats);
        Box::pin(async move {
            YieldOnce(false).await;
            inner.await
        })
    }
}

/// A minimal executor for the tests: polls until ready, the waker a no-op
/// (the late futures wake themselves by being polled again).
pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// The provider path changes nothing but where the sums come from: with
/// f64 full-grid sums the fit is the CPU fit to 1e-7. (Not bit for bit:
/// the CPU's counts skip the posterior's mass beyond ±8 sd of its mean,
/// below 1e-14, which the full-grid counts include.)
#[test]
fn external_sums_reproduce_the_cpu_fit_and_their_failure_is_reported() {
    let m = synthetic_2pl(120, 40, 0.1, 5);
    for model in [IrtModel::Rasch, IrtModel::OnePl, IrtModel::TwoPl, IrtModel::ThreePl] {
        let options = FitOptions { model, ..FitOptions::default() };
        let cpu = fit(&m, &options, &mut |_| true).unwrap();
        let mut sums = CpuSums { m: &m, calls: 0, fail_at: usize::MAX };
        let ext = fit_with(&m, &options, Some(&mut sums), &mut |_| true).unwrap().unwrap();
        // Two sums per EM iteration and the final E-step.
        assert_eq!(sums.calls, 2 * ext.iterations + 1, "{model:?}");
        let mut worst: f64 = 0.0;
        for (p, q) in cpu.items.iter().zip(&ext.items) {
            worst = worst.max((p.a - q.a).abs()).max((p.b - q.b).abs()).max((p.c - q.c).abs());
        }
        for (x, y) in cpu.theta.iter().zip(&ext.theta).chain(cpu.theta_se.iter().zip(&ext.theta_se)) {
            worst = worst.max((x - y).abs());
        }
        assert!(worst < 1e-7, "{model:?}: largest difference {worst:e}");
        assert!((cpu.log_likelihood - ext.log_likelihood).abs() < 1e-6, "{model:?}");
    }
    let mut failing = CpuSums { m: &m, calls: 0, fail_at: 7 };
    let out = fit_with(&m, &FitOptions::default(), Some(&mut failing), &mut |_| true).unwrap();
    assert_eq!(out.unwrap_err(), "device lost (simulated)");
    // Sums that arrive later (as WebGPU readbacks do): the synchronous
    // entry says so; the asynchronous one, awaited, gives the same fit
    // as sums that are ready at once, and reports progress the same way.
    let options = FitOptions::default();
    let mut late = LateSums(CpuSums { m: &m, calls: 0, fail_at: usize::MAX });
    let out = fit_with(&m, &options, Some(&mut late), &mut |_| true).unwrap();
    assert!(out.unwrap_err().contains("did not finish synchronously"));
    let (mut seen_now, mut seen_late) = (Vec::new(), Vec::new());
    let mut now = CpuSums { m: &m, calls: 0, fail_at: usize::MAX };
    let ready = fit_with(&m, &options, Some(&mut now), &mut |p| {
        seen_now.push(p.iteration);
        true
    })
    .unwrap()
    .unwrap();
    let mut late = LateSums(CpuSums { m: &m, calls: 0, fail_at: usize::MAX });
    let awaited = block_on(fit_async(&m, &options, Some(&mut late), &mut |p| {
        seen_late.push(p.iteration);
        true
    }))
    .unwrap()
    .unwrap();
    assert_eq!(format!("{:?}", ready.to_json()), format!("{:?}", awaited.to_json()));
    assert_eq!(seen_now, seen_late);
    assert!(!seen_now.is_empty());
    // Continuous data cannot use the binary sums.
    let mut b = MatrixBuilder::new(vec!["i0".into(), "i1".into()]);
    b.push_row_unchecked("m0".into(), &[Some(0.5), Some(0.25)]);
    b.push_row_unchecked("m1".into(), &[Some(0.75), Some(1.0)]);
    let c = b.into_matrix();
    assert!(fit_with(&c, &FitOptions::default(), Some(&mut CpuSums { m: &c, calls: 0, fail_at: 1 }), &mut |_| true).is_err());
}

#[test]
fn a_matrix_where_no_item_varies_is_refused_with_a_reason() {
    let mut b = MatrixBuilder::new(vec!["q1".into(), "q2".into(), "q3".into()]);
    b.push_row_unchecked("m0".into(), &[Some(1.0), None, Some(0.0)]);
    b.push_row_unchecked("m1".into(), &[Some(1.0), Some(1.0), Some(0.0)]);
    let constant = b.into_matrix();
    let err = fit(&constant, &FitOptions::default(), &mut |_| true).unwrap_err().to_string();
    assert!(err.contains("no item tells any two models apart"), "{err}");
    // One differing cell is enough.
    let mut b = MatrixBuilder::new(vec!["q1".into(), "q2".into(), "q3".into()]);
    b.push_row_unchecked("m0".into(), &[Some(1.0), None, Some(0.0)]);
    b.push_row_unchecked("m1".into(), &[Some(1.0), Some(1.0), Some(1.0)]);
    assert!(fit(&b.into_matrix(), &FitOptions::default(), &mut |_| true).is_ok());
}

/// A fit whose E-steps run over blocks of models (as a pool of workers runs
/// them) is the one-thread fit to the bit, whatever the number of blocks:
/// every Bernoulli model, fractional scores, and Beta with items set aside.
#[test]
fn a_fit_over_blocks_of_models_is_the_fit_to_the_bit() {
    let binary = synthetic_2pl(150, 70, 0.15, 11);
    // Continuous scores: the binary matrix's cells blurred, and two items
    // every model scores the same on (Beta sets those aside).
    let mut rng = Rng::new(12);
    let mut b = MatrixBuilder::new(binary.item_ids().to_vec());
    for model in 0..60 {
        let row: Vec<Option<f32>> = (0..binary.n_items())
            .map(|i| match i {
                0 => Some(0.9),
                1 => Some(0.1),
                _ => binary.get(model, i).map(|v| (0.15 + 0.7 * v as f64 + 0.1 * rng.uniform()) as f32),
            })
            .collect();
        b.push_row_unchecked(format!("m{model}"), &row);
    }
    let continuous = b.into_matrix();
    let cases = [
        (&binary, IrtModel::Rasch),
        (&binary, IrtModel::OnePl),
        (&binary, IrtModel::TwoPl),
        (&binary, IrtModel::ThreePl),
        (&binary, IrtModel::FourPl),
        (&continuous, IrtModel::TwoPl),
        (&continuous, IrtModel::Beta),
    ];
    for (m, model) in cases {
        let options = FitOptions { model, ..FitOptions::default() };
        let mut seen = Vec::new();
        let whole = fit(m, &options, &mut |p| {
            seen.push((p.iteration, p.log_likelihood.to_bits()));
            true
        })
        .unwrap();
        let expected = serde_json::to_string(&whole.to_json()).unwrap();
        for count in [1, 2, 3, 7, 1000] {
            let mut blocks = LocalBlocks::new(count);
            let mut seen_blocks = Vec::new();
            let split = tests::block_on(fit_in_blocks(m, &options, &mut blocks, &mut |p| {
                seen_blocks.push((p.iteration, p.log_likelihood.to_bits()));
                true
            }))
            .unwrap()
            .unwrap();
            assert_eq!(serde_json::to_string(&split.to_json()).unwrap(), expected, "{model:?}, {count} blocks");
            assert_eq!(seen_blocks, seen, "{model:?}, {count} blocks");
            // One round per E-step, the final one included (Beta's runs here).
            let final_here = model == IrtModel::Beta;
            assert_eq!(blocks.rounds, whole.iterations + usize::from(!final_here), "{model:?}, {count} blocks");
        }
    }
    let options = FitOptions { dims: 2, ..FitOptions::default() };
    assert!(tests::block_on(fit_in_blocks(&binary, &options, &mut LocalBlocks::new(2), &mut |_| true)).is_err());
}

/// Messages from another build, cut short or too long are refused with a
/// reason, never misread.
#[test]
fn a_damaged_block_message_is_refused_by_name() {
    let m = synthetic_2pl(20, 10, 0.0, 3);
    struct Keep(Vec<Vec<u8>>);
    impl ModelBlocks for Keep {
        fn count(&self) -> usize {
            2
        }
        fn open<'a>(&'a mut self, payloads: Vec<Vec<u8>>) -> blocks::BlocksFuture<'a, ()> {
            self.0 = payloads;
            Box::pin(std::future::ready(Err("kept".to_string())))
        }
        fn run<'a>(&'a mut self, _: Vec<Vec<u8>>, _: &'a mut blocks::TakeAnswer<'a>) -> blocks::BlocksFuture<'a, ()> {
            unreachable!("the fit stops at open")
        }
    }
    let mut keep = Keep(Vec::new());
    let out = tests::block_on(fit_in_blocks(&m, &FitOptions::default(), &mut keep, &mut |_| true)).unwrap();
    assert_eq!(out.unwrap_err(), "kept");
    assert_eq!(keep.0.len(), 2);
    let payload = &keep.0[0];
    assert!(BlockEStep::open(payload).is_ok());
    let err = |r: Result<BlockEStep, String>| r.err().expect("refused");
    assert!(err(BlockEStep::open(b"XXXX")).contains("not a block"));
    assert!(err(BlockEStep::open(&payload[..payload.len() - 3])).contains("10 models in"));
    let mut long = payload.clone();
    long.push(0);
    assert!(err(BlockEStep::open(&long)).contains("past its end"));
    // Sizes that the bytes do not hold, a grid outside the fit's range and
    // cells past the last item: refused before anything is allocated.
    let with = |at: usize, bytes: &[u8]| {
        let mut p = payload.clone();
        p[at..at + bytes.len()].copy_from_slice(bytes);
        p
    };
    assert!(err(BlockEStep::open(&with(6, &5u32.to_le_bytes()))).contains("quadrature points"));
    assert!(err(BlockEStep::open(&with(10, &u32::MAX.to_le_bytes()))).contains("models in"));
    assert!(err(BlockEStep::open(&with(14, &0u32.to_le_bytes()))).contains("no items"));
    assert!(err(BlockEStep::open(&with(18, &(1u64 << 20).to_le_bytes()))).contains("past the block's 10 items"));
    let mut block = BlockEStep::open(payload).unwrap();
    assert!(block.run(b"BSB1\x05\x00\x00\x00").unwrap_err().contains("5 items for a block of 10"));
    assert!(block.run(b"BSB1\x0a\x00\x00\x00\x00").unwrap_err().contains("cut short"));
}

/// The pool splits a leaderboard (many models, each with many answers) and
/// keeps a benchmark with few models and many items whole, as measured.
#[test]
fn a_split_is_chosen_where_the_work_outweighs_the_messages() {
    // The 2,001 × 1,075 Open LLM Leaderboard matrix and MMLU-Pro's 47 × 12,032.
    assert!(pays_to_split(2_151_075, 1_075, 121, 2));
    assert!(!pays_to_split(565_504, 12_032, 121, 2));
    // 6,000 × 30,000 over up to 8 workers; one worker never splits.
    assert!(pays_to_split(180_000_000, 30_000, 121, 8));
    assert!(!pays_to_split(180_000_000, 30_000, 121, 1));
    assert!(!pays_to_split(300_000, 10, 121, 2));
}
