//! Output: part files ([`part`]), records kept aside ([`bad`]), the atomic
//! commit of an output directory ([`commit`]), results on stdout
//! ([`stdout`]), and how final records are written ([`protocol`]).

pub mod bad;
pub mod commit;
pub mod part;
pub mod protocol;
pub mod stdout;
