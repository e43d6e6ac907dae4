//! The world a scenario describes, and its two ways to run: [`sim`] in-process on the
//! paused clock, [`live`] over real HTTP in real time.

pub mod live;
pub mod sim;
