//! `csv_count`: rows and fields of CSV files, each row parsed by the `csv`
//! crate through [`Csv`] input (the header line names the fields and is not
//! counted). The CSV benchmark's job (bench/csv.sh).
//!
//! ```
//! let (out, _) = mr_core::testing::run_in_memory(&mr_examples::csv_count::CsvCount,
//!     &["a,b", "1,\"x, y\"", "2,z"]).unwrap();
//! // run_in_memory has no file, so no header: all three lines count.
//! assert_eq!(out, ["\"fields\"\t6", "\"rows\"\t3"]);
//! ```

use mr_core::fold::Count;
use mr_core::{Csv, Emitter, Job, JobError, Mapper, Step};

/// The job.
pub struct CsvCount;

impl Job for CsvCount {
    fn name(&self) -> &str {
        "csv_count"
    }
    fn description(&self) -> &str {
        "Counts the rows and fields of CSV files (header line excluded)."
    }
    fn steps(&self) -> Vec<Step> {
        vec![Step::map(CountRows).fold(Count::new())]
    }
}

/// The mapper: `("rows", 1)` and `("fields", n)` per row.
#[derive(Clone, Copy)]
pub struct CountRows;

impl Mapper for CountRows {
    type Input<'a> = Csv<Vec<String>>;
    type Key = String;
    type Value = u64;
    fn map(
        &mut self,
        Csv(row): Csv<Vec<String>>,
        out: &mut Emitter<String, u64>,
    ) -> Result<(), JobError> {
        out.emit("rows", 1)?;
        out.emit("fields", row.len() as u64)
    }
}
