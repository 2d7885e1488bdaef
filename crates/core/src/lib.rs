//! Service layer.
