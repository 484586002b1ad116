//! Input: which files to read ([`listing`]), how they are cut into splits
//! ([`split`]), and how a split becomes lines ([`lines`]).

pub mod lines;
pub mod listing;
pub mod split;

pub use lines::LineReader;
pub use listing::{list_inputs, InputFile, InputSource};
pub use split::{make_splits, Split};
