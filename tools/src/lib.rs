//! Traffic and control tools.
