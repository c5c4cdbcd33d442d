//! The memory study against independent facts: the paged strategy's reservation equals
//! `sum(ceil(len / bs) * bs)` computed here from the drawn lengths, not reported by the pool.

use ch10_paged_attention::simulate::{draw_requests, simulate, Strategy, StrategyReport, Workload};

fn report(reports: &[StrategyReport], strategy: Strategy) -> &StrategyReport {
    reports.iter().find(|r| r.strategy == strategy).expect("every strategy is reported")
}

fn small() -> Workload {
    Workload { n_requests: 60, context_length: 256, mean_prompt: 20, max_new_tokens: 100, mean_output: 30.0, seed: 7 }
}

#[test]
fn paged_reservation_is_the_sum_of_rounded_up_lengths() {
    let workload = small();
    let requests = draw_requests(&workload);
    for bs in [1, 3, 16] {
        let reports = simulate(&workload, bs, 1000).unwrap();
        let expected: usize = requests.iter().map(|r| (r.prompt_len + r.output_len).div_ceil(bs) * bs).sum();
        assert_eq!(report(&reports, Strategy::Paged).reserved, expected, "block size {bs}");
    }
}

#[test]
fn block_size_one_wastes_nothing() {
    let reports = simulate(&small(), 1, 1000).unwrap();
    assert_eq!(report(&reports, Strategy::Paged).utilization(), 1.0);
}

#[test]
fn contiguous_reservations_follow_their_definitions() {
    let workload = small();
    let requests = draw_requests(&workload);
    let reports = simulate(&workload, 16, 1000).unwrap();
    let tokens: usize = requests.iter().map(|r| r.prompt_len + r.output_len).sum();
    let context = report(&reports, Strategy::ContiguousContext);
    assert_eq!((context.tokens, context.reserved), (tokens, 60 * 256));
    // 1000 slots hold 3 regions of 256 and not 4
    assert_eq!(context.requests_fit, 3);
    let max_tokens = report(&reports, Strategy::ContiguousMaxTokens);
    assert_eq!(max_tokens.reserved, requests.iter().map(|r| r.prompt_len + 100).sum::<usize>());
}

#[test]
fn requests_that_fit_the_paged_budget() {
    let workload = small();
    let requests = draw_requests(&workload);
    let (bs, budget) = (16, 1000);
    // the largest k whose first k requests' blocks fit the budget's whole blocks
    let blocks = budget / bs;
    let mut k = 0;
    let mut sum = 0;
    while k < requests.len() && sum + (requests[k].prompt_len + requests[k].output_len).div_ceil(bs) <= blocks {
        sum += (requests[k].prompt_len + requests[k].output_len).div_ceil(bs);
        k += 1;
    }
    assert_eq!(report(&simulate(&workload, bs, budget).unwrap(), Strategy::Paged).requests_fit, k);
}

#[test]
fn the_default_workload_has_the_stated_shape() {
    let workload = Workload::default();
    let requests = draw_requests(&workload);
    assert_eq!(requests.len(), 1000);
    assert_eq!(requests, draw_requests(&workload), "the same seed draws the same requests");
    let mean = |f: fn(&ch10_paged_attention::simulate::Request) -> usize| requests.iter().map(f).sum::<usize>() as f64 / 1000.0;
    // prompts uniform in 1..=321: mean 161
    assert!((mean(|r| r.prompt_len) - 161.0).abs() < 10.0, "{}", mean(|r| r.prompt_len));
    // an exponential of mean 338 cut at 1024: mean 338 * (1 - exp(-1024 / 338)) = 321.7
    assert!((mean(|r| r.output_len) - 321.7).abs() < 25.0, "{}", mean(|r| r.output_len));
    assert!(requests.iter().all(|r| (1..=321).contains(&r.prompt_len) && (1..=1024).contains(&r.output_len)));
}

#[test]
fn paging_holds_at_least_ninety_percent_real_tokens_and_beats_contiguous() {
    let reports = simulate(&Workload::default(), 16, 16384).unwrap();
    let paged = report(&reports, Strategy::Paged);
    assert!(paged.utilization() >= 0.9, "{}", paged.utilization());
    for contiguous in [Strategy::ContiguousContext, Strategy::ContiguousMaxTokens] {
        let c = report(&reports, contiguous);
        assert!(c.utilization() < paged.utilization() && c.requests_fit < paged.requests_fit);
    }
}

#[test]
fn a_workload_beyond_the_context_is_refused() {
    let workload = Workload { context_length: 100, ..small() };
    assert!(simulate(&workload, 16, 1000).is_err());
    assert!(simulate(&Workload { n_requests: 0, ..small() }, 16, 1000).is_err());
}
