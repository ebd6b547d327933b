//! rtnetlink codec (in progress)
