use super::*;
use crate::backend::Backend;
use crate::irt::scoring::estimate_theta;
use crate::irt::{IrtModel, ItemParams};

/// A 2PL bank with known parameters (difficulties spread over ±2.5).
fn bank(n: usize, seed: u64) -> IrtFit {
    let mut rng = Rng::new(seed);
    let items: Vec<ItemParams> = (0..n).map(|_| ItemParams::new(rng.log_normal(0.0, 0.4), 2.5 * (2.0 * rng.uniform() - 1.0))).collect();
    IrtFit {
        model: IrtModel::TwoPl,
        item_ids: (0..n).map(|i| format!("q{i}")).collect(),
        items,
        model_ids: Vec::new(),
        theta: Vec::new(),
        theta_se: Vec::new(),
        log_likelihood: 0.0,
        iterations: 0,
        converged: true,
        scale: None,
        quadrature_points: 0,
        backend: Backend::cpu("test"),
        multi: None,
    }
}

/// A model of ability `theta` answering every item once (seeded).
fn answers_of(fit: &IrtFit, theta: f64, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    fit.items.iter().map(|p| (rng.uniform() < p.expected(theta)) as u8 as f64).collect()
}

fn options(stop: StopRules) -> AdaptiveOptions {
    AdaptiveOptions { stop, ..AdaptiveOptions::default() }
}

#[test]
fn each_item_is_the_most_informative_left_at_the_current_theta() {
    let fit = bank(300, 1);
    let truth = answers_of(&fit, 0.8, 2);
    let mut test = AdaptiveTest::new(&fit, options(StopRules { max_items: Some(40), ..StopRules::default() }), None, &[]).unwrap();
    for _ in 0..40 {
        let state = test.state();
        let theta = if test.answers().is_empty() { 0.0 } else { state.theta };
        let pick = test.next(1)[0];
        let answered: Vec<usize> = test.answers().iter().map(|a| a.0).collect();
        let best = (0..fit.items.len())
            .filter(|i| !answered.contains(i))
            .max_by(|&a, &b| fit.items[a].information(theta, Family::Bernoulli).total_cmp(&fit.items[b].information(theta, Family::Bernoulli)).then(b.cmp(&a)))
            .unwrap();
        assert_eq!(pick.item, best);
        assert!((pick.information - fit.items[best].information(theta, Family::Bernoulli)).abs() < 1e-12);
        test.record(pick.item, truth[pick.item]).unwrap();
    }
    assert_eq!(test.state().stopped, Some(StopReason::MaxItems));
    assert!(test.next(5).is_empty());
    assert_eq!(test.history().len(), 41);
}

#[test]
fn eap_on_the_grid_is_the_quadrature_eap_and_map_is_the_mode() {
    let fit = bank(400, 3);
    let truth = answers_of(&fit, -0.6, 4);
    for method in [ThetaMethod::Eap, ThetaMethod::Map] {
        let opts = AdaptiveOptions { theta: method, ..options(StopRules::default()) };
        let mut test = AdaptiveTest::new(&fit, opts, None, &[]).unwrap();
        for i in (0..400).step_by(3) {
            test.record(i, truth[i]).unwrap();
        }
        let unit: Vec<(usize, f64)> = test.answers().to_vec();
        let reference = estimate_theta(&fit.items, Family::Bernoulli, &unit, method);
        let state = test.state();
        assert!((state.theta - reference.theta).abs() < 1e-6, "{method:?}: {} vs {}", state.theta, reference.theta);
        assert!((state.se - reference.se).abs() < 1e-5, "{method:?}: {} vs {}", state.se, reference.se);
    }
}

#[test]
fn the_score_is_the_pirt_estimate_at_theta_and_irt_when_asked() {
    let fit = bank(200, 5);
    let truth = answers_of(&fit, 0.3, 6);
    for estimator in [Estimator::Pirt, Estimator::Irt] {
        let opts = AdaptiveOptions { estimator, ..options(StopRules { max_items: Some(30), ..StopRules::default() }) };
        let test = replay(AdaptiveTest::new(&fit, opts, None, &[]).unwrap(), |i| Some(truth[i])).unwrap();
        let state = test.state();
        let theta = ThetaEstimate { theta: state.theta, se: state.se };
        let want = estimate_at_theta(&fit, theta, test.answers(), estimator == Estimator::Pirt, None, &[]);
        assert_eq!(state.score, want);
        assert!(state.score.low < state.score.estimate && state.score.estimate < state.score.high);
    }
}

#[test]
fn it_stops_at_the_target_se_with_fewer_items_than_a_random_order_needs() {
    let fit = bank(500, 7);
    let (mut adaptive, mut random) = (0usize, 0usize);
    for model in 0..40u64 {
        let theta = Rng::new(100 + model).normal();
        let truth = answers_of(&fit, theta, 200 + model);
        let rules = StopRules { target_se: Some(0.3), ..StopRules::default() };
        let test = replay(AdaptiveTest::new(&fit, options(rules), None, &[]).unwrap(), |i| Some(truth[i])).unwrap();
        let state = test.state();
        assert_eq!(state.stopped, Some(StopReason::TargetSe), "{state:?}");
        assert!(state.se <= 0.3);
        // The same rule over a random order of the same bank.
        let mut order: Vec<usize> = (0..fit.items.len()).collect();
        Rng::new(model).shuffle(&mut order);
        let mut plain = AdaptiveTest::new(&fit, options(rules), None, &[]).unwrap();
        for &i in &order {
            if plain.record(i, truth[i]).unwrap().stopped.is_some() {
                break;
            }
        }
        adaptive += state.items_used;
        random += plain.state().items_used;
    }
    assert!((adaptive as f64) < 0.8 * random as f64, "adaptive {adaptive} items, random order {random}");
}

#[test]
fn adaptive_items_recover_known_abilities_better_than_random_ones() {
    let fit = bank(600, 9);
    let (mut adaptive, mut random) = (0.0, 0.0);
    for model in 0..60u64 {
        let theta = 1.3 * Rng::new(300 + model).normal();
        let truth = answers_of(&fit, theta, 400 + model);
        let rules = StopRules { max_items: Some(25), ..StopRules::default() };
        let test = replay(AdaptiveTest::new(&fit, options(rules), None, &[]).unwrap(), |i| Some(truth[i])).unwrap();
        adaptive += (test.state().theta - theta).abs();
        let mut order: Vec<usize> = (0..fit.items.len()).collect();
        Rng::new(model).shuffle(&mut order);
        let mut plain = AdaptiveTest::new(&fit, options(StopRules::default()), None, &[]).unwrap();
        for &i in &order[..25] {
            plain.record(i, truth[i]).unwrap();
        }
        random += (plain.state().theta - theta).abs();
    }
    assert!(adaptive < 0.85 * random, "mean |θ error| adaptive {} random {}", adaptive / 60.0, random / 60.0);
}

#[test]
fn the_same_seed_and_answers_give_the_same_items_however_the_test_is_resumed() {
    let fit = bank(300, 11);
    let truth = answers_of(&fit, 0.2, 12);
    let opts = |seed| AdaptiveOptions { randomesque: 5, seed, batch: 4, ..options(StopRules { max_items: Some(24), ..StopRules::default() }) };
    let first = replay(AdaptiveTest::new(&fit, opts(1), None, &[]).unwrap(), |i| Some(truth[i])).unwrap();
    let again = replay(AdaptiveTest::new(&fit, opts(1), None, &[]).unwrap(), |i| Some(truth[i])).unwrap();
    assert_eq!(first.answers(), again.answers());
    let other = replay(AdaptiveTest::new(&fit, opts(2), None, &[]).unwrap(), |i| Some(truth[i])).unwrap();
    assert_ne!(first.answers(), other.answers());
    // Resumed in rounds: a new test given the answers so far asks what the
    // running one would.
    for round in [4, 8, 12, 20] {
        let mut resumed = AdaptiveTest::new(&fit, opts(1), None, &[]).unwrap();
        for &(i, x) in &first.answers()[..round] {
            resumed.record(i, x).unwrap();
        }
        let next: Vec<usize> = resumed.next(4).iter().map(|p| p.item).collect();
        let ran: Vec<usize> = first.answers()[round..round + 4].iter().map(|a| a.0).collect();
        assert_eq!(next, ran, "round after {round}");
    }
    // Randomesque draws among the top 5: not always the best.
    let greedy = replay(AdaptiveTest::new(&fit, AdaptiveOptions { randomesque: 1, ..opts(1) }, None, &[]).unwrap(), |i| Some(truth[i])).unwrap();
    assert_ne!(first.answers(), greedy.answers());
}

#[test]
fn content_balancing_keeps_each_group_at_its_share() {
    let fit = bank(400, 13);
    // 300 items of "a", 100 of "b": a test of 20 items takes 15 and 5.
    let groups: Vec<Option<String>> = (0..400).map(|i| Some(if i % 4 == 0 { "b".to_string() } else { "a".to_string() })).collect();
    let truth = answers_of(&fit, 1.0, 14);
    let rules = StopRules { max_items: Some(20), ..StopRules::default() };
    let test = replay(AdaptiveTest::new(&fit, options(rules), Some(&groups), &[]).unwrap(), |i| Some(truth[i])).unwrap();
    let b = test.answers().iter().filter(|a| a.0 % 4 == 0).count();
    assert_eq!(b, 5);
    // Every prefix stays within one item of its share.
    for k in 1..=20 {
        let b = test.answers()[..k].iter().filter(|a| a.0 % 4 == 0).count() as f64;
        assert!((b - 0.25 * k as f64).abs() <= 1.0, "{k}: {b}");
    }
    // Batches are balanced too.
    let batch = AdaptiveTest::new(&fit, options(rules), Some(&groups), &[]).unwrap().next(8);
    assert_eq!(batch.iter().filter(|p| p.item % 4 == 0).count(), 2);
}

#[test]
fn excluded_and_skipped_items_are_never_asked_and_the_bank_can_run_out() {
    let fit = bank(30, 15);
    let excluded: Vec<usize> = (0..30).filter(|i| i % 3 == 0).collect();
    let truth = answers_of(&fit, 0.0, 16);
    // A model with no response on items 1 and 2.
    let test = replay(AdaptiveTest::new(&fit, options(StopRules::default()), None, &excluded).unwrap(), |i| (i > 2).then_some(truth[i])).unwrap();
    let asked: Vec<usize> = test.answers().iter().map(|a| a.0).collect();
    assert_eq!(asked.len(), 18);
    assert!(asked.iter().all(|i| i % 3 != 0 && *i > 2));
    assert_eq!(test.state().stopped, Some(StopReason::BankExhausted));
    let mut test = AdaptiveTest::new(&fit, options(StopRules::default()), None, &excluded).unwrap();
    let e = test.record(3, 1.0).unwrap_err().to_string();
    assert!(e.contains("'q3' is excluded"), "{e}");
}

#[test]
fn the_median_start_asks_the_item_of_median_difficulty_first() {
    let fit = bank(101, 17);
    let mut b: Vec<f64> = fit.items.iter().map(|p| p.b).collect();
    b.sort_by(f64::total_cmp);
    let opts = AdaptiveOptions { start: StartRule::Median, ..options(StopRules::default()) };
    let test = AdaptiveTest::new(&fit, opts, None, &[]).unwrap();
    let first = test.next(1)[0].item;
    assert_eq!(fit.items[first].b, b[50]);
}

#[test]
fn no_change_and_half_width_rules_stop_the_test() {
    let fit = bank(500, 19);
    let truth = answers_of(&fit, 0.5, 20);
    let rules = StopRules { min_change: Some(0.02), ..StopRules::default() };
    let opts = AdaptiveOptions { batch: 5, ..options(rules) };
    let test = replay(AdaptiveTest::new(&fit, opts, None, &[]).unwrap(), |i| Some(truth[i])).unwrap();
    let h = test.history();
    let n = test.state().items_used;
    assert_eq!(test.state().stopped, Some(StopReason::NoChange));
    assert!((h[n].theta - h[n - 5].theta).abs() < 0.02);
    assert!(n < 500);
    let rules = StopRules { target_half_width: Some(0.05), ..StopRules::default() };
    let test = replay(AdaptiveTest::new(&fit, options(rules), None, &[]).unwrap(), |i| Some(truth[i])).unwrap();
    let s = test.state();
    assert_eq!(s.stopped, Some(StopReason::TargetHalfWidth));
    assert!((s.score.high - s.score.low) / 2.0 <= 0.05);
}

#[test]
fn bad_settings_and_answers_are_refused_clearly() {
    let fit = bank(10, 21);
    let mut test = AdaptiveTest::new(&fit, options(StopRules::default()), None, &[]).unwrap();
    test.record(1, 1.0).unwrap();
    assert!(test.record(1, 0.0).unwrap_err().to_string().contains("'q1' was answered already"));
    assert!(test.record(2, 1.5).unwrap_err().to_string().contains("outside the range"));
    assert!(test.record(2, f64::NAN).unwrap_err().to_string().contains("not a number"));
    assert!(test.record(10, 1.0).unwrap_err().to_string().contains("not one of the fit's 10 items"));
    let mle = AdaptiveOptions { theta: ThetaMethod::Mle, ..AdaptiveOptions::default() };
    assert!(AdaptiveTest::new(&fit, mle, None, &[]).unwrap_err().to_string().contains("eap or map"));
    let ridge = AdaptiveOptions { estimator: Estimator::Ridge, ..AdaptiveOptions::default() };
    assert!(AdaptiveTest::new(&fit, ridge, None, &[]).unwrap_err().to_string().contains("irt or pirt"));
    let all: Vec<usize> = (0..10).collect();
    assert!(AdaptiveTest::new(&fit, AdaptiveOptions::default(), None, &all).unwrap_err().to_string().contains("every one"));
    let se = options(StopRules { target_se: Some(-1.0), ..StopRules::default() });
    assert!(AdaptiveTest::new(&fit, se, None, &[]).unwrap_err().to_string().contains("target SE"));
}

#[test]
fn random_items_correct_the_score_of_a_model_the_fit_misdescribes() {
    // A model the 2PL misdescribes: on the easier half of the bank it does as
    // a θ + 2.5 model would, on the harder half as θ − 0.5. pirt over adaptive items
    // alone inherits the fit's error; with half the items drawn at random,
    // their residuals remove most of it.
    let fit = bank(800, 23);
    let (mut plain, mut explored) = (0.0, 0.0);
    for model in 0..30u64 {
        let theta = Rng::new(500 + model).normal() * 0.7;
        let mut rng = Rng::new(600 + model);
        let truth: Vec<f64> = fit.items.iter().map(|p| (rng.uniform() < p.expected(if p.b < 0.0 { theta + 2.5 } else { theta - 0.5 })) as u8 as f64).collect();
        let full = truth.iter().sum::<f64>() / truth.len() as f64;
        let rules = StopRules { max_items: Some(200), ..StopRules::default() };
        let a = replay(AdaptiveTest::new(&fit, options(rules), None, &[]).unwrap(), |i| Some(truth[i])).unwrap();
        assert!(a.explored(200).is_empty());
        let b =
            replay(AdaptiveTest::new(&fit, AdaptiveOptions { explore: 0.5, seed: model, ..options(rules) }, None, &[]).unwrap(), |i| Some(truth[i])).unwrap();
        assert_eq!(b.explored(200).len(), 100);
        plain += (a.state().score.estimate - full).abs();
        explored += (b.state().score.estimate - full).abs();
    }
    assert!(explored < 0.8 * plain, "mean error with random items {} without {}", explored / 30.0, plain / 30.0);
}

#[test]
fn explored_items_are_evenly_spaced_uniform_draws_and_resume_alike() {
    let fit = bank(300, 25);
    let truth = answers_of(&fit, 0.4, 26);
    let opts = AdaptiveOptions { explore: 0.25, seed: 3, batch: 4, ..options(StopRules { max_items: Some(40), ..StopRules::default() }) };
    let test = replay(AdaptiveTest::new(&fit, opts.clone(), None, &[]).unwrap(), |i| Some(truth[i])).unwrap();
    // Every fourth item (the 4th, 8th, …) is drawn at random.
    let explored: Vec<usize> = test.explored(40).iter().map(|a| a.0).collect();
    let positions: Vec<usize> = test.answers().iter().enumerate().filter(|(_, a)| explored.contains(&a.0)).map(|(k, _)| k).collect();
    assert_eq!(positions, (0..10).map(|k| 4 * k + 3).collect::<Vec<_>>());
    let mut resumed = AdaptiveTest::new(&fit, opts, None, &[]).unwrap();
    for &(i, x) in &test.answers()[..20] {
        resumed.record(i, x).unwrap();
    }
    assert_eq!(resumed.next(4).iter().map(|p| p.item).collect::<Vec<_>>(), test.answers()[20..24].iter().map(|a| a.0).collect::<Vec<_>>());
    let bad = AdaptiveOptions { explore: 1.0, ..AdaptiveOptions::default() };
    assert!(AdaptiveTest::new(&fit, bad, None, &[]).unwrap_err().to_string().contains("share of random items"));
}
