//! Property tests of the searchers on synthetic objectives with known structure (never the
//! real model): additive per-block costs, additive plus pairwise interactions, and random
//! tables. 200 random problems per property.

use std::collections::BTreeSet;

use anyhow::Result;
use depthprune::objective::Direction;
use depthprune::search::{self, by_name, Problem, ScoreFn, SearchResult, SearcherParams, SEVEN};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use sha2::{Digest, Sha256};

const CASES: u32 = 200;

/// A synthetic objective: `base + Σ cost[b] + Σ pair[a][b]`, or a hash-random table.
#[derive(Debug, Clone)]
struct Synthetic {
    n: usize,
    direction: Direction,
    costs: Vec<f64>,
    pairs: Vec<Vec<f64>>,
    table_seed: Option<u64>,
}

impl Synthetic {
    fn value(&self, removed: &[usize]) -> f64 {
        if let Some(seed) = self.table_seed {
            let mut h = Sha256::new();
            h.update(seed.to_le_bytes());
            for b in removed {
                h.update((*b as u64).to_le_bytes());
            }
            let d = h.finalize();
            return u64::from_le_bytes(d[..8].try_into().unwrap()) as f64 / u64::MAX as f64;
        }
        let mut v = 10.0;
        for (i, &a) in removed.iter().enumerate() {
            v += self.costs[a];
            for &b in &removed[i + 1..] {
                v += self.pairs[a.min(b)][a.max(b)];
            }
        }
        v
    }
}

impl ScoreFn for Synthetic {
    fn n_blocks(&self) -> usize {
        self.n
    }
    fn direction(&self) -> Direction {
        self.direction
    }
    fn score(&mut self, removed: &[usize]) -> Result<f64> {
        Ok(self.value(removed))
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Additive,
    Pairwise,
    Table,
}

fn objective(kind: Kind, n: usize, maximize: bool, seed: u64) -> impl Strategy<Value = Synthetic> {
    let direction = if maximize {
        Direction::Maximize
    } else {
        Direction::Minimize
    };
    (
        prop::collection::vec(0.0f64..5.0, n),
        prop::collection::vec(prop::collection::vec(-1.0f64..1.0, n), n),
    )
        .prop_map(move |(costs, pairs)| match kind {
            Kind::Additive => Synthetic {
                n,
                direction,
                costs,
                pairs: vec![vec![0.0; n]; n],
                table_seed: None,
            },
            Kind::Pairwise => Synthetic {
                n,
                direction,
                costs,
                pairs,
                table_seed: None,
            },
            Kind::Table => Synthetic {
                n,
                direction,
                costs,
                pairs,
                table_seed: Some(seed),
            },
        })
}

/// A random problem: 5..10 blocks, some protected, 0..=4 to remove.
fn problem_and_objective(kind: Kind) -> impl Strategy<Value = (Problem, Synthetic)> {
    (5usize..=10, any::<bool>(), any::<u64>())
        .prop_flat_map(move |(n, maximize, seed)| {
            (
                Just(n),
                objective(kind, n, maximize, seed),
                prop::collection::btree_set(0..n, 0..=2),
                0usize..=4,
            )
        })
        .prop_map(|(n, obj, protected, k)| {
            let removable = n - protected.len();
            let k = k.min(removable).min(n - 1);
            (
                Problem {
                    n_blocks: n,
                    k,
                    protected,
                    direction: obj.direction,
                    budget: None,
                },
                obj,
            )
        })
}

fn run(name: &str, problem: &Problem, obj: &Synthetic, seed: u64) -> SearchResult {
    let searcher = by_name(name, &SearcherParams::default()).unwrap();
    let mut scorer = obj.clone();
    search::search(searcher.as_ref(), problem, &mut scorer, seed).unwrap()
}

fn check_shape(
    name: &str,
    p: &Problem,
    obj: &Synthetic,
    r: &SearchResult,
    budget: usize,
) -> Result<(), TestCaseError> {
    let chosen: BTreeSet<usize> = r.removed.iter().copied().collect();
    prop_assert_eq!(chosen.len(), p.k, "{}: not k distinct blocks", name);
    prop_assert!(
        chosen
            .iter()
            .all(|b| *b < p.n_blocks && !p.protected.contains(b)),
        "{}: {:?}",
        name,
        r.removed
    );
    let mut ranking = r.ranking.clone();
    ranking.sort();
    prop_assert_eq!(
        ranking,
        p.removable(),
        "{}: ranking is not a permutation of the removable blocks",
        name
    );
    let head: BTreeSet<usize> = r.ranking[..p.k].iter().copied().collect();
    prop_assert_eq!(
        head,
        chosen,
        "{}: ranking does not start with the chosen set",
        name
    );
    prop_assert_eq!(
        r.score,
        obj.value(&r.removed),
        "{}: reported score is not the objective at the set",
        name
    );
    prop_assert!(
        r.evaluations <= budget,
        "{}: {} evaluations over budget {}",
        name,
        r.evaluations,
        budget
    );
    prop_assert_eq!(r.evaluations, r.trace.len());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn every_searcher_returns_a_valid_deterministic_answer_within_budget(
        (p, obj) in problem_and_objective(Kind::Table), seed in any::<u64>()
    ) {
        for name in SEVEN.iter().chain(&["exhaustive"]) {
            let searcher = by_name(name, &SearcherParams::default()).unwrap();
            let budget = searcher.default_budget(&p);
            let r = run(name, &p, &obj, seed);
            check_shape(name, &p, &obj, &r, budget)?;
            prop_assert_eq!(&r, &run(name, &p, &obj, seed), "{} is not deterministic", name);
        }
    }

    #[test]
    fn explicit_budgets_are_respected((p, obj) in problem_and_objective(Kind::Pairwise), extra in 0usize..20) {
        for name in ["evolutionary", "annealing", "random", "local"] {
            let searcher = by_name(name, &SearcherParams::default()).unwrap();
            let budget = searcher.min_budget(&p) + extra;
            let r = run(name, &Problem { budget: Some(budget), ..p.clone() }, &obj, 1);
            check_shape(name, &p, &obj, &r, budget)?;
        }
    }

    #[test]
    fn simple_searchers_are_optimal_on_additive_objectives((p, obj) in problem_and_objective(Kind::Additive)) {
        let best = run("exhaustive", &p, &obj, 0).score;
        for name in ["one_shot", "greedy", "beam", "local"] {
            let r = run(name, &p, &obj, 0);
            prop_assert!((r.score - best).abs() < 1e-9, "{}: {} vs optimum {}", name, r.score, best);
        }
    }

    #[test]
    fn beam_of_width_one_is_greedy((p, obj) in problem_and_objective(Kind::Pairwise)) {
        let params = SearcherParams { beam_width: Some(1), ..SearcherParams::default() };
        let beam = by_name("beam", &params).unwrap();
        let mut scorer = obj.clone();
        let b = search::search(beam.as_ref(), &p, &mut scorer, 0).unwrap();
        let g = run("greedy", &p, &obj, 0);
        prop_assert_eq!((&b.removed, b.score, &b.ranking), (&g.removed, g.score, &g.ranking));
    }

    #[test]
    fn local_search_never_ends_worse_than_its_start((p, obj) in problem_and_objective(Kind::Pairwise)) {
        let start = run("one_shot", &p, &obj, 0).score;
        let local = run("local", &p, &obj, 0).score;
        prop_assert!(!p.direction.better(start, local), "local {} worse than its start {}", local, start);
    }

    #[test]
    fn exhaustive_is_optimal((p, obj) in problem_and_objective(Kind::Table)) {
        let r = run("exhaustive", &p, &obj, 0);
        // Brute force, independently of the searcher's enumeration.
        let removable = p.removable();
        let mut best = None::<f64>;
        for bits in 0u32..(1 << removable.len()) {
            if bits.count_ones() as usize != p.k {
                continue;
            }
            let set: Vec<usize> = (0..removable.len()).filter(|i| bits & (1 << i) != 0).map(|i| removable[i]).collect();
            let v = obj.value(&set);
            if best.is_none_or(|b| p.direction.better(v, b)) {
                best = Some(v);
            }
        }
        prop_assert_eq!(r.score, best.unwrap());
    }
}

/// Every searcher is at least as good as random search given the same number of evaluations,
/// in expectation over seeds. Pairwise objectives over 12 blocks, k = 4; 30 seeds per
/// instance; the mean score may trail random search's by at most 2% of the score spread.
#[test]
fn every_searcher_beats_random_search_with_its_budget() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for instance in 0..5 {
        let obj = objective(Kind::Pairwise, 12, instance % 2 == 1, 0)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let p = Problem {
            n_blocks: 12,
            k: 4,
            protected: BTreeSet::new(),
            direction: obj.direction,
            budget: None,
        };
        let all: Vec<f64> = (0..1u32 << 12)
            .filter(|b| b.count_ones() == 4)
            .map(|b| obj.value(&(0..12).filter(|i| b & (1 << i) != 0).collect::<Vec<_>>()))
            .collect();
        let spread = all.iter().cloned().fold(f64::MIN, f64::max)
            - all.iter().cloned().fold(f64::MAX, f64::min);
        let sign = if p.direction == Direction::Minimize {
            1.0
        } else {
            -1.0
        };
        for name in SEVEN {
            let seeds = 0..30u64;
            let mean = |name: &str, budget: Option<usize>| {
                seeds
                    .clone()
                    .map(|s| {
                        let prob = Problem {
                            budget,
                            ..p.clone()
                        };
                        let searcher = by_name(name, &SearcherParams::default()).unwrap();
                        let mut scorer = obj.clone();
                        search::search(searcher.as_ref(), &prob, &mut scorer, s).unwrap()
                    })
                    .map(|r| (r.score, r.evaluations))
                    .collect::<Vec<_>>()
            };
            let results = mean(name, None);
            let searcher_mean = results.iter().map(|r| r.0).sum::<f64>() / 30.0;
            let budget = results.iter().map(|r| r.1).max().unwrap();
            let random = mean("random", Some(budget));
            let random_mean = random.iter().map(|r| r.0).sum::<f64>() / 30.0;
            assert!(
                sign * (searcher_mean - random_mean) <= 0.02 * spread,
                "instance {instance}: {name} mean {searcher_mean} vs random search with {budget} evaluations {random_mean}"
            );
        }
    }
}
