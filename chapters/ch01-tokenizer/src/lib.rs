//! Chapter 1 (being written).
