//! Output: part files ([`part`]), records kept aside ([`bad`]), the atomic
//! commit of an output directory ([`commit`]), and results on stdout
//! ([`stdout`]).

pub mod bad;
pub mod commit;
pub mod part;
pub mod stdout;
