//! Synthetic, token-exact prompts, generated before the run (never in the hot
//! loop) from a seed, so a run can be reproduced from its spec.
//!
//! With the built-in tokenizer each vocabulary word is one token, so a prompt
//! of N tokens is N words. With a Hugging Face tokenizer, a window of N token
//! ids is cut from an encoded corpus, decoded, re-encoded and trimmed or
//! extended until the round trip has exactly N tokens (decode→encode can
//! merge or split tokens at the edges).

use std::sync::Arc;

use super::tokenizer::ClientTokenizer;
use crate::domain::{LengthDistribution, MixComponent, PromptSpec};
use crate::rng::Rng;
use crate::text::WORDS;

/// Attempts to make a Hugging Face round trip exact before accepting the
/// closest length (its true count is then what is reported).
const MAX_FIXUPS: usize = 16;

/// One request's prompt.
#[derive(Debug, Clone)]
pub struct Prompt {
    /// Shared system prompt (same allocation for every request).
    pub system: Option<Arc<str>>,
    /// The request's own text.
    pub user: String,
    /// Client token count of system + user.
    pub input_tokens: u32,
    /// Client token count of the user text alone.
    pub user_tokens: u32,
    /// Output length asked for.
    pub max_tokens: u32,
}

/// Generates prompts for a run.
#[derive(Debug)]
pub struct PromptFactory<'t> {
    spec: PromptSpec,
    tokenizer: &'t ClientTokenizer,
    corpus: Vec<u32>,
    system: Option<(Arc<str>, u32)>,
}

impl<'t> PromptFactory<'t> {
    /// Prepares the corpus and the shared prefix (seeded separately, so the
    /// prefix is the same across levels and runs with the same seed).
    pub fn new(spec: &PromptSpec, tokenizer: &'t ClientTokenizer, seed: u64) -> Self {
        let corpus = build_corpus(tokenizer, seed);
        let mut f = Self {
            spec: spec.clone(),
            tokenizer,
            corpus,
            system: None,
        };
        if spec.shared_prefix_tokens > 0 {
            let mut rng = Rng::derive(seed, 0x5157);
            let (text, _) = f.exact_text(&mut rng, spec.shared_prefix_tokens);
            let text = text.trim_start();
            f.system = Some((Arc::from(text), tokenizer.count(text)));
        }
        f
    }

    /// The next prompt: lengths drawn from the spec's distribution (from
    /// one mixture component, drawn by weight, when there is a mixture).
    pub fn next(&self, rng: &mut Rng) -> Prompt {
        let prefix = self.system.as_ref().map_or(0, |(_, n)| *n);
        let s = &self.spec;
        let (isl_mean, isl_sd, osl_mean, osl_sd) = match pick(&s.mixture, rng) {
            Some(c) => (
                c.input_tokens_mean,
                c.input_tokens_stddev,
                c.output_tokens_mean,
                c.output_tokens_stddev,
            ),
            None => (
                s.input_tokens_mean,
                s.input_tokens_stddev,
                s.output_tokens_mean,
                s.output_tokens_stddev,
            ),
        };
        let isl = draw_length(rng, s.distribution, isl_mean, isl_sd, prefix + 1);
        let max_tokens = draw_length(rng, s.distribution, osl_mean, osl_sd, 1);
        let (user, user_tokens) = self.exact_text(rng, isl - prefix);
        Prompt {
            system: self.system.as_ref().map(|(s, _)| Arc::clone(s)),
            user,
            input_tokens: prefix + user_tokens,
            user_tokens,
            max_tokens,
        }
    }

    /// Text of exactly `n` tokens where achievable; returns the true count.
    fn exact_text(&self, rng: &mut Rng, n: u32) -> (String, u32) {
        if self.corpus.is_empty() {
            return builtin_text(rng, n);
        }
        let n = n as usize;
        let start = rng.below(self.corpus.len());
        let mut ids: Vec<u32> = self
            .corpus
            .iter()
            .cycle()
            .skip(start)
            .take(n)
            .copied()
            .collect();
        let mut best = (String::new(), 0u32);
        for _ in 0..MAX_FIXUPS {
            let text = self.tokenizer.decode(&ids).unwrap_or_default();
            let got = self.tokenizer.count(&text) as usize;
            if got == n || ids.is_empty() {
                return (text, got as u32);
            }
            if best.0.is_empty() || got.abs_diff(n) < (best.1 as usize).abs_diff(n) {
                best = (text, got as u32);
            }
            if got > n {
                ids.truncate(ids.len() - (got - n).min(ids.len()));
            } else {
                let more = self.corpus[rng.below(self.corpus.len())];
                ids.extend(std::iter::repeat_n(more, n - got));
            }
        }
        best
    }
}

/// A mixture component drawn by weight; `None` without a mixture.
fn pick<'m>(mix: &'m [MixComponent], rng: &mut Rng) -> Option<&'m MixComponent> {
    let total: f64 = mix.iter().map(|c| c.weight).sum();
    let mut at = rng.next_f64() * total;
    for c in mix {
        if at < c.weight {
            return Some(c);
        }
        at -= c.weight;
    }
    mix.last()
}

/// Longest drawn length, as a multiple of the mean: a lognormal tail is cut
/// here so one draw cannot ask for an absurd prompt.
const MAX_LENGTH_FACTOR: f64 = 50.0;

/// A length drawn around `mean` with `stddev`: normal (rounded), or
/// lognormal with the same mean and standard deviation
/// (σ² = ln(1 + (sd/mean)²), μ = ln(mean) − σ²/2). Kept at least `min`.
pub(crate) fn draw_length(
    rng: &mut Rng,
    dist: LengthDistribution,
    mean: u32,
    stddev: u32,
    min: u32,
) -> u32 {
    match dist {
        LengthDistribution::Normal => rng.token_count(mean, stddev, min),
        LengthDistribution::Lognormal if stddev == 0 || mean == 0 => mean.max(min),
        LengthDistribution::Lognormal => {
            let (m, sd) = (f64::from(mean), f64::from(stddev));
            let sigma2 = (1.0 + (sd / m).powi(2)).ln();
            let mu = m.ln() - sigma2 / 2.0;
            let v = rng.normal(mu, sigma2.sqrt()).exp().round();
            v.clamp(f64::from(min), (m * MAX_LENGTH_FACTOR).max(f64::from(min))) as u32
        }
    }
}

fn builtin_text(rng: &mut Rng, n: u32) -> (String, u32) {
    let mut s = String::with_capacity(n as usize * 7);
    for _ in 0..n {
        s.push(' ');
        s.push_str(WORDS[rng.below(WORDS.len())]);
    }
    (s, n)
}

/// Token ids of a seeded word corpus (Hugging Face tokenizers only).
fn build_corpus(tokenizer: &ClientTokenizer, seed: u64) -> Vec<u32> {
    if !tokenizer.is_exact() {
        return Vec::new();
    }
    let mut rng = Rng::derive(seed, 0xC0C0);
    let (text, _) = builtin_text(&mut rng, 4096);
    tokenizer.encode(&text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::builtin_count;

    fn spec(isl: u32, isl_sd: u32, prefix: u32) -> PromptSpec {
        PromptSpec {
            input_tokens_mean: isl,
            input_tokens_stddev: isl_sd,
            output_tokens_mean: 150,
            output_tokens_stddev: 0,
            shared_prefix_tokens: prefix,
            tokenizer: None,
            tokenizer_download: false,
            distribution: Default::default(),
            tools: false,
            structured_output: false,
            mixture: Vec::new(),
        }
    }

    #[test]
    fn builtin_prompts_are_token_exact_and_seeded() {
        let tok = ClientTokenizer::builtin();
        let f = PromptFactory::new(&spec(550, 0, 0), &tok, 1);
        let mut rng = Rng::new(9);
        let p = f.next(&mut rng);
        assert_eq!(p.input_tokens, 550);
        assert_eq!(builtin_count(&p.user), 550);
        assert_eq!(p.max_tokens, 150);
        let again = PromptFactory::new(&spec(550, 0, 0), &tok, 1).next(&mut Rng::new(9));
        assert_eq!(p.user, again.user);
        assert_ne!(
            p.user,
            f.next(&mut rng).user,
            "prompts differ between requests"
        );
    }

    #[test]
    fn shared_prefix_is_one_allocation_and_counts_toward_isl() {
        let tok = ClientTokenizer::builtin();
        let f = PromptFactory::new(&spec(300, 0, 250), &tok, 3);
        let mut rng = Rng::new(1);
        let (a, b) = (f.next(&mut rng), f.next(&mut rng));
        let (sa, sb) = (a.system.expect("prefix"), b.system.expect("prefix"));
        assert!(Arc::ptr_eq(&sa, &sb));
        assert_eq!(builtin_count(&sa) + builtin_count(&a.user), 300);
        assert_eq!(a.input_tokens, 300);
    }

    #[test]
    fn stddev_spreads_lengths_around_the_mean() {
        let tok = ClientTokenizer::builtin();
        let f = PromptFactory::new(&spec(200, 40, 0), &tok, 5);
        let mut rng = Rng::new(2);
        let lens: Vec<u32> = (0..400).map(|_| f.next(&mut rng).input_tokens).collect();
        let mean = lens.iter().map(|&x| f64::from(x)).sum::<f64>() / lens.len() as f64;
        assert!((mean - 200.0).abs() < 6.0, "{mean}");
        assert!(lens.iter().any(|&x| x < 170) && lens.iter().any(|&x| x > 230));
    }

    #[test]
    fn lognormal_lengths_keep_the_mean_and_stddev_with_a_long_tail() {
        let mut rng = Rng::new(21);
        let n = 40_000;
        let xs: Vec<f64> = (0..n)
            .map(|_| {
                f64::from(draw_length(
                    &mut rng,
                    LengthDistribution::Lognormal,
                    1024,
                    1024,
                    1,
                ))
            })
            .collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        assert!((mean / 1024.0 - 1.0).abs() < 0.03, "mean {mean}");
        assert!((sd / 1024.0 - 1.0).abs() < 0.10, "stddev {sd}");
        let mut sorted = xs.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[n / 2];
        // Lognormal with CV 1: median = mean / sqrt(2) ≈ 724.
        assert!((median / 724.1 - 1.0).abs() < 0.04, "median {median}");
        assert!(sorted[n - 1] > 4.0 * mean, "a long right tail");
        let fixed = draw_length(&mut rng, LengthDistribution::Lognormal, 300, 0, 1);
        assert_eq!(fixed, 300, "no spread, no draw");
    }

    #[test]
    fn a_mixture_draws_each_component_by_its_weight() {
        let tok = ClientTokenizer::builtin();
        let mut s = spec(100, 0, 0);
        let c = |weight, isl, osl| MixComponent {
            weight,
            input_tokens_mean: isl,
            input_tokens_stddev: 0,
            output_tokens_mean: osl,
            output_tokens_stddev: 0,
        };
        s.mixture = vec![c(3.0, 50, 10), c(1.0, 400, 80)];
        let f = PromptFactory::new(&s, &tok, 1);
        let mut rng = Rng::new(8);
        let n = 4_000;
        let draws: Vec<(u32, u32)> = (0..n)
            .map(|_| {
                let p = f.next(&mut rng);
                (p.input_tokens, p.max_tokens)
            })
            .collect();
        let long = draws.iter().filter(|d| **d == (400, 80)).count() as f64;
        assert!(draws.iter().all(|d| *d == (50, 10) || *d == (400, 80)));
        assert!(
            (long / n as f64 - 0.25).abs() < 0.025,
            "share {}",
            long / n as f64
        );
        let mean = draws.iter().map(|d| f64::from(d.0)).sum::<f64>() / n as f64;
        assert!((mean - 137.5).abs() < 9.0, "mean {mean}");
    }

    #[test]
    fn hugging_face_prompts_round_trip_to_the_exact_count() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokenizer.json");
        std::fs::write(
            &path,
            crate::engine::local::tokenizer::tests::test_tokenizer_json(),
        )
        .expect("write");
        let tok = ClientTokenizer::load(Some(path.to_str().expect("utf8"))).expect("load");
        let f = PromptFactory::new(&spec(120, 0, 20), &tok, 11);
        let mut rng = Rng::new(4);
        for _ in 0..20 {
            let p = f.next(&mut rng);
            let system = p.system.as_deref().unwrap_or("");
            assert_eq!(tok.count(&p.user) + tok.count(system), 120);
            assert_eq!(p.input_tokens, 120);
        }
    }
}
