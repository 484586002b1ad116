//! `mr_log_sampler`: a random sample of the input's lines (a port of
//! mrjob's `mr_log_sampler.py`).
//!
//! ```text
//! mr run mr_log_sampler --sample-size 100 [--expected-length N] [--random-seed S] INPUT
//! # python mr_log_sampler.py --sample-size 100 [--expected-length N] INPUT
//! ```
//!
//! Each line is kept with probability `1.2 × sample-size ÷ expected-length`
//! (every line without `--expected-length`) and sent to one key with a
//! random number; with values sorted, the reducer sees the lines in random
//! order and writes the first `sample-size`, as they were read (raw-value
//! output, as mrjob's `RawValueProtocol`).
//!
//! mrjob draws from Python's unseeded `random`, so each run differs. Here
//! each map task draws from a generator seeded by `--random-seed` (mr's addition;
//! a fresh seed each run by default), the task's number and its input file's name,
//! so a run can be repeated: the same seed, input and settings give the same
//! sample. Any seed gives a uniform sample.

use mr_core::{
    Emitter, Job, JobError, JobOption, Mapper, OutputProtocol, Reducer, Step, TaskContext,
    TextLine, Values,
};
use std::hash::BuildHasher;

/// The value sent to the reducer: a random number, then the line.
pub type Keyed = (u64, String);

/// mrjob's `SAMPLING_FUDGE_FACTOR`: keep a little more than the expected
/// share, so that the sample is seldom short.
pub const SAMPLING_FUDGE_FACTOR: f64 = 1.2;

/// The job.
pub struct MrLogSampler;

impl Job for MrLogSampler {
    fn name(&self) -> &str {
        "mr_log_sampler"
    }
    fn description(&self) -> &str {
        "A random sample of --sample-size lines: sorted values, one reducer key, raw output \
         (port of mrjob's mr_log_sampler)."
    }
    fn options(&self) -> Vec<JobOption> {
        vec![
            JobOption::uint("sample-size")
                .required()
                .help("Number of entries to sample."),
            JobOption::uint("expected-length").help(
                "Number of entries you expect in the log. If not specified, \
                 we'll pass every line to the reducer.",
            ),
            JobOption::uint("random-seed").help(
                "Seed of the random draws, to repeat a sample (mr's addition; \
                 a fresh one each run when not given).",
            ),
        ]
    }
    fn output_protocol(&self) -> OutputProtocol {
        OutputProtocol::RawValue
    }
    fn steps(&self) -> Vec<Step> {
        vec![
            Step::map(Sample::default())
                .sort_values()
                .reduce(FirstLines::default()),
        ]
    }
}

/// Keeps each line with the sampling probability, with a random number.
#[derive(Clone, Default)]
pub struct Sample {
    probability: f64,
    rng: SplitMix64,
}

impl Mapper for Sample {
    type Input<'a> = TextLine<'a>;
    type Key = ();
    type Value = Keyed;

    fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError> {
        let size: u64 = ctx.option("sample-size")?;
        self.probability = match ctx.option::<u64>("expected-length") {
            Ok(0) => return Err(JobError::msg("--expected-length must be above 0")),
            Ok(n) => size as f64 * SAMPLING_FUDGE_FACTOR / n as f64,
            Err(_) => 1.0,
        };
        let seed = ctx
            .option::<u64>("random-seed")
            .unwrap_or_else(|_| std::collections::hash_map::RandomState::new().hash_one(0));
        // FNV-1a over the task's number and file name, from the seed. The
        // name, not the URI: `file:///a/x.log` locally is `file:/a/x.log`
        // on Hadoop, and the same seed must draw the same sample on both.
        let uri = ctx.input_uri.as_deref().unwrap_or("");
        let name = uri.rsplit('/').next().unwrap_or(uri);
        let bytes = (ctx.task as u64)
            .to_le_bytes()
            .into_iter()
            .chain(name.bytes());
        let mixed = bytes.fold(seed ^ 0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        self.rng = SplitMix64(mixed);
        Ok(())
    }

    fn map(
        &mut self,
        TextLine(line): TextLine<'_>,
        out: &mut Emitter<(), Keyed>,
    ) -> Result<(), JobError> {
        if self.probability >= 1.0 || self.rng.unit() < self.probability {
            out.emit(&(), (self.rng.next_u64(), line.into_owned()))?;
        }
        Ok(())
    }
}

/// Writes the first `sample-size` lines of the (randomly ordered) values.
#[derive(Clone, Default)]
pub struct FirstLines {
    size: u64,
}

impl Reducer for FirstLines {
    type Key = ();
    type Value = Keyed;
    type OutKey = ();
    type OutValue = String;

    fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError> {
        self.size = ctx.option("sample-size")?;
        Ok(())
    }

    fn reduce(
        &mut self,
        (): (),
        values: Values<'_, Keyed>,
        out: &mut Emitter<(), String>,
    ) -> Result<(), JobError> {
        for (_, line) in values.take(self.size as usize) {
            out.emit(&(), line)?;
        }
        Ok(())
    }
}

/// Sebastiano Vigna's SplitMix64: a small, fast generator whose whole
/// state is one word, good enough to shuffle lines.
#[derive(Clone, Default)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    ///
    /// ```
    /// let mut r = mr_examples::mr_log_sampler::SplitMix64(0);
    /// assert_eq!(r.next_u64(), 0xe220a8397b1dcdaf);
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `[0, 1)`, from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_uniform_enough() {
        let mut r = SplitMix64(7);
        let n = 100_000;
        let below_a_tenth = (0..n).filter(|_| r.unit() < 0.1).count();
        assert!((9_000..11_000).contains(&below_a_tenth), "{below_a_tenth}");
    }
}
