//! Input: which files to read ([`listing`]), how they are cut into splits
//! ([`split`]), and how a split becomes lines ([`lines`], decompressing ahead
//! on a helper thread: [`read_ahead`]).

pub mod lines;
pub mod listing;
pub mod read_ahead;
pub mod split;

pub use lines::LineReader;
pub use listing::{list_inputs, InputFile, InputSource};
pub use split::{make_splits, Split};
