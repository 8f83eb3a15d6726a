//! scope to come
